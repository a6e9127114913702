//! Verification by rows: where a row's requirements come from, their compiled form (kept per
//! thread, since many rows share their requirements), and one row or one response verified.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::{check_response, forget_languages, ifeval_requirements, verify, Verdict, Verifier};
use crate::error::{CoreError, Result};
use crate::model::{params_to_json, Params, Requirement};
use crate::parse::{parse_instruction, ParseLimits};
use crate::rows::{Cell, Rejection};
use crate::structured::from_list;
use crate::taxonomy::type_info;

/// A requirement to verify: its id within the row, its IFEval id if any, type and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub instruction_id: Option<String>,
    pub rtype: String,
    pub params: Params,
    /// Why the requirement's source gave no usable parameters (an IFEval kwarg out of range): it is
    /// then `invalid` with this reason, and the row's other requirements are verified.
    pub unusable: Option<String>,
}

/// Where a row's requirements come from, in order of precedence.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifySource<'a> {
    /// IFEval instruction ids with their kwargs (a JSON list; `[]` when absent).
    Ifeval { ids: Vec<String>, kwargs: Option<&'a str> },
    /// Requirements as the parse stage wrote them.
    Given(Vec<Requirement>),
    /// An explicit JSON list of `{type, params}`.
    List(&'a str),
    /// Found by parsing the prompt.
    Prompt(&'a str),
    /// None of the above.
    Nothing,
}

impl<'a> VerifySource<'a> {
    /// The first source given: IFEval ids, parsed requirements, a JSON list, the prompt.
    pub fn choose(
        ids: Option<Vec<String>>,
        kwargs: Option<&'a str>,
        given: Option<Vec<Requirement>>,
        list: Option<&'a str>,
        prompt: Option<&'a str>,
    ) -> Self {
        match (ids, given, list, prompt) {
            (Some(ids), ..) => VerifySource::Ifeval { ids, kwargs },
            (None, Some(given), ..) => VerifySource::Given(given),
            (None, None, Some(list), _) => VerifySource::List(list),
            (None, None, None, Some(prompt)) => VerifySource::Prompt(prompt),
            (None, None, None, None) => VerifySource::Nothing,
        }
    }

    /// The requirements, numbered r1, r2, ... unless they carry their own ids.
    pub fn items(self) -> Result<Vec<Item>> {
        let numbered =
            |i: usize, instruction_id, rtype, params| Item { id: format!("r{}", i + 1), instruction_id, rtype, params, unusable: None };
        let of_requirement = |r: Requirement| Item { id: r.id, instruction_id: None, rtype: r.rtype, params: r.params, unusable: None };
        Ok(match self {
            VerifySource::Ifeval { ids, kwargs } => {
                let pairs = ifeval_requirements(&ids, kwargs.unwrap_or("[]"))?;
                let each = |(i, (iid, (rtype, params))): (usize, (String, (String, std::result::Result<Params, String>)))| {
                    let (params, unusable) = match params {
                        Ok(p) => (p, None),
                        Err(why) => (Params::new(), Some(why)),
                    };
                    Item { unusable, ..numbered(i, Some(iid), rtype, params) }
                };
                ids.into_iter().zip(pairs).enumerate().map(each).collect()
            }
            VerifySource::Given(reqs) => reqs.into_iter().map(of_requirement).collect(),
            VerifySource::List(list) => {
                from_list(list)?.into_iter().enumerate().map(|(i, (rtype, params, _))| numbered(i, None, rtype, params)).collect()
            }
            VerifySource::Prompt(prompt) => {
                parse_instruction(prompt, &ParseLimits::default())?.requirements.into_iter().map(of_requirement).collect()
            }
            VerifySource::Nothing => {
                return Err(CoreError::InvalidRequirements(
                    "no requirements: give instruction_id_list with kwargs, requirements, or a prompt to parse".into(),
                ))
            }
        })
    }
}

/// Verify one response (the single-call API). A requirement that does not compile is an error
/// naming it. `ids_from`, the caller's JSON list of requirements, renames the requirements in
/// order with the `id`s it gives.
pub fn verify_response(
    response: &str,
    source: VerifySource,
    ids_from: Option<&str>,
    max_bytes: usize,
) -> Result<Vec<(Item, Verdict)>> {
    check_response(response, max_bytes)?;
    let mut items = source.items()?;
    if let Some(Ok(Value::Array(raw))) = ids_from.map(serde_json::from_str::<Value>) {
        for (item, r) in items.iter_mut().zip(raw) {
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                item.id = id.to_string();
            }
        }
    }
    let verifiers = items
        .iter()
        .map(|it| {
            let compiled = match &it.unusable {
                Some(why) => Err(CoreError::InvalidRequirements(why.clone())),
                None => Verifier::new(&it.rtype, &it.params),
            };
            compiled.map_err(|e| match e {
                CoreError::InvalidRequirements(m) => CoreError::InvalidRequirements(format!("requirement {}: {m}", it.id)),
                other => other,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let verdicts = verify(response, &verifiers);
    Ok(items.into_iter().zip(verdicts).collect())
}

/// A row's requirements compiled, with what every result row for them repeats. A requirement
/// that does not compile gives an `invalid` verdict, so the row's others are still verified.
#[derive(Debug)]
pub struct Compiled {
    pub items: Vec<Item>,
    pub verifiers: Vec<Verifier>,
    pub params_json: Vec<String>,
    pub family: Vec<&'static str>,
}

/// Compiled requirements, or why the row's requirements cannot be had at all.
type Compiling = std::result::Result<Arc<Compiled>, Rejection>;

fn compile(items: Result<Vec<Item>>) -> Compiling {
    let items = items?;
    let verifiers = items
        .iter()
        .map(|it| match &it.unusable {
            Some(why) => Verifier::invalid(&it.rtype, format!("invalid requirements: {why}")),
            None => Verifier::new_or_invalid(&it.rtype, &it.params),
        })
        .collect();
    let params_json = items.iter().map(|it| params_to_json(&it.params)).collect();
    let family = items.iter().map(|it| type_info(&it.rtype).map_or("unknown", |t| t.family.as_str())).collect();
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

/// Forget what the calling thread compiled and detected: a batch starts with empty caches, so
/// that what it costs does not depend on what ran before it on the thread.
pub fn forget_caches() {
    forget_languages();
    COMPILED.with(|c| *c.borrow_mut() = CompiledCache::default());
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

/// The compiled requirements of a source, from the thread's cache when it has them (parsed
/// requirements, read from the table, are compiled every time).
fn compiled(source: VerifySource) -> Compiling {
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        match source {
            VerifySource::Ifeval { ids, kwargs } => {
                let key = (ids, kwargs.unwrap_or("[]").to_string());
                cached(&mut cache.ifeval, &key, || key.clone(), || {
                    compile(VerifySource::Ifeval { ids: key.0.clone(), kwargs }.items())
                })
            }
            VerifySource::List(json) => cached(&mut cache.json, json, || json.to_string(), || compile(VerifySource::List(json).items())),
            VerifySource::Prompt(prompt) => {
                cached(&mut cache.prompt, prompt, || prompt.to_string(), || compile(VerifySource::Prompt(prompt).items()))
            }
            source @ (VerifySource::Given(_) | VerifySource::Nothing) => compile(source.items()),
        }
    })
}

/// One input row of the verify stage, its string cells borrowed from the table.
#[derive(Debug, Clone)]
pub struct VerifyRow<'a> {
    /// `None` when the id cell is null or not UTF-8.
    pub id: Option<Cow<'a, str>>,
    pub response: Cell<'a>,
    pub prompt: Cell<'a>,
    pub kwargs: Cell<'a>,
    /// A `requirements` column of JSON strings.
    pub requirements_json: Cell<'a>,
}

/// A row's list cells, read by the worker that verifies the row rather than up front.
pub struct ListCells {
    /// The `instruction_id_list` cell, or why it cannot be read.
    pub instruction_ids: std::result::Result<Option<Vec<String>>, String>,
    /// The list<struct> `requirements` cell, when the table has one and the cell is not null.
    pub requirements: Option<std::result::Result<Vec<Requirement>, String>>,
}

/// A verified row: its compiled requirements and a verdict on each.
pub type Verified = (Arc<Compiled>, Vec<Verdict>);

/// Verify one row, or say why it is rejected: no usable id, no usable or an oversized response,
/// unreadable requirement cells, requirements that cannot be had, or none at all.
pub fn verify_row(row: &VerifyRow, lists: impl FnOnce() -> ListCells, max_bytes: usize) -> std::result::Result<Verified, Rejection> {
    if row.id.is_none() {
        return Err(Rejection::new("invalid_instruction", "missing or non-UTF-8 id"));
    }
    let response = match row.response {
        Cell::Text(t) => t,
        Cell::Null => return Err(Rejection::new("invalid_response", "missing response (null)")),
        Cell::InvalidUtf8 => return Err(Rejection::new("invalid_response", "response is not valid UTF-8")),
    };
    if let Err(e) = check_response(response, max_bytes) {
        return Err(Rejection::new("invalid_response", e.to_string().replace("invalid instruction: ", "")));
    }
    let lists = lists();
    let ids = lists.instruction_ids.map_err(|e| Rejection::new("invalid_requirements", e))?;
    let kwargs = row.kwargs.optional("kwargs")?;
    let given = lists.requirements.transpose().map_err(|e| Rejection::new("invalid_requirements", e))?;
    let list = row.requirements_json.optional("requirements")?;
    let compiled = compiled(VerifySource::choose(ids, kwargs, given, list, row.prompt.text()))?;
    if compiled.items.is_empty() {
        return Err(Rejection::new("no_requirements", "no requirements to verify"));
    }
    let verdicts = verify(response, &compiled.verifiers);
    Ok((compiled, verdicts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;

    fn row(response: Cell) -> VerifyRow {
        VerifyRow { id: Some(Cow::Borrowed("a")), response, prompt: Cell::Null, kwargs: Cell::Null, requirements_json: Cell::Null }
    }

    fn no_lists() -> ListCells {
        ListCells { instruction_ids: Ok(None), requirements: None }
    }

    fn rejection(row: &VerifyRow, lists: ListCells) -> (&'static str, String) {
        let r = verify_row(row, || lists, 100).unwrap_err();
        (r.kind, r.reason)
    }

    #[test]
    fn sources_take_precedence_in_order() {
        let ids = || Some(vec!["punctuation:no_comma".to_string()]);
        let given = || Some(Vec::new());
        assert!(matches!(VerifySource::choose(ids(), None, given(), Some("[]"), Some("p")), VerifySource::Ifeval { .. }));
        assert_eq!(VerifySource::choose(None, None, given(), Some("[]"), Some("p")), VerifySource::Given(Vec::new()));
        assert_eq!(VerifySource::choose(None, None, None, Some("[]"), Some("p")), VerifySource::List("[]"));
        assert_eq!(VerifySource::choose(None, None, None, None, Some("p")), VerifySource::Prompt("p"));
        assert_eq!(VerifySource::choose(None, Some("[]"), None, None, None), VerifySource::Nothing);
        let items = VerifySource::Ifeval { ids: ids().unwrap(), kwargs: None }.items().unwrap_err();
        assert_eq!(items.to_string(), "invalid requirements: 1 instruction ids but 0 kwargs entries");
        let items = VerifySource::Prompt("Write a poem. Do not use any commas.").items().unwrap();
        assert_eq!((items[0].id.as_str(), items[0].rtype.as_str()), ("r1", "no_commas"));
    }

    #[test]
    fn bad_rows_are_rejected_in_order() {
        let no_id = VerifyRow { id: None, ..row(Cell::Null) };
        assert_eq!(rejection(&no_id, no_lists()), ("invalid_instruction", "missing or non-UTF-8 id".into()));
        assert_eq!(rejection(&row(Cell::Null), no_lists()), ("invalid_response", "missing response (null)".into()));
        assert_eq!(rejection(&row(Cell::InvalidUtf8), no_lists()), ("invalid_response", "response is not valid UTF-8".into()));
        let long = "x".repeat(101);
        let (kind, reason) = rejection(&row(Cell::Text(&long)), no_lists());
        assert_eq!((kind, reason.as_str()), ("invalid_response", "response is 101 bytes, over the limit of 100 (verify max_bytes)"));
        let unreadable = ListCells { instruction_ids: Err("bad ids".into()), requirements: Some(Err("bad list".into())) };
        assert_eq!(rejection(&row(Cell::Text("ok")), unreadable), ("invalid_requirements", "bad ids".into()));
        let bad_kwargs = VerifyRow { kwargs: Cell::InvalidUtf8, ..row(Cell::Text("ok")) };
        let unreadable = ListCells { instruction_ids: Ok(None), requirements: Some(Err("bad list".into())) };
        assert_eq!(rejection(&bad_kwargs, unreadable).1, "invalid requirements: kwargs is not valid UTF-8");
        let unreadable = ListCells { instruction_ids: Ok(None), requirements: Some(Err("bad list".into())) };
        assert_eq!(rejection(&row(Cell::Text("ok")), unreadable), ("invalid_requirements", "bad list".into()));
        assert_eq!(rejection(&row(Cell::Text("ok")), no_lists()).0, "invalid_requirements");
        let nothing_found = VerifyRow { prompt: Cell::Text("Tell me about tea."), ..row(Cell::Text("ok")) };
        assert_eq!(rejection(&nothing_found, no_lists()), ("no_requirements", "no requirements to verify".into()));
    }

    #[test]
    fn rows_share_compiled_requirements_and_keep_invalid_ones() {
        forget_caches();
        let list = r#"[{"type": "no_commas"}, {"type": "repeat_prompt"}]"#;
        let with_list = |response| VerifyRow { requirements_json: Cell::Text(list), ..row(Cell::Text(response)) };
        let (a, verdicts) = verify_row(&with_list("No commas."), no_lists, 100).unwrap();
        let (b, _) = verify_row(&with_list("Commas, here."), no_lists, 100).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!((verdicts[0].status, verdicts[1].status), (Status::Followed, Status::Invalid));
        assert_eq!((a.family[0], a.params_json[1].as_str()), ("mechanics", "{}"));
    }

    #[test]
    fn an_unusable_ifeval_kwarg_makes_that_requirement_invalid_not_the_row() {
        forget_caches();
        let ids = || vec!["keywords:letter_frequency".to_string(), "punctuation:no_comma".to_string(), "keywords:letter_frequency".to_string()];
        let kwargs = r##"[{"letter": "#", "let_frequency": 2, "let_relation": "at least"}, {}, {"letter": "ab", "let_frequency": 1}]"##;
        let lists = || ListCells { instruction_ids: Ok(Some(ids())), requirements: None };
        let r = VerifyRow { kwargs: Cell::Text(kwargs), ..row(Cell::Text("## No commas here")) };
        let (compiled, verdicts) = verify_row(&r, lists, 100).unwrap();
        assert_eq!(compiled.items.len(), 3);
        assert_eq!((verdicts[0].status, verdicts[1].status, verdicts[2].status), (Status::Followed, Status::Followed, Status::Invalid));
        assert_eq!(verdicts[2].reason, "invalid requirements: keywords:letter_frequency: kwarg letter=\"ab\" is not a single character");
        assert_eq!(compiled.params_json[2], "{}");
        let err = verify_response("x", VerifySource::Ifeval { ids: ids(), kwargs: Some(kwargs) }, None, 100).unwrap_err();
        assert!(err.to_string().contains("requirement r3: keywords:letter_frequency"), "{err}");
    }

    #[test]
    fn single_responses_keep_given_ids_and_name_bad_requirements() {
        let list = r#"[{"id": "commas", "type": "no_commas"}, {"type": "no_commas"}]"#;
        let out = verify_response("Fine.", VerifySource::List(list), Some(list), 100).unwrap();
        assert_eq!((out[0].0.id.as_str(), out[1].0.id.as_str()), ("commas", "r2"));
        let bad = r#"[{"type": "repeat_prompt"}]"#;
        let err = verify_response("Fine.", VerifySource::List(bad), Some(bad), 100).unwrap_err();
        assert_eq!(err.to_string(), "invalid requirements: requirement r1: repeat_prompt: missing parameter \"prompt\"");
        assert!(verify_response("Too long.", VerifySource::List(list), None, 3).is_err());
    }
}
