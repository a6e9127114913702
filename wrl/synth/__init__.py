"""Synthetic writing instructions with gold requirements: a default dataset that needs no download.

:func:`synthesize` writes tasks from five categories, each with 1 to 5 requirements drawn from every
type of the taxonomy, phrased in several ways (including phrasings the parser does not know), with
the requirements as gold. The logic is in :mod:`wrl.synth.generator`; every phrasing, word pool and
combination rule is in this package's YAML files (docs/data.md describes them).

Example:
    >>> table = synthesize(1000, seed=0)
    >>> table.num_rows
    1000
"""

from wrl.synth.generator import CATEGORIES, SYNTH_BLOCK, SYNTH_SCHEMA, synthesize

__all__ = ["CATEGORIES", "SYNTH_BLOCK", "SYNTH_SCHEMA", "synthesize"]
