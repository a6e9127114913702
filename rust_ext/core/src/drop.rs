//! Dropping requirements: choose which requirements to drop (seeded, per instruction) and rewrite
//! the instruction without their spans so that it still reads as a fluent instruction.
//!
//! Rewrite semantics (mirrored by `wrl.requirements.reference`):
//! - each clause loses the parts covered by dropped spans; a clause left with no letter or digit
//!   disappears, a clause only partly cut is tidied (`text::tidy`);
//! - kept clauses are re-joined with the connector that preceded each in the original;
//!   a sentence that lost its first clause is re-capitalized; a sentence with no clause left
//!   disappears together with the whitespace before it (the larger line break is kept);
//! - list items with no sentence left disappear, and the remaining items of that list are
//!   renumbered; a list emptied completely takes its "with the following requirements:" lead-in
//!   with it.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::lexicon::LEXICON;
use crate::model::{ParsedInstruction, Requirement};
use crate::parse::CharIndex;
use crate::rng::Rng;
use crate::text::{is_mostly_cjk, segment, tidy, Document};

/// How variants are drawn from an instruction's requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each requirement is dropped independently with probability `rate`.
    Independent,
    /// Exactly `k` requirements are dropped.
    ExactK,
    /// Nested drops of 0, 1, ..., n requirements in one random order (WEval groups).
    Progressive,
}

impl std::str::FromStr for Strategy {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "independent" => Ok(Strategy::Independent),
            "exact_k" => Ok(Strategy::ExactK),
            "progressive" => Ok(Strategy::Progressive),
            other => Err(CoreError::InvalidConfig(format!(
                "drop.strategy {other:?} is not one of independent, exact_k, progressive"
            ))),
        }
    }
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Independent => "independent",
            Strategy::ExactK => "exact_k",
            Strategy::Progressive => "progressive",
        }
    }
}

/// The most dropped variants one instruction may ask for: a bound on the draw's attempts and output.
pub const MAX_VARIANTS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropConfig {
    pub strategy: Strategy,
    pub rate: f64,
    pub k: usize,
    pub seed: u64,
    /// Most dropped variants per instruction (the full instruction, variant 0, is always kept).
    pub max_variants: usize,
}

impl DropConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.rate) || self.rate.is_nan() {
            return Err(CoreError::InvalidConfig(format!("drop.rate must be in [0, 1], got {}", self.rate)));
        }
        if self.strategy == Strategy::ExactK && self.k == 0 {
            return Err(CoreError::InvalidConfig("drop.k must be at least 1 for exact_k".into()));
        }
        if !(1..=MAX_VARIANTS).contains(&self.max_variants) {
            return Err(CoreError::InvalidConfig(format!(
                "drop.max_variants must be in [1, {MAX_VARIANTS}], got {}",
                self.max_variants
            )));
        }
        Ok(())
    }
}

/// One rewritten instruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// 0 for the full instruction, then 1, 2, ...
    pub variant: usize,
    pub kept: Vec<String>,
    pub dropped: Vec<String>,
    pub prompt: String,
}

/// n choose k, saturating at `usize::MAX`.
fn binomial(n: usize, k: usize) -> usize {
    let k = k.min(n - k) as u128;
    let n = n as u128;
    (0..k)
        .try_fold(1u128, |c, i| c.checked_mul(n - i).map(|c| c / (i + 1)).filter(|&c| c <= usize::MAX as u128))
        .map_or(usize::MAX, |c| c as usize)
}

/// Draw the variants of one instruction. `key` (its id) seeds the draw together with the config
/// seed, so the result does not depend on row order or thread count.
pub fn drop_instruction(text: &str, parsed: &ParsedInstruction, key: &str, cfg: &DropConfig) -> Result<Vec<Variant>> {
    cfg.validate()?;
    let droppable: Vec<&Requirement> = parsed.requirements.iter().filter(|r| r.start.is_some()).collect();
    let n = droppable.len();
    let mut rng = Rng::for_key(cfg.seed, key);
    let mut sets: Vec<Vec<usize>> = Vec::new();
    match cfg.strategy {
        Strategy::Independent => {
            // Once every non-empty subset is drawn no attempt can add one: stop there.
            let target = cfg.max_variants.min(1usize.checked_shl(n as u32).map_or(usize::MAX, |all| all - 1));
            for _ in 0..cfg.max_variants * 4 {
                if sets.len() >= target || n == 0 {
                    break;
                }
                let set: Vec<usize> = (0..n).filter(|_| rng.next_f64() < cfg.rate).collect();
                if !set.is_empty() && !sets.contains(&set) {
                    sets.push(set);
                }
            }
        }
        Strategy::ExactK => {
            if n >= cfg.k {
                let target = cfg.max_variants.min(binomial(n, cfg.k));
                for _ in 0..cfg.max_variants * 4 {
                    if sets.len() >= target {
                        break;
                    }
                    let mut set = rng.sample(n, cfg.k);
                    set.sort_unstable();
                    if !sets.contains(&set) {
                        sets.push(set);
                    }
                }
            }
        }
        Strategy::Progressive => {
            let order = rng.sample(n, n);
            for j in 1..=n.min(cfg.max_variants) {
                let mut set = order[..j].to_vec();
                set.sort_unstable();
                sets.push(set);
            }
        }
    }
    let doc = segment(text);
    let mut variants = vec![Variant {
        variant: 0,
        kept: parsed.requirements.iter().map(|r| r.id.clone()).collect(),
        dropped: Vec::new(),
        prompt: text.trim().to_string(),
    }];
    for (i, set) in sets.into_iter().enumerate() {
        let dropped: HashSet<&str> = set.iter().map(|&j| droppable[j].id.as_str()).collect();
        variants.push(Variant {
            variant: i + 1,
            kept: parsed.requirements.iter().filter(|r| !dropped.contains(r.id.as_str())).map(|r| r.id.clone()).collect(),
            dropped: parsed.requirements.iter().filter(|r| dropped.contains(r.id.as_str())).map(|r| r.id.clone()).collect(),
            prompt: rewrite_with(text, &doc, &parsed.requirements, &dropped),
        });
    }
    Ok(variants)
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
fn rewrite_sentence(text: &str, sentence: &crate::text::Sentence, ranges: &Ranges) -> Option<(String, bool)> {
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
pub(crate) fn rewrite_with(text: &str, doc: &Document, requirements: &[Requirement], dropped: &HashSet<&str>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_instruction, ParseLimits};

    fn drop_types(text: &str, types: &[&str]) -> String {
        let p = parse_instruction(text, &ParseLimits::default()).unwrap();
        let ids: HashSet<&str> = p.requirements.iter().filter(|r| types.contains(&r.rtype.as_str())).map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), types.len(), "{:?}", p.requirements);
        rewrite(text, &p.requirements, &ids)
    }

    #[test]
    fn drops_a_clause_with_its_connector() {
        let t = "Write a poem about rain. Use a formal tone and do not use any commas.";
        assert_eq!(drop_types(t, &["no_commas"]), "Write a poem about rain. Use a formal tone.");
        assert_eq!(drop_types(t, &["tone"]), "Write a poem about rain. Do not use any commas.");
        assert_eq!(drop_types(t, &["tone", "no_commas"]), "Write a poem about rain.");
    }

    #[test]
    fn drops_keywords_without_leaving_them_behind() {
        let t = "Write a story about a fox. Include the keywords 'river' and 'lantern'. Keep it under 200 words.";
        let out = drop_types(t, &["keywords"]);
        assert_eq!(out, "Write a story about a fox. Keep it under 200 words.");
    }

    #[test]
    fn renumbers_lists_and_removes_emptied_lead_in() {
        let t = "Write an essay about bees with the following requirements:\n1. Use at least 300 words.\n2. Use a formal tone.\n3. Do not use any commas.";
        assert_eq!(
            drop_types(t, &["tone"]),
            "Write an essay about bees with the following requirements:\n1. Use at least 300 words.\n2. Do not use any commas."
        );
        assert_eq!(drop_types(t, &["length", "tone", "no_commas"]), "Write an essay about bees.");
    }

    #[test]
    fn variants_are_deterministic_and_keyed() {
        let t = "Write a poem. Use a formal tone. Do not use any commas. End with 'Bye.' Use at least 50 words.";
        let p = parse_instruction(t, &ParseLimits::default()).unwrap();
        let cfg = DropConfig { strategy: Strategy::Progressive, rate: 0.5, k: 1, seed: 7, max_variants: 10 };
        let a = drop_instruction(t, &p, "x1", &cfg).unwrap();
        let b = drop_instruction(t, &p, "x1", &cfg).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), p.requirements.len() + 1);
        for (i, v) in a.iter().enumerate() {
            assert_eq!(v.dropped.len(), i);
        }
        // Progressive drops are nested.
        for w in a.windows(2) {
            assert!(w[0].dropped.iter().all(|d| w[1].dropped.contains(d)));
        }
    }

    #[test]
    fn rejects_bad_config() {
        let cfg = DropConfig { strategy: Strategy::Independent, rate: 1.5, k: 1, seed: 0, max_variants: 2 };
        assert!(cfg.validate().is_err());
        assert!("sometimes".parse::<Strategy>().is_err());
        for max_variants in [0, MAX_VARIANTS + 1, 1 << 62] {
            let cfg = DropConfig { strategy: Strategy::Independent, rate: 0.5, k: 1, seed: 0, max_variants };
            assert!(cfg.validate().unwrap_err().to_string().contains("max_variants"), "{max_variants}");
        }
    }

    #[test]
    fn variants_stop_at_every_distinct_subset() {
        let text = "Write a poem. Use at least 50 words. Do not use any commas. End with 'Bye.'";
        let parsed = parse_instruction(text, &ParseLimits::default()).unwrap();
        assert_eq!(parsed.requirements.len(), 3);
        for (strategy, k, want) in [(Strategy::Independent, 1, 7), (Strategy::ExactK, 2, 3)] {
            let cfg = DropConfig { strategy, rate: 0.5, k, seed: 1, max_variants: MAX_VARIANTS };
            let variants = drop_instruction(text, &parsed, "id", &cfg).unwrap();
            assert_eq!(variants.len(), want + 1, "{strategy:?}");
        }
        assert_eq!(binomial(64, 32), 1_832_624_140_942_590_534);
        assert_eq!(binomial(200, 100), usize::MAX);
    }
}
