//! Rule verifiers: does a response follow a requirement?
//!
//! A [`Verifier`] is built once from a requirement's type and normalized parameters (bad
//! parameters are an error then, not a wrong verdict later) and checks any number of responses.
//! Each check returns whether the requirement is followed and a short reason ("412 words,
//! needs ≥ 500").
//!
//! The semantics follow IFEval's `instructions.py` for its 25 instruction ids (see
//! `docs/verify.md` for every place where they differ, and why): [`verify`] gives the strict
//! verdict (the response as is; an empty response follows nothing) and the loose one (also
//! accepted: the response without markdown `*`, without its first and/or last line, or both).
//! Words are counted as [`crate::text`] counts them; sentences as IFEval counts them (punkt's rules, in
//! [`sentences`]).
//!
//! Layout: this file holds the public API and the dispatch from a requirement's family to its
//! check; each family of the taxonomy has its own file ([`length`], [`format`], [`lexical`],
//! [`mechanics`], [`language`], [`phrase`]), [`helpers`] holds what they share, and [`loose`] the
//! loose rule; [`rows`] verifies the rows of a table (and single responses) with their
//! requirements from whichever source they have.

mod format;
mod helpers;
mod language;
mod length;
mod lexical;
mod loose;
mod mechanics;
mod phrase;
pub mod rows;
pub mod sentences;
#[cfg(test)]
mod test_support;

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::model::Params;
use crate::taxonomy::{type_info, Family};
use helpers::{invalid, Subject};
use loose::loose_variants;

pub use format::DEFAULT_OPTIONS;
pub use helpers::Relation;
pub use language::{detect_language, forget_languages, language_sample, language_supported, normalize_language, LANGUAGE_SAMPLE_CHARS};

/// Counts in parameters above this are rejected as absurd.
pub const MAX_COUNT: u64 = 1_000_000_000;

/// The names of the eight loose variants, in IFEval's order.
pub const LOOSE_VARIANTS: [&str; 8] = [
    "original",
    "no_asterisks",
    "without_first_line",
    "without_last_line",
    "without_first_and_last_lines",
    "no_asterisks_without_first_line",
    "no_asterisks_without_last_line",
    "no_asterisks_without_first_and_last_lines",
];

/// A compiled check, by family.
#[derive(Debug, Clone)]
enum Check {
    Length(length::Length),
    Format(format::Format),
    Lexical(lexical::Lexical),
    Mechanics(mechanics::Mechanics),
    Language(language::Language),
    Phrase(phrase::Phrase),
}

impl Check {
    /// Check one text; the reason is formatted only when `explain`.
    fn run(&self, s: &Subject, explain: bool) -> Outcome {
        match self {
            Check::Length(c) => c.run(s, explain),
            Check::Format(c) => c.run(s, explain),
            Check::Lexical(c) => c.run(s, explain),
            Check::Mechanics(c) => c.run(s, explain),
            Check::Language(c) => c.run(s, explain),
            Check::Phrase(c) => c.run(s, explain),
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Check(Check),
    /// The type (or this instance of it) has no rule; the reason says why.
    NotVerifiable(String),
    /// The requirement is malformed (a missing or absurd parameter); the reason says how.
    Invalid(String),
}

impl Kind {
    /// A verifiable type that no family check knows.
    fn no_rule(rtype: &str) -> Kind {
        Kind::NotVerifiable(format!("{rtype} has no rule"))
    }
}

/// A requirement compiled for checking.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub rtype: String,
    kind: Kind,
}

/// The result of checking one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub followed: bool,
    pub reason: String,
}

fn outcome(followed: bool, reason: String) -> Outcome {
    Outcome { followed, reason }
}

/// Whether a requirement was followed, by the strict and the loose rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Followed,
    Violated,
    NotVerifiable,
    /// The requirement itself is malformed, so nothing was checked.
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Followed => "followed",
            Status::Violated => "violated",
            Status::NotVerifiable => "not_verifiable",
            Status::Invalid => "invalid",
        }
    }
}

/// The verdict on one requirement: `status` follows the strict rule; `strict` and `loose` are
/// `None` for a requirement no rule can verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub status: Status,
    pub strict: Option<bool>,
    pub loose: Option<bool>,
    /// The first loose variant that passed (see [`LOOSE_VARIANTS`]), when `loose` is true.
    pub loose_variant: Option<&'static str>,
    pub reason: String,
}

impl Verdict {
    /// The verdict on a requirement no rule checked: no strict or loose result, only the reason.
    fn unchecked(status: Status, why: &str) -> Verdict {
        Verdict { status, strict: None, loose: None, loose_variant: None, reason: why.to_string() }
    }
}

impl Verifier {
    /// Compile a requirement. Unknown types and missing or absurd parameters are errors;
    /// requirement types without a rule (tone, audience, ...) give a verifier that reports
    /// "not verifiable".
    pub fn new(rtype: &str, params: &Params) -> Result<Verifier> {
        let info = type_info(rtype).ok_or_else(|| invalid(format!("unknown requirement type {rtype:?}")))?;
        let kind = if !info.verifiable {
            Kind::NotVerifiable(format!("{rtype} is not verifiable by a rule"))
        } else {
            match info.family {
                Family::Length => length::compile(params)?,
                Family::Format => format::compile(rtype, params)?,
                Family::Lexical => lexical::compile(rtype, params)?,
                Family::Mechanics => mechanics::compile(rtype, params)?,
                Family::Language => language::compile(params)?,
                Family::Phrase => phrase::compile(rtype, params)?,
                Family::Style | Family::Content => Kind::no_rule(rtype),
            }
        };
        Ok(Verifier { rtype: rtype.to_string(), kind })
    }

    /// Compile a requirement of a dataset row: a malformed one gives a verifier whose verdict is
    /// `invalid` with the reason, so the row's other requirements are still verified.
    pub fn new_or_invalid(rtype: &str, params: &Params) -> Verifier {
        Verifier::new(rtype, params).unwrap_or_else(|e| Verifier::invalid(rtype, e.to_string()))
    }

    /// A requirement known to be malformed: its verdict is `invalid` with `reason`.
    pub fn invalid(rtype: &str, reason: String) -> Verifier {
        Verifier { rtype: rtype.to_string(), kind: Kind::Invalid(reason) }
    }

    /// Can a rule decide this requirement?
    pub fn verifiable(&self) -> bool {
        matches!(self.kind, Kind::Check(_))
    }

    /// Check one text as it is (no empty-response rule, no loose variants).
    pub fn check(&self, text: &str) -> Outcome {
        match &self.kind {
            Kind::Check(c) => c.run(&Subject::new(text, false), true),
            Kind::NotVerifiable(why) | Kind::Invalid(why) => outcome(false, why.clone()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strict and loose verification

/// Reject a response that cannot be verified: over `max_bytes`.
pub fn check_response(response: &str, max_bytes: usize) -> Result<()> {
    if response.len() > max_bytes {
        return Err(CoreError::InvalidInstruction(format!(
            "response is {} bytes, over the limit of {max_bytes} (verify max_bytes)",
            response.len()
        )));
    }
    Ok(())
}

/// Verify one response against compiled requirements: strict and loose, per requirement.
///
/// Windows line ends are read as `\n`. An empty or whitespace-only response follows nothing
/// (IFEval). A requirement that the response follows as it is follows the loose rule too, so the
/// loose variants are tried only for requirements that failed, in IFEval's order, stopping at the
/// first that passes; they are set up once per response and built only as far as a check needs.
pub fn verify(response: &str, verifiers: &[Verifier]) -> Vec<Verdict> {
    let response: Cow<str> = if response.contains('\r') { Cow::Owned(response.replace("\r\n", "\n")) } else { Cow::Borrowed(response) };
    let empty = response.trim().is_empty();
    let subject = Subject::new(&response, false);
    let mut verdicts: Vec<Verdict> = verifiers
        .iter()
        .map(|v| match &v.kind {
            Kind::NotVerifiable(why) => Verdict::unchecked(Status::NotVerifiable, why),
            Kind::Invalid(why) => Verdict::unchecked(Status::Invalid, why),
            Kind::Check(c) => {
                let o = if empty { outcome(false, "empty response".into()) } else { c.run(&subject, true) };
                Verdict {
                    status: if o.followed { Status::Followed } else { Status::Violated },
                    strict: Some(o.followed),
                    loose: Some(o.followed),
                    loose_variant: o.followed.then_some(LOOSE_VARIANTS[0]),
                    reason: o.reason,
                }
            }
        })
        .collect();
    if empty || !verdicts.iter().any(|v| v.loose == Some(false)) {
        return verdicts;
    }
    let variants = loose_variants(&response);
    let star = response.contains('*');
    for (v, verdict) in verifiers.iter().zip(verdicts.iter_mut()) {
        let Kind::Check(c) = &v.kind else { continue };
        if verdict.loose != Some(false) || c.loose_cannot_pass(&subject, star) {
            continue;
        }
        if let Some((i, _)) = variants.iter().find(|(_, s)| c.run(s, false).followed) {
            verdict.loose = Some(true);
            verdict.loose_variant = Some(LOOSE_VARIANTS[*i]);
        }
    }
    verdicts
}

/// Compile and verify one requirement (for notebooks and tests).
pub fn verify_one(response: &str, rtype: &str, params: &Params) -> Result<Verdict> {
    let v = Verifier::new(rtype, params)?;
    Ok(verify(response, std::slice::from_ref(&v)).pop().expect("one verdict"))
}

/// Requirements from IFEval ids and kwargs, for verification: [`crate::structured::from_ifeval_each`]
/// (a requirement whose kwargs cannot be used comes with its reason, the others are kept), plus what
/// IFEval's checkers read into an id: the `***` paragraph separator of
/// `length_constraints:number_paragraphs`, and English for `change_case:english_lowercase`/`_capital`.
pub fn ifeval_requirements(ids: &[String], kwargs_json: &str) -> Result<Vec<(String, std::result::Result<Params, String>)>> {
    let mut reqs = crate::structured::from_ifeval_each(ids, kwargs_json)?;
    for (id, (_, params)) in ids.iter().zip(reqs.iter_mut()) {
        let Ok(params) = params else { continue };
        match id.as_str() {
            "length_constraints:number_paragraphs" => {
                params.insert("separator".into(), Value::from("***"));
            }
            // "Your entire response should be in English, and in all lowercase letters."
            "change_case:english_lowercase" | "change_case:english_capital" => {
                params.insert("language".into(), Value::from("en"));
            }
            _ => {}
        }
    }
    Ok(reqs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_support::{cases, params, strict};
    use super::*;

    #[test]
    fn a_malformed_requirement_is_invalid_and_the_others_are_verified() {
        let verifiers = [
            Verifier::new_or_invalid("repeat_prompt", &Params::new()),
            Verifier::new_or_invalid("no_commas", &Params::new()),
        ];
        let verdicts = verify("No commas here.", &verifiers);
        assert_eq!((verdicts[0].status, verdicts[0].strict), (Status::Invalid, None));
        assert!(verdicts[0].reason.contains("missing parameter \"prompt\""), "{}", verdicts[0].reason);
        assert_eq!((verdicts[1].status, verdicts[1].strict), (Status::Followed, Some(true)));
    }

    #[test]
    fn every_verifier_has_followed_and_violated_cases() {
        let mut covered = std::collections::BTreeSet::new();
        for (rtype, p, good, bad) in cases() {
            let g = verify_one(good, rtype, &params(p.clone())).unwrap();
            assert_eq!(g.strict, Some(true), "{rtype} {p} should follow on {good:?}: {}", g.reason);
            let b = verify_one(bad, rtype, &params(p.clone())).unwrap();
            assert_eq!(b.strict, Some(false), "{rtype} {p} should be violated on {bad:?}: {}", b.reason);
            covered.insert(rtype);
        }
        for t in crate::taxonomy::TYPES.iter().filter(|t| t.verifiable) {
            assert!(covered.contains(t.name), "no cases for {}", t.name);
        }
    }

    #[test]
    fn empty_and_whitespace_responses_follow_nothing() {
        for r in ["", "   \n\t "] {
            let v = verify_one(r, "no_commas", &Params::new()).unwrap();
            assert_eq!((v.strict, v.loose), (Some(false), Some(false)));
            assert_eq!(v.reason, "empty response");
        }
    }

    #[test]
    fn bad_parameters_are_errors() {
        let bad = [
            ("length", json!({"unit": "words", "relation": "at_least", "value": -3})),
            ("length", json!({"unit": "lightyears", "relation": "at_least", "value": 3})),
            ("length", json!({"unit": "words", "relation": "roughly-ish", "value": 3})),
            ("keywords", json!({"keywords": [""]})),
            ("keywords", json!({"keywords": []})),
            ("keyword_frequency", json!({"keyword": " ", "relation": "at_least", "value": 1})),
            ("letter_frequency", json!({"letter": "ab", "relation": "at_least", "value": 1})),
            ("paragraph_first_word", json!({"num_paragraphs": 2, "nth": 5, "first_word": "x"})),
            ("response_language", json!({"language": "klingon!"})),
            ("vibes", json!({})),
            ("bullet_points", json!({"value": 1e12})),
        ];
        for (t, p) in bad {
            assert!(verify_one("text", t, &params(p.clone())).is_err(), "{t} {p}");
        }
    }

    #[test]
    fn unverifiable_types_are_reported_never_guessed() {
        let v = verify_one("Hello", "tone", &params(json!({"tone": "warm"}))).unwrap();
        assert_eq!((v.status, v.strict, v.loose), (Status::NotVerifiable, None, None));
        let v = verify_one("Habari yako", "response_language", &params(json!({"language": "sw"}))).unwrap();
        assert_eq!(v.status, Status::NotVerifiable);
    }

    #[test]
    fn huge_and_crlf_responses() {
        assert!(check_response(&"a".repeat(11 << 20), 1 << 20).is_err());
        let big = "word, ".repeat(2_000_000);
        let v = verify_one(&big, "no_commas", &Params::new()).unwrap();
        assert_eq!(v.strict, Some(false));
        assert!(strict("paragraph_first_word", json!({"nth": 2, "first_word": "b"}), "A\r\n\r\nB"));
    }

    #[test]
    fn ifeval_case_ids_also_need_english() {
        let ids = vec!["change_case:english_lowercase".to_string()];
        let reqs = ifeval_requirements(&ids, "[{}]").unwrap();
        let v = Verifier::new(&reqs[0].0, reqs[0].1.as_ref().unwrap()).unwrap();
        let french = "bonjour, je suis très content de vous voir aujourd'hui et je vous remercie pour tout.";
        let english = "hello, i am very happy to see you today and i thank you for everything you did.";
        assert_eq!(verify(french, std::slice::from_ref(&v))[0].strict, Some(false));
        assert_eq!(verify(english, std::slice::from_ref(&v))[0].strict, Some(true));
        // The taxonomy's own `lowercase` carries no language.
        assert_eq!(verify_one(french, "lowercase", &Params::new()).unwrap().strict, Some(true));
    }

    #[test]
    fn ifeval_requirements_mark_the_divider() {
        let ids = vec!["length_constraints:number_paragraphs".to_string()];
        let reqs = ifeval_requirements(&ids, r#"[{"num_paragraphs": 2}]"#).unwrap();
        let params = reqs[0].1.as_ref().unwrap();
        assert_eq!(params["separator"], "***");
        let v = Verifier::new(&reqs[0].0, params).unwrap();
        assert_eq!(verify("A\n\nB", std::slice::from_ref(&v))[0].strict, Some(false));
        assert_eq!(verify("A\n***\nB", &[v])[0].strict, Some(true));
    }
}
