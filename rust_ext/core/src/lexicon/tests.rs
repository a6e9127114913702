//! Unit tests of `lexicon`, in their own file: the pipeline's stages depend on `lexicon.rs`, not on its tests.

use super::*;
use crate::parse::{parse_instruction, ParseLimits};

/// Each pattern's examples, in pattern order, as build.rs wrote them.
#[derive(Deserialize)]
struct PatternExamples {
    id: String,
    file: String,
    examples: Vec<String>,
}

/// Every example matches its regex and parses to a requirement of its type (a blocking pattern's
/// example: to none of its type).
#[test]
fn every_example_matches_its_pattern_and_parses_to_its_type() {
    let all: Vec<PatternExamples> =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/lexicon_examples.json"))).unwrap();
    let lx = &*LEXICON;
    assert_eq!(all.len(), lx.patterns.len());
    for (pattern, p) in lx.patterns.iter().zip(&all) {
        assert!(!p.examples.is_empty(), "{}: {} has no example", p.file, p.id);
        for example in &p.examples {
            assert!(pattern.regex.is_match(example), "{}: {} does not match its example {example:?}", p.file, p.id);
            let parsed = parse_instruction(example, &ParseLimits::default()).unwrap();
            let types: Vec<&str> = parsed.requirements.iter().map(|r| r.rtype.as_str()).collect();
            if pattern.blocks {
                assert!(!types.contains(&pattern.rtype.as_str()), "{}: {} blocks, yet {example:?} parses to {types:?}", p.file, p.id);
            } else {
                assert!(types.contains(&pattern.rtype.as_str()), "{}: {}: {example:?} parses to {types:?}", p.file, p.id);
            }
        }
    }
}

#[test]
fn lexicon_compiles_and_normalizes() {
    let lx = &*LEXICON;
    assert!(lx.patterns.len() > 40);
    assert_eq!(lx.number("1,200"), Some(1200));
    assert_eq!(lx.number("Three"), Some(3));
    assert_eq!(lx.number("两千"), Some(2000));
    assert_eq!(lx.number("zillion"), None);
    assert_eq!(split_list("'river' and \"lantern\""), vec!["river", "lantern"]);
    assert_eq!(split_list("river, lantern and moon"), vec!["river", "lantern", "moon"]);
    assert_eq!(strip_quotes(" “Any questions?” "), "Any questions?");
}

#[test]
fn oxford_commas_and_dangling_conjunctions() {
    assert_eq!(split_list("timeline, balcony, and candle"), vec!["timeline", "balcony", "candle"]);
    assert_eq!(split_list("timeline, balcony,and candle"), vec!["timeline", "balcony", "candle"]);
    assert_eq!(split_list("timeline, balcony, and"), vec!["timeline", "balcony"]);
    assert_eq!(split_list("red, green, or blue"), vec!["red", "green", "blue"]);
    assert_eq!(split_list("android, orange"), vec!["android", "orange"]);
}

#[test]
fn postscript_markers_are_spelled_as_ifeval_does() {
    assert_eq!(normalize_marker("P.S"), "P.S.");
    assert_eq!(normalize_marker("P.S."), "P.S.");
    assert_eq!(normalize_marker("p. s."), "P.S.");
    assert_eq!(normalize_marker("P.P.S"), "P.P.S");
    assert_eq!(normalize_marker("P.P.S."), "P.P.S");
    assert_eq!(normalize_marker("'Note:'"), "Note:");
}

#[test]
fn compound_and_chinese_numbers() {
    let lx = &*LEXICON;
    assert_eq!(lx.number("twenty-five"), Some(25));
    assert_eq!(lx.number("Thirty one"), Some(31));
    assert_eq!(lx.number("twenty-ten"), None);
    assert_eq!(lx.number("five-two"), None);
    assert_eq!(lx.number("十三"), Some(13));
    assert_eq!(lx.number("二十五"), Some(25));
    assert_eq!(lx.number("一百零五"), Some(105));
    assert_eq!(lx.number("三千五百"), Some(3500));
    assert_eq!(lx.number("两万"), Some(20000));
    assert_eq!(lx.number("二三"), None);
    assert_eq!(lx.number("百百"), None);
}
