"""The seeded draw of dropped requirements, re-derived in Python from ``rust_ext/core/src/rng.rs``.

Drops are seeded per instruction by SplitMix64 with FNV-1a of the instruction's id, so a dataset's
variants do not depend on row order, chunking or threads. This independent implementation predicts,
for a range of seeds, ids and settings, which requirements each strategy drops, and the public
``drop_table`` must produce exactly those sets.
"""

from __future__ import annotations

from itertools import product
from math import comb

import pyarrow as pa
import pytest

import wrl
from wrl.requirements import DropSettings

MASK = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


class SplitMix64:
    def __init__(self, state: int):
        self.state = state & MASK

    @classmethod
    def for_key(cls, seed: int, key: str) -> SplitMix64:
        return cls(fnv1a(key.encode()) ^ (seed * GOLDEN_GAMMA))

    def next_u64(self) -> int:
        self.state = (self.state + GOLDEN_GAMMA) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def next_f64(self) -> float:
        return (self.next_u64() >> 11) / (1 << 53)

    def sample(self, n: int, k: int) -> list[int]:
        """``k`` distinct indices of ``range(n)`` in draw order (a partial Fisher-Yates shuffle)."""
        pool = list(range(n))
        for i in range(min(k, n)):
            j = i + self.next_u64() % (n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[: min(k, n)]


def expected_sets(key: str, n: int, s: DropSettings) -> list[list[int]]:
    """The dropped index sets of ``drop.rs`` for an instruction with ``n`` located requirements."""
    rng = SplitMix64.for_key(s.seed, key)
    sets: list[list[int]] = []
    if s.strategy == "progressive":
        order = rng.sample(n, n)
        return [sorted(order[:j]) for j in range(1, min(n, s.max_variants) + 1)]
    if s.strategy == "independent":
        target = min(s.max_variants, 2**n - 1)
        draw = lambda: [i for i in range(n) if rng.next_f64() < s.rate]
    else:
        target = min(s.max_variants, comb(n, s.k)) if n >= s.k else 0
        draw = lambda: sorted(rng.sample(n, s.k))
    for _ in range(s.max_variants * 4):
        if len(sets) >= target:
            break
        candidate = draw()
        if candidate and candidate not in sets:
            sets.append(candidate)
    return sets


# One to six requirements, every one located in the text.
PROMPTS = [
    "Write a poem. Use a formal tone.",
    "Write a poem. Use a formal tone. Do not use any commas.",
    "Write a poem. Use a formal tone. Do not use any commas. Respond in French.",
    "Write a poem. Use a formal tone. Do not use any commas. Respond in French. Use at least 50 words.",
    ("Write a poem for beginners. Use a formal tone. Do not use any commas. Respond in French. Use at least 50 "
     "words."),
    ("Write a poem for beginners. Use a formal tone. Do not use any commas. Respond in French. Use at least 50 "
     "words. End your response with 'Bye.'"),
]
# Ids are unique per table, so each key gets the number of requirements appended: "k#3".
KEYS = ["", "k", "row-1", "syn-0000001", "写作-7", "x" * 200]
SEEDS = [0, 1, 7, 123_456_789, 2**63 - 1, 2**64 - 1]


@pytest.fixture(scope="module")
def parsed() -> pa.Table:
    rows = [(f"{key}#{n}", prompt) for key, (n, prompt) in product(KEYS, enumerate(PROMPTS, 1))]
    table, rejects = wrl.parse_table(pa.table({"id": [k for k, _ in rows], "prompt": [p for _, p in rows]}))
    assert rejects.num_rows == 0
    counts = [len(r) for r in table["requirements"].to_pylist()]
    assert counts == [n for _ in KEYS for n in range(1, len(PROMPTS) + 1)]
    return table


def test_known_values() -> None:
    """The same anchors as rng.rs's own test."""
    assert fnv1a(b"") == 0xCBF29CE484222325 and fnv1a(b"a") == 0xAF63DC4C8601EC8C
    assert SplitMix64(0).next_u64() == 0xE220A8397B1DCDAF


SETTINGS = [
    *(DropSettings("independent", rate=r, max_variants=m) for r in (0.1, 0.5, 0.9) for m in (1, 4, 40)),
    *(DropSettings("exact_k", k=k, max_variants=m) for k in (1, 2, 3) for m in (1, 4, 40)),
    *(DropSettings("progressive", max_variants=m) for m in (1, 3, 40)),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s.strategy}-r{s.rate}-k{s.k}-m{s.max_variants}")
def test_drop_table_draws_the_predicted_sets(parsed: pa.Table, settings: DropSettings) -> None:
    requirement_ids = [[r["id"] for r in reqs] for reqs in parsed["requirements"].to_pylist()]
    for seed in SEEDS:
        s = DropSettings(settings.strategy, rate=settings.rate, k=settings.k, seed=seed,
                         max_variants=settings.max_variants)
        variants, rejects = wrl.drop_table(parsed, s, threads=1)
        assert rejects.num_rows == 0
        got: dict[int, list[list[str]]] = {}
        for v in variants.select(["row", "variant", "dropped_ids"]).to_pylist():
            if v["variant"] > 0:
                got.setdefault(v["row"], []).append(v["dropped_ids"])
        for row, (key, ids) in enumerate(zip(parsed["id"].to_pylist(), requirement_ids, strict=True)):
            want = [[ids[i] for i in indices] for indices in expected_sets(key, len(ids), s)]
            assert got.get(row, []) == want, (key, len(ids), s)
