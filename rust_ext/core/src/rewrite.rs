//! Rewriting: an instruction without some of its requirements' spans, tidied so that it still
//! reads as a fluent instruction. The parser rewrites to find the base task (and a repeat
//! request), the dropper to build its variants.
//!
//! Rewrite semantics (pinned by the golden snapshots, `tests/golden/drop.jsonl`):
//! - each clause loses the parts covered by dropped spans; a clause left with no letter or digit
//!   disappears, a clause only partly cut is tidied ([`tidy`]);
//! - kept clauses are re-joined with the connector that preceded each in the original;
//!   a sentence that lost its first clause is re-capitalized; a sentence with no clause left
//!   disappears together with the whitespace before it (the larger line break is kept);
//! - list items with no sentence left disappear, and the remaining items of that list are
//!   renumbered; a list emptied completely takes its "with the following requirements:" lead-in
//!   with it.

use std::collections::HashSet;

use crate::lexicon::LEXICON;
use crate::model::Requirement;
use crate::span::CharIndex;
use crate::text::{is_mostly_cjk, segment, Document, Sentence};

/// The base task: `text` with every located requirement removed.
pub fn base_task(text: &str, doc: &Document, requirements: &[Requirement]) -> String {
    let all: HashSet<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
    rewrite_with(text, doc, requirements, &all)
}

/// Rewrite `text` with the requirements whose ids are in `dropped` removed.
pub fn rewrite(text: &str, requirements: &[Requirement], dropped: &HashSet<&str>) -> String {
    rewrite_with(text, &segment(text), requirements, dropped)
}

/// The dropped requirements' byte ranges, sorted by start, with the running maximum of their ends
/// so that the ranges touching a clause are found by binary search (a long list stays linear).
struct Ranges {
    ranges: Vec<(usize, usize)>,
    max_end: Vec<usize>,
}

impl Ranges {
    fn new(text: &str, requirements: &[Requirement], dropped: &HashSet<&str>) -> Self {
        let index = CharIndex::new(text);
        let mut ranges: Vec<(usize, usize)> = requirements
            .iter()
            .filter(|r| dropped.contains(r.id.as_str()))
            .filter_map(|r| Some((index.byte_of(r.start?)?, index.byte_of(r.end?)?)))
            .filter(|(s, e)| s < e)
            .collect();
        ranges.sort_unstable();
        let max_end = ranges.iter().scan(0, |m, &(_, e)| {
            *m = e.max(*m);
            Some(*m)
        });
        Ranges { max_end: max_end.collect(), ranges }
    }

    fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// A slice holding every range that overlaps `start..end` (and perhaps some that do not).
    fn within(&self, start: usize, end: usize) -> &[(usize, usize)] {
        let lo = self.max_end.partition_point(|&e| e <= start);
        let hi = self.ranges.partition_point(|&(s, _)| s < end);
        &self.ranges[lo..hi.max(lo)]
    }
}

fn has_word(s: &str) -> bool {
    s.chars().any(|c| c.is_alphanumeric())
}

/// Does the text already end with sentence punctuation (possibly inside closing quotes)?
fn ends_sentence(s: &str) -> bool {
    let t = s.trim_end_matches(|c: char| "\"'”’」』）)]".contains(c));
    t.ends_with(|c: char| ".!?。！？；:：".contains(c))
}

/// A clause cut down to nothing but a trigger ("Make sure", "Please") has nothing left to say.
fn is_bare_trigger(s: &str) -> bool {
    let t = s.trim_end_matches(|c: char| !c.is_alphanumeric());
    LEXICON.clause_triggers.iter().any(|trigger| trigger.eq_ignore_ascii_case(t))
}

fn capitalize_first(s: &mut String) {
    if let Some(c) = s.chars().next() {
        if c.is_ascii_lowercase() {
            s.replace_range(..1, &c.to_ascii_uppercase().to_string());
        }
    }
}

/// Rewrite one sentence body; `None` when nothing of it is left.
fn rewrite_sentence(text: &str, sentence: &Sentence, ranges: &Ranges) -> Option<(String, bool)> {
    let mut kept: Vec<(usize, String)> = Vec::new();
    let mut changed = false;
    for (ci, clause) in sentence.clauses.iter().enumerate() {
        let cuts: Vec<(usize, usize)> = ranges
            .within(clause.start, clause.end)
            .iter()
            .filter(|(s, e)| *s < clause.end && *e > clause.start)
            .map(|(s, e)| ((*s).max(clause.start), (*e).min(clause.end)))
            .collect();
        if cuts.is_empty() {
            kept.push((ci, text[clause.start..clause.end].to_string()));
            continue;
        }
        changed = true;
        let mut remaining = String::new();
        let mut pos = clause.start;
        for (s, e) in cuts {
            if s > pos {
                remaining.push_str(&text[pos..s]);
            }
            remaining.push(' ');
            pos = pos.max(e);
        }
        remaining.push_str(&text[pos.min(clause.end)..clause.end]);
        let tidied = tidy(&remaining);
        if has_word(&tidied) && !is_bare_trigger(&tidied) {
            kept.push((ci, tidied));
        }
    }
    if kept.is_empty() {
        return None;
    }
    let mut body = String::new();
    for (i, (ci, clause_text)) in kept.iter().enumerate() {
        if i > 0 {
            let c = &sentence.clauses[*ci];
            body.push_str(&text[c.conn_start..c.start]);
        }
        body.push_str(clause_text);
    }
    if changed {
        capitalize_first(&mut body);
    }
    Some((body, changed))
}

/// Rewrite with an already segmented document.
pub fn rewrite_with(text: &str, doc: &Document, requirements: &[Requirement], dropped: &HashSet<&str>) -> String {
    let ranges = Ranges::new(text, requirements, dropped);
    if ranges.is_empty() {
        return text.trim().to_string();
    }
    let sentences = &doc.sentences;
    let bodies: Vec<Option<(String, bool)>> = sentences.iter().map(|s| rewrite_sentence(text, s, &ranges)).collect();
    // Items and lists that keep at least one sentence.
    let mut item_kept = vec![false; doc.items.len()];
    for (s, b) in sentences.iter().zip(&bodies) {
        if let (Some(it), Some(_)) = (s.item, b) {
            item_kept[it] = true;
        }
    }
    let list_count = doc.items.iter().map(|i| i.list + 1).max().unwrap_or(0);
    let mut list_kept = vec![false; list_count];
    let mut list_changed = vec![false; list_count];
    for (it, item) in doc.items.iter().enumerate() {
        list_kept[item.list] |= item_kept[it];
        list_changed[item.list] |= !item_kept[it];
    }
    let lx = &*LEXICON;
    let mut out = String::with_capacity(text.len());
    let mut pending_gap: Option<&str> = None;
    let mut prev_end = 0usize;
    let mut item_emitted = vec![false; doc.items.len()];
    // Renumbering restarts from each list's first number.
    let mut next_number = vec![None::<u32>; list_count];
    for item in doc.items.iter().rev() {
        if let Some(n) = item.number {
            next_number[item.list] = Some(n);
        }
    }
    for (si, (s, body)) in sentences.iter().zip(bodies).enumerate() {
        // Does this sentence open its list item (the marker lies between it and the previous one)?
        let opens_item = s.item.is_some_and(|it| doc.items[it].marker_start >= prev_end);
        let gap_end = match s.item {
            Some(it) if opens_item => doc.items[it].marker_start,
            _ => s.start,
        };
        let gap = &text[prev_end..gap_end];
        prev_end = s.end;
        let Some((mut body, changed)) = body else {
            pending_gap = Some(pending_gap.map_or(gap, |p| more_breaks(p, gap)));
            continue;
        };
        let mut terminal = text[s.body_end..s.end].to_string();
        // A sentence that lost its last clause, and with it its closing punctuation, gets a period.
        if changed && terminal.is_empty() && !ends_sentence(&body) {
            terminal = if is_mostly_cjk(&body) { "。".into() } else { ".".into() };
        }
        // A lead-in whose list was emptied loses its "with the following requirements" tail.
        if let Some(it) = sentences.get(si + 1).and_then(|next| next.item) {
            let list = doc.items[it].list;
            let is_intro = s.item.is_none_or(|own| doc.items[own].list != list);
            if is_intro && !list_kept[list] && (terminal.ends_with(':') || terminal.ends_with('：')) {
                if let Some(m) = lx.list_intro_tail.find_iter(&body).filter(|m| m.end() == body.len()).last() {
                    if m.start() > 0 {
                        body.truncate(m.start());
                        body = tidy(&body);
                    }
                }
                terminal = if terminal.ends_with('：') { "。".into() } else { ".".into() };
            }
        }
        if !out.is_empty() {
            out.push_str(pending_gap.map_or(gap, |p| more_breaks(p, gap)));
        }
        pending_gap = None;
        if let Some(it) = s.item.filter(|&it| !item_emitted[it]) {
            item_emitted[it] = true;
            let item = &doc.items[it];
            let marker = &text[item.marker_start..item.marker_end];
            match (item.number, list_changed[item.list]) {
                (Some(n), true) => {
                    let number = next_number[item.list].unwrap_or(n);
                    next_number[item.list] = Some(number + 1);
                    out.push_str(&marker.replacen(&n.to_string(), &number.to_string(), 1));
                }
                _ => out.push_str(marker),
            }
            out.push_str(if opens_item { &text[item.marker_end..s.start] } else { " " });
        }
        out.push_str(&body);
        out.push_str(&terminal);
    }
    out.trim().to_string()
}

/// Of two separators, the one with more line breaks (the first on a tie).
fn more_breaks<'a>(a: &'a str, b: &'a str) -> &'a str {
    if b.matches('\n').count() > a.matches('\n').count() {
        b
    } else {
        a
    }
}


/// Tidy text after phrases were cut out of it: single spaces, no space before punctuation, no
/// empty brackets, no doubled commas, no dangling punctuation or conjunction at either end.
pub fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let last = out.chars().next_back();
        match c {
            ' ' if matches!(last, None | Some(' ') | Some('(') | Some('（')) => {}
            ',' | '.' | ';' | ':' | '!' | '?' | ')' | '，' | '。' | '；' | '：' | '！' | '？' | '）' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                if (c == ',' || c == '，') && matches!(out.chars().next_back(), Some(',') | Some('，') | None) {
                    continue;
                }
                if (c == ')' && out.ends_with('(')) || (c == '）' && out.ends_with('（')) {
                    out.pop();
                    continue;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    let mut t = out.as_str();
    loop {
        let before = t;
        t = t.trim_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '，' | '、' | '；'));
        for conj in ["and", "or", "but", "with", "和", "并且", "并", "且"] {
            if let Some(rest) = t.strip_suffix(conj) {
                if !conj.is_ascii() || rest.is_empty() || rest.ends_with(' ') || rest.ends_with(',') {
                    t = rest;
                }
            }
            if let Some(rest) = t.strip_prefix(conj) {
                if conj.is_ascii() && (rest.starts_with(' ') || rest.starts_with(',')) {
                    t = rest;
                }
            }
        }
        if t == before {
            break;
        }
    }
    t.to_string()
}


#[cfg(test)]
mod tests;
