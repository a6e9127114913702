//! What every family of checks shares: the parameter readers, the relation of a count to its
//! required value, the text being checked ([`Subject`]), verdict formatting, and byte scanners.

use std::cell::OnceCell;

use serde::Serialize;
use serde_json::Value;

use super::{Outcome, MAX_COUNT};
use crate::error::{CoreError, Result};
use crate::model::Params;


pub(super) fn invalid(msg: String) -> CoreError {
    CoreError::InvalidRequirements(msg)
}

// ---------------------------------------------------------------------------------------------
// Relations

/// How a measured count compares with the required value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    AtLeast,
    AtMost,
    Exactly,
    LessThan,
    MoreThan,
    /// Within ±10% of the value, bounds included.
    About,
}

impl Relation {
    /// Canonical names ("at_least") and IFEval's ("at least", "less than").
    pub fn parse(s: &str) -> Option<Relation> {
        let norm = s.trim().to_lowercase().replace([' ', '-'], "_");
        Some(match norm.as_str() {
            "at_least" | ">=" | "≥" => Relation::AtLeast,
            "at_most" | "<=" | "≤" => Relation::AtMost,
            "exactly" | "=" | "==" => Relation::Exactly,
            "less_than" | "<" | "fewer_than" => Relation::LessThan,
            "more_than" | ">" | "greater_than" => Relation::MoreThan,
            "about" | "approximately" | "around" | "≈" => Relation::About,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::AtLeast => "at_least",
            Relation::AtMost => "at_most",
            Relation::Exactly => "exactly",
            Relation::LessThan => "less_than",
            Relation::MoreThan => "more_than",
            Relation::About => "about",
        }
    }

    /// Does `n` stand in this relation to `v`? "less_than" is strict.
    pub fn holds(self, n: u64, v: u64) -> bool {
        match self {
            Relation::AtLeast => n >= v,
            Relation::AtMost => n <= v,
            Relation::Exactly => n == v,
            Relation::LessThan => n < v,
            Relation::MoreThan => n > v,
            Relation::About => {
                let (n, v) = (n as u128, v as u128);
                10 * n >= 9 * v && 10 * n <= 11 * v
            }
        }
    }

    /// "≥ 500", "exactly 3", "about 200 (±10%)".
    pub fn describe(self, v: u64) -> String {
        match self {
            Relation::AtLeast => format!("≥ {v}"),
            Relation::AtMost => format!("≤ {v}"),
            Relation::Exactly => format!("exactly {v}"),
            Relation::LessThan => format!("< {v}"),
            Relation::MoreThan => format!("> {v}"),
            Relation::About => format!("about {v} (±10%)"),
        }
    }
}

pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---------------------------------------------------------------------------------------------
// Parameter readers

fn param<'a>(rtype: &str, params: &'a Params, name: &str) -> Result<&'a Value> {
    match params.get(name) {
        None | Some(Value::Null) => Err(invalid(format!("{rtype}: missing parameter {name:?}"))),
        Some(v) => Ok(v),
    }
}

pub(super) fn count_param(rtype: &str, params: &Params, name: &str) -> Result<u64> {
    let v = param(rtype, params, name)?;
    let n = v
        .as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e18).map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<i64>().ok()));
    match n {
        Some(n) if n < 0 => Err(invalid(format!("{rtype}: {name} = {n} is negative"))),
        Some(n) if n as u64 > MAX_COUNT => Err(invalid(format!("{rtype}: {name} = {n} is absurdly large"))),
        Some(n) => Ok(n as u64),
        None => Err(invalid(format!("{rtype}: {name} = {v} is not a whole number"))),
    }
}

pub(super) fn str_param<'a>(rtype: &str, params: &'a Params, name: &str) -> Result<&'a str> {
    let v = param(rtype, params, name)?;
    let s = v.as_str().ok_or_else(|| invalid(format!("{rtype}: {name} = {v} is not a string")))?;
    if s.trim().is_empty() {
        return Err(invalid(format!("{rtype}: {name} is empty")));
    }
    Ok(s)
}

pub(super) fn relation_param(rtype: &str, params: &Params, default: Option<Relation>) -> Result<Relation> {
    match params.get("relation") {
        None | Some(Value::Null) => {
            default.ok_or_else(|| invalid(format!("{rtype}: missing parameter \"relation\"")))
        }
        Some(Value::String(s)) => {
            Relation::parse(s).ok_or_else(|| invalid(format!("{rtype}: unknown relation {s:?}")))
        }
        Some(other) => Err(invalid(format!("{rtype}: relation {other} is not a string"))),
    }
}

/// A list of non-empty strings; a single string is a list of one.
pub(super) fn list_param(rtype: &str, params: &Params, name: &str) -> Result<Vec<String>> {
    let v = param(rtype, params, name)?;
    let items: Vec<String> = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| invalid(format!("{rtype}: {name} item {x} is not a string"))))
            .collect::<Result<_>>()?,
        other => return Err(invalid(format!("{rtype}: {name} = {other} is not a list of strings"))),
    };
    if items.is_empty() {
        return Err(invalid(format!("{rtype}: {name} is an empty list")));
    }
    if items.iter().any(|s| s.trim().is_empty()) {
        return Err(invalid(format!("{rtype}: {name} holds an empty string")));
    }
    Ok(items)
}

// ---------------------------------------------------------------------------------------------
// The text being checked

/// One text being checked: the response or one of its loose variants, with what several checks
/// share computed once, and only when a check asks for it.
pub(super) struct Subject<'a> {
    /// The response, or a slice of it.
    pub(super) source: &'a str,
    /// The text is `source` with every `*` removed, built only when a check reads it whole.
    pub(super) strip: bool,
    pub(super) stripped: OnceCell<String>,
    lower: OnceCell<String>,
    /// Set by [`Subject::language`] (in `language.rs`).
    pub(super) language: OnceCell<Option<&'static str>>,
}

impl<'a> Subject<'a> {
    pub(super) fn new(source: &'a str, strip: bool) -> Self {
        Subject { source, strip, stripped: OnceCell::new(), lower: OnceCell::new(), language: OnceCell::new() }
    }

    pub(super) fn text(&self) -> &str {
        if self.strip {
            self.stripped.get_or_init(|| self.source.replace('*', ""))
        } else {
            self.source
        }
    }

    pub(super) fn lower(&self) -> &str {
        self.lower.get_or_init(|| self.text().to_lowercase())
    }
}

/// A verdict whose reason is formatted only when `explain` (the loose variants need none).
pub(super) fn decide(followed: bool, explain: bool, reason: impl FnOnce() -> String) -> Outcome {
    Outcome { followed, reason: if explain { reason() } else { String::new() } }
}

/// The required count: a relation to one value, or a range with both bounds included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound {
    Rel(Relation, u64),
    /// `min ≤ n ≤ max` (`relation: between`).
    Between(u64, u64),
}

impl Bound {
    pub(super) fn holds(self, n: u64) -> bool {
        match self {
            Bound::Rel(r, v) => r.holds(n, v),
            Bound::Between(lo, hi) => lo <= n && n <= hi,
        }
    }

    /// Both sides multiplied by `k` (a speaking rate turns minutes into words).
    pub(super) fn scaled(self, k: u64) -> Bound {
        match self {
            Bound::Rel(r, v) => Bound::Rel(r, v.saturating_mul(k)),
            Bound::Between(lo, hi) => Bound::Between(lo.saturating_mul(k), hi.saturating_mul(k)),
        }
    }

    pub(super) fn describe(self) -> String {
        match self {
            Bound::Rel(r, v) => r.describe(v),
            Bound::Between(lo, hi) => format!("between {lo} and {hi}"),
        }
    }

    /// Is `n` too small, so that no smaller count can follow the bound either?
    pub(super) fn too_few(self, n: u64) -> bool {
        match self {
            Bound::Rel(r, v) => too_few(r, n, v),
            Bound::Between(lo, _) => n < lo,
        }
    }
}

/// Count check with a reason "<n> <what>, needs <bound>".
pub(super) fn counted(n: u64, one: &str, many: &str, bound: Bound, explain: bool) -> Outcome {
    decide(bound.holds(n), explain, || format!("{}, needs {}", plural(n, one, many), bound.describe()))
}

/// Is `n` too small for the relation, so that no smaller count can satisfy it either?
pub(super) fn too_few(relation: Relation, n: u64, v: u64) -> bool {
    let n = n as u128;
    let v = v as u128;
    match relation {
        Relation::AtLeast | Relation::Exactly => n < v,
        Relation::MoreThan => n <= v,
        Relation::About => 10 * n < 9 * v,
        Relation::AtMost | Relation::LessThan => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Scanners

/// `char::is_whitespace` (Unicode White_Space, regex's `\s`) of an ASCII byte.
pub(super) fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

/// The byte after the whitespace (`\s*`, line ends included) that starts at `pos`.
pub(super) fn skip_space(text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    while pos < b.len() {
        if b[pos] < 0x80 {
            if !ascii_space(b[pos]) {
                break;
            }
            pos += 1;
        } else {
            match text[pos..].chars().next() {
                Some(c) if c.is_whitespace() => pos += c.len_utf8(),
                _ => break,
            }
        }
    }
    pos
}

/// The next `\n` at or after `pos`, or the end of the text.
pub(super) fn next_newline(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i)
}

/// The first `n` copies of ASCII `c` in a row at or after `from` (as `text[from..].find("cc…")`,
/// but by memchr on `c`, which std's substring search does not use).
pub(super) fn find_run(text: &str, from: usize, c: u8, n: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut pos = from;
    while let Some(i) = text[pos..].find(c as char).map(|i| pos + i) {
        let run = b[i..].iter().take(n).take_while(|&&x| x == c).count();
        if run == n {
            return Some(i);
        }
        // No run of `n` starts inside this shorter one.
        pos = i + run;
    }
    None
}

/// The parts of `text` between runs of `n` asterisks, as `text.split("**…")`.
pub(super) fn split_stars(text: &str, n: usize) -> impl Iterator<Item = &str> {
    let mut pos = Some(0);
    std::iter::from_fn(move || {
        let from = pos?;
        match find_run(text, from, b'*', n) {
            Some(i) => {
                pos = Some(i + n);
                Some(&text[from..i])
            }
            None => {
                pos = None;
                Some(&text[from..])
            }
        }
    })
}

/// The first byte at or after `from` that is `a` or `b`.
pub(super) fn find_either(bytes: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    bytes[from..].iter().position(|&c| c == a || c == b).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::test_support::random_texts;

    #[test]
    fn star_runs_split_as_str_split() {
        for t in random_texts(1, 20_000) {
            let t = t.as_str();
            for n in [2, 3, 6] {
                let stars = "*".repeat(n);
                assert!(split_stars(t, n).eq(t.split(stars.as_str())), "{t:?} {n}");
            }
            assert_eq!(find_run(t, 0, b'<', 2), t.find("<<"), "{t:?}");
        }
    }
}
