"""The ``wrl`` command-line tool."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.compute as pc

from wrl import _core
from wrl.config import DataConfig, DropConfig, ParseConfig
from wrl.io import DatasetError, check_output, read_input, write_table
from wrl.requirements import MAX_BYTES_MAX, DropSettings, ParseLimits, drop_dataset, parse_dataset

THREADS = click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
                       help="Worker threads (0 = all cores; more than the cores are capped).")


def _bounded(section: type, name: str) -> click.ParamType:
    """The click type of a parameter, with the range ``params.yaml`` allows for it (one source of bounds)."""
    meta = next(f.metadata for f in section.__dataclass_fields__.values() if f.name == name)
    typ = section.__annotations__[name]
    kind = click.FloatRange if typ in (float, "float") else click.IntRange
    return kind(min=meta.get("min"), max=meta.get("max"))


def _default(section: type, name: str):
    return getattr(section(), name)


def _outputs(out: Path, given_rejects: Path | None, *extra: Path | None) -> Path:
    """Check every output path before any work; returns the rejects path [OUT.rejects.EXT]."""
    rejects = given_rejects or out.with_name(f"{out.stem}.rejects{out.suffix}")
    check_output(out)
    check_output(rejects)
    for path in extra:
        if path is not None:
            check_output(path, dataset=False)
    return rejects


def _print_counts(title: str, counts: Counter) -> None:
    if not counts:
        return
    width = max(len(k) for k in counts)
    click.echo(f"  {title}:")
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"    {key:<{width}}  {n:>9,}")


def _requirement_types(table: pa.Table, column: str) -> Counter:
    flat = table[column].combine_chunks().flatten()
    if column == "requirements":
        flat = flat.field("type")
    return Counter(dict(zip(*[c.to_pylist() for c in flat.value_counts().flatten()])))


def _summary(rows_in: int, out_rows: int, rejects: pa.Table, out: Path, rej_path: Path) -> None:
    click.echo(f"  rows in {rows_in:,} = out {out_rows:,} + rejected {rejects.num_rows:,}")
    if rejects.num_rows:
        kinds = Counter(rejects["reason_kind"].to_pylist())
        _print_counts("rejects by reason", kinds)
        click.echo(f"  rejects written to {rej_path}")
    click.echo(f"  output written to {out}")


class _Group(click.Group):
    """Turns wrl's own errors and bad arguments into one ``error:`` line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (_core.WrlError, DatasetError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)

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


@main.command()
@click.argument("inp", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
@click.option("--max-bytes", default=_default(ParseConfig, "max_bytes"), show_default=True,
              type=_bounded(ParseConfig, "max_bytes"), help="Reject longer instructions.")
@click.option("--max-requirements", default=_default(ParseConfig, "max_requirements"), show_default=True,
              type=_bounded(ParseConfig, "max_requirements"), help="Reject instructions with more requirements.")
@THREADS
def parse(inp: Path, out: Path, rejects_out: Path | None, max_bytes: int, max_requirements: int, threads: int) -> None:
    """Parse the instructions of INP (Parquet/JSONL/CSV with a ``prompt`` column) into OUT."""
    rej_path = _outputs(out, rejects_out)
    source = read_input(inp, stage="parse")
    parsed, rejects = parse_dataset(source.table, limits=ParseLimits(max_bytes, max_requirements), threads=threads)
    rejects = source.merge(rejects)
    write_table(parsed, out)
    write_table(rejects, rej_path)
    click.echo(f"parse: {inp}")
    _summary(source.rows_in, parsed.num_rows, rejects, out, rej_path)
    click.echo(f"  requirements: {sum(parsed['n_requirements'].to_pylist()):,}")
    _print_counts("requirements by type", _requirement_types(parsed, "requirements"))


@main.command()
@click.argument("inp", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--strategy", type=click.Choice(["independent", "exact_k", "progressive"]), default="independent",
              show_default=True)
@click.option("--rate", default=_default(DropConfig, "rate"), show_default=True, type=_bounded(DropConfig, "rate"),
              help="Drop probability per requirement (independent).")
@click.option("--k", default=_default(DropConfig, "k"), show_default=True, type=_bounded(DropConfig, "k"),
              help="Requirements dropped per variant (exact_k).")
@click.option("--seed", default=_default(DropConfig, "seed"), show_default=True, type=_bounded(DropConfig, "seed"))
@click.option("--max-variants", default=_default(DropConfig, "max_variants"), show_default=True,
              type=_bounded(DropConfig, "max_variants"), help="Most dropped variants per instruction.")
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
@THREADS
def drop(inp: Path, out: Path, strategy: str, rate: float, k: int, seed: int, max_variants: int,
         rejects_out: Path | None, threads: int) -> None:
    """Write requirement-dropped variants of the parsed instructions in INP (from ``wrl parse``)."""
    rej_path = _outputs(out, rejects_out)
    settings = DropSettings(strategy=strategy, rate=rate, k=k, seed=seed, max_variants=max_variants)
    source = read_input(inp, stage="drop")
    parsed = source.table
    variants, rejects = drop_dataset(parsed, settings, threads=threads)
    instructions = parsed.num_rows - rejects.num_rows
    rejects = source.merge(rejects)
    write_table(variants, out)
    write_table(rejects, rej_path)
    dropped = variants.filter(pc.greater(variants["variant"], 0))
    click.echo(f"drop: {inp} ({strategy}, rate={rate}, k={k}, seed={seed})")
    _summary(source.rows_in, instructions, rejects, out, rej_path)
    passthrough = instructions - len(set(dropped["id"].to_pylist()))
    click.echo(f"  variants: {variants.num_rows:,} ({dropped.num_rows:,} with drops; "
               f"{passthrough:,} instructions passed through with nothing to drop)")
    _print_counts("dropped requirements by type", _requirement_types(dropped, "dropped_types"))


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

    rej_path = _outputs(out, rejects_out, metrics_out)
    source = read_input(inp, stage="verify", text_columns=(response_column, "prompt"), id_columns=("id", "key"))
    results, rejects = verify_dataset(source.table, response_column=response_column, max_bytes=max_bytes,
                                      threads=threads)
    results, rejects = source.renumber(results), source.merge(rejects)
    write_table(results, out)
    write_table(rejects, rej_path)
    figures = ifeval_figures(results)
    if metrics_out is not None:
        write_json(figures, metrics_out)
    click.echo(f"verify: {inp}")
    verified = len(set(results["row"].to_pylist()))
    _summary(source.rows_in, verified, rejects, out, rej_path)
    _print_counts("requirements by status", Counter(results["status"].to_pylist()))
    click.echo("  IFEval figures (%):")
    for line in format_figures(figures, by=f"by_{by}").splitlines():
        click.echo(f"    {line}")
    if metrics_out is not None:
        click.echo(f"  figures written to {metrics_out}")


@main.group()
def data() -> None:
    """Build instruction datasets: synthesize one, or import IFEval, WritingBench or any table."""


def _data_summary(table: pa.Table) -> None:
    """Categories, languages and requirement types of an instruction table."""
    import json

    from wrl.requirements import ifeval_mapping

    for column, title in (("category", "categories"), ("language", "languages"), ("split", "splits")):
        if column in table.column_names:
            _print_counts(title, Counter(v if v is not None else "(none)" for v in table[column].to_pylist()))
    types: Counter = Counter()
    for column in ("gold_requirements", "requirements"):
        if column in table.column_names and pa.types.is_string(table.schema.field(column).type):
            for cell in table[column].to_pylist():
                types.update(r["type"] for r in json.loads(cell or "[]"))
    if "instruction_id_list" in table.column_names:
        mapping = ifeval_mapping()
        for ids in table["instruction_id_list"].to_pylist():
            types.update(mapping.get(i, i) for i in ids or ())
    if types:
        click.echo(f"  requirements: {sum(types.values()):,}")
        _print_counts("requirements by type", types)


@data.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--n", "n", default=1000, show_default=True, type=click.IntRange(min=0), help="Instructions.")
@click.option("--seed", default=0, show_default=True, type=_bounded(DataConfig, "seed"))
@click.option("--zh-share", default=0.15, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Expected share of Chinese instructions.")
def data_synth(out: Path, n: int, seed: int, zh_share: float) -> None:
    """Synthesize N writing instructions with gold requirements into OUT (Parquet/JSONL/CSV)."""
    from wrl.synth import synthesize

    check_output(out)
    table = synthesize(n, seed=seed, zh_share=zh_share)
    write_table(table, out)
    click.echo(f"data synth: n={n:,} seed={seed} zh_share={zh_share}")
    click.echo(f"  rows {table.num_rows:,}")
    _data_summary(table)
    click.echo(f"  output written to {out}")


@data.command("import")
@click.argument("source", type=click.Choice(["ifeval", "writingbench", "generic"]))
@click.argument("inp", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--rejects", "rejects_out", type=click.Path(path_type=Path), help="Rejects file [OUT.rejects.EXT].")
@click.option("--prompt-column", default="prompt", show_default=True, help="Prompt column (generic).")
@click.option("--id-column", default="id", show_default=True, help="Id column (generic).")
@click.option("--category-column", default="category", show_default=True, help="Category column (generic).")
def data_import(source: str, inp: Path, out: Path, rejects_out: Path | None, prompt_column: str, id_column: str,
                category_column: str) -> None:
    """Import SOURCE-format instructions from IN into OUT; malformed rows go to the rejects file."""
    from wrl.importers import import_generic, import_ifeval, import_writingbench

    rej_path = _outputs(out, rejects_out)
    if source == "ifeval":
        table, rejects = import_ifeval(inp)
    elif source == "writingbench":
        table, rejects = import_writingbench(inp)
    else:
        table, rejects = import_generic(inp, prompt_column=prompt_column, id_column=id_column,
                                        category_column=category_column)
    write_table(table, out)
    write_table(rejects, rej_path)
    click.echo(f"data import: {source} {inp}")
    _summary(table.num_rows + rejects.num_rows, table.num_rows, rejects, out, rej_path)
    _data_summary(table)


if __name__ == "__main__":
    main()
