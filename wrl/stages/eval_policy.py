"""Stage ``eval_policy``: the base and the trained policy on the same held-out instructions, before and after.

Which instructions: ``instructions`` of the test split (those with at least one requirement), picked by
the seeded hash of the id that ``rollout`` uses (the same seed picks the same instructions), and
``ifeval_instructions`` prompts of the IFEval-format file ``ifeval`` (``key, prompt, instruction_id_list,
kwargs``), read by :func:`wrl.importers.import_ifeval` and parsed with their structured requirements. Both
policies answer every instruction through :mod:`wrl.generation` (the rollout backends; greedy by default),
with the same seed.

Each response is verified by the rule verifiers (strict and loose, per requirement) and scored by every
judge of ``judges`` (:mod:`wrl.judges`; by default the trained reward model). The figures
(:mod:`wrl.policy_eval`): IFEval's four, each judge's mean score and the response length, per policy and
as the paired difference trained - base with bootstrap 95% intervals, overall and by task category and
requirement type, per source.

Bad input: an instruction whose prompt, with ``max_new_tokens`` after it, does not fit either policy's
context (or that is empty, or has no requirement) is skipped, counted and written to the rejects with its
reason; the pair stays paired (neither policy answers it). A policy or judge model that cannot be loaded
stops the stage with one error before any generation.

Outputs: one row per (policy, instruction) (SQL view ``policy_eval``), the headline figures as metrics
(``dvc metrics diff`` and ``dvc exp show`` show the gain), and the report directory: ``eval_policy.md``
(tables and both policies' responses side by side), the figure of accuracy by requirement type before and
after, and ``summary.json`` with every breakdown.
"""

from __future__ import annotations

import gc
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from tqdm import tqdm

from wrl.batching import worker_threads
from wrl.config import Section, build_section, param
from wrl.errors import ParamsError
from wrl.generation import Completion, GenerationSettings, TransformersGenerator, make_generator
from wrl.importers import import_ifeval
from wrl.io import atomic_directory, rejects_table, write_json, write_table
from wrl.judges import JudgeItem, JudgeSpec, Judgment, build_judge
from wrl.models import DTYPES
from wrl.policy_eval import POLICIES, RESERVED, EvalItem, PolicyResult
from wrl.requirements import parse_table
from wrl.rollouts import read_parsed
from wrl.seeding import derive_seed, stable_hash
from wrl.stage import Context, Paths, Port, Report, Stage, View, rejects_summary, write_rejects
from wrl.verify import verify_table
from wrl.weval.groups import requirements_of

STAGE_NAME = "eval_policy"
#: The generation backends that load a policy from its directory (``openai`` serves a model by name).
BACKENDS = ("transformers", "vllm")
COUNT_MAX = 10**9
SEED_MAX = 2**31 - 1
JUDGE_NAME = re.compile(r"[a-z][a-z0-9_]*")
REPORT_FILE = "eval_policy.md"
FIGURE_FILE = "eval_policy_accuracy_by_type.png"
SUMMARY_FILE = "summary.json"
#: The prefix of an IFEval file's ids in the rejects (their ``row`` is the file's row).
IFEVAL_PREFIX = "ifeval:"

DEFAULT_JUDGES: dict[str, dict[str, Any]] = {"reward_model": {"kind": "reward_model", "model": "models/reward_model"}}


@dataclass(frozen=True)
class EvalPolicyConfig(Section):
    """Parameters of the ``eval_policy`` stage: which instructions, how the policies generate, who judges."""

    _key: ClassVar[str] = STAGE_NAME

    instructions: int = param(48, "Test-split instructions evaluated (among those with at least one requirement), "
                              "picked by the seeded hash of the id rollout uses.", min=0, max=COUNT_MAX)
    ifeval: str | None = param("examples/ifeval_sample.jsonl", "An IFEval-format file (key, prompt, "
                               "instruction_id_list, kwargs; JSONL or Parquet) whose prompts are evaluated too, "
                               "parsed with their structured requirements (null: none). dvc.yaml tracks it.")
    ifeval_instructions: int = param(4, "Prompts of the IFEval file evaluated, picked by the same hash (0: none; "
                                     "more than the file holds: all).", min=0, max=COUNT_MAX)
    seed: int = param(0, "Seed of the picks and of generation (both policies get the same).", min=0, max=SEED_MAX)
    backend: str = param("transformers", "How both policies generate: transformers (CPU or GPU) or vllm (GPU; pip "
                         "install 'wrl[vllm]').", choices=BACKENDS)
    max_new_tokens: int = param(64, "Most tokens per response; longer ones are cut (finish_reason length).", min=1,
                                max=1 << 20)
    temperature: float = param(0.0, "Sampling temperature; 0 is greedy (the default for evaluation).", min=0.0,
                               max=10.0)
    top_p: float = param(1.0, "Nucleus sampling mass (with temperature > 0).", min=0.0, max=1.0)
    batch_size: int = param(32, "Prompts per generation batch (transformers).", min=1, max=65536)
    dtype: str = param("auto", "Policies' weights dtype: auto (as saved), float32, bfloat16, float16.",
                       choices=DTYPES)
    device: str = param("auto", "Device for transformers: auto (cuda if visible, else cpu), cpu, cuda, cuda:1 ...")
    judges: dict = param(DEFAULT_JUDGES, "The judges scoring both policies' responses, by name: each a mapping "
                         "with its kind (reward_model, llm, verifiers, length, random, http) and that kind's "
                         "settings, as in weval_judge.judges (wrl/judges/__init__.py: JudgeSpec); {} for none.")
    bootstrap_resamples: int = param(1000, "Resamples per 95% interval.", min=100, max=1_000_000)
    examples: int = param(4, "Instructions shown with both policies' responses side by side in the report.", min=0,
                          max=1000)

    def check(self) -> None:
        if self.temperature > 0 and self.top_p == 0:
            raise ParamsError("eval_policy.top_p must be > 0 when eval_policy.temperature > 0")
        if self.ifeval_instructions and not self.ifeval:
            raise ParamsError("eval_policy.ifeval_instructions is set but eval_policy.ifeval names no file; name "
                              "one or set ifeval_instructions: 0")
        self.specs()

    def specs(self) -> dict[str, JudgeSpec]:
        """Each judge's validated spec, in the order given."""
        out = {}
        for name, raw in self.judges.items():
            key = f"{STAGE_NAME}.judges.{name}"
            if not isinstance(name, str) or not JUDGE_NAME.fullmatch(name):
                raise ParamsError(f"{STAGE_NAME}.judges: judge name {name!r} must be lowercase letters, digits and "
                                  "underscores, starting with a letter")
            if name in RESERVED:
                raise ParamsError(f"{key}: {name!r} is the name of a figure ({', '.join(RESERVED)}); rename the judge")
            named = type(f"JudgeSpec[{name}]", (JudgeSpec,), {"_key": key, "__module__": JudgeSpec.__module__})
            out[name] = build_section(named, raw, key)
        return out

    def generation(self, model: Path) -> GenerationSettings:
        """The generation settings of one policy."""
        return GenerationSettings(model=str(model), backend=self.backend, max_new_tokens=self.max_new_tokens,
                                  temperature=self.temperature, top_p=self.top_p, batch_size=self.batch_size,
                                  dtype=self.dtype, device=self.device)


def responses_schema(judges: list[str]) -> pa.Schema:
    """One row per (policy, instruction); three columns per judge (``score_<judge>``,
    ``requirement_scores_<judge>``, ``failure_<judge>``)."""
    return pa.schema([
        ("policy", pa.string()), ("source", pa.string()), ("id", pa.string()), ("category", pa.string()),
        ("language", pa.string()), ("prompt", pa.string()), ("requirement_ids", pa.list_(pa.string())),
        ("requirement_types", pa.list_(pa.string())), ("response", pa.string()), ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int32()), ("completion_tokens", pa.int32()), ("words", pa.int32()),
        ("strict", pa.list_(pa.bool_())), ("loose", pa.list_(pa.bool_())),
        ("verifier_status", pa.list_(pa.string())), ("verifier_reasons", pa.list_(pa.string())),
        ("prompt_strict", pa.bool_()), ("prompt_loose", pa.bool_()),
        *(f for j in judges for f in ((f"score_{j}", pa.float64()), (f"requirement_scores_{j}",
                                                                      pa.list_(pa.float64())),
                                       (f"failure_{j}", pa.string()))),
        ("model", pa.string()), ("model_identity", pa.string()), ("backend", pa.string()),
        ("temperature", pa.float64()), ("top_p", pa.float64()), ("max_new_tokens", pa.int32()),
        ("batch_size", pa.int32()), ("dtype", pa.string()), ("seed", pa.int64()), ("judge_settings", pa.string()),
    ])


# --- the instructions ---------------------------------------------------------------------------------------------


@dataclass
class Instruction:
    """An instruction to evaluate: its source, id, row in its file, text and requirements."""

    source: str
    id: str
    row: int
    prompt: str
    category: str | None
    language: str | None
    requirements: tuple  # of wrl.requirements.Requirement


def pick(ids: list[str], n: int, seed: int) -> set[str]:
    """The ``n`` ids with the lowest seeded hash."""
    return set(sorted(ids, key=lambda i: (stable_hash(seed, i), i))[:n])


def test_instructions(parsed_path: Path, cfg: EvalPolicyConfig) -> list[Instruction]:
    """The test split's picked instructions, in file order."""
    parsed = read_parsed(parsed_path)
    cols = parsed.select(["id", "instruction", "requirements", "split", "category", "language"]).to_pydict()
    pool = [i for i, (s, reqs) in enumerate(zip(cols["split"], cols["requirements"], strict=True))
            if s == "test" and reqs]
    chosen = pick([cols["id"][i] for i in pool], cfg.instructions, cfg.seed)
    return [Instruction("test", cols["id"][i], i, cols["instruction"][i], cols["category"][i], cols["language"][i],
                        requirements_of(cols["requirements"][i])) for i in pool if cols["id"][i] in chosen]


def ifeval_instructions(path: Path, cfg: EvalPolicyConfig) -> tuple[list[Instruction], list[pa.Table]]:
    """The IFEval file's picked prompts, in file order, and the rows that could not be read or parsed."""
    table, rejected = import_ifeval(path)
    bad_rows = set(rejected["row"].to_pylist())
    file_rows = [r for r in range(table.num_rows + len(bad_rows)) if r not in bad_rows]  # the imported rows' rows
    parsed, parse_rejects = parse_table(table)
    row_of = dict(zip(table["id"].to_pylist(), file_rows, strict=True))
    rejects = [_prefixed(rejected, "eval_policy"),
               _prefixed(parse_rejects.set_column(0, "row", pa.array([file_rows[r] for r in
                                                                     parse_rejects["row"].to_pylist()], pa.int64())),
                         "eval_policy")]
    cols = parsed.select(["id", "prompt", "requirements"]).to_pydict()
    empty = [i for i, reqs in enumerate(cols["requirements"]) if not reqs]
    rejects.append(rejects_table([row_of[cols["id"][i]] for i in empty],
                                 [IFEVAL_PREFIX + cols["id"][i] for i in empty], STAGE_NAME, "no_requirements",
                                 "the prompt has no requirement (empty instruction_id_list)"))
    pool = [i for i in range(parsed.num_rows) if cols["requirements"][i]]
    chosen = pick([cols["id"][i] for i in pool], cfg.ifeval_instructions, cfg.seed)
    return [Instruction("ifeval", cols["id"][i], row_of[cols["id"][i]], cols["prompt"][i], None, None,
                        requirements_of(cols["requirements"][i])) for i in pool if cols["id"][i] in chosen], rejects


def _prefixed(rejects: pa.Table, stage: str) -> pa.Table:
    """An IFEval file's rejects with their ids prefixed (so they are not taken for test-split ids)."""
    ids = [None if i is None else IFEVAL_PREFIX + i for i in rejects["id"].to_pylist()]
    return rejects_table(rejects["row"], ids, stage, rejects["reason_kind"], rejects["reason"])


def _reject_id(inst: Instruction) -> str:
    return inst.id if inst.source == "test" else IFEVAL_PREFIX + inst.id


# --- generation, verification, judging ----------------------------------------------------------------------------


def _skips(instructions: list[Instruction], generators: dict[str, Any], max_new_tokens: int) -> dict[int, tuple]:
    """The instructions neither policy answers: an empty prompt, or one too long for a policy's context."""
    bad: dict[int, tuple[str, str]] = {}
    for k, inst in enumerate(instructions):
        if not inst.prompt.strip():
            bad[k] = ("empty_prompt", "the prompt is empty")
    todo = [k for k in range(len(instructions)) if k not in bad]
    for policy, gen in generators.items():
        counts = gen.prompt_tokens([instructions[k].prompt for k in todo])
        limit = gen.context_length
        if counts is None or limit is None:
            continue
        for k, n in zip(todo, counts, strict=True):
            if k not in bad and n + max_new_tokens > limit:
                bad[k] = ("prompt_too_long", f"the prompt is {n:,} tokens (chat template applied) for the "
                          f"{policy} policy; with max_new_tokens={max_new_tokens} it exceeds its context of "
                          f"{limit:,} tokens")
    return bad


def generate_all(generators: dict[str, Any], prompts: list[str], seed: int, ctx: Context) -> tuple[dict, list[str]]:
    """Each policy's completions of ``prompts`` (one after the other, each model freed after its turn)."""
    out: dict[str, list[Completion]] = {}
    lines = []
    bar = tqdm(total=len(prompts) * len(generators), desc="eval_policy", unit="resp", leave=False,
               disable=not ctx.progress)
    with bar:
        for policy in list(generators):
            started, tokens = time.monotonic(), 0

            def progress(batch: Any) -> None:
                nonlocal tokens
                tokens += sum(c.completion_tokens or 0 for c in batch)
                bar.update(len(batch))

            out[policy] = generators[policy].generate(prompts, seed, progress)
            seconds = max(time.monotonic() - started, 1e-9)
            lines.append(f"{policy}: {len(prompts):,} responses in {seconds:.1f} s ({tokens / seconds:.1f} tokens/s)")
            del generators[policy]
            _free()
    return out, lines


def _free() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def verify_responses(instructions: list[Instruction], responses: list[str]) -> list[dict[str, list]]:
    """Per response: each requirement's strict and loose verdicts, status and reason, in requirement order."""
    if not instructions:
        return []
    table = pa.table({
        "id": [str(k) for k in range(len(instructions))],
        "response": responses,
        "requirements": [json.dumps([{"type": r.type, "params": r.params} for r in inst.requirements])
                         for inst in instructions],
    })
    results, refused = verify_table(table)
    out = [{"strict": [None] * len(inst.requirements), "loose": [None] * len(inst.requirements),
            "status": [None] * len(inst.requirements), "reason": [None] * len(inst.requirements)}
           for inst in instructions]
    seen = [0] * len(instructions)  # a row's results come in the order its requirements were given
    cols = results.select(["row", "strict", "loose", "status", "reason"]).to_pydict()
    for row, strict, loose, status, reason in zip(*cols.values(), strict=True):
        j = seen[row]
        seen[row] += 1
        for name, value in (("strict", strict), ("loose", loose), ("status", status), ("reason", reason)):
            out[row][name][j] = value
    for row, kind, reason in zip(refused["row"].to_pylist(), refused["reason_kind"].to_pylist(),
                                 refused["reason"].to_pylist(), strict=True):
        n = len(instructions[row].requirements)
        out[row]["status"], out[row]["reason"] = [f"refused_{kind}"] * n, [reason] * n
    return out


def words(text: str) -> int:
    """The response length of the length baseline: whitespace-separated words."""
    return len(text.split())


# --- the stage ----------------------------------------------------------------------------------------------------


def _prompt_level(verdicts: list[bool | None]) -> bool | None:
    decided = [v for v in verdicts if v is not None]
    return all(decided) if decided else None


def run(cfg: EvalPolicyConfig, paths: Paths, ctx: Context) -> Report:
    """Generate with the base and the trained policy on held-out instructions; verify, judge and compare them."""
    from wrl.policy_eval import headline, render_figure, render_markdown, summarize

    parsed_path, base_dir, trained_dir = (Path(p) for p in paths.inputs)
    responses_out, report_dir = paths.outputs
    specs = cfg.specs()
    names = list(specs)

    instructions = test_instructions(parsed_path, cfg)
    rejects: list[pa.Table] = []
    if cfg.ifeval and cfg.ifeval_instructions:
        found, file_rejects = ifeval_instructions(Path(cfg.ifeval), cfg)
        instructions += found
        rejects += file_rejects
    rows_in = len(instructions) + sum(t.num_rows for t in rejects)

    if ctx.threads and cfg.backend == "transformers":
        import torch

        torch.set_num_threads(worker_threads(ctx.threads))
    generators = {"base": make_generator(cfg.generation(base_dir)),
                  "trained": make_generator(cfg.generation(trained_dir))}
    identities = {p: g.identity for p, g in generators.items()}
    for policy in POLICIES:  # a policy that cannot be loaded fails now, before any generation
        if isinstance(generators[policy], TransformersGenerator):
            generators[policy].model  # noqa: B018 - loads it
    judges = {name: build_judge(name, spec) for name, spec in specs.items()}  # so do the judges' models

    bad = _skips(instructions, generators, cfg.max_new_tokens)
    order = sorted(bad, key=lambda k: (instructions[k].source != "test", instructions[k].row))
    rejects.append(rejects_table([instructions[k].row for k in order], [_reject_id(instructions[k]) for k in order],
                                 STAGE_NAME, [bad[k][0] for k in order], [bad[k][1] for k in order]))
    work = [inst for k, inst in enumerate(instructions) if k not in bad]
    prompts = [inst.prompt for inst in work]
    seed = derive_seed(cfg.seed, STAGE_NAME)
    completions, lines = generate_all(generators, prompts, seed, ctx) if work else ({p: [] for p in POLICIES}, [])

    verdicts = {p: verify_responses(work, [c.text for c in completions[p]]) for p in POLICIES}
    judged: dict[str, dict[str, list[Judgment]]] = {p: {} for p in POLICIES}
    settings: dict[str, Any] = {}
    failed: dict[str, Counter] = {}
    try:
        for name, judge in judges.items():
            items = [JudgeItem(f"{inst.source}/{inst.id}#{p}", inst.prompt, c.text, inst.requirements)
                     for p in POLICIES for inst, c in zip(work, completions[p], strict=True)]
            started = time.monotonic()
            results = judge.judge_all(items, progress=ctx.progress)
            for b, p in enumerate(POLICIES):
                judged[p][name] = results[b * len(work):(b + 1) * len(work)]
            settings[name] = judge.settings
            failed[name] = Counter(j.failure for j in results if j.failure)
            lines.append(f"judge {name} ({specs[name].kind}): {len(items):,} responses in "
                         f"{time.monotonic() - started:.1f} s" + (f"; failed: {dict(failed[name])}"
                                                                  if failed[name] else ""))
    finally:
        for judge in judges.values():
            judge.close()

    eval_items = []
    for k, inst in enumerate(work):
        results_of = {}
        for p in POLICIES:
            c, v = completions[p][k], verdicts[p][k]
            results_of[p] = PolicyResult(
                c.text, c.finish_reason, words(c.text), tuple(v["strict"]), tuple(v["loose"]),
                {n: None if judged[p][n][k].failure else judged[p][n][k].score for n in names},
                {n: judged[p][n][k].requirement_scores for n in names})
        eval_items.append(EvalItem(inst.source, inst.id, inst.category, inst.prompt,
                                   tuple(r.type for r in inst.requirements), tuple(r.text for r in inst.requirements),
                                   results_of))
    table = _responses_table(cfg, work, completions, verdicts, judged, names, identities,
                             {"base": base_dir, "trained": trained_dir}, seed, settings)
    summary = summarize(eval_items, names, seed=cfg.seed, resamples=cfg.bootstrap_resamples)
    by_reason = write_rejects(rejects, paths.rejects)
    counts = dict(Counter(inst.source for inst in work))
    summary["instructions"] = {"evaluated": counts, "skipped": dict(sorted(Counter(b[0] for b in bad.values())
                                                                           .items()))}
    summary["judge_failures"] = {n: dict(sorted(failed[n].items())) for n in names}
    summary["settings"] = {"base": str(base_dir), "trained": str(trained_dir), "base_identity": identities["base"],
                           "trained_identity": identities["trained"], "backend": cfg.backend,
                           "temperature": cfg.temperature, "top_p": cfg.top_p, "max_new_tokens": cfg.max_new_tokens,
                           "batch_size": cfg.batch_size, "dtype": cfg.dtype, "seed": cfg.seed, "judges": settings}

    write_table(table, responses_out)
    if paths.metrics is not None:
        write_json({STAGE_NAME: {"instructions": {"rows_in": rows_in, **summary["instructions"]},
                                 "rejects": rejects_summary(by_reason), **headline(summary),
                                 "judge_failures": summary["judge_failures"]}}, paths.metrics)
    sampling = "greedy" if cfg.temperature == 0 else f"temperature {cfg.temperature}, top_p {cfg.top_p}"
    about = {"base": str(base_dir), "trained": str(trained_dir), "base_identity": identities["base"],
             "trained_identity": identities["trained"], "instructions": counts,
             "skipped": summary["instructions"]["skipped"],
             "generation": f"{cfg.backend}, {sampling}, at most {cfg.max_new_tokens} new tokens, batch "
                           f"{cfg.batch_size}, seed {cfg.seed} (the same for both policies)"}
    with atomic_directory(report_dir) as tmp:
        write_json(summary, tmp / SUMMARY_FILE)
        render_figure(summary, tmp / FIGURE_FILE)
        (tmp / REPORT_FILE).write_text(render_markdown(summary, about=about, items=eval_items,
                                                       examples=cfg.examples, figure=FIGURE_FILE), encoding="utf-8")
    for source, cells in summary["sources"].items():
        o = cells["overall"]
        parts = []
        for m in ("prompt_strict", "instruction_strict", *names):
            d = o["difference"]
            ci = "" if d[f"{m}_low"] is None else f" [{d[f'{m}_low']:+.3f}, {d[f'{m}_high']:+.3f}]"
            base, trained = o["base"][m], o["trained"][m]
            parts.append(f"{m} {_f(base)} -> {_f(trained)}{ci}")
        lines.append(f"{source} ({o['n']:,} instructions): " + "; ".join(parts))
    return Report(STAGE_NAME, rows_in, len(work), by_reason, paths.outputs, paths.rejects, lines=lines,
                  counts=[("instructions by source", Counter(counts))])


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _responses_table(cfg: EvalPolicyConfig, work: list[Instruction], completions: dict[str, list[Completion]],
                     verdicts: dict[str, list[dict]], judged: dict[str, dict[str, list[Judgment]]], names: list[str],
                     identities: dict[str, str], models: dict[str, Path], seed: int,
                     settings: dict[str, Any]) -> pa.Table:
    schema = responses_schema(names)
    columns: dict[str, list] = {f.name: [] for f in schema}
    described = json.dumps(settings, sort_keys=True, default=str)
    for p in POLICIES:
        for k, inst in enumerate(work):
            c, v = completions[p][k], verdicts[p][k]
            row = {
                "policy": p, "source": inst.source, "id": inst.id, "category": inst.category,
                "language": inst.language, "prompt": inst.prompt,
                "requirement_ids": [r.id for r in inst.requirements],
                "requirement_types": [r.type for r in inst.requirements], "response": c.text,
                "finish_reason": c.finish_reason, "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens, "words": words(c.text), "strict": v["strict"],
                "loose": v["loose"], "verifier_status": v["status"], "verifier_reasons": v["reason"],
                "prompt_strict": _prompt_level(v["strict"]), "prompt_loose": _prompt_level(v["loose"]),
                "model": str(models[p]), "model_identity": identities[p], "backend": cfg.backend,
                "temperature": cfg.temperature, "top_p": cfg.top_p, "max_new_tokens": cfg.max_new_tokens,
                "batch_size": cfg.batch_size, "dtype": cfg.dtype, "seed": seed, "judge_settings": described,
            }
            for n in names:
                j = judged[p][n][k]
                row |= {f"score_{n}": None if j.failure else j.score,
                        f"requirement_scores_{n}": list(j.requirement_scores), f"failure_{n}": j.failure}
            for name, value in row.items():
                columns[name].append(value)
    return pa.table(columns, schema=schema)


STAGE = Stage(
    name=STAGE_NAME,
    config=EvalPolicyConfig,
    run=run,
    inputs=(Port("parsed", "Parsed instructions (the parse stage's output): the test split is evaluated."),
            Port("base", "The base policy: a Hugging Face causal-LM directory (the models stage's models/policy).",
                 directory=True),
            Port("trained", "The trained policy: a Hugging Face causal-LM directory (the grpo stage's "
                 "models/grpo_policy).", directory=True)),
    outputs=(Port("responses", "One row per (policy, instruction): the response, its verifier verdicts, every "
                  "judge's scores and the generation settings."),
             Port("report", "The report directory: eval_policy.md, the figure of accuracy by requirement type "
                  "before and after, and summary.json (every breakdown).", directory=True)),
    views=(View("policy_eval", "data/eval_policy/responses.parquet",
                "The base and trained policies' responses, one row per (policy, instruction): policy (base | "
                "trained), source (test | ifeval), id, category, prompt, requirement_ids, requirement_types, "
                "response, finish_reason, tokens, words, strict and loose verdicts per requirement, prompt_strict, "
                "prompt_loose, score_<judge>, requirement_scores_<judge>, failure_<judge>, and the model, its "
                "identity and the generation and judge settings.", stage=STAGE_NAME),),
)
