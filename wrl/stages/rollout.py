"""Stage ``rollout``: the policy's responses to the selected instructions and their variants.

Which instructions: ``rollout.instructions.{train,dev,test}`` per split, among those with at least
one requirement, picked by a seeded hash of the id (growing a count keeps the earlier picks). For
each, the full instruction (variant 0) and its dropped variants: at most
``variants_per_instruction`` in train and dev, every progressive variant in test (WEval ranks
them). Each selected variant gets ``n`` responses from the backend chosen (:mod:`wrl.generation`).

The work list (variants x samples, in the variants file's order) is cut into shards of
``shard_size`` items, each generated with a seed derived from ``seed`` and its index and written
to ``rollouts/shard-NNNNN.parquet``, then marked done with ``shard-NNNNN.done`` (its fingerprint
and row count). A re-run keeps every shard whose fingerprint matches (the settings that shape the
output, the model's identity and the shard's own rows), removes stale or partial ones and
generates the rest: a run killed half-way and re-run ends with the same bytes as one that was not.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from wrl.batching import worker_threads
from wrl.config import Section, param
from wrl.errors import DatasetError, ParamsError
from wrl.generation import BACKENDS, Completion, GenerationSettings, OpenAISettings, make_generator
from wrl.io import read_input, rejects_table, write_json, write_table
from wrl.models import DTYPES
from wrl.seeding import derive_seed, stable_hash
from wrl.stage import Context, Paths, Port, Report, Stage, View, ratio, rejects_summary, write_rejects

SPLITS = ("train", "dev", "test")
COUNT_MAX = 10**9
SEED_MAX = 2**31 - 1
# Bumped when the shard format changes, so old shards are regenerated rather than mixed in.
SHARD_FORMAT = 1
SHARD = re.compile(r"^shard-(\d{5,})\.(parquet|done)$")
SHARD_TEMPORARY = re.compile(r"^\.shard-\d{5,}\.(parquet|done)\.\d+\.[^.]+\.tmp$")

#: Columns of the variants file the stage needs (``category``, ``language`` are carried when present).
REQUIRED = ("id", "variant", "variant_id", "split", "n_requirements", "n_dropped", "kept_ids", "dropped_ids",
            "prompt")

ROLLOUTS_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("variant", pa.int32()),
    ("variant_id", pa.string()),
    ("sample", pa.int32()),
    ("split", pa.string()),
    ("category", pa.string()),
    ("language", pa.string()),
    ("prompt", pa.string()),
    ("kept_ids", pa.list_(pa.string())),
    ("dropped_ids", pa.list_(pa.string())),
    ("n_requirements", pa.int32()),
    ("n_dropped", pa.int32()),
    ("response", pa.string()),
    ("finish_reason", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("completion_tokens", pa.int32()),
    ("model", pa.string()),
    ("backend", pa.string()),
    ("temperature", pa.float64()),
    ("top_p", pa.float64()),
    ("max_new_tokens", pa.int32()),
    ("seed", pa.int64()),
])
#: The variant's columns each response row carries.
CARRIED = ("id", "variant", "variant_id", "split", "category", "language", "prompt", "kept_ids", "dropped_ids",
           "n_requirements", "n_dropped")


@dataclass(frozen=True)
class InstructionCounts(Section):
    """How many instructions of each split are rolled out (those with at least one requirement)."""

    _key: ClassVar[str] = "rollout.instructions"

    train: int = param(120, "Train instructions rolled out.", min=0, max=COUNT_MAX)
    dev: int = param(8, "Dev instructions rolled out.", min=0, max=COUNT_MAX)
    test: int = param(48, "Test instructions rolled out (every progressive variant of each).", min=0, max=COUNT_MAX)


@dataclass(frozen=True)
class OpenAIConfig(Section):
    """How the ``openai`` backend reaches its server."""

    _key: ClassVar[str] = "rollout.openai"

    base_url: str = param("http://127.0.0.1:8000/v1", "Base URL of the OpenAI-compatible server (POST "
                          "{base_url}/chat/completions), e.g. a `vllm serve` on this machine.")
    api_key_env: str = param("OPENAI_API_KEY", "Name of the environment variable holding the API key (sent as a "
                             "Bearer token when set; empty for none). The key itself never goes in params.yaml.")
    concurrency: int = param(8, "Requests in flight at once.", min=1, max=1024)
    timeout_s: float = param(120.0, "Seconds to wait for a server's answer to one request.", min=0.001, max=86400)
    max_retries: int = param(5, "Retries of a request after a connection error, timeout, 429 or 5xx (other 4xx "
                             "fail at once).", min=0, max=100)
    backoff_s: float = param(0.5, "Delay before the first retry; it doubles each retry, with seeded jitter.", min=0.0,
                             max=600)


@dataclass(frozen=True)
class RolloutConfig(Section):
    """Parameters of the ``rollout`` stage: what to generate for, with which model, how.

    Every setting that changes a response (model, backend, sampling, seed, batch size, dtype,
    device, server) is part of each shard's fingerprint; ``openai`` timeouts, retries and
    concurrency are not.
    """

    _key: ClassVar[str] = "rollout"

    model: str = param("models/policy", "The policy: package:NAME, a local path or a hub id (the models stage's "
                       "output by default); for the openai backend, the model name the server serves.")
    backend: str = param("transformers", "How to generate: transformers (CPU or GPU), vllm (GPU; pip install "
                         "'wrl[vllm]') or openai (an OpenAI-compatible server).", choices=BACKENDS)
    n: int = param(1, "Responses per variant.", min=1, max=1024)
    instructions: InstructionCounts = param(InstructionCounts(), "Instructions rolled out per split.")
    variants_per_instruction: int = param(2, "Most variants per train/dev instruction, the full one (variant 0) "
                                          "included; test instructions keep all their progressive variants.", min=1,
                                          max=1024)
    max_new_tokens: int = param(64, "Most tokens per response; longer ones are cut (finish_reason length).", min=1,
                                max=1 << 20)
    temperature: float = param(0.7, "Sampling temperature; 0 is greedy.", min=0.0, max=10.0)
    top_p: float = param(1.0, "Nucleus sampling mass (with temperature > 0).", min=0.0, max=1.0)
    seed: int = param(0, "Seed of the instruction picks and of generation (each shard's seed derives from it and "
                      "the shard's index).", min=0, max=SEED_MAX)
    batch_size: int = param(32, "Prompts per generation batch (transformers); larger is faster until memory "
                            "runs out. Part of the fingerprint: batching changes the arithmetic.", min=1, max=65536)
    shard_size: int = param(64, "Responses per output shard: the unit of resume.", min=1, max=10**7)
    dtype: str = param("auto", "Weights dtype: auto (as saved), float32, bfloat16, float16.", choices=DTYPES)
    device: str = param("auto", "Device for transformers: auto (cuda if visible, else cpu), cpu, cuda, cuda:1 ...")
    openai: OpenAIConfig = param(OpenAIConfig(), "The openai backend's server.")

    def check(self) -> None:
        if self.temperature > 0 and self.top_p == 0:
            raise ParamsError("rollout.top_p must be > 0 when rollout.temperature > 0")

    def generation(self) -> GenerationSettings:
        """The generation settings of :mod:`wrl.generation`."""
        o = self.openai
        return GenerationSettings(model=self.model, backend=self.backend, max_new_tokens=self.max_new_tokens,
                                  temperature=self.temperature, top_p=self.top_p, batch_size=self.batch_size,
                                  dtype=self.dtype, device=self.device,
                                  openai=OpenAISettings(base_url=o.base_url, api_key_env=o.api_key_env,
                                                        concurrency=o.concurrency, timeout_s=o.timeout_s,
                                                        max_retries=o.max_retries, backoff_s=o.backoff_s))


# --- selection ------------------------------------------------------------------------------------


def select(table: pa.Table, cfg: RolloutConfig) -> list[int]:
    """The indices (in ``table``'s order) of the variants to roll out.

    Per split, the ``instructions.<split>`` ids with the lowest seeded hash among those with at
    least one requirement; of each, variant 0 and, in train and dev, the lowest-numbered other
    variants up to ``variants_per_instruction``.
    """
    ids, splits = table["id"].to_pylist(), table["split"].to_pylist()
    variants, n_reqs = table["variant"].to_pylist(), table["n_requirements"].to_pylist()
    first: dict[str, tuple[str | None, int]] = {}
    by_id: dict[str, list[int]] = {}
    for i, (iid, split, n) in enumerate(zip(ids, splits, n_reqs, strict=True)):
        first.setdefault(iid, (split, n or 0))
        by_id.setdefault(iid, []).append(variants[i])
    chosen: set[str] = set()
    counts = {s: getattr(cfg.instructions, s) for s in SPLITS}
    for split in SPLITS:
        pool = [iid for iid, (s, n) in first.items() if s == split and n >= 1]
        chosen.update(sorted(pool, key=lambda iid: (stable_hash(cfg.seed, iid), iid))[:counts[split]])
    cap = cfg.variants_per_instruction
    keep = {iid: {0, *sorted(v for v in set(by_id[iid]) if v != 0)[:cap - 1]} for iid in chosen}
    return [i for i, iid in enumerate(ids) if iid in chosen and (splits[i] == "test" or variants[i] in keep[iid])]


# --- shards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """One shard of the work list: its index, its work items (variant row, sample) and its fingerprint."""

    index: int
    items: list[tuple[int, int]]
    fingerprint: str

    def path(self, out: Path) -> Path:
        return out / f"shard-{self.index:05d}.parquet"

    def marker(self, out: Path) -> Path:
        return out / f"shard-{self.index:05d}.done"

    def done(self, out: Path) -> bool:
        """Whether the shard on disk is complete and was made with the same settings, model and rows."""
        try:
            marker = json.loads(self.marker(out).read_text(encoding="utf-8"))
            return (isinstance(marker, dict) and marker.get("fingerprint") == self.fingerprint
                    and marker.get("rows") == len(self.items)
                    and pq.ParquetFile(self.path(out)).metadata.num_rows == len(self.items))
        except (OSError, ValueError, pa.ArrowException):
            return False


def _settings_fingerprint(cfg: RolloutConfig, identity: str, device: str | None) -> dict[str, Any]:
    """Everything besides a shard's rows that shapes its bytes."""
    return {"format": SHARD_FORMAT, "model": cfg.model, "identity": identity, "backend": cfg.backend,
            "max_new_tokens": cfg.max_new_tokens, "temperature": cfg.temperature, "top_p": cfg.top_p,
            "seed": cfg.seed, "batch_size": cfg.batch_size, "dtype": cfg.dtype, "device": device,
            "base_url": cfg.openai.base_url if cfg.backend == "openai" else None}


def plan(rows: list[dict[str, Any]], cfg: RolloutConfig, settings: dict[str, Any]) -> list[Shard]:
    """Cut the work list (each row ``n`` times) into shards and fingerprint each."""
    items = [(r, s) for r in range(len(rows)) for s in range(cfg.n)]
    base = json.dumps(settings, sort_keys=True)
    shards = []
    for index, start in enumerate(range(0, len(items), cfg.shard_size)):
        part = items[start:start + cfg.shard_size]
        h = hashlib.sha256(f"{base}\0{index}\0".encode())
        for r, s in part:
            h.update(json.dumps([rows[r], s], sort_keys=True, ensure_ascii=False).encode() + b"\n")
        shards.append(Shard(index, part, h.hexdigest()))
    return shards


def _prepare_directory(out: Path, shards: list[Shard]) -> list[Shard]:
    """Remove what is not a finished, matching shard; return the shards still to generate.

    Refuses a directory holding anything but shards, markers and their temporaries, so a wrong
    path never deletes someone's files.
    """
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in out.iterdir() if not (SHARD.match(p.name) or SHARD_TEMPORARY.match(p.name))
                     or p.is_dir())
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise DatasetError(f"{out}: not a rollouts directory (it holds {shown}); give a new or empty directory")
    done = {s.index for s in shards if s.done(out)}
    keep = {p.name for s in shards if s.index in done for p in (s.path(out), s.marker(out))}
    for p in out.iterdir():
        if p.name not in keep:
            p.unlink()
    return [s for s in shards if s.index not in done]


def _shard_table(shard: Shard, rows: list[dict[str, Any]], completions: list[Completion], cfg: RolloutConfig,
                 seed: int) -> pa.Table:
    columns: dict[str, list] = {name: [] for name in ROLLOUTS_SCHEMA.names}
    for (r, sample), c in zip(shard.items, completions, strict=True):
        for name in CARRIED:
            columns[name].append(rows[r][name])
        columns["sample"].append(sample)
        columns["response"].append(c.text)
        columns["finish_reason"].append(c.finish_reason)
        columns["prompt_tokens"].append(c.prompt_tokens)
        columns["completion_tokens"].append(c.completion_tokens)
    n = len(shard.items)
    for name, value in (("model", cfg.model), ("backend", cfg.backend), ("temperature", cfg.temperature),
                        ("top_p", cfg.top_p), ("max_new_tokens", cfg.max_new_tokens), ("seed", seed)):
        columns[name] = [value] * n
    return pa.table(columns, schema=ROLLOUTS_SCHEMA)


# --- the stage ------------------------------------------------------------------------------------


def _load_variants(source: Path) -> tuple[pa.Table, pa.Array, pa.Table]:
    """The variants table, its rows' numbers in the file, and the rows that could not be read."""
    batch = read_input(source, stage="rollout")
    table = batch.table
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise DatasetError(f"{source}: not a variants table (the drop stage's output): no column "
                           f"{', '.join(repr(c) for c in missing)}")
    for name in ("category", "language"):
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table, batch.rows, batch.rejects


def _metrics(tables: list[pa.Table], selected: dict[str, Counter], by_reason: Counter, shards: int) -> dict:
    table = pa.concat_tables(tables) if tables else ROLLOUTS_SCHEMA.empty_table()
    finish = Counter(table["finish_reason"].to_pylist())
    completion = [n for n in table["completion_tokens"].to_pylist() if n is not None]
    prompt = [n for n in table["prompt_tokens"].to_pylist() if n is not None]
    total = table.num_rows
    return {
        "instructions": {s: selected["instructions"][s] for s in SPLITS},
        "variants": {"total": sum(selected["variants"].values()),
                     "by_split": dict(sorted(selected["variants"].items()))},
        "responses": {"total": total, "by_split": dict(sorted(Counter(table["split"].to_pylist()).items()))},
        "finish_reason": {k: finish.get(k, 0) for k in ("stop", "length")},
        "truncated_share": ratio(finish.get("length", 0), total),
        "empty_responses": sum(1 for t in table["response"].to_pylist() if not t.strip()),
        "completion_tokens": {"mean": ratio(sum(completion), len(completion)),
                              "median": round(float(statistics.median(completion)), 6) if completion else 0.0,
                              "total": sum(completion)},
        "prompt_tokens": {"mean": ratio(sum(prompt), len(prompt))},
        "rejects": rejects_summary(by_reason),
        "shards": shards,
    }


def run(cfg: RolloutConfig, paths: Paths, ctx: Context) -> Report:
    """Generate responses for the selected variants, shard by shard (resumable), with rejects and metrics."""
    (source,) = paths.inputs
    (out,) = paths.outputs
    table, file_rows, unreadable = _load_variants(source)
    picked = select(table, cfg)
    sub = table.take(pa.array(picked, pa.int64())).select(list(CARRIED))
    rows = sub.to_pylist()
    numbers = [file_rows[i].as_py() for i in picked]
    selected = {"instructions": Counter(), "variants": Counter(r["split"] for r in rows)}
    seen: set[str] = set()
    for r in rows:
        if r["id"] not in seen:
            seen.add(r["id"])
            selected["instructions"][r["split"]] += 1

    if ctx.threads and cfg.backend == "transformers":
        import torch

        torch.set_num_threads(worker_threads(ctx.threads))
    generator = make_generator(cfg.generation())

    # Variants that cannot be generated: an empty prompt, or one the model's context cannot hold
    # with max_new_tokens after it.
    bad: dict[int, tuple[str, str]] = {}
    for k, r in enumerate(rows):
        if r["prompt"] is None or not r["prompt"].strip():
            bad[k] = ("empty_prompt", "the prompt is empty")
    counts = generator.prompt_tokens([r["prompt"] for k, r in enumerate(rows) if k not in bad])
    limit = generator.context_length
    if counts is not None and limit is not None:
        for k, n in zip([k for k in range(len(rows)) if k not in bad], counts, strict=True):
            if n + cfg.max_new_tokens > limit:
                bad[k] = ("prompt_too_long", f"the prompt is {n:,} tokens (chat template applied); with "
                          f"max_new_tokens={cfg.max_new_tokens} it exceeds the model's context of {limit:,} tokens")
    order = sorted(bad)
    rejects = [unreadable, rejects_table([numbers[k] for k in order], [rows[k]["variant_id"] for k in order],
                                         "rollout", [bad[k][0] for k in order], [bad[k][1] for k in order])]
    work = [r for k, r in enumerate(rows) if k not in bad]

    device = getattr(generator, "device", None)
    shards = plan(work, cfg, _settings_fingerprint(cfg, generator.identity, device))
    todo = _prepare_directory(out, shards)
    kept = len(shards) - len(todo)
    total_items = sum(len(s.items) for s in shards)
    start, made, tokens = time.monotonic(), 0, 0
    bar = tqdm(total=total_items, initial=total_items - sum(len(s.items) for s in todo), desc="rollout",
               unit="resp", leave=False, disable=not ctx.progress)

    def progress(batch) -> None:
        nonlocal made, tokens
        made += len(batch)
        tokens += sum(c.completion_tokens or 0 for c in batch)
        elapsed = max(time.monotonic() - start, 1e-9)
        bar.update(len(batch))
        bar.set_postfix_str(f"{made / elapsed:.2f} resp/s, {tokens / elapsed:.1f} tok/s")

    with bar:
        for shard in todo:
            seed = derive_seed(cfg.seed, shard.index)
            completions = generator.generate([work[r]["prompt"] for r, _ in shard.items], seed, progress)
            write_table(_shard_table(shard, work, completions, cfg, seed), shard.path(out))
            write_json({"fingerprint": shard.fingerprint, "rows": len(shard.items)}, shard.marker(out))
    elapsed = time.monotonic() - start

    by_reason = write_rejects(rejects, paths.rejects)
    tables = [pq.read_table(s.path(out)) for s in shards]
    metrics = _metrics(tables, selected, by_reason, len(shards))
    if paths.metrics is not None:
        write_json({"rollout": metrics}, paths.metrics)
    rows_in = len(rows) + unreadable.num_rows
    lines = [f"responses: {metrics['responses']['total']:,} ({cfg.n} per variant) from {cfg.model} "
             f"({cfg.backend}{', ' + device if device else ''}); truncated at max_new_tokens={cfg.max_new_tokens}: "
             f"{metrics['finish_reason']['length']:,}",
             f"shards: {len(shards):,} ({kept:,} kept from an earlier run, {len(todo):,} generated)"]
    if made:
        lines.append(f"throughput: {made / elapsed:.2f} responses/s, {tokens / elapsed:.1f} tokens/s "
                     f"({made:,} responses in {elapsed:.1f} s)")
    return Report("rollout", rows_in, rows_in - sum(by_reason.values()), by_reason, paths.outputs, paths.rejects,
                  lines=lines, counts=[("responses by split", Counter(metrics["responses"]["by_split"]))])


STAGE = Stage(
    name="rollout",
    config=RolloutConfig,
    run=run,
    inputs=(Port("variants", "Requirement-dropped variants (the drop stage's output)."),),
    outputs=(Port("rollouts", "A directory of Parquet shards, one row per response, each shard with a .done marker.",
                  directory=True),),
    views=(View("rollouts", "data/rollouts/*.parquet",
                "The policy's responses, one row each: id, variant, variant_id, sample, split, prompt (before the "
                "chat template), kept_ids, dropped_ids, response, finish_reason (stop | length), prompt_tokens, "
                "completion_tokens, and the model, backend, sampling parameters and seed that made it.",
                stage="rollout"),),
)
