"""Train/dev/test splits that follow the prompt: the same prompt (up to case and spacing) is always
in the same split, on every machine, in every run, whatever else is in the table.

Example:
    >>> import pyarrow as pa
    >>> assign_splits(pa.table({"prompt": ["Write a poem."]}), train=1.0, dev=0.0, test=0.0)["split"].to_pylist()
    ['train']
"""

from __future__ import annotations

import pyarrow as pa

from wrl._core import InvalidConfigError
from wrl.io import DatasetError
from wrl.seeding import stable_hash

__all__ = ["assign_splits", "normalize_prompt"]


def normalize_prompt(prompt: str | None) -> str:
    """The prompt as the split hashes it: lowercased, whitespace runs collapsed to one space."""
    return " ".join((prompt or "").lower().split())


def assign_splits(table: pa.Table, *, train: float, dev: float, test: float, seed: int = 0) -> pa.Table:
    """Add a ``split`` column ("train"/"dev"/"test") from a stable hash of the normalized prompt.

    The prompt is lowercased and its whitespace collapsed, then hashed with BLAKE2b together with
    ``seed``; the hash, read as a number in [0, 1), picks the split by the cumulative fractions.
    The same prompt (up to case and spacing) therefore always lands in the same split, on every
    machine and in every run, whatever else is in the table.

    Args:
        table: a table with a ``prompt`` column; an existing ``split`` column is replaced.
        train, dev, test: fractions, each between 0 and 1, summing to 1.
        seed: changes the assignment as a whole.

    Raises:
        InvalidConfigError: fractions out of range or not summing to 1.
        DatasetError: the table has no ``prompt`` column.
    """
    fractions = {"train": train, "dev": dev, "test": test}
    for name, value in fractions.items():
        if not 0.0 <= value <= 1.0:
            raise InvalidConfigError(f"split fraction {name}={value} must be between 0 and 1")
    if abs(train + dev + test - 1.0) > 1e-6:
        raise InvalidConfigError(f"split fractions must sum to 1, got train={train} + dev={dev} + test={test} = "
                         f"{train + dev + test:g}")
    if "prompt" not in table.column_names:
        raise DatasetError(f"assign_splits needs a 'prompt' column; got {table.column_names}")
    cut_train, cut_dev = train * 2**64, (train + dev) * 2**64
    cache: dict[str, str] = {}
    splits = []
    for prompt in table["prompt"].to_pylist():
        key = normalize_prompt(prompt)
        split = cache.get(key)
        if split is None:
            h = stable_hash(int(seed), key, sep="\x1f")
            split = "train" if h < cut_train else "dev" if h < cut_dev else "test"
            cache[key] = split
        splits.append(split)
    column = pa.array(splits, pa.string())
    if "split" in table.column_names:
        return table.set_column(table.column_names.index("split"), "split", column)
    return table.append_column("split", column)
