//! `wrl._core`: thin PyO3 bindings over wrl-core. Arrow in, Arrow out, the GIL released around
//! the work, and every core error mapped to its own Python exception.

mod arrow_io;
mod verify;

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;
use wrl_core::drop::{drop_row, DropConfig, DropRow, Strategy, Variant};
use wrl_core::parse::ParseLimits;
use wrl_core::rows::RowIds;
use wrl_core::source::{parse_row, parse_with, ParseRow, RequirementSource};
use wrl_core::{CoreError, ParsedInstruction};

use arrow_io::{RequirementColumn, RequirementLists, Rejects, StrColumn, StringLists};

create_exception!(_core, WrlError, PyValueError, "Base class of every wrl error (a ValueError).");
create_exception!(_core, InvalidInstructionError, WrlError, "The instruction text is unusable.");
create_exception!(_core, InvalidRequirementsError, WrlError, "Structured requirements are malformed.");
create_exception!(_core, UnknownInstructionIdError, WrlError, "An IFEval instruction id the taxonomy does not know.");
create_exception!(_core, InvalidConfigError, WrlError, "A configuration value is out of range.");
create_exception!(_core, InternalError, WrlError, "A bug in wrl, not in the input: please report it.");

fn to_py_err(err: CoreError) -> PyErr {
    let msg = err.to_string();
    match err {
        CoreError::InvalidInstruction(_) => InvalidInstructionError::new_err(msg),
        CoreError::InvalidRequirements(_) => InvalidRequirementsError::new_err(msg),
        CoreError::UnknownInstructionId(_) => UnknownInstructionIdError::new_err(msg),
        CoreError::InvalidConfig(_) => InvalidConfigError::new_err(msg),
        CoreError::Internal(_) => InternalError::new_err(msg),
    }
}

fn input_err(msg: String) -> PyErr {
    InvalidConfigError::new_err(msg)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("core types serialize")
}

/// The pattern table and lexicons, as JSON (the compiled lexicon; `wrl.verify_reference` reads its
/// abbreviations).
#[pyfunction]
fn lexicon_json() -> &'static str {
    wrl_core::lexicon::LEXICON_JSON
}

/// The taxonomy as JSON: `{"types": [...], "ifeval": [[id, type, fixed_params], ...]}`.
#[pyfunction]
fn taxonomy_json() -> String {
    serde_json::json!({
        "types": wrl_core::taxonomy::TYPES,
        "ifeval": wrl_core::taxonomy::IFEVAL_IDS,
        "ifeval_kwargs": wrl_core::taxonomy::IFEVAL_KWARGS,
        "relations": wrl_core::taxonomy::RELATIONS,
    })
    .to_string()
}

/// Segment an instruction into sentences, list items and clauses (for debugging the parser).
///
/// Returns:
///     JSON: a list of sentences `{start, body_end, end, item, clauses: [[conn_start, start, end]]}`
///     and items `{marker_start, marker_end, number, list}`, all in byte offsets.
#[pyfunction]
fn segment_json(text: &str) -> String {
    let doc = wrl_core::text::segment(text);
    let sentences: Vec<_> = doc
        .sentences
        .iter()
        .map(|s| {
            serde_json::json!({
                "start": s.start, "body_end": s.body_end, "end": s.end, "item": s.item,
                "clauses": s.clauses.iter().map(|c| [c.conn_start, c.start, c.end]).collect::<Vec<_>>(),
            })
        })
        .collect();
    let items: Vec<_> = doc
        .items
        .iter()
        .map(|i| serde_json::json!({"marker_start": i.marker_start, "marker_end": i.marker_end, "number": i.number, "list": i.list}))
        .collect();
    serde_json::json!({"sentences": sentences, "items": items}).to_string()
}

/// Parse one instruction.
///
/// Args:
///     text: the instruction.
///     instruction_id_list, kwargs: IFEval structured requirements (kwargs as a JSON list).
///     requirements: an explicit JSON list of `{type, params, text}`.
///     max_bytes, max_requirements: limits past which the instruction is rejected.
///
/// Returns:
///     JSON of `{base_task, script, requirements: [{id, type, start, end, text, params, source}]}`.
#[pyfunction]
#[pyo3(signature = (text, *, instruction_id_list=None, kwargs=None, requirements=None, max_bytes=65_536, max_requirements=64))]
fn parse_json(
    py: Python<'_>,
    text: &str,
    instruction_id_list: Option<Vec<String>>,
    kwargs: Option<&str>,
    requirements: Option<&str>,
    max_bytes: usize,
    max_requirements: usize,
) -> PyResult<String> {
    let limits = ParseLimits { max_bytes, max_requirements };
    let source = RequirementSource::choose(instruction_id_list, kwargs, requirements);
    py.detach(|| parse_with(text, source, &limits)).map(|p| to_json(&p)).map_err(to_py_err)
}

/// Rewrite an instruction without the requirements whose ids are listed.
///
/// Args:
///     text: the instruction.
///     requirements: JSON list of requirements as returned by `parse_json`.
///     dropped: ids to remove.
#[pyfunction]
fn rewrite(py: Python<'_>, text: &str, requirements: &str, dropped: Vec<String>) -> PyResult<String> {
    let reqs: Vec<wrl_core::Requirement> = serde_json::from_str(requirements)
        .map_err(|e| InvalidRequirementsError::new_err(format!("requirements are not valid JSON: {e}")))?;
    let dropped: HashSet<&str> = dropped.iter().map(String::as_str).collect();
    Ok(py.detach(|| wrl_core::rewrite::rewrite(text, &reqs, &dropped)))
}

fn read_batches(table: AnyRecordBatch) -> PyResult<(Vec<RecordBatch>, Arc<Schema>)> {
    let reader = table.into_reader()?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| input_err(format!("cannot read the input table: {e}")))?;
    Ok((batches, schema))
}

/// An `InvalidConfigError` naming the missing column and listing the ones there are.
fn require_column(schema: &Schema, name: &str) -> PyResult<()> {
    if schema.column_with_name(name).is_some() {
        return Ok(());
    }
    let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    Err(input_err(format!("the input has no {name:?} column (columns: {})", columns.join(", "))))
}

fn table_out(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
}

fn batches_out(py: Python<'_>, batches: Vec<RecordBatch>, schema: Arc<Schema>) -> PyResult<Bound<'_, PyAny>> {
    PyTable::try_new(batches, schema)?.into_pyarrow(py)
}

/// Text bytes per output batch: Arrow's string offsets are 32-bit, so one batch must stay well
/// under 2 GiB of text (a chunk of long instructions with many variants can exceed it).
const BATCH_TEXT_BYTES: usize = 1 << 30;

/// Parse a table of instructions.
///
/// Args:
///     table: any Arrow table or record batch (PyCapsule interface) with a string `prompt`
///         column; optional `id`, `instruction_id_list` (list<string>) with `kwargs` (JSON
///         string), or `requirements` (JSON string) columns.
///     threads: worker threads, 0 for all cores.
///     batch_bytes: text bytes per output record batch (Arrow strings hold at most 2 GiB each).
///
/// Returns:
///     (parsed, rejects): pyarrow Tables. `parsed.row` and `rejects.row` index the input, so
///     every input row lands in exactly one of them.
#[pyfunction]
#[pyo3(signature = (table, *, prompt_column="prompt", id_column="id", max_bytes=65_536, max_requirements=64, threads=0, batch_bytes=BATCH_TEXT_BYTES))]
#[allow(clippy::too_many_arguments)]
fn parse_batch<'py>(
    py: Python<'py>,
    table: AnyRecordBatch,
    prompt_column: &str,
    id_column: &str,
    max_bytes: usize,
    max_requirements: usize,
    threads: usize,
    batch_bytes: usize,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (batches, schema) = read_batches(table)?;
    require_column(&schema, prompt_column)?;
    let limits = ParseLimits { max_bytes, max_requirements };
    let (parsed, rejects) = py.detach(|| -> PyResult<(Vec<RecordBatch>, RecordBatch)> {
        let mut rows: Vec<ParseRow> = Vec::new();
        let mut ids = RowIds::new(schema.column_with_name(id_column).is_some());
        for batch in &batches {
            let prompts = StrColumn::new(batch, prompt_column).map_err(input_err)?;
            let id_cells = StrColumn::new(batch, id_column).map_err(input_err)?;
            let kwargs = StrColumn::new(batch, "kwargs").map_err(input_err)?;
            let reqs = StrColumn::new(batch, "requirements").map_err(input_err)?;
            for i in 0..batch.num_rows() {
                let id = ids.id(rows.len(), id_cells.get(i));
                let repeated_id = id.as_deref().is_some_and(|id| ids.repeated(id));
                rows.push(ParseRow {
                    id,
                    repeated_id,
                    prompt: prompts.get(i),
                    instruction_ids: arrow_io::string_list(batch, "instruction_id_list", i),
                    kwargs: kwargs.get(i),
                    requirements: reqs.get(i),
                });
            }
        }
        let results = wrl_core::batch::par_map(&rows, threads, |r| parse_row(r, &limits)).map_err(to_py_err)?;
        Ok(build_parsed(&rows, results, batch_bytes))
    })?;
    Ok((batches_out(py, parsed, ParsedBatch::schema())?, table_out(py, rejects)?))
}

/// The parsed rows as batches of about `batch_bytes` of text at most, and the rejected rows.
fn build_parsed(
    rows: &[ParseRow],
    results: Vec<wrl_core::Result<ParsedInstruction>>,
    batch_bytes: usize,
) -> (Vec<RecordBatch>, RecordBatch) {
    let mut rejects = Rejects::default();
    let mut batches = Vec::new();
    let mut batch = ParsedBatch::default();
    for (row, (r, res)) in rows.iter().zip(results).enumerate() {
        match res {
            Ok(p) => {
                if batch.text_bytes > batch_bytes {
                    batches.push(std::mem::take(&mut batch).finish());
                }
                batch.push(row, r, p);
            }
            Err(e) => rejects.push(row, r.id.as_deref(), e.into()),
        }
    }
    batches.push(batch.finish());
    (batches, rejects.finish("parse"))
}

/// Columns of one batch of parsed rows.
#[derive(Default)]
struct ParsedBatch {
    row: Vec<i64>,
    id: Vec<String>,
    prompt: Vec<String>,
    base: Vec<String>,
    script: Vec<String>,
    count: Vec<i32>,
    reqs: RequirementLists,
    text_bytes: usize,
}

impl ParsedBatch {
    fn push(&mut self, row: usize, r: &ParseRow, p: ParsedInstruction) {
        let prompt = r.prompt.text().unwrap_or_default().to_string();
        self.text_bytes += prompt.len() + p.base_task.len() + p.requirements.iter().map(|q| q.text.len() + 64).sum::<usize>();
        self.row.push(row as i64);
        self.id.push(r.id.as_deref().unwrap_or_default().to_string());
        self.prompt.push(prompt);
        self.base.push(p.base_task);
        self.script.push(p.script);
        self.count.push(p.requirements.len() as i32);
        self.reqs.push(&p.requirements);
    }

    fn schema() -> Arc<Schema> {
        let req_field = Field::new("requirements", DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(arrow_io::requirement_fields()),
            false,
        ))), false);
        Arc::new(Schema::new(vec![
            Field::new("row", DataType::Int64, false),
            Field::new("id", DataType::Utf8, false),
            Field::new("prompt", DataType::Utf8, false),
            Field::new("base_task", DataType::Utf8, false),
            Field::new("script", DataType::Utf8, false),
            Field::new("n_requirements", DataType::Int32, false),
            req_field,
        ]))
    }

    fn finish(self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.row)),
            Arc::new(StringArray::from(self.id)),
            Arc::new(StringArray::from(self.prompt)),
            Arc::new(StringArray::from(self.base)),
            Arc::new(StringArray::from(self.script)),
            Arc::new(Int32Array::from(self.count)),
            self.reqs.finish(),
        ];
        RecordBatch::try_new(Self::schema(), columns).expect("parsed schema matches its columns")
    }
}

/// Draw requirement-dropped variants of parsed instructions.
///
/// Args:
///     table: the `parsed` table of `parse_batch` (columns `id`, `prompt`, `requirements`).
///     strategy: "independent" (each requirement dropped with probability `rate`), "exact_k"
///         (exactly `k` dropped) or "progressive" (nested drops of 0..n, for WEval groups).
///     seed: with each instruction's id, seeds its draw: results do not depend on row order or
///         thread count.
///     max_variants: most dropped variants per instruction; variant 0 (nothing dropped) is
///         always emitted.
///     batch_bytes: text bytes per output record batch (Arrow strings hold at most 2 GiB each).
///
/// Returns:
///     (variants, rejects): pyarrow Tables; `row` indexes the input table.
#[pyfunction]
#[pyo3(signature = (table, *, strategy="independent", rate=0.5, k=1, seed=0, max_variants=4, threads=0, batch_bytes=BATCH_TEXT_BYTES))]
#[allow(clippy::too_many_arguments)]
fn drop_batch<'py>(
    py: Python<'py>,
    table: AnyRecordBatch,
    strategy: &str,
    rate: f64,
    k: usize,
    seed: u64,
    max_variants: usize,
    threads: usize,
    batch_bytes: usize,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let cfg = DropConfig { strategy: strategy.parse::<Strategy>().map_err(to_py_err)?, rate, k, seed, max_variants };
    cfg.validate().map_err(to_py_err)?;
    let (batches, _) = read_batches(table)?;
    let (variants, rejects) = py.detach(|| -> PyResult<(Vec<RecordBatch>, RecordBatch)> {
        let mut rows = Vec::new();
        for batch in &batches {
            let ids = StrColumn::new(batch, "id").map_err(input_err)?;
            let prompts = StrColumn::new(batch, "prompt").map_err(input_err)?;
            if ids.is_missing() || prompts.is_missing() {
                return Err(input_err("drop needs the id, prompt and requirements columns written by parse".into()));
            }
            let reqs = RequirementColumn::new(batch, "requirements").map_err(input_err)?;
            for i in 0..batch.num_rows() {
                rows.push(DropRow { id: ids.get(i).text(), prompt: prompts.get(i), requirements: reqs.get(i) });
            }
        }
        let results = wrl_core::batch::par_map(&rows, threads, |r| drop_row(r, &cfg)).map_err(to_py_err)?;
        let mut rejects = Rejects::default();
        let mut batches = Vec::new();
        let mut batch = VariantBatch::default();
        for (row, (r, res)) in rows.iter().zip(results).enumerate() {
            match res {
                Ok((id, variants)) => {
                    for v in variants {
                        if batch.text_bytes > batch_bytes {
                            batches.push(std::mem::take(&mut batch).finish(cfg.strategy));
                        }
                        batch.push(row, id, v);
                    }
                }
                Err(e) => rejects.push(row, r.id, e.into()),
            }
        }
        batches.push(batch.finish(cfg.strategy));
        Ok((batches, rejects.finish("drop")))
    })?;
    Ok((batches_out(py, variants, VariantBatch::schema())?, table_out(py, rejects)?))
}

/// Columns of one batch of variants.
#[derive(Default)]
struct VariantBatch {
    row: Vec<i64>,
    id: Vec<String>,
    variant: Vec<i32>,
    variant_id: Vec<String>,
    n_req: Vec<i32>,
    n_drop: Vec<i32>,
    kept: StringLists,
    dropped: StringLists,
    dropped_types: StringLists,
    prompt: Vec<String>,
    text_bytes: usize,
}

impl VariantBatch {
    fn push(&mut self, row: usize, id: &str, v: Variant) {
        self.text_bytes += v.prompt.len() + 2 * id.len() + 16 * (v.kept.len() + 2 * v.dropped.len());
        self.row.push(row as i64);
        self.id.push(id.to_string());
        self.variant_id.push(v.id(id));
        self.variant.push(v.variant as i32);
        self.n_req.push(v.n_requirements() as i32);
        self.n_drop.push(v.dropped.len() as i32);
        self.dropped_types.push(v.dropped_types);
        self.kept.push(v.kept);
        self.dropped.push(v.dropped);
        self.prompt.push(v.prompt);
    }

    fn schema() -> Arc<Schema> {
        let list = |name: &str| Field::new(name, DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), false);
        Arc::new(Schema::new(vec![
            Field::new("row", DataType::Int64, false),
            Field::new("id", DataType::Utf8, false),
            Field::new("variant", DataType::Int32, false),
            Field::new("variant_id", DataType::Utf8, false),
            Field::new("strategy", DataType::Utf8, false),
            Field::new("n_requirements", DataType::Int32, false),
            Field::new("n_dropped", DataType::Int32, false),
            list("kept_ids"),
            list("dropped_ids"),
            list("dropped_types"),
            Field::new("prompt", DataType::Utf8, false),
        ]))
    }

    fn finish(self, strategy: Strategy) -> RecordBatch {
        let n = self.row.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.row)),
            Arc::new(StringArray::from(self.id)),
            Arc::new(Int32Array::from(self.variant)),
            Arc::new(StringArray::from(self.variant_id)),
            Arc::new(StringArray::from(vec![strategy.as_str(); n])),
            Arc::new(Int32Array::from(self.n_req)),
            Arc::new(Int32Array::from(self.n_drop)),
            self.kept.finish(),
            self.dropped.finish(),
            self.dropped_types.finish(),
            Arc::new(StringArray::from(self.prompt)),
        ];
        RecordBatch::try_new(Self::schema(), columns).expect("variants schema matches its columns")
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_VARIANTS", wrl_core::drop::MAX_VARIANTS)?;
    m.add("WrlError", py.get_type::<WrlError>())?;
    m.add("InvalidInstructionError", py.get_type::<InvalidInstructionError>())?;
    m.add("InvalidRequirementsError", py.get_type::<InvalidRequirementsError>())?;
    m.add("UnknownInstructionIdError", py.get_type::<UnknownInstructionIdError>())?;
    m.add("InvalidConfigError", py.get_type::<InvalidConfigError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add_function(wrap_pyfunction!(lexicon_json, m)?)?;
    m.add_function(wrap_pyfunction!(taxonomy_json, m)?)?;
    m.add_function(wrap_pyfunction!(segment_json, m)?)?;
    m.add_function(wrap_pyfunction!(parse_json, m)?)?;
    m.add_function(wrap_pyfunction!(rewrite, m)?)?;
    m.add_function(wrap_pyfunction!(parse_batch, m)?)?;
    m.add_function(wrap_pyfunction!(drop_batch, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify_json, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify_batch, m)?)?;
    m.add_function(wrap_pyfunction!(verify::detect_language, m)?)?;
    Ok(())
}
