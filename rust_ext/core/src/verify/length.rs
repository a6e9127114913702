//! The length family: words, sentences, paragraphs, non-space characters, non-empty lines, or
//! speaking time (minutes, seconds, hours) through a speaking rate.

use serde_json::Value;

use super::helpers::{
    ascii_space, count_param, counted, decide, find_run, invalid, plural, relation_param, split_stars, str_param, Bound,
    Subject,
};
use super::{Check, Kind, Outcome};
use crate::error::Result;
use crate::model::Params;
use crate::text;

/// The speaking rate a time length is verified with when the requirement sets none: 150 words a
/// minute for English, the middle of the 140-160 words a minute usually given for a prepared talk
/// (presentation coaching guides and the National Center for Voice and Speech both quote about 150
/// for conversational English). Override per requirement with `words_per_minute`.
pub const DEFAULT_WORDS_PER_MINUTE: u64 = 150;

/// The same for a response in Chinese, in non-space characters a minute: 200, the low end of the
/// 200-250 字 a minute that Chinese speech-writing guides give for a speech (news broadcasting
/// runs faster, about 250-300). Override per requirement with `chars_per_minute`.
pub const DEFAULT_CHARS_PER_MINUTE: u64 = 200;

/// Speaking rates above this are rejected as absurd.
const MAX_RATE: u64 = 10_000;

/// What a length requirement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Words,
    Sentences,
    Paragraphs,
    Chars,
    /// Non-empty lines.
    Lines,
    /// Speaking time, as words (or, for a response in Chinese, non-space characters) at a rate;
    /// the value is in minutes, seconds or hours (`seconds` of one unit).
    Time { seconds: u64, name: &'static str },
}

/// How paragraphs are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParagraphSplit {
    /// IFEval's `number_paragraphs`: markdown dividers `***`.
    Divider,
    /// Blank lines.
    BlankLine,
    /// Dividers when the response has a `***`, blank lines otherwise.
    Auto,
}

/// A compiled length requirement.
#[derive(Debug, Clone)]
pub(super) struct Length {
    unit: Unit,
    bound: Bound,
    split: ParagraphSplit,
    /// Words and characters a minute, for a time unit.
    words_per_minute: u64,
    chars_per_minute: u64,
}

fn rate_param(p: &Params, name: &str, default: u64) -> Result<u64> {
    if p.get(name).is_none_or(Value::is_null) {
        return Ok(default);
    }
    match count_param("length", p, name)? {
        0 => Err(invalid(format!("length: {name} must be positive"))),
        n if n > MAX_RATE => Err(invalid(format!("length: {name} = {n} is absurdly large"))),
        n => Ok(n),
    }
}

/// The bound of a length: `relation: between` with `min` and `max` (both included), or a relation
/// with a `value`. `min` and `max` without a relation are a range too.
fn bound_param(p: &Params) -> Result<Bound> {
    let t = "length";
    let relation = p.get("relation").and_then(Value::as_str).map(|s| s.trim().to_lowercase());
    let has_range = p.get("min").is_some_and(|v| !v.is_null()) || p.get("max").is_some_and(|v| !v.is_null());
    if relation.as_deref() == Some("between") || (relation.is_none() && has_range) {
        let (lo, hi) = (count_param(t, p, "min")?, count_param(t, p, "max")?);
        if lo > hi {
            return Err(invalid(format!("length: min = {lo} is over max = {hi}")));
        }
        return Ok(Bound::Between(lo, hi));
    }
    Ok(Bound::Rel(relation_param(t, p, None)?, count_param(t, p, "value")?))
}

/// Compile a `length` requirement.
pub(super) fn compile(p: &Params) -> Result<Kind> {
    let t = "length";
    let unit = match str_param(t, p, "unit")?.trim().to_lowercase().as_str() {
        "words" | "word" => Unit::Words,
        "sentences" | "sentence" => Unit::Sentences,
        "paragraphs" | "paragraph" => Unit::Paragraphs,
        "chars" | "characters" | "char" | "character" => Unit::Chars,
        "lines" | "line" => Unit::Lines,
        "minutes" | "minute" => Unit::Time { seconds: 60, name: "minutes" },
        "seconds" | "second" => Unit::Time { seconds: 1, name: "seconds" },
        "hours" | "hour" => Unit::Time { seconds: 3600, name: "hours" },
        other => return Err(invalid(format!("length: unknown unit {other:?}"))),
    };
    let split = match p.get("separator").and_then(Value::as_str) {
        None => ParagraphSplit::Auto,
        Some("***") => ParagraphSplit::Divider,
        Some("blank_line") | Some("\n\n") => ParagraphSplit::BlankLine,
        Some(other) => return Err(invalid(format!("length: unknown paragraph separator {other:?}"))),
    };
    let check = Length {
        unit,
        bound: bound_param(p)?,
        split,
        words_per_minute: rate_param(p, "words_per_minute", DEFAULT_WORDS_PER_MINUTE)?,
        chars_per_minute: rate_param(p, "chars_per_minute", DEFAULT_CHARS_PER_MINUTE)?,
    };
    Ok(Kind::Check(Check::Length(check)))
}

impl Length {
    /// For a time unit: what is counted (words, or non-space characters in a mostly Chinese or
    /// Japanese response), its name, and the rate per minute.
    fn speaking(&self, text: &str) -> (u64, &'static str, u64) {
        if text::is_mostly_cjk(text) {
            (count_non_space(text), "non-space characters", self.chars_per_minute)
        } else {
            (count_words(text), "words", self.words_per_minute)
        }
    }

    pub(super) fn run(&self, s: &Subject, explain: bool) -> Outcome {
        let Length { unit, bound, split, .. } = self;
        let text = s.text();
        match unit {
            Unit::Words => counted(count_words(text), "word", "words", *bound, explain),
            Unit::Sentences => counted(super::sentences::count_sentences(text) as u64, "sentence", "sentences", *bound, explain),
            Unit::Chars => counted(count_non_space(text), "non-space character", "non-space characters", *bound, explain),
            Unit::Lines => counted(count_lines(text), "non-empty line", "non-empty lines", *bound, explain),
            Unit::Time { seconds, name } => {
                let (n, what, rate) = self.speaking(text);
                // n at `rate` a minute lasts 60·n/rate seconds: compare 60·n with value·seconds·rate.
                let scaled = bound.scaled(seconds * rate);
                decide(scaled.holds(n.saturating_mul(60)), explain, || {
                    let spoken = n as f64 * 60.0 / (rate * seconds) as f64;
                    format!("{n} {what}, about {spoken:.1} {name} at {rate} a minute, needs {} {name}", bound.describe())
                })
            }
            Unit::Paragraphs => {
                let divider = match split {
                    ParagraphSplit::Divider => true,
                    ParagraphSplit::BlankLine => false,
                    ParagraphSplit::Auto => find_run(text, 0, b'*', 3).is_some(),
                };
                let (n, how) = if divider {
                    match paragraphs_by_divider(text) {
                        Some(n) => (n, "***"),
                        None => return decide(false, explain, || "an empty paragraph between two *** dividers".into()),
                    }
                } else {
                    (paragraphs_by_blank_line(text), "blank lines")
                };
                decide(bound.holds(n), explain, || {
                    format!("{}, needs {} (separated by {how})", plural(n, "paragraph", "paragraphs"), bound.describe())
                })
            }
        }
    }

    /// Words, non-space characters, non-empty lines and speaking time: removing lines or `*`
    /// removes or merges words and empties lines, never adds any.
    pub(super) fn loose_cannot_pass(&self, s: &Subject) -> bool {
        let text = s.text();
        match self.unit {
            Unit::Words => self.bound.too_few(count_words(text)),
            Unit::Chars => self.bound.too_few(count_non_space(text)),
            Unit::Lines => self.bound.too_few(count_lines(text)),
            // A loose variant may tip the response's script and so what is counted: try them.
            Unit::Time { .. } => false,
            Unit::Sentences | Unit::Paragraphs => false,
        }
    }
}

/// Lines holding anything but whitespace.
fn count_lines(text: &str) -> u64 {
    text.lines().filter(|l| !l.trim().is_empty()).count() as u64
}

/// The number of words of [`text::count_words`] (runs of word characters; each Han ideograph or
/// kana a word of its own), counted without building spans: a byte scan on ASCII text.
fn count_words(text: &str) -> u64 {
    let mut n = 0u64;
    let mut in_word = false;
    if text.is_ascii() {
        for &b in text.as_bytes() {
            let w = b.is_ascii_alphanumeric() || b == b'_';
            n += (w && !in_word) as u64;
            in_word = w;
        }
        return n;
    }
    for c in text.chars() {
        if !text::is_word_char(c) {
            in_word = false;
        } else if text::is_unspaced_cjk(c) {
            n += 1;
            in_word = false;
        } else {
            n += (!in_word) as u64;
            in_word = true;
        }
    }
    n
}

/// Non-whitespace characters.
fn count_non_space(text: &str) -> u64 {
    if text.is_ascii() {
        text.bytes().filter(|&b| !ascii_space(b)).count() as u64
    } else {
        text.chars().filter(|c| !c.is_whitespace()).count() as u64
    }
}

/// IFEval's `number_paragraphs`: split on `***` dividers; an empty paragraph between two dividers
/// fails the check (`None`). IFEval splits on `\s?\*\*\*\s?`: the optional spaces only move
/// whitespace between parts that are trimmed anyway, so splitting on `***` finds the same parts.
fn paragraphs_by_divider(text: &str) -> Option<u64> {
    let mut parts = split_stars(text, 3).peekable();
    let mut n = 0u64;
    let mut first = true;
    while let Some(p) = parts.next() {
        if !p.trim().is_empty() {
            n += 1;
        } else if !first && parts.peek().is_some() {
            return None;
        }
        first = false;
    }
    Some(n)
}

/// Non-empty parts of a split on `\n\s*\n`: runs of text separated by whitespace that holds two
/// `\n` or more.
fn paragraphs_by_blank_line(text: &str) -> u64 {
    let (mut n, mut newlines) = (0u64, 2usize);
    let mut see = |c: char| {
        if c == '\n' {
            newlines += 1;
        } else if !c.is_whitespace() {
            n += (newlines >= 2) as u64;
            newlines = 0;
        }
    };
    if text.is_ascii() {
        text.bytes().for_each(|b| see(b as char));
    } else {
        text.chars().for_each(see);
    }
    n
}

#[cfg(test)]
mod tests {
    use regex::Regex;
    use serde_json::json;

    use super::*;
    use crate::verify::test_support::{random_texts, strict};
    use crate::verify::{verify_one, Status};

    #[test]
    fn less_than_is_strict() {
        let p = json!({"unit": "words", "relation": "less_than", "value": 3});
        assert!(strict("length", p.clone(), "one two"));
        assert!(!strict("length", p.clone(), "one two three"));
        assert!(!strict("length", p, "one two three four"));
        let p = json!({"unit": "words", "relation": "less than", "value": 3});
        let r = verify_one("one two three", "length", p.as_object().unwrap()).unwrap();
        assert_eq!(r.reason, "3 words, needs < 3");
    }

    #[test]
    fn reasons_are_short_and_informative() {
        let p = json!({"unit": "words", "relation": "at_least", "value": 500});
        let v = verify_one(&"word ".repeat(412), "length", p.as_object().unwrap()).unwrap();
        assert_eq!(v.reason, "412 words, needs ≥ 500");
        assert_eq!(v.status, Status::Violated);
    }

    #[test]
    fn ifeval_paragraph_rules() {
        let p = json!({"unit": "paragraphs", "relation": "exactly", "value": 3, "separator": "***"});
        assert!(strict("length", p.clone(), "***\nA\n***\nB\n***\nC\n***"));
        assert!(!strict("length", p, "A\n***\n***\nB\n***\nC"));
    }

    #[test]
    fn scanners_agree_with_the_ifeval_regexes() {
        let (divider, blank) = (Regex::new(r"\s?\*\*\*\s?").unwrap(), Regex::new(r"\n\s*\n").unwrap());
        for t in random_texts(1, 20_000) {
            let t = t.as_str();
            let parts: Vec<&str> = divider.split(t).collect();
            let by_regex = if parts.iter().enumerate().any(|(i, p)| p.trim().is_empty() && i != 0 && i != parts.len() - 1) {
                None
            } else {
                Some(parts.iter().filter(|p| !p.trim().is_empty()).count() as u64)
            };
            assert_eq!(paragraphs_by_divider(t), by_regex, "{t:?}");
            assert_eq!(paragraphs_by_blank_line(t), blank.split(t).filter(|p| !p.trim().is_empty()).count() as u64, "{t:?}");
            assert_eq!(count_words(t), text::count_words(t) as u64, "{t:?}");
            assert_eq!(count_non_space(t), t.chars().filter(|c| !c.is_whitespace()).count() as u64, "{t:?}");
        }
    }
}
