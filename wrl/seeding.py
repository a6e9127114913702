"""Seeded hashes: stable across runs, machines, row order and threads, so a seed picks the same rows and draws
the same samples everywhere (splits, the instructions rolled out and evaluated, example sampling, generation
seeds)."""

from __future__ import annotations

import hashlib

#: Seeds handed to torch, vLLM and OpenAI-compatible servers fit in 31 bits.
SEED_BITS = 0x7FFF_FFFF


def stable_hash(*parts: object, sep: str = "\0") -> int:
    """A 64-bit hash (BLAKE2b) of the parts' text joined by ``sep``."""
    return int.from_bytes(hashlib.blake2b(sep.join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def derive_seed(*parts: object) -> int:
    """A seed from any parts (a base seed, a shard index, a batch index)."""
    return stable_hash(*parts) & SEED_BITS
