//! Property tests of the core's invariants, on instructions built from requirement-like pieces
//! (sentences of the example corpora, the lexicon's words and phrases) mixed with arbitrary
//! English, Chinese and Unicode text.
//!
//! Each property runs a modest number of cases by default; `PROPTEST_CASES=N` runs N of each.

use std::collections::HashSet;
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Map, Value};
use wrl_core::batch::par_map;
use wrl_core::drop::{drop_instruction, drop_row, DropConfig, DropRow, Strategy as DropStrategy};
use wrl_core::lexicon::LEXICON;
use wrl_core::parse::{parse_instruction, ParseLimits};
use wrl_core::rewrite::{rewrite, tidy};
use wrl_core::rows::Cell;
use wrl_core::structured::{from_ifeval, from_list, parse_structured};
use wrl_core::taxonomy::{IFEVAL_IDS, IFEVAL_KWARGS, RELATIONS, TYPES};
use wrl_core::verify::{verify, Verifier};
use wrl_core::{ParsedInstruction, Requirement};

/// `default` cases, or `PROPTEST_CASES` when set.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// Sentences of the example instructions, IFEval's sample and the synthetic fixtures.
static SENTENCES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let corpora = [
        include_str!("../../../examples/instructions.jsonl"),
        include_str!("../../../examples/ifeval_sample.jsonl"),
        include_str!("../../../tests/fixtures/synth_prompts.jsonl"),
    ];
    let mut out: Vec<String> = Vec::new();
    for line in corpora.iter().flat_map(|c| c.lines()).filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line).expect("corpus lines are JSON");
        let prompt = row["prompt"].as_str().expect("corpus rows have a prompt");
        let doc = wrl_core::text::segment(prompt);
        out.extend(doc.sentences.iter().map(|s| prompt[s.start..s.end].to_string()));
    }
    out.sort();
    out.dedup();
    out
});

/// The lexicon's words and phrases: relations, numbers, units, languages, clause triggers and
/// conjunctions.
static LEXICON_WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let lx = &*LEXICON;
    let mut out: Vec<String> = lx.relations.keys().chain(lx.numbers.keys()).chain(lx.units.keys()).chain(lx.languages.keys()).cloned().collect();
    out.extend(lx.clause_triggers.iter().chain(&lx.clause_conjunctions).cloned());
    out.sort();
    out.dedup();
    out
});

/// Punctuation, list markers and line breaks that the segmenter and the rewriter react to.
const JOINERS: &[&str] = &[
    " ", " ", ", ", ". ", "; ", ": ", "! ", "? ", "\n", "\n\n", "\n1. ", "\n2) ", "\n- ", " 1. ", " 2. ", "(", ")", "\"", "'",
    "“", "”", "。", "，", "；", "：", "、", "（", "）", "「", "」", "*", "***", "and ", "并且", "e.g. ",
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(SENTENCES.as_slice()),
        3 => select(LEXICON_WORDS.as_slice()).prop_map(|w| format!("{w} ")),
        3 => select(JOINERS).prop_map(str::to_string),
        1 => (0u32..2000).prop_map(|n| format!("{n} ")),
        1 => "[a-zA-Z ]{1,12}",
        1 => "[\u{4e00}-\u{9fa5}]{1,6}",
        1 => "\\PC{1,8}",
    ]
}

/// An instruction: a handful of fragments, joined as they come.
fn instruction() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 1..12).prop_map(|parts| parts.concat())
}

/// What the rewriter tidies: an instruction with a few character ranges cut out, each replaced
/// by a space.
fn cut_instruction() -> impl Strategy<Value = String> {
    (instruction(), prop::collection::vec((any::<prop::sample::Index>(), 0usize..12), 0..4)).prop_map(|(text, cuts)| {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, len) in cuts {
            let start = at.index(chars.len() + 1);
            let end = (start + len).min(chars.len());
            chars.splice(start..end, [' ']);
        }
        chars.into_iter().collect()
    })
}

/// An instruction the parser accepts, with what it found.
fn parsed() -> impl Strategy<Value = (String, ParsedInstruction)> {
    instruction().prop_filter_map("rejected by the parser", |text| {
        let parsed = parse_instruction(&text, &ParseLimits::default()).ok()?;
        Some((text, parsed))
    })
}

fn droppable(parsed: &ParsedInstruction) -> Vec<&str> {
    parsed.requirements.iter().filter(|r| r.start.is_some()).map(|r| r.id.as_str()).collect()
}

/// Every span is the text it claims, in code points, within the prompt.
fn assert_spans_are_their_text(prompt: &str, requirements: &[Requirement]) -> Result<(), TestCaseError> {
    let chars: Vec<char> = prompt.chars().collect();
    for r in requirements {
        if let (Some(s), Some(e)) = (r.start, r.end) {
            prop_assert!(s <= e && e <= chars.len(), "{r:?} outside {prompt:?}");
            prop_assert_eq!(chars[s..e].iter().collect::<String>(), r.text.clone());
        } else {
            prop_assert!(r.start.is_none() && r.end.is_none() && r.text.is_empty(), "{r:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn spans_are_ordered_disjoint_slices_of_the_prompt((text, parsed) in parsed()) {
        assert_spans_are_their_text(&text, &parsed.requirements)?;
        for pair in parsed.requirements.windows(2) {
            prop_assert!(pair[0].end.unwrap() <= pair[1].start.unwrap(), "{:?} overlaps {:?}", pair[0], pair[1]);
        }
        for (i, r) in parsed.requirements.iter().enumerate() {
            prop_assert_eq!(&r.id, &format!("r{}", i + 1));
        }
    }

    #[test]
    fn dropping_everything_gives_the_base_task_and_nothing_the_prompt((text, parsed) in parsed()) {
        let all: HashSet<&str> = droppable(&parsed).into_iter().collect();
        prop_assert_eq!(rewrite(&text, &parsed.requirements, &all), parsed.base_task.clone());
        prop_assert_eq!(rewrite(&text, &parsed.requirements, &HashSet::new()), text.trim());
        let n = all.len();
        if n > 0 {
            let cfg = DropConfig { strategy: DropStrategy::ExactK, rate: 0.5, k: n, seed: 1, max_variants: 4 };
            let variants = drop_instruction(&text, &parsed, "id", &cfg).unwrap();
            prop_assert_eq!(variants.len(), 2);
            prop_assert_eq!(&variants[0].prompt, text.trim());
            prop_assert_eq!(&variants[1].prompt, &parsed.base_task);
        }
    }

    #[test]
    fn a_drop_does_not_depend_on_the_order_ids_or_requirements_come_in(
        (text, parsed, chosen, order) in parsed().prop_flat_map(|(text, parsed)| {
            let ids: Vec<String> = droppable(&parsed).into_iter().map(str::to_string).collect();
            let n = ids.len();
            (Just(text), Just(parsed), subsequence(ids, 0..=n), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let forward: HashSet<&str> = chosen.iter().map(String::as_str).collect();
        let backward: HashSet<&str> = chosen.iter().rev().map(String::as_str).collect();
        let want = rewrite(&text, &parsed.requirements, &forward);
        prop_assert_eq!(rewrite(&text, &parsed.requirements, &backward), want.clone());
        let shuffled: Vec<Requirement> = order.iter().map(|&i| parsed.requirements[i].clone()).collect();
        prop_assert_eq!(rewrite(&text, &shuffled, &forward), want);
    }

    #[test]
    fn tidying_is_idempotent(text in prop_oneof![cut_instruction(), "\\PC{0,40}", "[ ,.;:!?()（），。；：、andorbutwith和并且]{0,30}"]) {
        let once = tidy(&text);
        prop_assert_eq!(tidy(&once), once.clone());
    }

    #[test]
    fn no_panic_on_arbitrary_unicode(text in "\\PC{0,200}", response in "(?s).{0,200}") {
        if let Ok(parsed) = parse_instruction(&text, &ParseLimits::default()) {
            assert_spans_are_their_text(&text, &parsed.requirements)?;
            let cfg = DropConfig { strategy: DropStrategy::Independent, rate: 0.5, k: 1, seed: 9, max_variants: 8 };
            drop_instruction(&text, &parsed, &text, &cfg).unwrap();
        }
        let verifiers: Vec<Verifier> = TYPES.iter().map(|t| Verifier::new_or_invalid(t.name, &Map::new())).collect();
        prop_assert_eq!(verify(&response, &verifiers).len(), TYPES.len());
    }
}

/// Drop configs the pipeline uses, and a few more.
fn drop_config() -> impl Strategy<Value = DropConfig> {
    (select(vec![DropStrategy::Independent, DropStrategy::ExactK, DropStrategy::Progressive]), 0.0f64..=1.0, 1usize..4, any::<u64>(), 1usize..6)
        .prop_map(|(strategy, rate, k, seed, max_variants)| DropConfig { strategy, rate, k, seed, max_variants })
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn drops_do_not_depend_on_threads_or_row_order(
        texts in prop::collection::vec(instruction(), 70..110),
        cfg in drop_config(),
        seed in any::<u64>(),
    ) {
        let rows: Vec<(String, String, Vec<Requirement>)> = texts
            .into_iter()
            .enumerate()
            .filter_map(|(i, text)| {
                let parsed = parse_instruction(&text, &ParseLimits::default()).ok()?;
                Some((format!("id{i}"), text, parsed.requirements))
            })
            .collect();
        let drop_all = |rows: &[(String, String, Vec<Requirement>)], threads| {
            let table: Vec<DropRow> = rows
                .iter()
                .map(|(id, text, reqs)| DropRow { id: Some(id.as_str()), prompt: Cell::Text(text), requirements: Ok(reqs.clone()) })
                .collect();
            let out = par_map(&table, threads, |r| drop_row(r, &cfg).map(|(id, vs)| (id.to_string(), vs))).unwrap();
            let mut by_id: Vec<_> = out.into_iter().map(Result::unwrap).collect();
            by_id.sort_by(|a, b| a.0.cmp(&b.0));
            by_id
        };
        let one = drop_all(&rows, 1);
        prop_assert_eq!(&drop_all(&rows, 0), &one);
        // Shuffle by a seeded key: the same ids, in another order.
        let mut shuffled = rows.clone();
        shuffled.sort_by_key(|(id, _, _)| wrl_core::rng::fnv1a(id.as_bytes()) ^ seed);
        prop_assert_eq!(&drop_all(&shuffled, 0), &one);
    }
}

/// Requirements with arbitrary spans (some past the prompt, reversed or half given) and ids
/// that may repeat.
fn arbitrary_requirements() -> impl Strategy<Value = Vec<Requirement>> {
    let span = || prop::option::of(0usize..80);
    prop::collection::vec((select(vec!["r1", "r2", "r3", "r4"]), select(TYPES.iter().map(|t| t.name).collect::<Vec<_>>()), span(), span()), 0..6)
        .prop_map(|reqs| {
            reqs.into_iter()
                .map(|(id, rtype, start, end)| Requirement {
                    id: id.to_string(),
                    rtype: rtype.to_string(),
                    start,
                    end,
                    text: String::new(),
                    params: Map::new(),
                    source: "text".into(),
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn no_panic_on_arbitrary_spans(text in prop_oneof![instruction(), "\\PC{0,60}"], reqs in arbitrary_requirements(), cfg in drop_config()) {
        let dropped: HashSet<&str> = reqs.iter().map(|r| r.id.as_str()).collect();
        rewrite(&text, &reqs, &dropped);
        let row = DropRow { id: Some("id"), prompt: Cell::Text(&text), requirements: Ok(reqs.clone()) };
        if let Ok((_, variants)) = drop_row(&row, &cfg) {
            for v in &variants {
                prop_assert_eq!(v.n_requirements(), reqs.len());
                prop_assert_eq!(v.dropped_types.len(), v.dropped.len());
            }
        }
    }
}

/// Arbitrary JSON of bounded depth, biased towards what the parameter readers look at.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-5i64..20).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(RELATIONS).prop_map(Value::from),
        select(vec!["words", "chars", "paragraphs", "sentences", "P.S.", "P.P.S", "en", "zh-CN", "***", "SECTION", ""]).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Parameters keyed by the names the verifiers and the taxonomy use, with arbitrary values.
fn params() -> impl Strategy<Value = Map<String, Value>> {
    let names: Vec<&str> = TYPES.iter().flat_map(|t| t.params.iter().copied()).chain(["separator", "options"]).collect();
    prop::collection::btree_map(select(names), json_value(), 0..5)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn no_panic_on_arbitrary_ifeval_kwargs(
        ids in prop::collection::vec(select(IFEVAL_IDS.iter().map(|(id, _, _)| id.to_string()).collect::<Vec<_>>()), 0..4),
        values in prop::collection::vec(json_value(), 0..12),
        raw in prop::option::of(json_value()),
        prompt in instruction(),
    ) {
        // Each id's own kwargs keys, given the arbitrary values in turn; or arbitrary JSON.
        let mut values = values.into_iter();
        let kwargs: Vec<Value> = ids
            .iter()
            .map(|id| {
                let keys = IFEVAL_KWARGS.iter().filter(|(i, _, _)| i == id).map(|(_, k, _)| k.to_string());
                Value::Object(keys.filter_map(|k| Some((k, values.next()?))).collect())
            })
            .collect();
        let kwargs = raw.unwrap_or(Value::from(kwargs)).to_string();
        if let Ok(reqs) = from_ifeval(&ids, &kwargs) {
            for (rtype, params) in &reqs {
                Verifier::new_or_invalid(rtype, params);
            }
            if let Ok(parsed) = parse_structured(&prompt, reqs.into_iter().map(|(t, p)| (t, p, None)).collect(), &ParseLimits::default()) {
                assert_spans_are_their_text(&prompt, &parsed.requirements)?;
                let all: HashSet<&str> = parsed.requirements.iter().map(|r| r.id.as_str()).collect();
                prop_assert_eq!(rewrite(&prompt, &parsed.requirements, &all), parsed.base_task.clone());
            }
        }
        let _ = wrl_core::verify::ifeval_requirements(&ids, &kwargs);
    }

    #[test]
    fn no_panic_on_arbitrary_requirement_lists_and_params(
        list in prop::collection::vec((select(TYPES.iter().map(|t| t.name).collect::<Vec<_>>()), params(), prop::option::of(fragment())), 0..4),
        prompt in instruction(),
        response in prop_oneof![instruction(), "(?s).{0,120}"],
    ) {
        let json: Vec<Value> = list
            .iter()
            .map(|(t, p, text)| serde_json::json!({"type": t, "params": p, "text": text}))
            .collect();
        if let Ok(reqs) = from_list(&Value::from(json).to_string()) {
            if let Ok(parsed) = parse_structured(&prompt, reqs, &ParseLimits::default()) {
                assert_spans_are_their_text(&prompt, &parsed.requirements)?;
                let taken: Vec<(usize, usize)> = parsed.requirements.iter().filter_map(|r| Some((r.start?, r.end?))).collect();
                for (i, a) in taken.iter().enumerate() {
                    prop_assert!(taken[i + 1..].iter().all(|b| a.1 <= b.0 || b.1 <= a.0 || a.0 == a.1 || b.0 == b.1), "{taken:?}");
                }
            }
        }
        let verifiers: Vec<Verifier> = list.iter().map(|(t, p, _)| Verifier::new_or_invalid(t, p)).collect();
        prop_assert_eq!(verify(&response, &verifiers).len(), list.len());
    }
}
