//! The pattern table and lexicons, compiled once.
//!
//! Their source is `rust_ext/core/lexicon/*.toml`; build.rs expands it into JSON (`LEXICON_JSON`),
//! which is also exposed to Python (`wrl._core.lexicon_json()`): the regexes are data, the engine
//! is code.

mod dialect;

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::Params;

pub use dialect::compile;

/// The lexicon as build.rs compiled it from the source.
pub const LEXICON_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/lexicon.json"));

#[derive(Deserialize)]
struct RawPattern {
    #[serde(rename = "type")]
    rtype: String,
    regex: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    anchors: Vec<String>,
    #[serde(default)]
    fold_only: bool,
    #[serde(default)]
    blocks: bool,
}

#[derive(Deserialize)]
struct RawLexicon {
    relations: HashMap<String, String>,
    numbers: HashMap<String, i64>,
    units: HashMap<String, String>,
    languages: HashMap<String, String>,
    abbreviations: Vec<String>,
    clause_triggers: Vec<String>,
    clause_conjunctions: Vec<String>,
    task_clause: String,
    list_intro_tail: String,
    patterns: Vec<RawPattern>,
}

/// One compiled requirement pattern.
pub struct Pattern {
    pub rtype: String,
    pub regex: Regex,
    pub defaults: Params,
    /// Only restates a requirement ("No other words should follow this phrase."): kept when it
    /// folds into the requirement before it, dropped otherwise.
    pub fold_only: bool,
    /// Not a requirement ("do not write in all caps" is no `uppercase`): the match yields nothing
    /// but, like a kept match, stops every later pattern from reading part of its text.
    pub blocks: bool,
}

/// The compiled lexicon.
pub struct Lexicon {
    pub relations: HashMap<String, String>,
    pub numbers: HashMap<String, i64>,
    pub units: HashMap<String, String>,
    pub languages: HashMap<String, String>,
    pub abbreviations: Vec<String>,
    /// Clause triggers, longest first so that "do not" wins over "do".
    pub clause_triggers: Vec<String>,
    pub clause_conjunctions: Vec<String>,
    /// First bytes (ASCII-lowercased) of triggers and conjunctions: a one-lookup rejection.
    pub trigger_first: [bool; 256],
    pub conjunction_first: [bool; 256],
    pub task_clause: Regex,
    pub list_intro_tail: Regex,
    pub patterns: Vec<Pattern>,
    /// Anchor literals of all patterns: one pass over an instruction says which patterns can
    /// match in which clause. Speed only; results are the same without it.
    pub anchors: AhoCorasick,
    /// For each anchor, the pattern it belongs to.
    pub anchor_pattern: Vec<usize>,
    /// Patterns without anchors, always tried.
    pub unanchored: Vec<usize>,
}

pub static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let raw: RawLexicon = serde_json::from_str(LEXICON_JSON).expect("build.rs writes valid lexicon JSON");
    let mut anchor_literals = Vec::new();
    let mut anchor_pattern = Vec::new();
    let mut unanchored = Vec::new();
    for (i, p) in raw.patterns.iter().enumerate() {
        if p.anchors.is_empty() {
            unanchored.push(i);
        }
        for a in &p.anchors {
            anchor_literals.push(a.clone());
            anchor_pattern.push(i);
        }
    }
    let anchors = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&anchor_literals)
        .expect("anchors compile");
    let patterns: Vec<Pattern> = raw
        .patterns
        .into_iter()
        .map(|p| Pattern {
            regex: compile(&p.regex).unwrap_or_else(|e| panic!("pattern for {}: {e}", p.rtype)),
            rtype: p.rtype,
            defaults: p.params,
            fold_only: p.fold_only,
            blocks: p.blocks,
        })
        .collect();
    let mut clause_triggers = raw.clause_triggers;
    clause_triggers.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let mut clause_conjunctions = raw.clause_conjunctions;
    clause_conjunctions.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let first_bytes = |words: &[String]| {
        let mut table = [false; 256];
        for w in words {
            if let Some(b) = w.as_bytes().first() {
                table[b.to_ascii_lowercase() as usize] = true;
            }
        }
        table
    };
    Lexicon {
        trigger_first: first_bytes(&clause_triggers),
        conjunction_first: first_bytes(&clause_conjunctions),
        relations: raw.relations,
        numbers: raw.numbers,
        units: raw.units,
        languages: raw.languages,
        abbreviations: raw.abbreviations,
        clause_triggers,
        clause_conjunctions,
        task_clause: compile(&raw.task_clause).expect("task_clause compiles"),
        list_intro_tail: compile(&raw.list_intro_tail).expect("list_intro_tail compiles"),
        patterns,
        anchors,
        anchor_pattern,
        unanchored,
    }
});

/// Lowercase and collapse internal whitespace.
pub fn normalize_words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

const QUOTE_PAIRS: &[(char, char)] =
    &[('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’'), ('«', '»'), ('「', '」'), ('『', '』')];

/// Strip one pair of matching quotes around a trimmed string.
pub fn strip_quotes(s: &str) -> &str {
    let t = s.trim();
    let mut chars = t.chars();
    if let (Some(first), Some(last)) = (chars.next(), chars.next_back()) {
        if QUOTE_PAIRS.iter().any(|&(o, c)| o == first && c == last) {
            return t[first.len_utf8()..t.len() - last.len_utf8()].trim();
        }
    }
    t
}

/// Items inside quotes, in order; an unclosed quote ends the scan.
fn quoted_items(s: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut rest = s;
    while let Some((i, open)) = rest.char_indices().find(|(_, c)| QUOTE_PAIRS.iter().any(|&(o, _)| o == *c)) {
        let close = QUOTE_PAIRS.iter().find(|&&(o, _)| o == open).unwrap().1;
        let after = &rest[i + open.len_utf8()..];
        match after.find(close) {
            Some(j) => {
                let item = after[..j].trim();
                if !item.is_empty() {
                    items.push(item.to_string());
                }
                rest = &after[j + close.len_utf8()..];
            }
            None => break,
        }
    }
    items
}

const LIST_SEPARATORS: &[&str] = &[", and ", ", or ", " as well as ", " and ", " or ", " nor ", ",", "、", "，", "和", "与", "及"];

/// A list parameter: the quoted items if any, else the text split on and/or/commas.
pub fn split_list(s: &str) -> Vec<String> {
    let quoted = quoted_items(s);
    if !quoted.is_empty() {
        return quoted;
    }
    let mut parts = vec![s.to_string()];
    for sep in LIST_SEPARATORS {
        parts = parts.iter().flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>()).collect();
    }
    parts
        .into_iter()
        .map(|p| p.trim().trim_end_matches(['.', ';', ':', '。']).trim().to_string())
        .map(|p| strip_conjunction(&p).to_string())
        .map(|p| p.strip_prefix("the ").map(str::to_string).unwrap_or(p))
        .filter(|p| !p.is_empty() && p != "etc")
        .collect()
}

/// A list item left with a conjunction of the list around it ("and c" from "a, b,and c", or a
/// lone "and" when a list was cut after its last comma) is the item without it.
fn strip_conjunction(p: &str) -> &str {
    for conj in ["and", "or", "nor"] {
        if p.eq_ignore_ascii_case(conj) {
            return "";
        }
        if p.len() > conj.len() && p.as_bytes()[conj.len()] == b' ' && p[..conj.len()].eq_ignore_ascii_case(conj) {
            return p[conj.len()..].trim_start();
        }
    }
    p
}

/// A postscript marker as IFEval spells it: "P.S." and "P.P.S" whatever the dots and spaces
/// ("P.S", "p. s.", "P.P.S."); any other marker as written, one pair of quotes stripped.
pub fn normalize_marker(s: &str) -> String {
    let t = strip_quotes(s);
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    match compact.trim_end_matches('.') {
        "p.s" => "P.S.".to_string(),
        "p.p.s" => "P.P.S".to_string(),
        _ => t.to_string(),
    }
}

/// A Chinese numeral such as 十三, 二十五, 一百零五 or 两千: digits 零一二两三...九 with the units
/// 十 百 千 万. `None` for anything else, or for two digits in a row (二三).
fn chinese_number(s: &str) -> Option<i64> {
    let digit = |c: char| "零一二三四五六七八九".chars().position(|d| d == c).map(|d| d as i64).or((c == '两').then_some(2));
    let (mut total, mut section, mut pending): (i64, i64, Option<i64>) = (0, 0, None);
    let mut any = false;
    for c in s.chars() {
        any = true;
        if let Some(d) = digit(c) {
            if pending.is_some_and(|p| p != 0) && d != 0 {
                return None;
            }
            pending = Some(d);
            continue;
        }
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            '万' => {
                total = total.checked_add(section.checked_add(pending.unwrap_or(0))?.checked_mul(10_000)?)?;
                section = 0;
                pending = None;
                continue;
            }
            _ => return None,
        };
        let d = match pending {
            Some(0) | None if unit == 10 => 1,
            Some(d) if d > 0 => d,
            _ => return None,
        };
        section = section.checked_add(d * unit)?;
        pending = None;
    }
    if !any {
        return None;
    }
    total.checked_add(section.checked_add(pending.unwrap_or(0))?)
}

/// Digits with a Chinese unit of 千 or 万 after them, as lengths are written: 2万 (20,000), 1.5万
/// (15,000), 3千 (3,000). `None` unless the result is a whole number.
fn digits_with_chinese_unit(s: &str) -> Option<i64> {
    let (num, unit) = if let Some(n) = s.strip_suffix('万') {
        (n, 10_000)
    } else {
        (s.strip_suffix('千')?, 1_000)
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 4 {
        return None;
    }
    let scale = 10i64.pow(frac.len() as u32);
    let value = whole.parse::<i64>().ok()?.checked_mul(scale)?.checked_add(if frac.is_empty() { 0 } else { frac.parse().ok()? })?;
    let total = value.checked_mul(unit)?;
    (total % scale == 0).then_some(total / scale)
}

impl Lexicon {
    /// For each anchor occurrence in `text`: (byte offset, pattern index). `None` when the text
    /// holds a character that case-folds onto ASCII (ſ, K), where ASCII anchors could miss.
    pub fn anchor_hits(&self, text: &str) -> Option<Vec<(usize, usize)>> {
        if text.contains(['\u{17F}', '\u{212A}']) {
            return None;
        }
        Some(self.anchors.find_overlapping_iter(text).map(|m| (m.start(), self.anchor_pattern[m.pattern().as_usize()])).collect())
    }

    /// Parse a count: ASCII digits (thousands commas allowed) or a number word.
    pub fn number(&self, s: &str) -> Option<i64> {
        let t = s.trim();
        let digits: String = t.chars().filter(|c| *c != ',').collect();
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return digits.parse().ok();
        }
        let words = normalize_words(t);
        if let Some(&n) = self.numbers.get(&words) {
            return Some(n);
        }
        // "twenty-five", "twenty five": a tens word and a unit word.
        if let Some((tens, unit)) = words.split_once(['-', ' ']) {
            let (tens, unit) = (self.numbers.get(tens).copied()?, self.numbers.get(unit).copied()?);
            return ((20..=90).contains(&tens) && tens % 10 == 0 && (1..=9).contains(&unit)).then_some(tens + unit);
        }
        chinese_number(t).or_else(|| digits_with_chinese_unit(&digits))
    }

    /// Normalize one named group's text into `params`. Returns false when the text does not
    /// normalize (an unknown number word, say), which rejects the whole match.
    pub fn fill_param(&self, group: &str, text: &str, params: &mut Params) -> bool {
        let Some((kind, name)) = group.split_once('_') else { return true };
        let kind = kind.trim_end_matches(|c: char| c.is_ascii_digit());
        let value = match kind {
            "num" => match self.number(text) {
                Some(n) => Value::from(n),
                None => return false,
            },
            "rel" => match self.relations.get(&normalize_words(text)) {
                Some(r) => Value::from(r.as_str()),
                None => return false,
            },
            "unit" => match self.units.get(&normalize_words(text)) {
                Some(u) => Value::from(u.as_str()),
                None => return false,
            },
            "lang" => match self.languages.get(&normalize_words(text)) {
                Some(l) => Value::from(l.as_str()),
                None => return false,
            },
            "list" => {
                let items = split_list(strip_brackets(text));
                if items.is_empty() {
                    return false;
                }
                Value::from(items)
            }
            "marker" => {
                let s = normalize_marker(text);
                if s.is_empty() {
                    return false;
                }
                Value::from(s)
            }
            "str" | "tail" => {
                let s = strip_quotes(text);
                if s.is_empty() {
                    return false;
                }
                Value::from(s)
            }
            "word" => {
                let s = normalize_words(text);
                if s.is_empty() {
                    return false;
                }
                Value::from(s)
            }
            // A veto group matches what must not be read as this requirement ("not a single word",
            // "20 words in all capital letters"): when it takes part in a match, the match is dropped.
            "veto" => return false,
            "letter" => {
                let s = strip_quotes(text).to_lowercase();
                if s.chars().count() != 1 {
                    return false;
                }
                Value::from(s)
            }
            _ => return true,
        };
        params.insert(name.to_string(), value);
        true
    }
}

fn strip_brackets(s: &str) -> &str {
    let t = s.trim();
    for (o, c) in [('(', ')'), ('[', ']')] {
        if t.starts_with(o) && t.ends_with(c) && t.len() >= 2 {
            return &t[1..t.len() - 1];
        }
    }
    t
}

/// The template language of the source; its tests run with the crate's (build.rs uses it).
#[cfg(test)]
mod expand;

#[cfg(test)]
mod tests;
