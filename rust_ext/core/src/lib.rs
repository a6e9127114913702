//! wrl-core: the requirement engine of wrl, in pure Rust.
//!
//! Modules, in layers: each uses only the modules of the layers above it (and none of its own
//! layer's later ones), which the test `modules_only_use_lower_layers` checks.
//!
//! 1. Foundations: [`error`], [`taxonomy`] (requirement types, families, the IFEval mapping),
//!    [`model`] (the requirement model), [`rng`] (seeded draws), [`batch`] (many rows on all
//!    cores, a panic as that row's internal error), [`rows`] (table cells, row ids, rejections).
//! 2. [`lexicon`]: the pattern table and word lists (`lexicon.json`), compiled.
//! 3. [`text`]: sentence, list and clause segmentation shared by every stage; [`span`]:
//!    character ↔ byte offsets and the span checks.
//! 4. [`rewrite`]: an instruction without some requirements' spans, tidied.
//! 5. [`parse`]: free-text instructions → typed requirements with spans and parameters; then
//!    [`structured`]: IFEval ids + kwargs, or explicit requirement lists → the same model; then
//!    [`source`]: which of the two a row asks for, and a row of the parse stage parsed.
//! 6. The stages after parsing: [`drop`] (seeded requirement dropping, per instruction and per
//!    row) and [`verify`] (rule verifiers, IFEval-compatible, per response and per row).

pub mod batch;
pub mod drop;
pub mod error;
pub mod lexicon;
pub mod model;
pub mod parse;
pub mod rewrite;
pub mod rng;
pub mod rows;
pub mod source;
pub mod span;
pub mod structured;
pub mod taxonomy;
pub mod text;
pub mod verify;

pub use error::{CoreError, Result};
pub use model::{ParsedInstruction, Requirement};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every module with its sources, lowest layer first (the order of the crate docs).
    const MODULES: &[(&str, &[&str])] = &[
        ("error", &[include_str!("error.rs")]),
        ("taxonomy", &[include_str!("taxonomy.rs")]),
        ("model", &[include_str!("model.rs")]),
        ("rng", &[include_str!("rng.rs")]),
        ("batch", &[include_str!("batch.rs")]),
        ("rows", &[include_str!("rows.rs")]),
        ("lexicon", &[include_str!("lexicon.rs")]),
        ("text", &[include_str!("text.rs")]),
        ("span", &[include_str!("span.rs")]),
        ("rewrite", &[include_str!("rewrite.rs")]),
        ("parse", &[include_str!("parse.rs")]),
        ("structured", &[include_str!("structured.rs")]),
        ("source", &[include_str!("source.rs")]),
        ("drop", &[include_str!("drop.rs")]),
        (
            "verify",
            &[
                include_str!("verify/mod.rs"),
                include_str!("verify/helpers.rs"),
                include_str!("verify/length.rs"),
                include_str!("verify/format.rs"),
                include_str!("verify/lexical.rs"),
                include_str!("verify/mechanics.rs"),
                include_str!("verify/language.rs"),
                include_str!("verify/phrase.rs"),
                include_str!("verify/loose.rs"),
                include_str!("verify/rows.rs"),
            ],
        ),
    ];

    /// The crate modules a source file's non-test code names: `crate::x` and `crate::{x, y::z}`.
    fn uses(source: &str) -> BTreeSet<&str> {
        let code = source.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
        let mut found = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())].split(',').collect(),
                None => vec![rest],
            };
            for name in names {
                let name = name.trim();
                let end = name.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(name.len());
                if end > 0 {
                    found.insert(&name[..end]);
                }
            }
        }
        found
    }

    #[test]
    fn modules_only_use_lower_layers() {
        let position = |name: &str| MODULES.iter().position(|(m, _)| *m == name);
        for (i, (module, sources)) in MODULES.iter().enumerate() {
            for used in sources.iter().flat_map(|s| uses(s)) {
                let at = position(used).unwrap_or_else(|| panic!("{module} uses crate::{used}, not in MODULES"));
                assert!(at < i || used == *module, "{module} uses crate::{used}, which is not below it");
            }
        }
        let declared: BTreeSet<&str> = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
            .collect();
        let listed: BTreeSet<&str> = MODULES.iter().map(|(m, _)| *m).collect();
        assert_eq!(declared, listed, "every module has its place in MODULES");
    }

    #[test]
    fn use_finder_reads_groups_and_paths() {
        let found = uses("use crate::{model::X, text};\nlet a = crate::span::CharIndex::new(t, b);\n#[cfg(test)]\nmod tests {\ncrate::verify");
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["model", "span", "text"]);
    }
}
