//! Bindings of `wrl_core::verify`: one response, or an Arrow table of responses and their
//! requirements, verified with the GIL released on all cores.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use serde_json::Value;
use wrl_core::rows::{Rejection, RowIds};
use wrl_core::verify::rows::{forget_caches, verify_response, verify_row, Item, ListCells, Verified, VerifyRow, VerifySource};
use wrl_core::verify::{self, Verdict};

use crate::arrow_io::{self, RequirementColumn, Rejects, StrColumn};
use crate::{input_err, read_batches, require_column, table_out, to_py_err};

/// Default largest response, in bytes, that is verified (larger ones are rejected).
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;

fn verdict_json(item: &Item, v: &Verdict) -> Value {
    serde_json::json!({
        "id": item.id,
        "instruction_id": item.instruction_id,
        "type": item.rtype,
        "params": item.params,
        "status": v.status.as_str(),
        "strict": v.strict,
        "loose": v.loose,
        "loose_variant": v.loose_variant,
        "reason": v.reason,
    })
}

/// Verify one response.
///
/// Args:
///     response: the response text.
///     requirements: JSON list of `{type, params}` (an `id` is kept if given).
///     instruction_id_list, kwargs: IFEval ids and their kwargs (a JSON list).
///     prompt: parsed for requirements when neither of the above is given.
///     max_bytes: longer responses are rejected.
///
/// Returns:
///     JSON list, one object per requirement: `{id, instruction_id, type, params, status,
///     strict, loose, loose_variant, reason}`; `status` is followed, violated or not_verifiable.
#[pyfunction]
#[pyo3(signature = (response, *, requirements=None, instruction_id_list=None, kwargs=None, prompt=None, max_bytes=DEFAULT_MAX_BYTES))]
pub fn verify_json(
    py: Python<'_>,
    response: &str,
    requirements: Option<&str>,
    instruction_id_list: Option<Vec<String>>,
    kwargs: Option<&str>,
    prompt: Option<&str>,
    max_bytes: usize,
) -> PyResult<String> {
    let source = VerifySource::choose(instruction_id_list, kwargs, None, requirements, prompt);
    // A panic in the core (a bug) becomes an InternalError of this call, never a crash.
    py.detach(|| {
        wrl_core::batch::guard(|| {
            let verdicts = verify_response(response, source, requirements, max_bytes)?;
            Ok(Value::Array(verdicts.iter().map(|(item, v)| verdict_json(item, v)).collect()).to_string())
        })
    })
    .map_err(to_py_err)
}

/// Detect the language of a text with the verifiers' detector (whatlang).
///
/// Returns:
///     An ISO 639-1 code, or None when the text has no letters to go by.
#[pyfunction]
pub fn detect_language(py: Python<'_>, text: &str) -> Option<&'static str> {
    py.detach(|| verify::detect_language(text))
}

/// Verify a table of responses against their requirements.
///
/// Args:
///     table: any Arrow table or record batch (PyCapsule interface) with a string `response`
///         column and, per row, requirements from one of: `instruction_id_list` (list<string>)
///         with `kwargs` (JSON string), as in IFEval; `requirements` (list<struct> written by
///         `parse_batch`, or a JSON string); or `prompt`, parsed on the fly. Optional `id`.
///     max_bytes: longer responses are rejected.
///     threads: worker threads, 0 for all cores.
///
/// Returns:
///     (results, rejects): pyarrow Tables. `results` has one row per (input row, requirement):
///     `row, id, requirement_id, instruction_id, type, family, params, verifiable, status,
///     strict, loose, loose_variant, reason`. Every input row is in `results` or `rejects`.
#[pyfunction]
#[pyo3(signature = (table, *, response_column="response", prompt_column="prompt", id_column="id", max_bytes=DEFAULT_MAX_BYTES, threads=0))]
pub fn verify_batch<'py>(
    py: Python<'py>,
    table: AnyRecordBatch,
    response_column: &str,
    prompt_column: &str,
    id_column: &str,
    max_bytes: usize,
    threads: usize,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (batches, schema) = read_batches(table)?;
    require_column(&schema, response_column)?;
    let (results, rejects) = py.detach(|| -> PyResult<(RecordBatch, RecordBatch)> {
        // The caches are per batch: the workers of a pool are new, the calling thread starts afresh.
        forget_caches();
        // Per batch: its string columns and its list<struct> requirements column, if any.
        let mut columns = Vec::with_capacity(batches.len());
        for batch in &batches {
            let req_type = batch.schema().field_with_name("requirements").ok().map(|f| f.data_type().clone());
            let (req_list, req_json) = match req_type {
                Some(DataType::List(_)) => (Some(RequirementColumn::new(batch, "requirements").map_err(input_err)?), StrColumn::Missing),
                Some(_) => (None, StrColumn::new(batch, "requirements").map_err(input_err)?),
                None => (None, StrColumn::Missing),
            };
            columns.push((
                StrColumn::new(batch, response_column).map_err(input_err)?,
                StrColumn::new(batch, prompt_column).map_err(input_err)?,
                StrColumn::new(batch, id_column).map_err(input_err)?,
                StrColumn::new(batch, "kwargs").map_err(input_err)?,
                req_list,
                req_json,
            ));
        }
        let mut rows: Vec<TableRow> = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
        let row_ids = RowIds::new(schema.column_with_name(id_column).is_some());
        for (batch, (responses, prompts, ids, kwargs, req_list, req_json)) in batches.iter().zip(&columns) {
            let req_col = batch.column_by_name("requirements");
            for i in 0..batch.num_rows() {
                let cells = VerifyRow {
                    id: row_ids.id(rows.len(), ids.get(i)),
                    response: responses.get(i),
                    prompt: prompts.get(i),
                    kwargs: kwargs.get(i),
                    requirements_json: req_json.get(i),
                };
                let reqs = req_list.as_ref().filter(|_| req_col.is_some_and(|c| !c.is_null(i)));
                rows.push(TableRow { cells, batch, index: i, reqs });
            }
        }
        let results =
            wrl_core::batch::par_map(&rows, threads, |r| Ok(verify_row(&r.cells, || r.lists(), max_bytes))).map_err(to_py_err)?;
        Ok(build_results(&rows, results))
    })?;
    Ok((table_out(py, results)?, table_out(py, rejects)?))
}

/// A row of `verify_batch`: its cells, and where its list cells are, read by the worker that
/// verifies the row rather than up front.
struct TableRow<'a> {
    cells: VerifyRow<'a>,
    batch: &'a RecordBatch,
    index: usize,
    /// The list<struct> requirements column, when the batch has one and this row's cell is not null.
    reqs: Option<&'a RequirementColumn>,
}

impl TableRow<'_> {
    fn lists(&self) -> ListCells {
        ListCells {
            instruction_ids: arrow_io::string_list(self.batch, "instruction_id_list", self.index),
            requirements: self.reqs.map(|c| c.get(self.index)),
        }
    }
}

fn build_results(rows: &[TableRow], results: Vec<wrl_core::Result<Result<Verified, Rejection>>>) -> (RecordBatch, RecordBatch) {
    let mut rejects = Rejects::default();
    let n: usize = results.iter().map(|r| match r {
        Ok(Ok((c, _))) => c.items.len(),
        _ => 0,
    }).sum();
    let mut row = Int64Builder::with_capacity(n);
    let mut id = StringBuilder::with_capacity(n, 8 * n);
    let mut req_id = StringBuilder::with_capacity(n, 4 * n);
    let mut iid = StringBuilder::new();
    let mut rtype = StringBuilder::with_capacity(n, 16 * n);
    let mut family = StringBuilder::with_capacity(n, 8 * n);
    let mut params = StringBuilder::with_capacity(n, 32 * n);
    let mut verifiable = BooleanBuilder::with_capacity(n);
    let mut status = StringBuilder::with_capacity(n, 9 * n);
    let mut strict = BooleanBuilder::with_capacity(n);
    let mut loose = BooleanBuilder::with_capacity(n);
    let mut variant = StringBuilder::with_capacity(n, 8 * n);
    let mut reason = StringBuilder::with_capacity(n, 32 * n);
    for (r_index, (r, res)) in rows.iter().zip(results).enumerate() {
        // verify_row rejects a row without an id, so a verified row has one.
        let rid = r.cells.id.as_deref();
        match res.unwrap_or_else(|e| Err(e.into())) {
            Err(rejection) => rejects.push(r_index, rid, rejection),
            Ok((compiled, verdicts)) => {
                let rid = rid.unwrap_or_default();
                for (k, v) in verdicts.iter().enumerate() {
                    let it = &compiled.items[k];
                    row.append_value(r_index as i64);
                    id.append_value(rid);
                    req_id.append_value(&it.id);
                    iid.append_option(it.instruction_id.as_deref());
                    rtype.append_value(&it.rtype);
                    family.append_value(compiled.family[k]);
                    params.append_value(&compiled.params_json[k]);
                    verifiable.append_value(v.strict.is_some());
                    status.append_value(v.status.as_str());
                    strict.append_option(v.strict);
                    loose.append_option(v.loose);
                    variant.append_option(v.loose_variant);
                    reason.append_value(&v.reason);
                }
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("row", DataType::Int64, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("requirement_id", DataType::Utf8, false),
        Field::new("instruction_id", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, false),
        Field::new("family", DataType::Utf8, false),
        Field::new("params", DataType::Utf8, false),
        Field::new("verifiable", DataType::Boolean, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("strict", DataType::Boolean, true),
        Field::new("loose", DataType::Boolean, true),
        Field::new("loose_variant", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(row.finish()),
        Arc::new(id.finish()),
        Arc::new(req_id.finish()),
        Arc::new(iid.finish()),
        Arc::new(rtype.finish()),
        Arc::new(family.finish()),
        Arc::new(params.finish()),
        Arc::new(verifiable.finish()),
        Arc::new(status.finish()),
        Arc::new(strict.finish()),
        Arc::new(loose.finish()),
        Arc::new(variant.finish()),
        Arc::new(reason.finish()),
    ];
    let results = RecordBatch::try_new(schema, columns).expect("results schema matches its columns");
    (results, rejects.finish("verify"))
}
