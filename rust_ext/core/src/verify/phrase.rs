//! The phrase family: the start and the end of the response, a postscript, placeholders, the
//! request repeated first.

use std::sync::LazyLock;

use regex::Regex;

use super::helpers::{count_param, counted, decide, find_either, relation_param, str_param, too_few, Bound, Relation, Subject};
use super::{Check, Kind, Outcome};
use crate::error::Result;
use crate::model::Params;


/// IFEval's `p\.\s?s\.` and `p\.\s?p\.\s?s` on the lowercased response, matched on the response
/// itself: only `P` lowercases to `p` and only `S` to `s`, and no character lowercases to `.` or a
/// space (see the test `postscript_patterns_need_no_lowercased_copy`).
static PS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[pP]\.\s?[sS]\.").unwrap());
static PPS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[pP]\.\s?[pP]\.\s?[sS]").unwrap());

#[derive(Debug, Clone)]
pub(super) enum PostscriptMarker {
    /// "P.S.": `p\.\s?s\.` anywhere in the lowercased response, as IFEval.
    Ps,
    /// "P.P.S": `p\.\s?p\.\s?s`.
    Pps,
    /// Any other marker, lowercased, found literally.
    Literal(String),
}

/// A compiled requirement of the phrase family.
#[derive(Debug, Clone)]
pub(super) enum Phrase {
    Start { phrase: String },
    End { phrase: String },
    Postscript { marker: PostscriptMarker, shown: String },
    Placeholders { relation: Relation, value: u64 },
    RepeatPrompt { prompt: String },
}

/// Compile a requirement of the phrase family.
pub(super) fn compile(rtype: &str, p: &Params) -> Result<Kind> {
    let t = rtype;
    let check = match rtype {
        "start_phrase" => Phrase::Start { phrase: str_param(t, p, "phrase")?.trim().to_lowercase() },
        "end_phrase" => Phrase::End { phrase: str_param(t, p, "phrase")?.trim().to_lowercase() },
        "postscript" => {
            let shown = str_param(t, p, "marker")?.trim().to_string();
            let marker = match shown.as_str() {
                "P.S." => PostscriptMarker::Ps,
                "P.P.S" => PostscriptMarker::Pps,
                other => PostscriptMarker::Literal(other.to_lowercase()),
            };
            Phrase::Postscript { marker, shown }
        }
        "placeholders" => Phrase::Placeholders {
            relation: relation_param(t, p, Some(Relation::AtLeast))?,
            value: count_param(t, p, "value")?,
        },
        "repeat_prompt" => Phrase::RepeatPrompt { prompt: str_param(t, p, "prompt")?.trim().to_lowercase() },
        _ => return Ok(Kind::no_rule(rtype)),
    };
    Ok(Kind::Check(Check::Phrase(check)))
}

impl Phrase {
    pub(super) fn run(&self, s: &Subject, explain: bool) -> Outcome {
        let text = s.text();
        match self {
            Phrase::Start { phrase } => {
                // Lowercasing changes no space or `"`, so trimming before or after it is the same.
                let t = text.trim_start().trim_start_matches('"').trim_start();
                let ok = ascii_head_is(t, phrase)
                    .unwrap_or_else(|| s.lower().trim_start().trim_start_matches('"').trim_start().starts_with(phrase.as_str()));
                decide(ok, explain, || if ok { format!("starts with {phrase:?}") } else { format!("does not start with {phrase:?}") })
            }
            Phrase::End { phrase } => {
                let t = text.trim().trim_matches('"');
                let ok = ascii_tail_is(t, phrase).unwrap_or_else(|| t.to_lowercase().ends_with(phrase.as_str()));
                decide(ok, explain, || if ok { format!("ends with {phrase:?}") } else { format!("does not end with {phrase:?}") })
            }
            Phrase::Postscript { marker, shown } => {
                let ok = match marker {
                    // IFEval's pattern on the lowercased response, matched on the response as it is.
                    PostscriptMarker::Ps => PS.is_match(text),
                    PostscriptMarker::Pps => PPS.is_match(text),
                    PostscriptMarker::Literal(m) => s.lower().contains(m.as_str()),
                };
                decide(ok, explain, || if ok { format!("has a postscript {shown}") } else { format!("no postscript {shown}") })
            }
            Phrase::Placeholders { relation, value } => {
                counted(count_placeholders(text), "placeholder", "placeholders", Bound::Rel(*relation, *value), explain)
            }
            Phrase::RepeatPrompt { prompt } => {
                let t = text.trim_start();
                let ok = ascii_head_is(t, prompt).unwrap_or_else(|| s.lower().trim_start().starts_with(prompt.as_str()));
                decide(ok, explain, || {
                    if ok { "starts with the prompt".into() } else { "does not start with the prompt, word for word".into() }
                })
            }
        }
    }

    /// Placeholders: matches never cross a line.
    pub(super) fn loose_cannot_pass(&self, s: &Subject) -> bool {
        match self {
            Phrase::Placeholders { relation, value } => too_few(*relation, count_placeholders(s.text()), *value),
            _ => false,
        }
    }
}

/// Placeholders: `\[.*?\]` matches, from a `[` to the first `]` on the same line.
fn count_placeholders(text: &str) -> u64 {
    let b = text.as_bytes();
    let mut n = 0;
    let mut pos = 0;
    while let Some(i) = text[pos..].find('[').map(|i| pos + i) {
        match find_either(b, i + 1, b']', b'\n') {
            None => break,
            Some(j) => {
                n += (b[j] == b']') as u64;
                pos = j + 1;
            }
        }
    }
    n
}

/// Does the lowercased `text` start with `phrase` (lowercase)? `None` when the head of the text
/// is not ASCII (the caller then lowercases the text).
fn ascii_head_is(text: &str, phrase: &str) -> Option<bool> {
    let head = text.as_bytes().get(..phrase.len())?;
    head.is_ascii().then(|| head.iter().zip(phrase.as_bytes()).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// Does the lowercased `text` end with `phrase` (lowercase)? `None` when the tail is not ASCII.
fn ascii_tail_is(text: &str, phrase: &str) -> Option<bool> {
    let tail = text.as_bytes().get(text.len().checked_sub(phrase.len())?..)?;
    tail.is_ascii().then(|| tail.iter().zip(phrase.as_bytes()).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

#[cfg(test)]
mod tests {
    use regex::Regex;
    use serde_json::json;

    use super::*;
    use crate::verify::test_support::{random_texts, strict};

    #[test]
    fn end_phrase_ignores_case_beyond_ascii() {
        assert!(strict("end_phrase", json!({"phrase": "¿Algo más?"}), "Hola. ¿ALGO MÁS?"));
    }

    #[test]
    fn scanners_agree_with_the_ifeval_regexes() {
        let re = |p: &str| Regex::new(p).unwrap();
        let placeholder = re(r"\[.*?\]");
        let (ps, pps) = (re(r"p\.\s?s\."), re(r"p\.\s?p\.\s?s"));
        for t in random_texts(1, 20_000) {
            let t = t.as_str();
            assert_eq!(count_placeholders(t), placeholder.find_iter(t).count() as u64, "{t:?}");
            let lower = t.to_lowercase();
            assert_eq!(PS.is_match(t), ps.is_match(&lower), "{t:?}");
            assert_eq!(PPS.is_match(t), pps.is_match(&lower), "{t:?}");
            for phrase in ["p.", "word", "ab", "é", "\"a", "σ"] {
                let head = t.trim_start().trim_start_matches('"').trim_start();
                let slow = lower.trim_start().trim_start_matches('"').trim_start().starts_with(phrase);
                assert!(ascii_head_is(head, phrase).is_none_or(|fast| fast == slow), "{t:?} {phrase:?}");
                let tail = t.trim().trim_matches('"');
                let slow = tail.to_lowercase().ends_with(phrase);
                assert!(ascii_tail_is(tail, phrase).is_none_or(|fast| fast == slow), "{t:?} {phrase:?}");
            }
        }
    }

    #[test]
    fn postscript_patterns_need_no_lowercased_copy() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if matches!(c, 'p' | 'P' | 's' | 'S' | '.') || c.is_whitespace() {
                continue;
            }
            assert!(!c.to_lowercase().any(|l| matches!(l, 'p' | 's' | '.') || l.is_whitespace()), "{c:?}");
        }
    }
}
