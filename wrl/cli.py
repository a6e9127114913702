"""The ``wrl`` command-line tool.

Every pipeline stage is a subcommand built from its declaration (:mod:`wrl.stage`): ``wrl parse``
and ``wrl drop`` take the stage's paths as arguments and its ``params.yaml`` section as options
(names, ranges, choices and help from the section's fields), and call the same function as the
DVC script. ``wrl data synth`` / ``wrl data import`` run the data stage with its source fixed.
``wrl sql`` and ``wrl verify`` work on any file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import click

from wrl.config import Section, load_params, params_from_dict
from wrl.errors import DatasetError
from wrl.io import check_output, read_input, write_table
from wrl.models import DTYPES
from wrl.requirements import MAX_BYTES_MAX
from wrl.reward_model import AGGREGATES
from wrl.stage import Context, Paths, Report, Stage, report_error
from wrl.stages import STAGES, stage

THREADS = click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
                       help="Worker threads (0 = all cores; more than the cores are capped).")


def _option_type(tp: Any, meta: dict) -> click.ParamType:
    """The click type of a section field: its choices, or its range (one source of bounds)."""
    if meta.get("choices"):
        return click.Choice([str(c) for c in meta["choices"]])
    if tp in (int, float):
        kind = click.FloatRange if tp is float else click.IntRange
        return kind(min=meta.get("min"), max=meta.get("max"))
    if tp is bool:
        return click.BOOL
    return click.STRING


def _section_fields(section: type[Section], prefix: str = "") -> list[tuple[str, dataclasses.Field, Any]]:
    """Every scalar field of a section as ``(dotted name, field, type)``, nested sections flattened."""
    hints = typing.get_type_hints(section)
    out = []
    for f in dataclasses.fields(section):
        if dataclasses.is_dataclass(hints[f.name]):
            out += _section_fields(hints[f.name], f"{prefix}{f.name}.")
        elif (typing.get_origin(hints[f.name]) or hints[f.name]) is not dict:
            out.append((f"{prefix}{f.name}", f, hints[f.name]))
    return out


def _config_options(section: type[Section], skip: tuple[str, ...] = ()):
    """Decorator adding one option per section field (``--max-variants``, ``--splits-train``)."""
    defaults = section()

    def default_of(name: str) -> Any:
        value: Any = defaults
        for part in name.split("."):
            value = getattr(value, part)
        return value

    def decorate(fn):
        for name, f, tp in reversed(_section_fields(section)):
            if name in skip:
                continue
            flag = "--" + name.replace(".", "-").replace("_", "-")
            fn = click.option(flag, f"cfg__{name.replace('.', '__')}", type=_option_type(tp, f.metadata),
                              default=None, help=f"{f.metadata.get('help', '')} [default: {default_of(name)}]")(fn)
        return click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path),
                            help=f"Take the defaults from this params.yaml's {section._key!r} section.")(fn)
    return decorate


def _build_config(section: type[Section], params_file: Path | None, given: dict[str, Any],
                  fixed: dict[str, Any] | None = None) -> Section:
    """The section from ``--params`` (or its defaults), with the options given on the command line on top."""
    base = getattr(load_params(params_file), section._key) if params_file else section()
    raw = dataclasses.asdict(base)
    for key, value in {**{k[5:].replace("__", "."): v for k, v in given.items() if k.startswith("cfg__")},
                       **(fixed or {})}.items():
        if value is None:
            continue
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return getattr(params_from_dict({section._key: raw}, source="command line"), section._key)


def _rejects_path(out: Path, given: Path | None) -> Path:
    """``OUT.rejects.EXT`` beside a file output; ``OUT.rejects.parquet`` beside a directory output."""
    return given or out.with_name(f"{out.stem}.rejects{out.suffix or '.parquet'}")


def _run(spec: Stage, cfg: Section, paths: Paths, threads: int) -> None:
    paths.check_outputs()
    report: Report = spec.run(cfg, paths, Context(threads=threads))
    click.echo(report.render())


class _Group(click.Group):
    """Turns every error into one ``error:`` line, never a traceback: exit status 2 for bad input or
    arguments, 70 for a bug in wrl (with a request to report it)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:  # noqa: BLE001 - report_error tells our bugs from the user's mistakes
            sys.exit(report_error(e))

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(130)
        except click.ClickException as e:
            if isinstance(e, click.UsageError) and e.ctx is not None:
                click.echo(e.ctx.get_usage(), err=True)
            click.echo(f"error: {e.format_message()}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="wrl")
def main() -> None:
    """wrl: requirement-level data, reward models and evaluation for writing."""


def _stage_command(spec: Stage) -> click.Command:
    """``wrl <stage> INPUTS... OUTPUTS... [--rejects] [--metrics] [--plots ...] [section options] [--threads]``."""
    ports = (*spec.inputs, *spec.outputs)

    @_config_options(spec.config)
    @THREADS
    def command(threads: int, params_file: Path | None, rejects_out: Path | None, metrics_out: Path | None,
                plots_out: tuple[Path, ...] | None, **kwargs: Any) -> None:
        paths = [kwargs.pop(p.name) for p in ports]
        outputs = tuple(paths[len(spec.inputs):])
        cfg = _build_config(spec.config, params_file, kwargs)
        _run(spec, cfg, spec.paths(tuple(paths[:len(spec.inputs)]), outputs,
                                   _rejects_path(outputs[0], rejects_out) if spec.rejects else None, metrics_out,
                                   tuple(plots_out or ())), threads)

    for port in reversed(ports):
        command = click.argument(port.name, type=click.Path(path_type=Path))(command)
    command = click.option("--rejects", "rejects_out", type=click.Path(path_type=Path),
                           help="Rejects file [OUT.rejects.EXT].")(command)
    command = click.option("--metrics", "metrics_out", type=click.Path(path_type=Path),
                           help="Also write the stage's metrics (JSON, as `dvc metrics show` reads them).")(command)
    command = click.option("--plots", "plots_out", type=click.Path(path_type=Path), nargs=len(spec.plots),
                           default=None, hidden=not spec.plots,
                           help="Also write the plot data: " + "; ".join(p.help for p in spec.plots))(command)
    doc = f"{spec.description}\n\n\b\n" + "\n".join(f"{p.name.upper()}: {p.help}" for p in ports)
    return click.command(spec.name, help=doc)(command)


for _spec in STAGES:
    if _spec.name != "data":  # the data stage runs as `wrl data synth` / `wrl data import`
        main.add_command(_stage_command(_spec))


@main.command()
@click.argument("query", required=False)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Project root the artifact paths are relative to.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the result to a .csv, .parquet (zstd) or .json (JSON lines) file instead of printing it.")
@click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a DuckDB database with a view per artifact (for the duckdb shell and notebooks).")
@click.option("--max-rows", default=40, show_default=True, help="Rows printed.")
@click.option("--list", "list_views", is_flag=True, help="List the views and whether their artifacts exist.")
def sql(query: str | None, root: Path, out: Path | None, catalog: Path | None, max_rows: int,
        list_views: bool) -> None:
    """Run SQL QUERY over the pipeline's artifacts: a view per artifact (instructions, requirements, ...).

    \b
    Example:
      wrl sql "SELECT type, count(*) AS n FROM requirements GROUP BY type ORDER BY n DESC"
      wrl sql "SELECT * FROM variants WHERE split = 'test'" --out test_variants.parquet
      wrl sql --catalog wrl.duckdb && duckdb wrl.duckdb
    """
    import shutil

    from wrl import sql as wsql

    for path, dataset in ((out, False), (catalog, False)):
        if path is not None:
            check_output(path, dataset=dataset)
    if list_views:
        built = wsql.available(root)
        for name, view in wsql.VIEWS.items():
            state = "ok" if built[name] else "not built"
            click.echo(f"{name:<14} {state:<10} {view.path}\n{'':<25} {view.description}")
    if catalog is not None:
        names = wsql.write_catalog(catalog, root)
        click.echo(f"catalog: {catalog}: views {', '.join(names) or '(none built yet)'}", err=out is None and
                   query is not None)
    if query is None:
        if not (list_views or catalog):
            raise click.UsageError("give a QUERY, --catalog or --list")
        return
    con = wsql.connect(root)
    try:
        rel = wsql.run_query(con, query, root)
        if out is not None:
            wsql.write_result(con, query, out)
            click.echo(f"wrote {out}", err=True)
        elif rel is not None:
            rel.show(max_rows=max_rows, max_width=shutil.get_terminal_size((160, 40)).columns)
    except wsql.duckdb.Error as e:
        raise DatasetError(f"SQL: {e}") from None


@main.command()
@click.argument("inp", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
@click.option("--metrics", "metrics_out", type=click.Path(path_type=Path),
              help="Write the IFEval figures (overall, by type, by IFEval id) to this JSON file.")
@click.option("--by", type=click.Choice(["type", "instruction_id"]), default="type", show_default=True,
              help="Break the printed figures down by requirement type or by IFEval instruction id.")
@click.option("--response-column", default="response", show_default=True)
@click.option("--max-bytes", default=1 << 20, show_default=True, type=click.IntRange(1, MAX_BYTES_MAX),
              help="Reject longer responses.")
@THREADS
def verify(inp: Path, out: Path, rejects_out: Path | None, metrics_out: Path | None, by: str, response_column: str,
           max_bytes: int, threads: int) -> None:
    """Verify the responses of INP against their requirements; write per-requirement results to OUT.

    INP has a ``response`` column and, per row, IFEval's ``instruction_id_list`` + ``kwargs``, a
    ``requirements`` column (from ``wrl parse``), or a ``prompt`` parsed on the fly. Prints IFEval's
    four figures (prompt- and instruction-level accuracy, strict and loose) by requirement type.
    """
    from wrl.io import write_json
    from wrl.verify import format_figures, ifeval_figures, verify_dataset

    rej_path = _rejects_path(out, rejects_out)
    Paths((inp,), (out,), rej_path, metrics_out).check_outputs()
    source = read_input(inp, stage="verify", text_columns=(response_column, "prompt"), id_columns=("id", "key"))
    results, rejects = verify_dataset(source.table, response_column=response_column, max_bytes=max_bytes,
                                      threads=threads)
    results, rejects = source.renumber(results), source.merge(rejects)
    write_table(results, out)
    write_table(rejects, rej_path)
    figures = ifeval_figures(results)
    if metrics_out is not None:
        write_json(figures, metrics_out)
    verified = len(set(results["row"].to_pylist()))
    click.echo(Report("verify", source.rows_in, verified, Counter(rejects["reason_kind"].to_pylist()), (out,),
                      rej_path, lines=[f"input: {inp}"],
                      counts=[("requirements by status", Counter(results["status"].to_pylist()))]).render())
    click.echo("  IFEval figures (%):")
    for line in format_figures(figures, by=f"by_{by}").splitlines():
        click.echo(f"    {line}")
    if metrics_out is not None:
        click.echo(f"  figures written to {metrics_out}")


@main.group("eval")
def eval_group() -> None:
    """Measure wrl's own parts on your data."""


@eval_group.command("parser")
@click.argument("inp", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-prompt misses (missed, spurious, wrong params) to this .parquet or .jsonl file.")
@THREADS
def eval_parser(inp: Path, as_json: bool, out: Path | None, threads: int) -> None:
    """Parse the prompt TEXT of every row of INP and score it against the row's gold requirements.

    INP is any IFEval-format file (``instruction_id_list`` + ``kwargs``, JSONL/CSV/Parquet) or a file
    with a ``gold_requirements`` column. Prints recall, precision and parameter agreement by type,
    overall and for the rule-verifiable types, and the share of prompts whose every requirement was
    found. Rows without a usable prompt or gold are counted as rejected, by reason.
    """
    import json

    from wrl.parser_report import evaluate_parser, format_parser_report

    if out is not None:
        check_output(out)
    report, misses, _ = evaluate_parser(inp, threads=threads)
    if out is not None:
        write_table(misses, out)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        click.echo(format_parser_report(report))
        if out is not None:
            click.echo(f"{misses.num_rows} misses written to {out}")


@main.group()
def data() -> None:
    """Build instruction datasets: synthesize one, or import IFEval, WritingBench or any table."""


def _run_data(fixed: dict[str, Any], source_path: Path, out: Path, rejects_out: Path | None, threads: int,
              params_file: Path | None, given: dict[str, Any]) -> None:
    spec = stage("data")
    cfg = _build_config(spec.config, params_file, given, fixed)
    _run(spec, cfg, Paths((source_path,), (out,), _rejects_path(out, rejects_out)), threads)


@data.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
@_config_options(stage("data").config, skip=("source", "path", "prompt_column", "id_column", "category_column"))
def data_synth(out: Path, rejects_out: Path | None, params_file: Path | None, **given: Any) -> None:
    """Synthesize N writing instructions with gold requirements and splits into OUT (Parquet/JSONL/CSV)."""
    _run_data({"source": "synth"}, Path(""), out, rejects_out, 0, params_file, given)


@data.command("import")
@click.argument("source", type=click.Choice(["ifeval", "writingbench", "generic"]))
@click.argument("inp", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
@_config_options(stage("data").config, skip=("source", "path", "n", "seed", "zh_share"))
def data_import(source: str, inp: Path, out: Path, rejects_out: Path | None, params_file: Path | None,
                **given: Any) -> None:
    """Import SOURCE-format instructions from INP into OUT with splits; malformed rows go to the rejects file."""
    _run_data({"source": source, "path": str(inp)}, inp, out, rejects_out, 0, params_file, given)


# --- reward-model scoring and serving --------------------------------------------------------------

DEFAULT_REWARD_MODEL = "models/reward_model"


def _model_options(fn):
    """The options shared by ``wrl score`` and ``wrl serve-rm``: which model, where and how it scores."""
    for option in reversed((
        click.option("--model", default=DEFAULT_REWARD_MODEL, show_default=True,
                     help="The reward model directory (the train_rm stage's output), or package:NAME."),
        click.option("--batch-size", default=None, type=click.IntRange(min=1),
                     help="Pairs per forward pass [default: 8 on CPU, 32 on a GPU]."),
        click.option("--device", default="auto", show_default=True,
                     help="auto (GPU if visible), cpu, cuda, cuda:1..."),
        click.option("--dtype", default="auto", show_default=True, type=click.Choice(DTYPES),
                     help="Weights' dtype (auto: as saved)."),
        click.option("--aggregate", default="mean", show_default=True, type=click.Choice(AGGREGATES),
                     help="How per-requirement scores become a response's score."),
        click.option("--max-length", default=None, type=click.IntRange(min=16),
                     help="Tokens per pair (longer responses are cut) [default: as trained]."),
    )):
        fn = option(fn)
    return fn


def default_batch_size(device: str) -> int:
    """Pairs per forward pass when not given: 8 on CPU, 32 on a GPU.

    A CPU is compute-bound, so a bigger batch gains little (MiniLM at 192 tokens: 18.5 pairs/s at 32 sorted,
    14.6 one by one) while padding costs in full: the server's batches cannot be length-sorted across
    requests, and at 32 per forward a batch of 16 requests paid 35% padding and fell below one-at-a-time.
    """
    from wrl.models import pick_device

    return 8 if pick_device(device) == "cpu" else 32


def _load_reward_model(model: str, batch_size: int | None, device: str, dtype: str, aggregate: str,
                       max_length: int | None) -> Any:
    from wrl.reward_model import RewardModel

    return RewardModel.load(model, device=device, dtype=dtype, batch_size=batch_size or default_batch_size(device),
                            aggregate=aggregate, max_length=max_length)


@main.command("score")
@click.argument("inp", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@_model_options
@click.option("--response-column", default="response", show_default=True, help="The column holding the responses.")
@click.option("--keep", multiple=True, help="An input column to carry into OUT (repeatable), e.g. --keep label.")
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
def score(inp: Path, out: Path, model: str, batch_size: int | None, device: str, dtype: str, aggregate: str,
          max_length: int | None, response_column: str, keep: tuple[str, ...], rejects_out: Path | None) -> None:
    """Score the responses of INP against their requirements; write one row per (response, requirement) to OUT.

    INP (Parquet/JSONL/CSV) has a response column and either ``requirements`` (a list of texts, or
    the parse stage's requirement structs) or ``requirement`` (one per row). OUT holds each pair's
    score, the response's aggregate (``aggregate_score``) and the scoring settings; unscorable rows
    go to the rejects file with their reason.
    """
    from wrl.scoring import score_file

    rej_path = _rejects_path(out, rejects_out)
    Paths((inp,), (out,), rej_path).check_outputs()
    if not inp.is_file():
        raise DatasetError(f"{inp}: no such file")
    rm = _load_reward_model(model, batch_size, device, dtype, aggregate, max_length)
    click.echo(score_file(rm, inp, out, rej_path, response_column=response_column, keep=keep).render())


@main.command("serve-rm")
@_model_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (0.0.0.0 exposes the server to the network: set --token).")
@click.option("--port", default=8008, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--token", envvar="WRL_RM_TOKEN", default=None,
              help="Require 'Authorization: Bearer TOKEN' on every route [env WRL_RM_TOKEN].")
@click.option("--max-request-bytes", default=8 << 20, show_default=True, type=click.IntRange(min=1),
              help="Larger request bodies get 413.")
@click.option("--request-timeout-s", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="A request not scored in this time gets 504 (its pairs leave the queue).")
@click.option("--max-batch-pairs", default=64, show_default=True, type=click.IntRange(min=1),
              help="Pairs scored together, across requests.")
@click.option("--max-wait-ms", default=5.0, show_default=True, type=click.FloatRange(min=0),
              help="How long a request waits for others to join its batch.")
@click.option("--max-queue-pairs", default=8192, show_default=True, type=click.IntRange(min=1),
              help="Pairs waiting at most; beyond it requests get 503 with Retry-After.")
@click.option("--verbose", is_flag=True, help="Log every request (stderr).")
def serve_rm(model: str, batch_size: int | None, device: str, dtype: str, aggregate: str, max_length: int | None,
             host: str, port: int, token: str | None, max_request_bytes: int, request_timeout_s: float,
             max_batch_pairs: int, max_wait_ms: float, max_queue_pairs: int, verbose: bool) -> None:
    """Serve the reward model over HTTP, batching pairs across concurrent requests.

    \b
    Routes:
      GET  /health      status, model, settings, queue length
      POST /score       {"items": [{"id", "response", "requirements": [...]}]}
      POST /predict     {"question": requirement, "answer": response} (the paper's server; or a list)
      POST /get_reward  {"query", "prompts", "labels"} (OpenRLHF's remote reward model)
    Stops on SIGINT/SIGTERM after answering the batch in flight.
    """
    import logging

    from wrl.serve import RewardServer, ServerSettings

    settings = ServerSettings(host=host, port=port, token=token or None, max_request_bytes=max_request_bytes,
                              request_timeout_s=request_timeout_s, max_batch_pairs=max_batch_pairs,
                              max_wait_ms=max_wait_ms, max_queue_pairs=max_queue_pairs)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="wrl serve-rm: %(message)s")
    # A reward server usually shares the machine with its client (a trainer): OpenMP's default spin-waiting
    # between batches would starve it, and its spinning starves us (measured: 20x slower answers on 2 cores).
    # Set before torch starts its thread pool; OMP_WAIT_POLICY=ACTIVE in the environment keeps spinning.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    rm = _load_reward_model(model, batch_size, device, dtype, aggregate, max_length)
    server = RewardServer(rm, settings).bind()
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        click.echo(f"wrl serve-rm: warning: listening on {host} without a token: anyone who can reach this port "
                   "can use the model (set --token or WRL_RM_TOKEN)", err=True)

    def ready(url: str) -> None:
        d = rm.describe()
        click.echo(f"wrl serve-rm: {model} ({d['objective']}, max_length {d['max_length']}, batch size "
                   f"{d['batch_size']}, aggregate {d['aggregate']}, device {rm.device}) at {url}")
        click.echo(f"wrl serve-rm: routes {url}/health {url}/score {url}/predict {url}/get_reward"
                   f"{' (bearer token required)' if token else ''}; Ctrl-C stops")
        sys.stdout.flush()

    server.serve_until_signalled(ready)
    click.echo("wrl serve-rm: stopped")


@main.group()
def weval() -> None:
    """WEval on other people's evaluation files (the weval_judge and weval_metrics stages run it on the pipeline's
    own groups)."""


def _judge_spec(name: str, url: str | None, protocol: str, params_file: Path | None) -> Any:
    """The judge ``name`` of params.yaml (or the defaults), or an HTTP judge at ``url``."""
    from wrl.judges import JudgeSpec
    from wrl.stages.weval_judge import DEFAULT_JUDGES, WevalJudgeConfig

    if url:
        return JudgeSpec(kind="http", url=url, protocol=protocol)
    if params_file is None and Path("params.yaml").is_file():
        params_file = Path("params.yaml")
    specs = load_params(params_file).weval_judge.specs() if params_file else \
        WevalJudgeConfig(judges=DEFAULT_JUDGES).specs()
    if name not in specs:
        raise click.UsageError(f"no judge {name!r} in {params_file or 'the default judges'}; judges: "
                               f"{', '.join(specs)} (or --url for a judge behind a server)")
    return specs[name]


@weval.command("score")
@click.argument("inp", type=click.Path(path_type=Path))
@click.option("--group-size", required=True, type=click.IntRange(min=2), help="Rows per group (the paper's: 5).")
@click.option("--judge", "judge_name", default="reward_model", show_default=True,
              help="A judge of params.yaml's weval_judge.judges (the defaults without a params.yaml).")
@click.option("--url", help="Judge with the server at this URL instead (e.g. http://127.0.0.1:8008).")
@click.option("--protocol", type=click.Choice(["predict", "native"]), default="predict", show_default=True,
              help="With --url: the paper's POST /predict, or wrl serve-rm's POST /score.")
@click.option("--ties", type=click.Choice(["expected", "worst", "paper"]), default="expected", show_default=True,
              help="Tied scores: no credit (expected), against gold (worst), or the paper's scorer (paper).")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Take the judges from this params.yaml [./params.yaml if present].")
@click.option("--out", type=click.Path(path_type=Path), help="Write each row's scores (Parquet/JSONL/CSV).")
@click.option("--json", "as_json", is_flag=True, help="Print the overall figures as JSON instead of the tables.")
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(min=100),
              help="Bootstrap resamples per 95% interval.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seeds the bootstrap.")
def weval_score(inp: Path, group_size: int, judge_name: str, url: str | None, protocol: str, ties: str,
                params_file: Path | None, out: Path | None, as_json: bool, resamples: int, seed: int) -> None:
    """Score INP, a file in the paper's WEval format (consecutive groups of --group-size rows with chosen,
    constraint, instruction_id_list, prompt), with one judge, and print how well it ranks the groups."""
    import json

    from wrl.judges import build_judge
    from wrl.weval.paper import evaluate
    from wrl.weval.report import text_table

    if out is not None:
        check_output(out)
    name = judge_name if not url or judge_name != "reward_model" else "http"
    judge = build_judge(name, _judge_spec(judge_name, url, protocol, params_file))
    try:
        summary = evaluate(inp, group_size, judge, ties=ties, seed=seed, resamples=resamples, out=out)
    finally:
        judge.close()
    if as_json:
        click.echo(json.dumps({"judge": name, "ties": ties, "groups": summary["groups"],
                               **summary["judges"][name]["overall"]}, indent=2, sort_keys=True))
    else:
        click.echo(text_table(summary))


if __name__ == "__main__":
    main()
