"""The DVC pipeline (data -> parse -> drop): definition, experiments, determinism and bad input.

The pipeline tests run DVC for real in small throw-away git repositories (see conftest.py).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, copy_project, dvc, git, make_project, run

import wrl.stages
from wrl.config import ParamsError, describe, load_params, params_from_dict
from wrl.stages.data import DataConfig

STAGES = tuple(s.name for s in wrl.stages.STAGES)
# Packages whose directory holds only modules (their files are deps one by one).
CODE_ONLY_PACKAGES = {"wrl/stages"}
# The engine modules (rust_ext/core/src/<name>.rs) each stage calls through the bindings; the test
# follows their `crate::` references to the modules they reach.
BINDINGS = REPO / "rust_ext/py/src"
def _dvc_yaml() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _lock_outs(root: Path) -> dict[str, str]:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for s in lock["stages"].values() for o in s["outs"]}


def _stage(root: Path, name: str, *extra: str, params: str = "params.yaml", check: bool = False):
    """Run a stage's command from dvc.yaml directly (not through DVC), with extra arguments."""
    cmd = yaml.safe_load((root / "dvc.yaml").read_text())["stages"][name]["cmd"]
    cfg = yaml.safe_load((root / params).read_text())
    cmd = cmd.replace("${data.path}", cfg["data"]["path"])
    args = cmd.split()
    assert args[0] == "python"
    return run([sys.executable, *args[1:], *extra], root, check=check)


# --- definition -----------------------------------------------------------------------------------


def test_params_yaml_is_valid_and_complete():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    load_params(REPO / "params.yaml")
    flat = set()
    wrapped = {key for key, tp, *_ in describe() if tp == "dict"}  # pass-through dicts: DVC tracks them whole

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            key = f"{prefix}{k}"
            walk(v, f"{key}.") if isinstance(v, dict) and key not in wrapped else flat.add(key)

    walk({s: raw[s] for s in STAGES}, "")
    documented = {key for key, *_ in describe() if key.split(".")[0] in STAGES}
    assert flat == documented, "params.yaml must set every key of wrl/config.py's sections (DVC tracks them)"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_params_are_listed_key_by_key(stage):
    listed = _dvc_yaml()["stages"][stage]["params"]
    assert listed == [key for key, *_ in describe() if key.split(".")[0] == stage]


def _wrl_imports(path: Path) -> set[str]:
    """wrl modules a file imports, as repository paths: ``wrl/io.py`` for a module, ``wrl/synth`` for a package
    (its code and data files), and ``wrl/_core`` for the extension."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "wrl":
                found.add("wrl/__init__.py")  # runs on every import of the package
                for n in range(len(parts), 1, -1):  # the deepest module of a dotted name
                    base = REPO / "/".join(parts[:n])
                    if base.with_suffix(".py").exists():
                        found.add(f"{'/'.join(parts[:n])}.py")
                        if n > 2:
                            found.add(f"{'/'.join(parts[:n - 1])}/__init__.py")
                        break
                    if (base / "__init__.py").exists():
                        # A package with data files (wrl/synth) is a dep as a whole directory.
                        package = "/".join(parts[:n])
                        found.add(f"{package}/__init__.py" if package in CODE_ONLY_PACKAGES else package)
                        break
                if parts[1:2] == ["_core"]:
                    found.add("wrl/_core")
    return found


def _binding_items() -> dict[str, tuple[str, str]]:
    """Top-level items of the binding crate (fns, structs, impls) by name: ``name -> (file, text)``."""
    items: dict[str, tuple[str, str]] = {}
    for path in sorted(BINDINGS.glob("*.rs")):
        text = path.read_text().split("#[cfg(test)]")[0]
        starts = [m.start() for m in re.finditer(r"^(?:#\[|pub |fn |struct |impl|const |static )", text, re.M)]
        for a, b in zip(starts, [*starts[1:], len(text)], strict=True):
            item = r"^(?:pub(?:\(crate\))? )?(?:fn|struct|const|static) (\w+)|^impl(?:<[^>]*>)? (\w+)"
            m = re.search(item, text[a:b], re.M)
            if m:
                name = m.group(1) or m.group(2)
                prev = items.get(name, (path.name, ""))[1]
                items[name] = (path.name, prev + text[a:b])
    return items


def _rust_entry(core_names: set[str]) -> tuple[set[str], set[str]]:
    """The core modules and binding files that the ``_core`` functions a stage calls reach.

    Follows the binding functions' bodies to the binding items they name, then to the core: a
    ``wrl_core::module`` path, or a name the binding file imports from a core module.
    """
    items = _binding_items()
    imported: dict[str, dict[str, str]] = {}  # binding file -> imported name -> core module
    root = {"CoreError": "error", "Result": "error", "ParsedInstruction": "model", "Requirement": "model"}
    for path in BINDINGS.glob("*.rs"):
        names = imported.setdefault(path.name, {})
        for module, group in re.findall(r"^use wrl_core::(\w+)::(?:\{([^}]*)\}|\w+);", path.read_text(), re.M):
            for name in re.findall(r"\w+", group) or []:
                names[name] = module
        for line in re.findall(r"^use wrl_core::(\w+)::(\w+);", path.read_text(), re.M):
            names[line[1]] = line[0]
        for group in re.findall(r"^use wrl_core::\{([^}]*)\};", path.read_text(), re.M):
            names.update({n: root[n] for n in re.findall(r"\w+", group) if n in root})
    todo, seen, modules, files = [n for n in core_names if n in items], set(), set(), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        file, text = items[name]
        files.add(f"rust_ext/py/src/{file}")
        modules |= set(re.findall(r"wrl_core::([a-z_]+)", text))
        words = set(re.findall(r"\b[A-Za-z_]\w*\b", text))
        modules |= {imported[file][w] for w in words if w in imported.get(file, {})}
        todo += [w for w in words if w in items and w not in seen and w != "_core"]
    src = REPO / "rust_ext/core/src"
    return {m for m in modules if (src / f"{m}.rs").exists() or (src / m / "mod.rs").exists()}, files


def _rust_closure(entry: set[str]) -> set[str]:
    """Core source files reachable from ``entry`` modules through ``crate::``, ``mod`` and ``include_str!`` (tests
    excluded); where one includes what build.rs generates (``OUT_DIR``), build.rs and what it reads."""
    crate = REPO / "rust_ext/core"

    def module_file(m: str) -> str:  # a module is ``m.rs`` or a directory ``m/mod.rs``
        return f"{m}/mod.rs" if (crate / "src" / m / "mod.rs").exists() else f"{m}.rs"

    todo, files, generated = [module_file(m) for m in entry], set(), False
    while todo:
        name = todo.pop()
        if name in files:
            continue
        files.add(name)
        text = (crate / "src" / name).read_text().split("#[cfg(test)]")[0]
        todo += [module_file(m) for m in re.findall(r"crate::([a-z_]+)", text)]
        for group in re.findall(r"crate::\{([^}]*)\}", text):  # use crate::{model::X, text};
            todo += [module_file(m) for m in re.findall(r"(?:^|,)\s*([a-z_]+)", group)]
        here = name.removesuffix("/mod.rs") if name.endswith("/mod.rs") else name.removesuffix(".rs")
        todo += [f"{here}/{m}.rs" for m in re.findall(r"^(?:pub\s+)?mod\s+([a-z_]+);", text, re.M)]
        todo += [f for f in re.findall(r'include_str!\("([^"/]+)"\)', text)]
        generated |= 'env!("OUT_DIR")' in text
    found = {f"rust_ext/core/src/{f}" for f in files}
    if generated:
        build = (crate / "build.rs").read_text()
        rerun = re.findall(r"cargo::rerun-if-changed=([^\"]+)", build)
        found |= {"rust_ext/core/build.rs"} | {f"rust_ext/core/{p}" for p in rerun}
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_cover_the_code_it_runs(stage):
    """Every wrl module a stage imports (transitively) is a dep, and the Rust sources if it uses the engine."""
    deps = set(_dvc_yaml()["stages"][stage]["deps"])
    script = f"pipeline/{stage}.py"
    assert script in deps
    # The registry and the other stages are imported to validate all of params.yaml, which cannot change
    # this stage's outputs (DVC tracks its own params key by key); everything else it imports can.
    others = {"wrl/stages/__init__.py"} | {f"wrl/stages/{s}.py" for s in STAGES if s != stage}
    todo, seen = [script, f"wrl/stages/{stage}.py"], {f"wrl/stages/{stage}.py"}  # the script runs it by name
    while todo:
        path = todo.pop()
        for module in _wrl_imports(REPO / path):
            if module not in seen and module not in others:
                seen.add(module)
                # The package's __init__ only re-exports (it is a dep of every stage itself): what a stage
                # runs is what its own modules import.
                if module.endswith(".py") and module != "wrl/__init__.py":
                    todo.append(module)
                elif (REPO / module).is_dir() or module != "wrl/_core":
                    todo += [str(f.relative_to(REPO)) for f in sorted((REPO / module).glob("*.py"))]
    needed = seen - {"wrl/_core"}
    missing = {m for m in needed - deps if not any(m.startswith(f"{d}/") for d in deps)}  # or in a dep directory
    assert not missing, f"missing deps: {sorted(missing)}"
    calls = set()
    if "wrl/_core" in seen:
        for module in needed:
            for path in [REPO / module] if module.endswith(".py") else sorted((REPO / module).glob("*.py")):
                calls |= set(re.findall(r"_core\.(\w+)", path.read_text()))
    listed = {d for d in deps if d.startswith("rust_ext/")}
    rust: set[str] = set()
    if calls:  # a stage that only imports the exception classes runs no engine code
        entry, bindings = _rust_entry(calls)
        rust = _rust_closure(entry) | bindings
        assert rust <= deps, f"missing Rust deps: {sorted(rust - deps)}"
    assert listed <= rust, f"Rust deps the stage does not reach: {sorted(listed - rust)}"
    extra = {d for d in deps if d.startswith("wrl/")} - needed
    assert not extra, f"deps the stage does not import: {sorted(extra)}"
    for dep in deps - {"${data.path}", "${eval_policy.ifeval}"}:  # input files named in params.yaml
        outs = {next(iter(o)) if isinstance(o, dict) else o for s in _dvc_yaml()["stages"].values()
                for o in s.get("outs", [])}
        assert (REPO / dep).exists() or dep in outs, dep


def test_committed_lock_matches_the_code():
    """dvc.lock records the code and params this checkout has: a newcomer's first `dvc repro` recomputes
    nothing that a remote holds. (Outputs may be absent here; only changed deps, params or commands fail.)"""
    outs = {next(iter(o)) if isinstance(o, dict) else o for stage in _dvc_yaml()["stages"].values()
            for o in stage.get("outs", [])}  # an out with options (persist, cache) is a one-key dict
    status = json.loads(dvc("status", "--json", cwd=REPO).stdout or "{}")
    stale: dict[str, list] = {}
    for stage, changes in status.items():
        for change in changes:
            if isinstance(change, dict):
                change = {kind: {path: state for path, state in paths.items()  # an upstream output not built here
                                 if not (kind == "changed deps" and state == "deleted" and path in outs)}
                          for kind, paths in change.items() if kind != "changed outs"}
                change = {kind: paths for kind, paths in change.items() if paths}
            if change:
                stale.setdefault(stage, []).append(change)
    assert not stale, f"dvc.lock is stale, run `dvc repro`: {stale}"


def test_metrics_and_plots_are_declared_and_kept_in_git():
    spec = _dvc_yaml()
    outs = {}
    for s in STAGES:
        for o in spec["stages"][s]["outs"]:
            outs.update(o if isinstance(o, dict) else {o: {}})
    for m in spec["metrics"]:
        assert outs[m] == {"cache": False}
    for plot in spec["plots"]:
        (definition,) = plot.values()
        for f in definition["y"]:
            assert outs[f] == {"cache": False}


# --- params ---------------------------------------------------------------------------------------


def test_unknown_keys_and_bad_values_are_named():
    with pytest.raises(ParamsError, match=r"unknown key 'drop\.rte' \(did you mean 'drop\.rate'\?\).*strategy, rate"):
        params_from_dict({"drop": {"rte": 0.3}})
    with pytest.raises(ParamsError, match=r"unknown key 'trian'.*valid keys of params: data, parse, drop"):
        params_from_dict({"trian": {}})
    with pytest.raises(ParamsError, match=r"drop\.strategy must be one of independent, exact_k, progressive"):
        params_from_dict({"drop": {"strategy": "random"}})
    with pytest.raises(ParamsError, match=r"drop\.rate must be <= 1\.0, got 1\.5"):
        params_from_dict({"drop": {"rate": 1.5}})
    with pytest.raises(ParamsError, match=r"data\.n must be int, got '10' \(str\)"):
        params_from_dict({"data": {"n": "10"}})
    with pytest.raises(ParamsError, match=r"data\.splits\.train \+ dev \+ test must sum to 1"):
        params_from_dict({"data": {"splits": {"train": 0.5}}})
    with pytest.raises(ParamsError, match="must be a mapping"):
        params_from_dict({"parse": [1, 2]})
    assert params_from_dict({"drop": {"rate": 1}}).drop.rate == 1.0
    assert isinstance(DataConfig().splits.train, float)


def test_bad_params_file_fails_before_any_work(tmp_path):
    root = make_project(tmp_path / "p", commit=False)
    (root / "params.yaml").write_text((root / "params.yaml").read_text().replace("  rate: 0.5", "  rte: 0.5"))
    proc = _stage(root, "data")
    assert proc.returncode == 2
    assert "unknown key 'drop.rte'" in proc.stderr and "valid keys of 'drop'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (root / "data").exists() and not (root / "metrics").exists()
    # (from outside the project: its wrl/ copy has no built extension to import)
    proc = run([sys.executable, "-m", "wrl.config", str(root / "params.yaml")], tmp_path, check=False)
    assert proc.returncode == 2 and "drop.rte" in proc.stderr


# --- running the pipeline -------------------------------------------------------------------------


def test_repro_builds_every_artifact(built_project):
    root = built_project
    instructions = pq.read_table(root / "data/instructions.parquet")
    parsed = pq.read_table(root / "data/parsed.parquet")
    variants = pq.read_table(root / "data/variants.parquet")
    assert instructions.num_rows == 400
    assert {"id", "prompt", "split", "gold_requirements"} <= set(instructions.column_names)
    assert {"requirements", "n_requirements", "split", "base_task"} <= set(parsed.column_names)
    assert {"variant", "variant_id", "strategy", "split", "dropped_types", "prompt"} <= set(variants.column_names)
    for f in root.glob("data/*.parquet"):
        assert pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD", f
    # test instructions get progressive variants, train/dev the configured strategy
    by_split = {}
    for split, strategy in zip(variants["split"].to_pylist(), variants["strategy"].to_pylist(), strict=True):
        by_split.setdefault(split, set()).add(strategy)
    assert by_split["test"] == {"progressive"}
    assert by_split["train"] == by_split["dev"] == {"independent"}

    data = json.loads((root / "metrics/data.json").read_text())["data"]
    parse = json.loads((root / "metrics/parse.json").read_text())["parse"]
    drop = json.loads((root / "metrics/drop.json").read_text())["drop"]
    assert data["rows"] == 400 and sum(data["splits"].values()) == 400
    assert parse["rows_in"] == parse["rows"] + parse["rejects"]["total"]
    assert parse["requirements"]["total"] == sum(parse["requirements"]["by_family"].values()) > 0
    assert 0 < parse["parser"]["precision"] <= 1 and 0 < parse["parser"]["recall"] <= 1
    assert drop["variants"]["total"] == variants.num_rows
    assert 0 < drop["train_dev"]["drop_rate"] <= 1
    types = json.loads((root / "plots/requirement_types.json").read_text())
    assert sum(r["count"] for r in types) == parse["requirements"]["total"]
    drops = json.loads((root / "plots/drops_by_type.json").read_text())
    assert sum(r["dropped"] for r in drops) == drop["train_dev"]["dropped"]
    shown = dvc("metrics", "show", "--json", cwd=root).stdout
    assert {"metrics/data.json", "metrics/parse.json", "metrics/drop.json"} <= set(
        next(iter(json.loads(shown).values()))["data"])  # what `dvc repro drop` built


def test_outputs_are_byte_identical_when_rebuilt(built_project, tmp_path):
    root = copy_project(built_project, tmp_path / "p")
    before = _lock_outs(root)
    dvc("repro", "-f", "drop", cwd=root)
    assert _lock_outs(root) == before
    assert git("status", "--porcelain", cwd=root).stdout == ""
    # the thread count never changes a result
    _stage(root, "drop", "--threads", "1", check=True)
    assert _lock_outs(root) == before


def test_exp_run_set_param_reruns_only_drop(built_project, tmp_path):
    root = copy_project(built_project, tmp_path / "p")
    before = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    out = dvc("exp", "run", "-S", "drop.rate=0.3", "drop", cwd=root).stdout
    assert "Running stage 'drop'" in out
    assert "Running stage 'data'" not in out and "Running stage 'parse'" not in out
    after = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    assert after["data"] == before["data"] and after["parse"] == before["parse"]
    assert after["drop"]["params"]["params.yaml"]["drop.rate"] == 0.3

    header, *lines = csv.reader(dvc("exp", "show", "--csv", cwd=root).stdout.splitlines())
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    rate_col = "drop.rate"
    metric = "drop.train_dev.drop_rate"
    assert rate_col in header and metric in header, header
    experiments = [r for r in rows if r["Experiment"] and r[rate_col] == "0.3"]
    baseline = [r for r in rows if r[rate_col] == "0.5"]
    assert experiments and baseline
    assert float(experiments[0][metric]) < float(baseline[0][metric])
    assert experiments[0]["data.rows"] == baseline[0]["data.rows"] == "400"  # data metrics unchanged
    changed = dvc("exp", "show", "--only-changed", "--csv", cwd=root).stdout.splitlines()[0].split(",")
    assert metric in changed and "data.rows" not in changed


def test_unknown_param_in_exp_run_is_refused(built_project, tmp_path):
    root = copy_project(built_project, tmp_path / "p")
    proc = dvc("exp", "run", "-S", "drop.rte=0.3", "drop", cwd=root, check=False)
    assert proc.returncode != 0 and "drop.rte" in proc.stdout + proc.stderr
    proc = dvc("exp", "run", "-S", "drop.rate=1.5", "drop", cwd=root, check=False)
    assert proc.returncode != 0 and "drop.rate must be <= 1.0" in proc.stdout + proc.stderr
    assert "drop: " not in proc.stdout  # the stage stopped before its work (DVC itself removed the old outputs)
    assert not list((root / "data").glob(".*.tmp"))


# --- bad input ------------------------------------------------------------------------------------


def test_corrupt_input_names_the_file_and_leaves_nothing(built_project, tmp_path):
    root = copy_project(built_project, tmp_path / "p")
    src = root / "data/instructions.parquet"
    src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    (root / "data/parsed.parquet").unlink()
    proc = _stage(root, "parse")
    assert proc.returncode == 2, proc.stderr
    assert "data/instructions.parquet" in proc.stderr and "Traceback" not in proc.stderr
    assert not (root / "data/parsed.parquet").exists()
    assert not list((root / "data").glob(".*.tmp"))


def test_truncated_jsonl_source_names_the_file(tmp_path):
    root = make_project(tmp_path / "p", commit=False)
    bad = root / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "Write a poem. Use at least 50 words."}\n{"id": "b", "pro')
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"].update(source="generic", path="bad.jsonl")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    proc = _stage(root, "data")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "bad.jsonl" in proc.stderr and "Traceback" not in proc.stderr
    assert not (root / "data/instructions.parquet").exists()


def test_malformed_rows_are_quarantined_and_counted(tmp_path):
    root = make_project(tmp_path / "p", commit=False)
    (root / "data").mkdir()
    prompts = [b"Write a poem about rain. Use at least 50 words.", None, b"Write \xff\xfe a story.",
               b"Write a haiku. Do not use any commas.", b"Write a letter in all lowercase letters."]
    table = pa.table({"id": ["a", "b", "c", "a", "e"], "prompt": pa.array(prompts, pa.binary()),
                      "split": ["train", "train", "dev", "test", "test"]})
    pq.write_table(table, root / "data/instructions.parquet")
    _stage(root, "parse", check=True)
    rejects = pq.read_table(root / "data/parsed.rejects.parquet").to_pylist()
    reasons = {r["id"]: r["reason_kind"] for r in rejects}
    assert set(reasons) == {"b", "c", "a"}
    assert reasons["a"] == "duplicate_id"
    assert [r["row"] for r in rejects] == [1, 2, 3]
    metrics = json.loads((root / "metrics/parse.json").read_text())["parse"]
    assert metrics["rows"] == 2 and metrics["rejects"]["total"] == 3
    assert sum(metrics["rejects"]["by_reason"].values()) == 3


def test_malformed_source_rows_are_quarantined(tmp_path):
    root = make_project(tmp_path / "p", commit=False)
    rows = [{"id": "a", "prompt": "Write a poem about rain. Use at least 50 words."}, {"id": "b"},
            {"id": "c", "prompt": 5}, {"id": "a", "prompt": "Write a haiku."},
            {"id": "e", "prompt": "Write a letter. Do not use any commas."}]
    (root / "src.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"].update(source="generic", path="src.jsonl")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    _stage(root, "data", check=True)
    _stage(root, "parse", check=True)
    quarantined = {}
    for name in ("instructions", "parsed"):
        for r in pq.read_table(root / f"data/{name}.rejects.parquet").to_pylist():
            quarantined[r["id"]] = r["reason"]
    assert {"b", "c"} <= set(quarantined), quarantined
    parsed_ids = pq.read_table(root / "data/parsed.parquet")["id"].to_pylist()
    assert sorted(parsed_ids) == ["a", "e"]
    data = json.loads((root / "metrics/data.json").read_text())["data"]
    parse = json.loads((root / "metrics/parse.json").read_text())["parse"]
    assert data["rows"] + data["rejects"]["total"] == 5
    assert data["rejects"]["total"] + parse["rejects"]["total"] == 3
