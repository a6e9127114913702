"""Baselines every judge must beat: response length (either way) and a seeded coin.

Responses written under fewer requirements may simply be shorter (a length requirement dropped,
fewer things asked for), so a judge that only counts characters can rank a WEval group well; a
judge is worth something only where it beats these.
"""

from __future__ import annotations

from collections.abc import Sequence

from wrl.judges import Judge, JudgeItem, Judgment
from wrl.seeding import SEED_BITS, derive_seed


class LengthJudge(Judge):
    """Scores a response by its length in characters other than whitespace (so Chinese and English count
    alike); ``reverse``: shorter is better. No per-requirement view."""

    kind = "length"

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        sign = -1.0 if self.spec.reverse else 1.0
        return [Judgment((None,) * len(item.requirements), sign * sum(not c.isspace() for c in item.response))
                for item in items]


class RandomJudge(Judge):
    """A uniform score in [0, 1) per response, from the seed and the response's key alone: the same response
    gets the same score in any batch, order or run."""

    kind = "random"

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        return [Judgment((None,) * len(item.requirements), derive_seed(self.spec.seed, "random_judge", item.key)
                         / (SEED_BITS + 1)) for item in items]
