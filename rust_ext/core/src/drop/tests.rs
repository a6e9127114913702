//! Unit tests of `drop`, in their own file: the pipeline's stages depend on `drop.rs`, not on its tests.

use super::*;
use crate::parse::{parse_instruction, ParseLimits};

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
fn rows_become_variants_or_rejections() {
    let text = "Write a poem. Use at least 50 words. Do not use any commas.";
    let parsed = parse_instruction(text, &ParseLimits::default()).unwrap();
    let cfg = DropConfig { strategy: Strategy::Progressive, rate: 0.5, k: 1, seed: 3, max_variants: 4 };
    let row = DropRow { id: Some("x"), prompt: Cell::Text(text), requirements: Ok(parsed.requirements.clone()) };
    let (id, variants) = drop_row(&row, &cfg).unwrap();
    assert_eq!((id, &variants), ("x", &drop_instruction(text, &parsed, "x", &cfg).unwrap()));
    let last = variants.last().unwrap();
    assert_eq!((last.id("x"), last.n_requirements()), ("x:2".to_string(), 2));
    let mut types = last.dropped_types.clone();
    types.sort();
    assert_eq!(types, ["length", "no_commas"]);
    let reason = |row: DropRow| drop_row(&row, &cfg).unwrap_err().to_string();
    assert_eq!(reason(DropRow { id: None, prompt: Cell::Null, ..row.clone() }), "invalid instruction: missing id");
    assert_eq!(reason(DropRow { prompt: Cell::InvalidUtf8, ..row.clone() }), "invalid instruction: missing or non-UTF-8 prompt");
    assert_eq!(reason(DropRow { requirements: Err("no list".into()), ..row.clone() }), "invalid requirements: no list");
    let short = DropRow { prompt: Cell::Text("Write."), ..row };
    assert_eq!(reason(short), "invalid requirements: requirement r1 ends past the prompt");
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
