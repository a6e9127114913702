"""Small hand-built rm_data tables (pointwise and pairwise) for the reward-model tests.

Each instruction asks for some keywords ("include the word bird"); a response that follows a
requirement contains its word, one that violates it does not, so even a tiny model can learn
something. Words come from the tiny tokenizer's vocabulary (tests/tiny_models.py).
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

KEYWORDS = ("bird", "rain", "river", "tree", "sun", "city", "friend", "home", "school", "world")
TYPES = (("keyword", "content", True), ("start", "format", True), ("tone", "style", False))
FILLER = "a the poem story about my your our one two three is are it this that to and or of".split()


def _response(rng: random.Random, words: list[str], extra: int) -> str:
    body = [rng.choice(FILLER) for _ in range(extra)] + words
    rng.shuffle(body)
    return " ".join(body) + "."


def tables(n: int = 60, *, seed: int = 0, splits: tuple[float, float] = (0.6, 0.8)) -> tuple[pa.Table, pa.Table]:
    """``(pointwise, pairwise)`` for ``n`` instructions: train below ``splits[0]``, dev below ``splits[1]``, test
    above (by instruction)."""
    rng = random.Random(seed)
    points, pairs = [], []
    for i in range(n):
        iid = f"syn-{i:05d}"
        u = rng.random()
        split = "train" if u < splits[0] else "dev" if u < splits[1] else "test"
        k = rng.randint(1, 3)
        words = rng.sample(KEYWORDS, k)
        for r, word in enumerate(words):
            typ, family, verifiable = TYPES[(i + r) % len(TYPES)]
            requirement = f"include the word {word}"
            rid = f"{iid}:r{r}"
            followed = _response(rng, [word], rng.randint(3, 25))
            violated = _response(rng, [], rng.randint(3, 25))
            for variant, (label, response) in enumerate(((1, followed), (0, violated))):
                points.append({
                    "example_id": f"{rid}:v{variant}", "id": iid, "variant_id": f"{iid}:v{variant}", "sample": 0,
                    "split": split, "category": "poem", "language": "en", "requirement_id": rid, "type": typ,
                    "family": family, "verifiable": verifiable, "requirement": requirement,
                    "instruction": f"write a poem. {requirement}.", "prompt": f"write a poem. {requirement}.",
                    "response": response, "label": label,
                    "verifier": ("followed" if label else "violated") if verifiable else None,
                    "finish_reason": "stop", "response_chars": len(response),
                })
            pairs.append({
                "pair_id": f"{rid}:p0", "id": iid, "split": split, "category": "poem", "language": "en",
                "requirement_id": rid, "type": typ, "family": family, "verifiable": verifiable,
                "requirement": requirement, "instruction": f"write a poem. {requirement}.", "chosen": followed,
                "rejected": violated, "chosen_variant_id": f"{iid}:v0", "rejected_variant_id": f"{iid}:v1",
            })
    pointwise = pa.Table.from_pylist(points)
    pointwise = pointwise.set_column(pointwise.column_names.index("label"), "label",
                                     pointwise["label"].cast(pa.int8()))
    return pointwise, pa.Table.from_pylist(pairs)


def write(directory: Path, n: int = 60, **kw) -> tuple[Path, Path]:
    """Write the two tables as ``pointwise.parquet`` and ``pairwise.parquet`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    pointwise, pairwise = tables(n, **kw)
    pq.write_table(pointwise, directory / "pointwise.parquet")
    pq.write_table(pairwise, directory / "pairwise.parquet")
    return directory / "pointwise.parquet", directory / "pairwise.parquet"
