//! Unit tests of `structured`, in their own file: the pipeline's stages depend on `structured.rs`, not on its tests.

use super::*;
use serde_json::json;

#[test]
fn maps_ifeval_kwargs_and_aligns_spans() {
    let prompt = "Write a riddle about a cat. Your answer must be at least 50 words, and do not use any commas.";
    let ids = vec!["length_constraints:number_words".to_string(), "punctuation:no_comma".to_string()];
    let reqs = from_ifeval(&ids, r#"[{"num_words": 50, "relation": "at least"}, {}]"#).unwrap();
    assert_eq!(reqs[0].1, json!({"unit": "words", "relation": "at_least", "value": 50}).as_object().unwrap().clone());
    let p = parse_structured(prompt, reqs.into_iter().map(|(t, p)| (t, p, None)).collect(), &ParseLimits::default()).unwrap();
    assert_eq!(p.requirements[0].text, "Your answer must be at least 50 words");
    assert_eq!(p.requirements[1].text, "do not use any commas");
    assert_eq!(p.base_task, "Write a riddle about a cat.");
}

#[test]
fn explicit_lists_with_missing_or_extreme_length_params_do_not_panic() {
    // Explicit lists are not validated: check_conflicts must skip what it cannot compare.
    let reqs = from_list(r#"[{"type": "length", "params": {"unit": "words"}}, {"type": "length"}]"#).unwrap();
    assert_eq!(reqs.len(), 2);
    let max = i64::MAX;
    let extreme = format!(
        r#"[{{"type": "length", "params": {{"unit": "words", "relation": "more_than", "value": {max}}}}},
            {{"type": "length", "params": {{"unit": "words", "relation": "at_most", "value": 5}}}}]"#
    );
    assert!(from_list(&extreme).unwrap_err().to_string().contains("conflicting length"));
}

#[test]
fn missing_ifeval_parameter_message_has_one_prefix() {
    let ids = vec!["keywords:existence".to_string()];
    let err = from_ifeval(&ids, "[{}]").unwrap_err().to_string();
    assert_eq!(err, r#"invalid requirements: keywords:existence: keywords: missing parameter "keywords""#);
}

#[test]
fn rejects_bad_ifeval_input() {
    let ids = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches!(from_ifeval(&ids(&["made:up"]), "[{}]"), Err(CoreError::UnknownInstructionId(_))));
    assert!(from_ifeval(&ids(&["punctuation:no_comma"]), "[{}, {}]").is_err());
    assert!(from_ifeval(&ids(&["length_constraints:number_words"]), r#"[{"num_words": -3, "relation": "at least"}]"#).is_err());
    assert!(from_ifeval(&ids(&["keywords:existence"]), r#"[{"keywords": [""]}]"#).is_err());
    assert!(from_ifeval(&ids(&["punctuation:no_comma"]), r#"[{"num_words": 3}]"#).is_err());
    let both = ids(&["change_case:english_lowercase", "change_case:english_capital"]);
    assert!(from_ifeval(&both, "[{}, {}]").unwrap_err().to_string().contains("conflicting"));
    let lengths = ids(&["length_constraints:number_words", "length_constraints:number_words"]);
    let kw = r#"[{"num_words": 500, "relation": "at least"}, {"num_words": 300, "relation": "less than"}]"#;
    assert!(from_ifeval(&lengths, kw).is_err());
}

#[test]
fn explicit_list_with_unlocated_requirement() {
    let reqs = from_list(r#"[{"type": "tone", "params": {"tone": "warm"}, "text": "warm tone"}, {"type": "audience", "params": {"audience": "kids"}}]"#).unwrap();
    let p = parse_structured("Write a note in a warm tone.", reqs, &ParseLimits::default()).unwrap();
    assert_eq!(p.requirements[0].start, Some(18));
    assert_eq!(p.requirements[1].start, None);
    assert!(from_list(r#"[{"type": "vibes"}]"#).is_err());
}

#[test]
fn ifeval_kwargs_are_checked_one_requirement_at_a_time() {
    let ids: Vec<String> = ["keywords:letter_frequency", "punctuation:no_comma", "length_constraints:number_words"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let kw = r#"[{"letter": "!", "let_frequency": 3, "let_relation": "less than"}, {"num_words": 3}, {"num_words": -1, "relation": "at least"}]"#;
    let each = from_ifeval_each(&ids, kw).unwrap();
    assert_eq!(each[0].1.as_ref().unwrap()["letter"], "!");
    assert_eq!(each[1].1.as_ref().unwrap_err(), "kwarg \"num_words\" does not belong to punctuation:no_comma");
    assert!(each[2].1.as_ref().unwrap_err().contains("num_words=-1 is not a count"));
    // The all-or-nothing form names the first unusable one.
    assert!(from_ifeval(&ids, kw).unwrap_err().to_string().contains("does not belong"));
    // Whole-list problems stay errors of the list.
    assert!(from_ifeval_each(&ids, "[{}]").is_err());
}
