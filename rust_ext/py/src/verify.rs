//! Bindings of `wrl_core::verify`: one response, or an Arrow table of responses and their
//! requirements, verified with the GIL released on all cores.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use serde_json::Value;
use wrl_core::model::Params;
use wrl_core::parse::ParseLimits;
use wrl_core::verify::{self, Verdict, Verifier};
use wrl_core::CoreError;

use crate::arrow_io::{self, Cell, RequirementColumn, Rejects, StrColumn};
use crate::{input_err, optional_text, read_batches, table_out, to_py_err};

/// Default largest response, in bytes, that is verified (larger ones are rejected).
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;

/// A requirement to verify: its id within the row, IFEval id if any, type and parameters.
struct Item {
    id: String,
    instruction_id: Option<String>,
    rtype: String,
    params: Params,
}

/// The requirements of a row, from whichever source it has: IFEval ids + kwargs, a requirements
/// column (list<struct> from `parse`, or a JSON list), or the prompt parsed on the fly.
fn row_requirements(
    ids: Option<Vec<String>>,
    kwargs: Option<&str>,
    reqs: Option<Vec<wrl_core::Requirement>>,
    reqs_json: Option<&str>,
    prompt: Option<&str>,
) -> wrl_core::Result<Vec<Item>> {
    if let Some(ids) = ids {
        let pairs = verify::ifeval_requirements(&ids, kwargs.unwrap_or("[]"))?;
        return Ok(ids
            .into_iter()
            .zip(pairs)
            .enumerate()
            .map(|(i, (iid, (rtype, params)))| Item { id: format!("r{}", i + 1), instruction_id: Some(iid), rtype, params })
            .collect());
    }
    if let Some(reqs) = reqs {
        return Ok(reqs
            .into_iter()
            .map(|r| Item { id: r.id, instruction_id: None, rtype: r.rtype, params: r.params })
            .collect());
    }
    if let Some(list) = reqs_json {
        let list = wrl_core::structured::from_list(list)?;
        return Ok(list
            .into_iter()
            .enumerate()
            .map(|(i, (rtype, params, _))| Item { id: format!("r{}", i + 1), instruction_id: None, rtype, params })
            .collect());
    }
    if let Some(prompt) = prompt {
        let parsed = wrl_core::parse::parse_instruction(prompt, &ParseLimits::default())?;
        return Ok(parsed
            .requirements
            .into_iter()
            .map(|r| Item { id: r.id, instruction_id: None, rtype: r.rtype, params: r.params })
            .collect());
    }
    Err(CoreError::InvalidRequirements(
        "no requirements: give instruction_id_list with kwargs, requirements, or a prompt to parse".into(),
    ))
}

fn compile(items: &[Item]) -> wrl_core::Result<Vec<Verifier>> {
    items
        .iter()
        .map(|it| {
            Verifier::new(&it.rtype, &it.params).map_err(|e| match e {
                CoreError::InvalidRequirements(m) => CoreError::InvalidRequirements(format!("requirement {}: {m}", it.id)),
                other => other,
            })
        })
        .collect()
}

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
    py.detach(|| {
        // A panic in the core (a bug) becomes an error of this call, never a crash.
        std::panic::catch_unwind(|| verify_one_json(response, requirements, instruction_id_list, kwargs, prompt, max_bytes))
            .unwrap_or_else(|_| Err(CoreError::InvalidRequirements("internal error while verifying these requirements".into())))
    })
    .map_err(to_py_err)
}

fn verify_one_json(
    response: &str,
    requirements: Option<&str>,
    instruction_id_list: Option<Vec<String>>,
    kwargs: Option<&str>,
    prompt: Option<&str>,
    max_bytes: usize,
) -> wrl_core::Result<String> {
    {
        verify::check_response(response, max_bytes)?;
        let mut items = row_requirements(instruction_id_list, kwargs, None, requirements, prompt)?;
        if let Some(list) = requirements {
            // Keep caller-given ids.
            if let Ok(Value::Array(raw)) = serde_json::from_str::<Value>(list) {
                for (item, r) in items.iter_mut().zip(raw) {
                    if let Some(id) = r.get("id").and_then(Value::as_str) {
                        item.id = id.to_string();
                    }
                }
            }
        }
        let verifiers = compile(&items)?;
        let verdicts = verify::verify(response, &verifiers);
        Ok(Value::Array(items.iter().zip(&verdicts).map(|(i, v)| verdict_json(i, v)).collect()).to_string())
    }
}

/// Detect the language of a text with the verifiers' detector (whatlang).
///
/// Returns:
///     An ISO 639-1 code, or None when the text has no letters to go by.
#[pyfunction]
pub fn detect_language(py: Python<'_>, text: &str) -> Option<&'static str> {
    py.detach(|| verify::detect_language(text))
}

/// One input row of `verify_batch`, borrowed from the Arrow buffers.
struct VerifyRow<'a> {
    row: usize,
    id: Option<String>,
    response: Cell<'a>,
    prompt: Cell<'a>,
    ids: Result<Option<Vec<String>>, String>,
    kwargs: Cell<'a>,
    reqs: Option<Result<Vec<wrl_core::Requirement>, String>>,
    reqs_json: Cell<'a>,
}

/// What became of a row: its verdicts, or why it was rejected (kind, reason).
type RowResult = Result<(Vec<Item>, Vec<Verdict>), (&'static str, String)>;

fn verify_row(r: &VerifyRow, max_bytes: usize) -> RowResult {
    let response = match r.response {
        Cell::Text(t) => t,
        Cell::Null => return Err(("invalid_response", "missing response (null)".into())),
        Cell::InvalidUtf8 => return Err(("invalid_response", "response is not valid UTF-8".into())),
    };
    if let Err(e) = verify::check_response(response, max_bytes) {
        return Err(("invalid_response", e.to_string().replace("invalid instruction: ", "")));
    }
    let core = |e: CoreError| (e.kind(), e.to_string());
    let ids = r.ids.clone().map_err(|e| ("invalid_requirements", e))?;
    let kwargs = optional_text(&r.kwargs, "kwargs").map_err(core)?;
    let reqs = r.reqs.clone().transpose().map_err(|e| ("invalid_requirements", e))?;
    let reqs_json = optional_text(&r.reqs_json, "requirements").map_err(core)?;
    let prompt = match r.prompt {
        Cell::Text(t) => Some(t),
        _ => None,
    };
    let items = row_requirements(ids, kwargs, reqs, reqs_json, prompt).map_err(core)?;
    if items.is_empty() {
        return Err(("no_requirements", "no requirements to verify".into()));
    }
    let verifiers = compile(&items).map_err(core)?;
    let verdicts = verify::verify(response, &verifiers);
    Ok((items, verdicts))
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
    if schema.column_with_name(response_column).is_none() {
        return Err(input_err(format!(
            "the input has no {response_column:?} column (columns: {})",
            schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let (results, rejects) = py.detach(|| -> PyResult<(RecordBatch, RecordBatch)> {
        let mut rows: Vec<VerifyRow> = Vec::new();
        let mut offset = 0usize;
        for batch in &batches {
            let responses = StrColumn::new(batch, response_column).map_err(input_err)?;
            let prompts = StrColumn::new(batch, prompt_column).map_err(input_err)?;
            let ids = StrColumn::new(batch, id_column).map_err(input_err)?;
            let kwargs = StrColumn::new(batch, "kwargs").map_err(input_err)?;
            let req_type = batch.schema().field_with_name("requirements").ok().map(|f| f.data_type().clone());
            let (req_list, req_json) = match req_type {
                Some(DataType::List(_)) => (Some(RequirementColumn::new(batch, "requirements").map_err(input_err)?), StrColumn::Missing),
                Some(_) => (None, StrColumn::new(batch, "requirements").map_err(input_err)?),
                None => (None, StrColumn::Missing),
            };
            for i in 0..batch.num_rows() {
                let row = offset + i;
                let id = match ids.get(i) {
                    Cell::Text(s) => Some(s.to_string()),
                    _ if ids.is_missing() => Some(row.to_string()),
                    _ => None,
                };
                let reqs = req_list.as_ref().and_then(|c| {
                    let col = batch.column_by_name("requirements").unwrap();
                    (!col.is_null(i)).then(|| c.get(i))
                });
                rows.push(VerifyRow {
                    row,
                    id,
                    response: responses.get(i),
                    prompt: prompts.get(i),
                    ids: arrow_io::string_list(batch, "instruction_id_list", i),
                    kwargs: kwargs.get(i),
                    reqs,
                    reqs_json: req_json.get(i),
                });
            }
            offset += batch.num_rows();
        }
        let results = wrl_core::batch::par_map(&rows, threads, |r| Ok(verify_row(r, max_bytes))).map_err(to_py_err)?;
        Ok(build_results(&rows, results))
    })?;
    Ok((table_out(py, results)?, table_out(py, rejects)?))
}

fn build_results(rows: &[VerifyRow], results: Vec<wrl_core::Result<RowResult>>) -> (RecordBatch, RecordBatch) {
    let mut rejects = Rejects::default();
    let mut row = Vec::new();
    let mut id: Vec<String> = Vec::new();
    let mut req_id: Vec<String> = Vec::new();
    let mut iid: Vec<Option<String>> = Vec::new();
    let mut rtype: Vec<String> = Vec::new();
    let mut family: Vec<&'static str> = Vec::new();
    let mut params: Vec<String> = Vec::new();
    let mut verifiable = Vec::new();
    let mut status: Vec<&'static str> = Vec::new();
    let mut strict: Vec<Option<bool>> = Vec::new();
    let mut loose: Vec<Option<bool>> = Vec::new();
    let mut variant: Vec<Option<&'static str>> = Vec::new();
    let mut reason: Vec<String> = Vec::new();
    for (r, res) in rows.iter().zip(results) {
        let res = res.unwrap_or_else(|e| Err((e.kind(), e.to_string())));
        match (res, &r.id) {
            (_, None) => rejects.push(r.row, None, "invalid_instruction", "missing or non-UTF-8 id".into()),
            (Err((kind, msg)), rid) => rejects.push(r.row, rid.clone(), kind, msg),
            (Ok((items, verdicts)), Some(rid)) => {
                for (it, v) in items.into_iter().zip(verdicts) {
                    row.push(r.row as i64);
                    id.push(rid.clone());
                    family.push(wrl_core::taxonomy::type_info(&it.rtype).map(|t| t.family.as_str()).unwrap_or("unknown"));
                    verifiable.push(v.strict.is_some());
                    status.push(v.status.as_str());
                    strict.push(v.strict);
                    loose.push(v.loose);
                    variant.push(v.loose_variant);
                    reason.push(v.reason);
                    params.push(wrl_core::model::params_to_json(&it.params));
                    req_id.push(it.id);
                    iid.push(it.instruction_id);
                    rtype.push(it.rtype);
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
        Arc::new(Int64Array::from(row)),
        Arc::new(StringArray::from(id)),
        Arc::new(StringArray::from(req_id)),
        Arc::new(StringArray::from(iid)),
        Arc::new(StringArray::from(rtype)),
        Arc::new(StringArray::from(family)),
        Arc::new(StringArray::from(params)),
        Arc::new(BooleanArray::from(verifiable)),
        Arc::new(StringArray::from(status)),
        Arc::new(BooleanArray::from(strict)),
        Arc::new(BooleanArray::from(loose)),
        Arc::new(StringArray::from(variant)),
        Arc::new(StringArray::from(reason)),
    ];
    let results = RecordBatch::try_new(schema, columns).expect("results schema matches its columns");
    (results, rejects.finish("verify"))
}
