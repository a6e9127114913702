//! The mechanics family: all lowercase, all capitals, all-capital words, no commas, quotation.

use super::helpers::{ascii_space, count_param, counted, decide, plural, relation_param, too_few, Bound, Relation, Subject};
use super::{Check, Kind, Outcome};
use crate::error::Result;
use crate::model::Params;


/// A compiled requirement of the mechanics family.
#[derive(Debug, Clone)]
pub(super) enum Mechanics {
    /// All lowercase; with a language, also written in it (IFEval's `english_lowercase`).
    Lowercase { language: Option<String> },
    Uppercase { language: Option<String> },
    CapitalWords { relation: Relation, value: u64 },
    NoCommas,
    Quotation,
}

/// The optional `language` of `lowercase`/`uppercase`, normalized (IFEval's ids set "en").
fn language_param(p: &Params) -> Option<String> {
    p.get("language").and_then(serde_json::Value::as_str).map(super::normalize_language)
}

/// A violated outcome when the text's detected language is not `language` (none detected: fine, as
/// IFEval counts a text langdetect cannot read as followed).
fn wrong_language(s: &Subject, language: Option<&str>, explain: bool) -> Option<Outcome> {
    let code = language?;
    let found = s.language()?;
    (found != code).then(|| decide(false, explain, || format!("detected language {found}, needs {code}")))
}

/// Compile a requirement of the mechanics family.
pub(super) fn compile(rtype: &str, p: &Params) -> Result<Kind> {
    let t = rtype;
    let check = match rtype {
        "lowercase" => Mechanics::Lowercase { language: language_param(p) },
        "uppercase" => Mechanics::Uppercase { language: language_param(p) },
        "capital_word_frequency" => Mechanics::CapitalWords {
            relation: relation_param(t, p, None)?,
            value: count_param(t, p, "value")?,
        },
        "no_commas" => Mechanics::NoCommas,
        "quotation" => Mechanics::Quotation,
        _ => return Ok(Kind::no_rule(rtype)),
    };
    Ok(Kind::Check(Check::Mechanics(check)))
}

impl Mechanics {
    pub(super) fn run(&self, s: &Subject, explain: bool) -> Outcome {
        let text = s.text();
        match self {
            Mechanics::Lowercase { language } => {
                let case = is_lower(text);
                if let (true, Some(why)) = (case, wrong_language(s, language.as_deref(), explain)) {
                    return why;
                }
                let ok = case;
                decide(ok, explain, || {
                    if ok {
                        return "all lowercase".into();
                    }
                    let n = text.chars().filter(|c| c.is_uppercase()).count() as u64;
                    if n == 0 { "no letters".to_string() } else { plural(n, "capital letter", "capital letters") }
                })
            }
            Mechanics::Uppercase { language } => {
                let case = is_upper(text);
                if let (true, Some(why)) = (case, wrong_language(s, language.as_deref(), explain)) {
                    return why;
                }
                let ok = case;
                decide(ok, explain, || {
                    if ok {
                        return "all capitals".into();
                    }
                    let n = text.chars().filter(|c| c.is_lowercase()).count() as u64;
                    if n == 0 { "no letters".to_string() } else { plural(n, "lowercase letter", "lowercase letters") }
                })
            }
            Mechanics::CapitalWords { relation, value } => {
                counted(count_capital_words(text), "all-capital word", "all-capital words", Bound::Rel(*relation, *value), explain)
            }
            Mechanics::NoCommas => {
                let ok = !text.contains(',') && !text.contains('，');
                decide(ok, explain, || {
                    if ok {
                        "no commas".into()
                    } else {
                        plural(text.matches(',').count() as u64 + text.matches('，').count() as u64, "comma", "commas")
                    }
                })
            }
            Mechanics::Quotation => {
                let t = text.trim();
                let ok = t.chars().nth(1).is_some() && t.starts_with('"') && t.ends_with('"');
                decide(ok, explain, || if ok { "wrapped in double quotes".into() } else { "not wrapped in double quotes".into() })
            }
        }
    }

    /// All-capital words: tokens never merge or split (`*` is not a space), a `*` is neither a
    /// letter nor cased, and every cased character is alphanumeric, so trimming keeps it.
    pub(super) fn loose_cannot_pass(&self, s: &Subject) -> bool {
        match self {
            Mechanics::CapitalWords { relation, value } => too_few(*relation, count_capital_words(s.text()), *value),
            _ => false,
        }
    }
}

/// Python's `str.islower()`: some lowercase letter and no uppercase one.
fn is_lower(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return !b.iter().any(u8::is_ascii_uppercase) && b.iter().any(u8::is_ascii_lowercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_uppercase() {
            return false;
        }
        cased |= c.is_lowercase();
    }
    cased
}

/// Python's `str.isupper()`.
fn is_upper(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return !b.iter().any(u8::is_ascii_lowercase) && b.iter().any(u8::is_ascii_uppercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// All-capital words: whitespace tokens that, edge punctuation trimmed, are `isupper`. On ASCII
/// text a token counts when it has a capital and no lowercase letter (trimmed edges hold no letter).
fn count_capital_words(text: &str) -> u64 {
    if !text.is_ascii() {
        return text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty() && is_upper(w))
            .count() as u64;
    }
    let (mut n, mut upper, mut lower) = (0u64, false, false);
    for &b in text.as_bytes() {
        if ascii_space(b) {
            n += (upper && !lower) as u64;
            upper = false;
            lower = false;
        } else {
            upper |= b.is_ascii_uppercase();
            lower |= b.is_ascii_lowercase();
        }
    }
    n + (upper && !lower) as u64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::verify::test_support::{random_texts, strict};

    #[test]
    fn quotation_needs_straight_double_quotes() {
        assert!(!strict("quotation", json!({}), "“curly quotes”"));
        assert!(!strict("quotation", json!({}), "\""));
    }

    #[test]
    fn capital_words_agree_with_the_token_rule() {
        for t in random_texts(1, 20_000) {
            let capitals = t
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| !w.is_empty() && is_upper(w))
                .count();
            assert_eq!(count_capital_words(&t), capitals as u64, "{t:?}");
        }
    }

    #[test]
    fn cased_characters_are_alphanumeric() {
        // What `loose_cannot_pass` relies on for all-capital words.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert!(!(c.is_uppercase() || c.is_lowercase()) || c.is_alphanumeric(), "{c:?}");
        }
    }
}
