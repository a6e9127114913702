//! Unit tests of `parse`, in their own file: the pipeline's stages depend on `parse.rs`, not on its tests.

use super::*;
use serde_json::json;

fn parse(text: &str) -> ParsedInstruction {
    parse_instruction(text, &ParseLimits::default()).unwrap()
}

fn types(p: &ParsedInstruction) -> Vec<&str> {
    p.requirements.iter().map(|r| r.rtype.as_str()).collect()
}

#[test]
fn parses_a_typical_english_instruction() {
    let p = parse(
        "Write a blog post about urban gardening for beginners. Use at least 300 words, and do not use any commas. \
         Include the keywords 'compost' and 'balcony'. End your response with \"Happy growing!\"",
    );
    assert_eq!(types(&p), vec!["audience", "length", "no_commas", "keywords", "end_phrase"]);
    let length = &p.requirements[1];
    assert_eq!(length.params, json!({"unit": "words", "relation": "at_least", "value": 300}).as_object().unwrap().clone());
    assert_eq!(length.text, "Use at least 300 words");
    assert_eq!(p.requirements[3].params["keywords"], json!(["compost", "balcony"]));
    assert_eq!(p.requirements[4].params["phrase"], json!("Happy growing!"));
    assert_eq!(p.base_task, "Write a blog post about urban gardening.");
}

#[test]
fn task_clause_requirements_are_phrases() {
    let p = parse("Write a 500-word story in French about a lighthouse keeper.");
    assert_eq!(types(&p), vec!["length", "response_language"]);
    assert_eq!(p.requirements[0].params["relation"], json!("about"));
    assert_eq!(p.requirements[1].params["language"], json!("fr"));
    assert_eq!(p.base_task, "Write a story about a lighthouse keeper.");
}

#[test]
fn parses_chinese() {
    let p = parse("写一篇关于春天的散文，字数不少于800字，语气要温柔。请用中文回答。");
    assert_eq!(types(&p), vec!["length", "tone", "response_language"]);
    assert_eq!(p.requirements[0].params, json!({"unit": "chars", "relation": "at_least", "value": 800}).as_object().unwrap().clone());
    assert_eq!(p.requirements[1].params["tone"], json!("温柔"));
    assert_eq!(p.script, "zh");
    assert_eq!(p.base_task, "写一篇关于春天的散文。");
}

#[test]
fn spans_are_character_offsets() {
    let text = "写一篇散文，字数不少于800字。";
    let p = parse(text);
    let r = &p.requirements[0];
    let chars: Vec<char> = text.chars().collect();
    let span: String = chars[r.start.unwrap()..r.end.unwrap()].iter().collect();
    assert_eq!(span, r.text);
}

#[test]
fn rejects_empty_and_oversized() {
    assert!(parse_instruction("  \n ", &ParseLimits::default()).is_err());
    let big = "a".repeat(70_000);
    let err = parse_instruction(&big, &ParseLimits::default()).unwrap_err();
    assert!(err.to_string().contains("max_bytes"));
}

/// The example instructions, IFEval's sample and a few hundred synthetic ones
/// (tests/fixtures/synth_prompts.jsonl, from `wrl.data.synthesize(400, seed=11, zh_share=0.3)`).
fn corpus() -> Vec<String> {
    [
        include_str!("../../../../examples/instructions.jsonl"),
        include_str!("../../../../examples/ifeval_sample.jsonl"),
        include_str!("../../../../tests/fixtures/synth_prompts.jsonl"),
    ]
    .iter()
    .flat_map(|f| f.lines())
    .filter(|l| !l.trim().is_empty())
    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["prompt"].as_str().unwrap().to_string())
    .collect()
}

#[test]
fn anchors_never_hide_a_match() {
    let lx = &*LEXICON;
    let texts = corpus();
    assert!(texts.len() > 400);
    for text in &texts {
        let doc = segment(text);
        let key = |f: &Found| (f.start, f.end, f.rtype.clone(), crate::model::params_to_json(&f.params));
        let fast: Vec<_> = find_requirements(lx, text, &doc, None).unwrap().iter().map(key).collect();
        let slow: Vec<_> = find_with_hits(lx, text, &doc, None, None).unwrap().iter().map(key).collect();
        assert_eq!(fast, slow, "{text}");
    }
}

#[test]
fn every_match_contains_one_of_its_patterns_anchors() {
    let lx = &*LEXICON;
    let mut matches = 0;
    for text in &corpus() {
        let doc = segment(text);
        for clause in doc.sentences.iter().flat_map(|s| &s.clauses) {
            let clause_text = &text[clause.start..clause.end];
            for (pi, pattern) in lx.patterns.iter().enumerate() {
                for m in pattern.regex.find_iter(clause_text).filter(|m| !m.is_empty()) {
                    matches += 1;
                    let anchored = lx.anchors.find_overlapping_iter(m.as_str()).any(|a| lx.anchor_pattern[a.pattern().as_usize()] == pi);
                    assert!(anchored, "pattern {pi} ({}) matched {:?} in {text:?} without an anchor", pattern.rtype, m.as_str());
                }
            }
        }
    }
    assert!(matches > 500, "{matches}");
}

/// IFEval's own phrasings (instruction_following_eval/instructions.py and its data), each on
/// its own after a task sentence: type and params of every requirement found.
#[test]
fn parses_ifeval_phrasings() {
    let cases: &[(&str, serde_json::Value)] = &[
        ("In your entire response, refrain from the use of any commas.", json!([["no_commas", {}]])),
        ("You are not allowed to use any commas in your response.", json!([["no_commas", {}]])),
        (
            "Finish your response with this exact phrase \"Is there anything else I can help with?\". No other words should follow this phrase.",
            json!([["end_phrase", {"phrase": "Is there anything else I can help with?"}]]),
        ),
        (
            "Highlight at least 3 sections in your answer with markdown, i.e. *highlighted section*.",
            json!([["highlighted_sections", {"relation": "at_least", "value": 3}]]),
        ),
        (
            "The response must contain at least 4 placeholders represented by square brackets, such as [address].",
            json!([["placeholders", {"relation": "at_least", "value": 4}]]),
        ),
        (
            "Your response should contain 3 paragraphs. You separate paragraphs using the markdown divider: * * *",
            json!([["length", {"unit": "paragraphs", "relation": "exactly", "value": 3}]]),
        ),
        (
            "There should be 2 paragraphs. Paragraphs are separated with the markdown divider: ***",
            json!([["length", {"unit": "paragraphs", "relation": "exactly", "value": 2}]]),
        ),
        (
            "Your ENTIRE response should be in Kannada language, no other language is allowed.",
            json!([["response_language", {"language": "kn"}]]),
        ),
        ("Wrap your entire response with double quotation marks.", json!([["quotation", {}]])),
        (
            "At the end of your response, please explicitly add a postscript starting with P.S.",
            json!([["postscript", {"marker": "P.S."}]]),
        ),
        (
            "At the end of your response, please explicitly add a postscript starting with P.P.S",
            json!([["postscript", {"marker": "P.P.S"}]]),
        ),
        ("Answer with at least 300 words.", json!([["length", {"unit": "words", "relation": "at_least", "value": 300}]])),
        ("Answer with less than 5 sentences.", json!([["length", {"unit": "sentences", "relation": "less_than", "value": 5}]])),
        (
            "Your answer must contain exactly 4 bullet points. Use the markdown bullet points such as:\n* This is point 1. \n* This is point 2",
            json!([["bullet_points", {"relation": "exactly", "value": 4}]]),
        ),
        (
            "In your response, the word river should appear at least 3 times.",
            json!([["keyword_frequency", {"keyword": "river", "relation": "at_least", "value": 3}]]),
        ),
        (
            "In your response, words with all capital letters should appear less than 5 times.",
            json!([["capital_word_frequency", {"relation": "less_than", "value": 5}]]),
        ),
        (
            "In your response, the letter q should appear at least 4 times.",
            json!([["letter_frequency", {"letter": "q", "relation": "at_least", "value": 4}]]),
        ),
        (
            "Your entire response should be in English, and in all capital letters.",
            json!([["response_language", {"language": "en"}], ["uppercase", {}]]),
        ),
        (
            "Give two different responses. Responses and only responses should be separated by 6 asterisk symbols: ******.",
            json!([["two_responses", {}]]),
        ),
        (
            "First repeat the request word for word without change, then give your answer (1. do not say any words or characters before repeating the request; 2. the request you need to repeat does not include this sentence)",
            json!([["repeat_prompt", {"prompt": "Write a poem about the sea."}]]),
        ),
        ("Entire output should be wrapped in JSON format. You can use markdown ticks such as ```.", json!([["json_format", {}]])),
        ("Include keywords ['river', 'stone'] in the response.", json!([["keywords", {"keywords": ["river", "stone"]}]])),
        ("Include keywords river, stone in the response.", json!([["keywords", {"keywords": ["river", "stone"]}]])),
        ("Do not include keywords ['flesh'] in the response.", json!([["forbidden_words", {"words": ["flesh"]}]])),
        ("The word \"rock\" should not appear in your response.", json!([["forbidden_words", {"words": ["rock"]}]])),
    ];
    assert_requirements_after_task(cases);
}

/// Each requirement, appended to a task sentence, parses to exactly the given [type, params] list.
fn assert_requirements_after_task(cases: &[(&str, serde_json::Value)]) {
    for (req, want) in cases {
        let text = format!("Write a poem about the sea. {req}");
        let p = parse(&text);
        let got: Vec<serde_json::Value> =
            p.requirements.iter().map(|r| json!([r.rtype, serde_json::Value::Object(r.params.clone())])).collect();
        assert_eq!(&serde_json::Value::from(got), want, "{text}");
    }
}

/// The false positives and wrong params that docs/data.md listed, fixed.
#[test]
fn parses_former_failures() {
    let cases: &[(&str, serde_json::Value)] = &[
        ("Include no less than 9 fully capitalized words.", json!([["capital_word_frequency", {"relation": "at_least", "value": 9}]])),
        ("Use no more than 8 words in all capital letters.", json!([["capital_word_frequency", {"relation": "at_most", "value": 8}]])),
        ("No more than 7 words may be written entirely in uppercase.", json!([["capital_word_frequency", {"relation": "at_most", "value": 7}]])),
        ("Capitalize every letter of at least 3 words.", json!([["capital_word_frequency", {"relation": "at_least", "value": 3}]])),
        ("Highlight no less than 3 sections in your answer with markdown.", json!([["highlighted_sections", {"relation": "at_least", "value": 3}]])),
        ("Don't go over 300 words.", json!([["length", {"unit": "words", "relation": "at_most", "value": 300}]])),
        ("Limit yourself to 4 sentences.", json!([["length", {"unit": "sentences", "relation": "at_most", "value": 4}]])),
        ("Keep it within 3 paragraphs.", json!([["length", {"unit": "paragraphs", "relation": "at_most", "value": 3}]])),
        ("Keep the tone formal throughout.", json!([["tone", {"tone": "formal"}]])),
        ("Do not use any capital letters.", json!([["lowercase", {}]])),
        ("Add a postscript starting with P.S.", json!([["postscript", {"marker": "P.S."}]])),
        ("Include the keywords timeline, balcony, and candle.", json!([["keywords", {"keywords": ["timeline", "balcony", "candle"]}]])),
        ("Avoid the words delve, perfect, and thing.", json!([["forbidden_words", {"words": ["delve", "perfect", "thing"]}]])),
        (
            "Write as if you were a travel journalist and capitalize nothing.",
            json!([["persona", {"persona": "travel journalist"}]]),
        ),
        ("The target audience is children and return the poem.", json!([["audience", {"audience": "children"}]])),
        ("语气应该温柔一些。", json!([["tone", {"tone": "温柔"}]])),
        ("用正式的口吻。", json!([["tone", {"tone": "正式"}]])),
        ("“梦想”一词至少出现十三次。", json!([["keyword_frequency", {"keyword": "梦想", "relation": "at_least", "value": 13}]])),
    ];
    assert_requirements_after_task(cases);
}

#[test]
fn every_pattern_has_anchors() {
    let lx = &*LEXICON;
    assert!(lx.unanchored.is_empty());
}

#[test]
fn restatements_fold_into_one_requirement() {
    let p = parse("Write a poem about dawn. Your entire response should be in English, and in all lowercase letters. No capital letters are allowed.");
    assert_eq!(types(&p), vec!["response_language", "lowercase"]);
    assert!(p.requirements[1].text.ends_with("No capital letters are allowed"));
    assert!(!p.base_task.contains("capital"), "{}", p.base_task);
    let text = "Write a haiku. Finish your response with this exact phrase \"Any other questions?\". No other words should follow this phrase.";
    let p = parse(text);
    assert_eq!(types(&p), vec!["end_phrase"]);
    assert_eq!(p.requirements[0].params["phrase"], serde_json::json!("Any other questions?"));
    assert_eq!(p.base_task, "Write a haiku.");
    // A restatement with nothing to fold into is not a requirement.
    assert!(parse("Write a haiku. No other words should follow this phrase.").requirements.is_empty());
}

#[test]
fn instruction_without_requirements_is_its_own_base_task() {
    let p = parse("Tell me about the history of tea.");
    assert!(p.requirements.is_empty());
    assert_eq!(p.base_task, "Tell me about the history of tea.");
}
