//! Dropping requirements: choose which requirements to drop (seeded, per instruction) and build
//! each variant's prompt by rewriting the instruction without their spans ([`crate::rewrite`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::model::{ParsedInstruction, Requirement};
use crate::rewrite::rewrite_with;
use crate::rng::Rng;
use crate::rows::Cell;
use crate::span::check_within;
use crate::text::segment;

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
    /// The type of each dropped requirement.
    pub dropped_types: Vec<String>,
    pub prompt: String,
}

impl Variant {
    /// The variant's id: the instruction's id and the variant number, `"<id>:<n>"`.
    pub fn id(&self, instruction_id: &str) -> String {
        format!("{instruction_id}:{}", self.variant)
    }

    /// The instruction's requirements, kept or dropped.
    pub fn n_requirements(&self) -> usize {
        self.kept.len() + self.dropped.len()
    }
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
        dropped_types: Vec::new(),
        prompt: text.trim().to_string(),
    }];
    // A dropped id's type is that of the first requirement with the id.
    let type_of = |id: &str| parsed.requirements.iter().find(|r| r.id == id).map_or(String::new(), |r| r.rtype.clone());
    for (i, set) in sets.into_iter().enumerate() {
        let dropped: HashSet<&str> = set.iter().map(|&j| droppable[j].id.as_str()).collect();
        let dropped_ids: Vec<String> =
            parsed.requirements.iter().filter(|r| dropped.contains(r.id.as_str())).map(|r| r.id.clone()).collect();
        variants.push(Variant {
            variant: i + 1,
            kept: parsed.requirements.iter().filter(|r| !dropped.contains(r.id.as_str())).map(|r| r.id.clone()).collect(),
            dropped_types: dropped_ids.iter().map(|id| type_of(id)).collect(),
            dropped: dropped_ids,
            prompt: rewrite_with(text, &doc, &parsed.requirements, &dropped),
        });
    }
    Ok(variants)
}

/// One input row of the drop stage (a row of the parse stage's output), borrowed from the table.
#[derive(Debug, Clone)]
pub struct DropRow<'a> {
    /// `None` when the id cell is null or not UTF-8.
    pub id: Option<&'a str>,
    pub prompt: Cell<'a>,
    /// The row's requirements, or why they cannot be read.
    pub requirements: std::result::Result<Vec<Requirement>, String>,
}

/// Draw the variants of one row, with the row's id, or say why the row is rejected: no usable
/// id or prompt, unreadable requirements, a span past the end of the prompt, then a bad config.
pub fn drop_row<'a>(row: &DropRow<'a>, cfg: &DropConfig) -> Result<(&'a str, Vec<Variant>)> {
    let id = row.id.ok_or_else(|| CoreError::InvalidInstruction("missing id".into()))?;
    let Cell::Text(text) = row.prompt else {
        return Err(CoreError::InvalidInstruction("missing or non-UTF-8 prompt".into()));
    };
    let requirements = row.requirements.clone().map_err(CoreError::InvalidRequirements)?;
    check_within(text, &requirements)?;
    let parsed = ParsedInstruction { base_task: String::new(), script: String::new(), requirements };
    Ok((id, drop_instruction(text, &parsed, id, cfg)?))
}

#[cfg(test)]
mod tests;
