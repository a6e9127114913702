//! Structured requirements: IFEval `instruction_id_list` + `kwargs`, or an explicit list of
//! `{type, params, text}`, mapped to the same model and aligned to spans of the prompt text.

use serde_json::{Map, Value};

use crate::error::{CoreError, Result};
use crate::lexicon::{normalize_words, LEXICON};
use crate::model::{ParsedInstruction, Params, Requirement};
use crate::parse::{check_instruction, find_requirements, finish, Found, ParseLimits};
use crate::span::CharIndex;
use crate::taxonomy::{type_info, IFEVAL_IDS, IFEVAL_KWARGS};
use crate::text::segment;

fn invalid(msg: String) -> CoreError {
    CoreError::InvalidRequirements(msg)
}

/// Normalize one IFEval kwarg value for our parameter `param`.
fn normalize_kwarg(id: &str, key: &str, param: &str, value: &Value) -> Result<Value> {
    let bad = |what: &str| invalid(format!("{id}: kwarg {key}={value} {what}"));
    match param {
        "value" | "num_paragraphs" | "nth" => {
            let n = value.as_i64().or_else(|| value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
            match n {
                Some(n) if (0..=1_000_000).contains(&n) => Ok(Value::from(n)),
                _ => Err(bad("is not a count (an integer from 0 to 1,000,000)")),
            }
        }
        "relation" => {
            let s = value.as_str().ok_or_else(|| bad("is not a string"))?;
            LEXICON
                .relations
                .get(&normalize_words(s))
                .map(|r| Value::from(r.as_str()))
                .ok_or_else(|| bad("is not a known relation"))
        }
        "keywords" | "words" => {
            let items = value.as_array().ok_or_else(|| bad("is not a list"))?;
            let words: Vec<String> =
                items.iter().map(|w| w.as_str().map(str::trim).unwrap_or("").to_string()).collect();
            if words.is_empty() || words.iter().any(String::is_empty) {
                return Err(bad("must be a non-empty list of non-empty strings"));
            }
            Ok(Value::from(words))
        }
        "letter" => {
            let s = value.as_str().ok_or_else(|| bad("is not a string"))?;
            // IFEval counts any one character ("#", "!"), lowercased.
            let s = s.trim().to_lowercase();
            if s.chars().count() != 1 {
                return Err(bad("is not a single character"));
            }
            Ok(Value::from(s))
        }
        "language" => {
            let s = value.as_str().ok_or_else(|| bad("is not a string"))?.trim().to_lowercase();
            if s.len() == 2 && s.chars().all(|c| c.is_ascii_lowercase()) {
                Ok(Value::from(s))
            } else if let Some(code) = LEXICON.languages.get(&s) {
                Ok(Value::from(code.as_str()))
            } else {
                Err(bad("is not an ISO 639-1 code or language name"))
            }
        }
        _ => {
            let s = value.as_str().ok_or_else(|| bad("is not a string"))?;
            if s.trim().is_empty() {
                return Err(bad("is empty"));
            }
            Ok(Value::from(s))
        }
    }
}

/// Required parameters per type (those a verifier cannot do without).
fn required_params(rtype: &str) -> &'static [&'static str] {
    match rtype {
        "length" => &["unit", "relation", "value"],
        "keywords" => &["keywords"],
        "keyword_frequency" => &["keyword", "relation", "value"],
        "forbidden_words" => &["words"],
        "letter_frequency" => &["letter", "relation", "value"],
        "response_language" => &["language"],
        "paragraph_first_word" => &["nth", "first_word"],
        "placeholders" | "bullet_points" | "highlighted_sections" | "sections" => &["value"],
        "capital_word_frequency" => &["relation", "value"],
        "end_phrase" | "start_phrase" => &["phrase"],
        "postscript" => &["marker"],
        _ => &[],
    }
}

/// Reject requirement sets that no response could satisfy.
fn check_conflicts(reqs: &[(String, Params)]) -> Result<()> {
    let has = |t: &str| reqs.iter().any(|(rt, _)| rt == t);
    if has("lowercase") && has("uppercase") {
        return Err(invalid("conflicting requirements: both all-lowercase and all-uppercase".into()));
    }
    // Lower and upper bounds on the same length unit that cannot both hold.
    for (ta, a) in reqs.iter().filter(|(t, _)| t == "length") {
        for (_, b) in reqs.iter().filter(|(t, _)| t == "length") {
            let _ = ta;
            if a.get("unit") != b.get("unit") {
                continue;
            }
            // Explicit lists are not validated: a parameter may be missing or of any type.
            let (Some(ra), Some(rb)) = (a.get("relation").and_then(Value::as_str), b.get("relation").and_then(Value::as_str)) else { continue };
            let (Some(va), Some(vb)) = (a.get("value").and_then(Value::as_i64), b.get("value").and_then(Value::as_i64)) else { continue };
            let lower = match ra {
                "at_least" => va,
                "more_than" => va.saturating_add(1),
                _ => continue,
            };
            let upper = match rb {
                "at_most" => vb,
                "less_than" => vb.saturating_sub(1),
                _ => continue,
            };
            if lower > upper {
                return Err(invalid(format!("conflicting length requirements: {ra} {va} and {rb} {vb}")));
            }
        }
    }
    Ok(())
}

/// The first missing required parameter, as a message (the caller adds the IFEval id).
fn validate_params(rtype: &str, params: &Params) -> std::result::Result<(), String> {
    for p in required_params(rtype) {
        if !params.contains_key(*p) {
            return Err(format!("{rtype}: missing parameter {p:?}"));
        }
    }
    Ok(())
}

/// Convert IFEval `instruction_id_list` and `kwargs` (a JSON list of objects, one per id). A
/// requirement whose kwargs cannot be used makes the whole list an error: see [`from_ifeval_each`]
/// to keep the others.
pub fn from_ifeval(ids: &[String], kwargs_json: &str) -> Result<Vec<(String, Params)>> {
    from_ifeval_each(ids, kwargs_json)?.into_iter().map(|(rtype, params)| params.map(|p| (rtype, p)).map_err(invalid)).collect()
}

/// Convert IFEval `instruction_id_list` and `kwargs`, one requirement at a time: each gets its type
/// and its parameters, or the reason its kwargs cannot be used (a kwarg that does not belong to the
/// id, a value out of range, a missing parameter), so that a caller can keep the others.
///
/// Errors for the whole list: kwargs that are not a JSON list, one entry per id; an unknown id; and
/// requirements that no response could satisfy together (among the usable ones).
pub fn from_ifeval_each(ids: &[String], kwargs_json: &str) -> Result<Vec<(String, std::result::Result<Params, String>)>> {
    let kwargs: Value = serde_json::from_str(kwargs_json).map_err(|e| invalid(format!("kwargs is not JSON: {e}")))?;
    let kwargs = kwargs.as_array().ok_or_else(|| invalid("kwargs is not a JSON list".into()))?;
    if kwargs.len() != ids.len() {
        return Err(invalid(format!("{} instruction ids but {} kwargs entries", ids.len(), kwargs.len())));
    }
    let mut out = Vec::with_capacity(ids.len());
    for (id, kw) in ids.iter().zip(kwargs) {
        let (_, rtype, fixed) = IFEVAL_IDS
            .iter()
            .find(|(i, _, _)| i == id)
            .ok_or_else(|| CoreError::UnknownInstructionId(id.clone()))?;
        out.push((rtype.to_string(), ifeval_params(id, rtype, fixed, kw)));
    }
    let usable: Vec<(String, Params)> = out.iter().filter_map(|(t, p)| p.as_ref().ok().map(|p| (t.clone(), p.clone()))).collect();
    check_conflicts(&usable)?;
    Ok(out)
}

/// One IFEval id's parameters from its kwargs entry, or why they cannot be had.
fn ifeval_params(id: &str, rtype: &str, fixed: &str, kw: &Value) -> std::result::Result<Params, String> {
    let message = |e: CoreError| match e {
        CoreError::InvalidRequirements(m) => m,
        other => other.to_string(),
    };
    let mut params: Params = serde_json::from_str(fixed).expect("fixed params are JSON");
    let empty = Map::new();
    let kw = match kw {
        Value::Null => &empty,
        Value::Object(m) => m,
        other => return Err(format!("{id}: kwargs entry {other} is not an object")),
    };
    for (key, value) in kw {
        if value.is_null() {
            continue;
        }
        let (_, _, param) = IFEVAL_KWARGS
            .iter()
            .find(|(i, k, _)| *i == id && k == key)
            .ok_or_else(|| format!("kwarg {key:?} does not belong to {id}"))?;
        params.insert(param.to_string(), normalize_kwarg(id, key, param, value).map_err(message)?);
    }
    // IFEval defaults its relation-less counts.
    if rtype == "length" && !params.contains_key("relation") {
        params.insert("relation".into(), Value::from("exactly"));
    }
    validate_params(rtype, &params).map_err(|e| format!("{id}: {e}"))?;
    Ok(params)
}

/// Convert an explicit JSON list of `{"type": ..., "params": {...}, "text": ...}`.
pub fn from_list(requirements_json: &str) -> Result<Vec<(String, Params, Option<String>)>> {
    let list: Value =
        serde_json::from_str(requirements_json).map_err(|e| invalid(format!("requirements is not JSON: {e}")))?;
    let list = list.as_array().ok_or_else(|| invalid("requirements is not a JSON list".into()))?;
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let obj = item.as_object().ok_or_else(|| invalid(format!("requirement {item} is not an object")))?;
        let rtype = obj.get("type").and_then(Value::as_str).ok_or_else(|| invalid(format!("requirement {item} has no type")))?;
        if type_info(rtype).is_none() {
            return Err(invalid(format!("unknown requirement type {rtype:?}")));
        }
        let params = match obj.get("params") {
            None | Some(Value::Null) => Params::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => return Err(invalid(format!("{rtype}: params {other} is not an object"))),
        };
        let text = obj.get("text").and_then(Value::as_str).map(str::to_string).filter(|t| !t.trim().is_empty());
        out.push((rtype.to_string(), params, text));
    }
    let pairs: Vec<(String, Params)> = out.iter().map(|(t, p, _)| (t.clone(), p.clone())).collect();
    check_conflicts(&pairs)?;
    Ok(out)
}

/// Build the parsed instruction from structured requirements, aligning each to a span of the
/// prompt: its given surface text where it occurs, else the parser's first unused requirement of
/// the same type, else no span (it then cannot be dropped from the text).
pub fn parse_structured(
    prompt: &str,
    reqs: Vec<(String, Params, Option<String>)>,
    limits: &ParseLimits,
) -> Result<ParsedInstruction> {
    check_instruction(prompt, limits)?;
    if reqs.len() > limits.max_requirements {
        return Err(CoreError::InvalidInstruction(format!(
            "{} requirements, over the limit of {} (parse.max_requirements)",
            reqs.len(),
            limits.max_requirements
        )));
    }
    let doc = segment(prompt);
    let mut found: Vec<Option<Found>> = find_requirements(&LEXICON, prompt, &doc, None).expect("no limit, so never stopped").into_iter().map(Some).collect();
    let index = CharIndex::new(prompt);
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut requirements = Vec::with_capacity(reqs.len());
    for (i, (rtype, params, text)) in reqs.into_iter().enumerate() {
        let overlaps = |s: usize, e: usize, taken: &[(usize, usize)]| taken.iter().any(|&(a, b)| s < b && a < e);
        let by_text = text.as_deref().and_then(|t| {
            prompt.match_indices(t).map(|(s, m)| (s, s + m.len())).find(|&(s, e)| !overlaps(s, e, &taken))
        });
        let span = by_text.or_else(|| {
            let slot = found.iter_mut().find(|f| {
                f.as_ref().is_some_and(|f| f.rtype == rtype && !overlaps(f.start, f.end, &taken))
            })?;
            slot.take().map(|f| (f.start, f.end))
        });
        if let Some(s) = span {
            taken.push(s);
        }
        requirements.push(Requirement {
            id: format!("r{}", i + 1),
            rtype,
            start: span.map(|(s, _)| index.char_of(s)),
            end: span.map(|(_, e)| index.char_of(e)),
            text: span.map(|(s, e)| prompt[s..e].to_string()).unwrap_or_default(),
            params,
            source: "structured".into(),
        });
    }
    Ok(finish(prompt, &doc, requirements))
}

#[cfg(test)]
mod tests;
