//! Bindings of `wrl_core::verify`: one response, or an Arrow table of responses and their
//! requirements, verified with the GIL released on all cores.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use serde_json::Value;
use wrl_core::model::Params;
use wrl_core::parse::ParseLimits;
use wrl_core::verify::{self, Verdict, Verifier};
use wrl_core::CoreError;

use crate::arrow_io::{self, Cell, RequirementColumn, Rejects, StrColumn};
use crate::{input_err, optional_text, read_batches, require_column, table_out, to_py_err};

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
    // A panic in the core (a bug) becomes an InternalError of this call, never a crash.
    py.detach(|| {
        wrl_core::batch::guard(|| verify_one_json(response, requirements, instruction_id_list, kwargs, prompt, max_bytes))
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

/// One input row of `verify_batch`, borrowed from the Arrow buffers; list cells are read by the
/// worker that verifies the row, not up front.
struct VerifyRow<'a> {
    row: usize,
    id: Option<Cow<'a, str>>,
    response: Cell<'a>,
    prompt: Cell<'a>,
    batch: &'a RecordBatch,
    index: usize,
    kwargs: Cell<'a>,
    /// The list<struct> requirements column, when the batch has one and this row's cell is not null.
    reqs: Option<&'a RequirementColumn>,
    reqs_json: Cell<'a>,
}

/// A row's requirements, compiled, with what the results repeat for every row that has them.
struct Compiled {
    items: Vec<Item>,
    verifiers: Vec<Verifier>,
    params_json: Vec<String>,
    family: Vec<&'static str>,
}

type Compiling = Result<Arc<Compiled>, (&'static str, String)>;

fn compile_items(items: wrl_core::Result<Vec<Item>>) -> Compiling {
    let core = |e: CoreError| (e.kind(), e.to_string());
    let items = items.map_err(core)?;
    let verifiers = items.iter().map(|it| Verifier::new_or_invalid(&it.rtype, &it.params)).collect();
    let params_json = items.iter().map(|it| wrl_core::model::params_to_json(&it.params)).collect();
    let family = items
        .iter()
        .map(|it| wrl_core::taxonomy::type_info(&it.rtype).map(|t| t.family.as_str()).unwrap_or("unknown"))
        .collect();
    Ok(Arc::new(Compiled { items, verifiers, params_json, family }))
}

/// Distinct requirement sources a thread keeps compiled, before it forgets them all.
const COMPILED_CACHE_ENTRIES: usize = 4096;

/// Compiled requirements by their source text, per thread: many rows share their requirements
/// (several responses to one prompt, one IFEval id list), and parsing JSON, a prompt or IFEval
/// kwargs, then compiling, costs more than verifying a short response. Errors are kept too.
#[derive(Default)]
struct CompiledCache {
    /// `requirements` JSON → compiled.
    json: HashMap<String, Compiling>,
    /// Prompt parsed on the fly → compiled.
    prompt: HashMap<String, Compiling>,
    /// IFEval ids and kwargs → compiled.
    ifeval: HashMap<(Vec<String>, String), Compiling>,
}

thread_local! {
    static COMPILED: RefCell<CompiledCache> = RefCell::new(CompiledCache::default());
}

fn cached<K, Q>(map: &mut HashMap<K, Compiling>, key: &Q, owned: impl FnOnce() -> K, make: impl FnOnce() -> Compiling) -> Compiling
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(c) = map.get(key) {
        return c.clone();
    }
    let c = make();
    if map.len() >= COMPILED_CACHE_ENTRIES {
        map.clear();
    }
    map.insert(owned(), c.clone());
    c
}

/// The compiled requirements of a row, from its first source: IFEval ids + kwargs, the
/// list<struct> requirements, a JSON list, or the prompt (as [`row_requirements`]).
fn row_compiled(
    ids: Option<Vec<String>>,
    kwargs: Option<&str>,
    reqs: Option<Vec<wrl_core::Requirement>>,
    reqs_json: Option<&str>,
    prompt: Option<&str>,
) -> Compiling {
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(ids) = ids {
            let key = (ids, kwargs.unwrap_or("[]").to_string());
            return cached(&mut cache.ifeval, &key, || key.clone(), || {
                compile_items(row_requirements(Some(key.0.clone()), kwargs, None, None, None))
            });
        }
        if reqs.is_some() {
            return compile_items(row_requirements(None, None, reqs, None, None));
        }
        if let Some(json) = reqs_json {
            return cached(&mut cache.json, json, || json.to_string(), || compile_items(row_requirements(None, None, None, Some(json), None)));
        }
        if let Some(prompt) = prompt {
            return cached(&mut cache.prompt, prompt, || prompt.to_string(), || {
                compile_items(row_requirements(None, None, None, None, Some(prompt)))
            });
        }
        compile_items(row_requirements(None, None, None, None, None))
    })
}

/// What became of a row: its verdicts, or why it was rejected (kind, reason).
type RowResult = Result<(Arc<Compiled>, Vec<Verdict>), (&'static str, String)>;

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
    let ids = arrow_io::string_list(r.batch, "instruction_id_list", r.index).map_err(|e| ("invalid_requirements", e))?;
    let kwargs = optional_text(&r.kwargs, "kwargs").map_err(core)?;
    let reqs = r.reqs.map(|c| c.get(r.index)).transpose().map_err(|e| ("invalid_requirements", e))?;
    let reqs_json = optional_text(&r.reqs_json, "requirements").map_err(core)?;
    let prompt = match r.prompt {
        Cell::Text(t) => Some(t),
        _ => None,
    };
    let compiled = row_compiled(ids, kwargs, reqs, reqs_json, prompt)?;
    if compiled.items.is_empty() {
        return Err(("no_requirements", "no requirements to verify".into()));
    }
    let verdicts = verify::verify(response, &compiled.verifiers);
    Ok((compiled, verdicts))
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
        verify::forget_languages();
        COMPILED.with(|c| *c.borrow_mut() = CompiledCache::default());
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
        let mut rows: Vec<VerifyRow> = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
        let mut offset = 0usize;
        for (batch, (responses, prompts, ids, kwargs, req_list, req_json)) in batches.iter().zip(&columns) {
            let req_col = batch.column_by_name("requirements");
            for i in 0..batch.num_rows() {
                let row = offset + i;
                let id = match ids.get(i) {
                    Cell::Text(s) => Some(Cow::Borrowed(s)),
                    _ if ids.is_missing() => Some(Cow::Owned(row.to_string())),
                    _ => None,
                };
                let reqs = req_list.as_ref().filter(|_| req_col.is_some_and(|c| !c.is_null(i)));
                rows.push(VerifyRow {
                    row,
                    id,
                    response: responses.get(i),
                    prompt: prompts.get(i),
                    batch,
                    index: i,
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
    for (r, res) in rows.iter().zip(results) {
        let res = res.unwrap_or_else(|e| Err((e.kind(), e.to_string())));
        match (res, &r.id) {
            (_, None) => rejects.push(r.row, None, "invalid_instruction", "missing or non-UTF-8 id".into()),
            (Err((kind, msg)), rid) => rejects.push(r.row, rid.as_ref().map(|s| s.to_string()), kind, msg),
            (Ok((compiled, verdicts)), Some(rid)) => {
                for (k, v) in verdicts.iter().enumerate() {
                    let it = &compiled.items[k];
                    row.append_value(r.row as i64);
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
