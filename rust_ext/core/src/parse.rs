//! Free-text parsing: find the requirements in an instruction, classify them and extract their
//! normalized parameters.
//!
//! Semantics (pinned by the golden snapshots, `tests/golden/parse.jsonl`):
//! 1. Segment into sentences and clauses (`text::segment`).
//! 2. In each clause, run the lexicon's patterns in order; a match is kept unless it
//!    overlaps an earlier kept match or one of its groups fails to normalize. A match of a
//!    blocking pattern (`blocks = true`: a negated phrase that states no requirement) yields
//!    nothing but keeps later patterns off its text.
//! 3. A requirement's span is the whole clause when the clause holds exactly one match and is not
//!    a task clause (the instruction's first clause, or one that opens with a task verb such as
//!    "Write"); otherwise it is the matched phrase. Dropping a span removes exactly that.
//! 4. Requirements are numbered r1, r2, ... in text order.

use std::collections::HashSet;

use crate::error::{CoreError, Result};
use crate::lexicon::{Lexicon, LEXICON};
use crate::model::{ParsedInstruction, Requirement};
use crate::rewrite::{base_task, rewrite_with};
use crate::span::CharIndex;
use crate::text::{is_mostly_cjk, segment, Document};

/// Limits that turn pathological input into a clear per-row rejection.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Longest instruction accepted, in bytes of UTF-8.
    pub max_bytes: usize,
    /// Most requirements accepted in one instruction.
    pub max_requirements: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_bytes: 65_536, max_requirements: 64 }
    }
}

/// Check an instruction against the limits before any work is done on it.
pub fn check_instruction(text: &str, limits: &ParseLimits) -> Result<()> {
    if text.trim().is_empty() {
        return Err(CoreError::InvalidInstruction("empty or whitespace-only instruction".into()));
    }
    if text.len() > limits.max_bytes {
        return Err(CoreError::InvalidInstruction(format!(
            "instruction is {} bytes, over the limit of {} (parse.max_bytes)",
            text.len(),
            limits.max_bytes
        )));
    }
    Ok(())
}

/// A requirement located by byte offsets, before conversion to the public model.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub rtype: String,
    pub params: crate::model::Params,
    pub fold_only: bool,
}

/// Find every requirement of the text, by byte span, in text order. With a `limit`, stops as
/// soon as more than `limit` requirements are certain and returns `None`, so an absurd input
/// costs no more than the limit's worth of work.
pub(crate) fn find_requirements(
    lx: &Lexicon,
    text: &str,
    doc: &Document,
    limit: Option<usize>,
) -> Option<Vec<Found>> {
    find_with_hits(lx, text, doc, lx.anchor_hits(text), limit)
}

/// `hits` (anchor offsets and their patterns) narrows the patterns tried per clause; `None`
/// tries them all. Anchors are necessary literals, so both give the same result.
fn find_with_hits(
    lx: &Lexicon,
    text: &str,
    doc: &Document,
    mut hits: Option<Vec<(usize, usize)>>,
    limit: Option<usize>,
) -> Option<Vec<Found>> {
    if let Some(hits) = hits.as_mut() {
        hits.sort_unstable();
    }
    let mut folded = Folder::new(doc);
    let mut first_clause = true;
    let mut candidates: Vec<usize> = Vec::new();
    let mut blocked: Vec<(usize, usize)> = Vec::new();
    for sentence in &doc.sentences {
        for clause in &sentence.clauses {
            let clause_text = &text[clause.start..clause.end];
            candidates.clear();
            match &hits {
                Some(hits) => {
                    let lo = hits.partition_point(|&(pos, _)| pos < clause.start);
                    let hi = hits.partition_point(|&(pos, _)| pos < clause.end);
                    candidates.extend(hits[lo..hi].iter().map(|&(_, p)| p));
                    candidates.extend_from_slice(&lx.unanchored);
                    candidates.sort_unstable();
                    candidates.dedup();
                }
                None => candidates.extend(0..lx.patterns.len()),
            }
            let mut matches: Vec<Found> = Vec::new();
            blocked.clear();
            for &pi in &candidates {
                let pattern = &lx.patterns[pi];
                for caps in pattern.regex.captures_iter(clause_text) {
                    let whole = caps.get(0).unwrap();
                    let (s, e) = trim_span(clause_text, whole.start(), whole.end());
                    let overlaps = |a: usize, b: usize| s < b && a < e;
                    if s >= e || matches.iter().any(|m| overlaps(m.start, m.end)) || blocked.iter().any(|&(a, b)| overlaps(a, b)) {
                        continue;
                    }
                    if pattern.blocks {
                        blocked.push((s, e));
                        continue;
                    }
                    let mut params = pattern.defaults.clone();
                    let ok = pattern.regex.capture_names().flatten().all(|name| match caps.name(name) {
                        Some(g) if name.starts_with("tail") => {
                            lx.fill_param(name, &with_terminator(text, sentence, clause.start + g.end(), g.as_str()), &mut params)
                        }
                        Some(g) => lx.fill_param(name, g.as_str(), &mut params),
                        None => true,
                    });
                    if ok {
                        order_range(&mut params);
                        matches.push(Found {
                            start: s,
                            end: e,
                            rtype: pattern.rtype.clone(),
                            params,
                            fold_only: pattern.fold_only,
                        });
                    }
                }
            }
            let task = first_clause || lx.task_clause.is_match(clause_text);
            first_clause = false;
            let whole_clause = matches.len() == 1 && !task;
            // Clauses come in text order and matches never overlap: sorting each clause's matches
            // puts the whole text in order.
            matches.sort_by_key(|m| (m.start, m.end));
            for mut m in matches {
                if whole_clause {
                    m.start = 0;
                    m.end = clause_text.len();
                }
                m.start += clause.start;
                m.end += clause.start;
                folded.push(m);
            }
            if limit.is_some_and(|limit| folded.certain > limit) {
                return None;
            }
        }
    }
    Some(folded.finish())
}

/// A range is kept low to high: "5 to 3 sentences" is 3 to 5 (its verifier refuses min over max).
fn order_range(params: &mut crate::model::Params) {
    let bound = |k: &str| params.get(k).and_then(serde_json::Value::as_i64);
    if let (Some(lo), Some(hi)) = (bound("min"), bound("max")) {
        if lo > hi {
            params.insert("min".into(), hi.into());
            params.insert("max".into(), lo.into());
        }
    }
}

/// An unquoted phrase that runs to the end of its sentence ("end with: That is all you need!")
/// keeps the sentence's final punctuation, which segmentation leaves out of the clause.
fn with_terminator(text: &str, sentence: &crate::text::Sentence, group_end: usize, group: &str) -> String {
    let terminator = if group_end == sentence.body_end { text[sentence.body_end..sentence.end].trim() } else { "" };
    format!("{group}{terminator}")
}

/// A requirement restated right after itself ("...in lowercase letters. No capital letters are
/// allowed.") is one requirement: when the next requirement has the same type, starts in the
/// sentence where the previous one ends or in the next, and agrees on every parameter both set, it
/// is folded into the previous one, whose span then covers both (so dropping it removes both) and
/// whose params gain the new keys. Fold-only matches that fold into nothing are discarded.
struct Folder<'d> {
    doc: &'d Document,
    out: Vec<Found>,
    /// Requirements that will be in the result whatever follows (not fold-only, so never discarded).
    certain: usize,
}

impl<'d> Folder<'d> {
    fn new(doc: &'d Document) -> Self {
        Folder { doc, out: Vec::new(), certain: 0 }
    }

    fn sentence_of(&self, pos: usize) -> usize {
        self.doc.sentences.partition_point(|s| s.end <= pos)
    }

    /// Add the next requirement in text order.
    fn push(&mut self, f: Found) {
        if let Some(last) = self.out.last() {
            let agree = f.params.iter().all(|(k, v)| last.params.get(k).is_none_or(|w| w == v));
            let last_sentence = self.sentence_of(last.end.saturating_sub(1));
            if last.rtype == f.rtype && agree && self.sentence_of(f.start) <= last_sentence + 1 {
                let last = self.out.last_mut().unwrap();
                if last.fold_only && !f.fold_only {
                    self.certain += 1;
                }
                last.end = last.end.max(f.end);
                last.fold_only &= f.fold_only;
                for (k, v) in f.params {
                    last.params.entry(k).or_insert(v);
                }
                return;
            }
        }
        self.certain += usize::from(!f.fold_only);
        self.out.push(f);
    }

    fn finish(mut self) -> Vec<Found> {
        self.out.retain(|f| !f.fold_only);
        self.out
    }
}

/// Shrink a span so that it neither starts nor ends with whitespace.
fn trim_span(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead + trail >= slice.len() {
        return (start, start);
    }
    (start + lead, end - trail)
}

pub(crate) fn to_requirements(text: &str, found: Vec<Found>, source: &str) -> Vec<Requirement> {
    let index = CharIndex::new(text);
    found
        .into_iter()
        .enumerate()
        .map(|(i, f)| Requirement {
            id: format!("r{}", i + 1),
            rtype: f.rtype,
            start: Some(index.char_of(f.start)),
            end: Some(index.char_of(f.end)),
            text: text[f.start..f.end].to_string(),
            params: f.params,
            source: source.to_string(),
        })
        .collect()
}

/// Parse one free-text instruction.
pub fn parse_instruction(text: &str, limits: &ParseLimits) -> Result<ParsedInstruction> {
    check_instruction(text, limits)?;
    let lx = &*LEXICON;
    let doc = segment(text);
    let found = find_requirements(lx, text, &doc, Some(limits.max_requirements)).ok_or_else(|| {
        CoreError::InvalidInstruction(format!(
            "more than {} requirements found, over the limit (parse.max_requirements)",
            limits.max_requirements
        ))
    })?;
    let requirements = to_requirements(text, found, "text");
    Ok(finish(text, &doc, requirements))
}

/// Fill in the base task (every located requirement dropped) and the script, and give a
/// `repeat_prompt` requirement without its `prompt` the request it asks to repeat: the
/// instruction without that requirement (IFEval's `prompt_to_repeat`), so it can be verified.
pub(crate) fn finish(text: &str, doc: &Document, mut requirements: Vec<Requirement>) -> ParsedInstruction {
    paragraph_counts(&mut requirements);
    for i in 0..requirements.len() {
        let r = &requirements[i];
        if r.rtype == "repeat_prompt" && r.start.is_some() && !r.params.contains_key("prompt") {
            let request = rewrite_with(text, doc, &requirements, &HashSet::from([r.id.as_str()]));
            requirements[i].params.insert("prompt".into(), request.into());
        }
    }
    ParsedInstruction {
        base_task: base_task(text, doc, &requirements),
        script: if is_mostly_cjk(text) { "zh" } else { "en" }.to_string(),
        requirements,
    }
}

/// "Exactly 4 paragraphs ... Paragraph 2 must start with ...": the first-word requirement counts
/// its paragraphs among the instruction's (IFEval's `num_paragraphs`), and "the last paragraph"
/// becomes the n-th. The paragraph count stays a requirement of its own.
fn paragraph_counts(requirements: &mut [Requirement]) {
    let count = requirements.iter().find_map(|r| {
        let p = &r.params;
        let exact = r.rtype == "length" && p.get("unit")? == "paragraphs" && p.get("relation")? == "exactly";
        exact.then(|| p.get("value")?.as_u64()).flatten()
    });
    let Some(count) = count else { return };
    for r in requirements.iter_mut().filter(|r| r.rtype == "paragraph_first_word") {
        r.params.entry("num_paragraphs").or_insert(count.into());
        if r.params.get("nth").and_then(serde_json::Value::as_i64) == Some(-1) {
            r.params.insert("nth".into(), count.into());
        }
    }
}

#[cfg(test)]
mod tests;
