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

/// Each named case, appended to a task sentence, parses to exactly the given [type, params] list.
fn assert_named_cases(cases: &[(&str, &str, serde_json::Value)]) {
    let mut failures = Vec::new();
    for (name, req, want) in cases {
        let text = format!("Write a poem about the sea. {req}");
        let p = parse(&text);
        let got: Vec<serde_json::Value> =
            p.requirements.iter().map(|r| json!([r.rtype, serde_json::Value::Object(r.params.clone())])).collect();
        if &serde_json::Value::from(got.clone()) != want {
            failures.push(format!("{name}: {text:?}\n   want {want}\n   got  {}", serde_json::Value::from(got)));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Issue 12's inverted readings, and their families: a negation or a limit decides the type and
/// the relation, never the positive requirement it negates.
#[test]
fn negations_and_limits_are_never_read_as_the_positive_requirement() {
    let cases: &[(&str, &str, serde_json::Value)] = &[
        ("no capital letters are used", "Make sure the entire response is in English and no capital letters are used.",
         json!([["response_language", {"language": "en"}], ["lowercase", {}]])),
        ("with no capital letters", "Your response must be in English, with no capital letters.",
         json!([["response_language", {"language": "en"}], ["lowercase", {}]])),
        ("capital letters are not allowed", "Capital letters are not allowed.", json!([["lowercase", {}]])),
        ("should not contain any capital letters", "The poem should not contain any capital letters.", json!([["lowercase", {}]])),
        ("limit words in all capitals to less than", "Limit the number of words with all capital letters to less than four.",
         json!([["capital_word_frequency", {"relation": "less_than", "value": 4}]])),
        ("words with capital letters less than", "But words with capital letters should appear less than 4 times.",
         json!([["capital_word_frequency", {"relation": "less_than", "value": 4}]])),
        ("at least 20 words in all capitals", "Use at least 20 words that are written in all capital letters.",
         json!([["capital_word_frequency", {"relation": "at_least", "value": 20}]])),
        ("more than 4 words be in capitals", "Have more than 4 words be in all capital letters.",
         json!([["capital_word_frequency", {"relation": "more_than", "value": 4}]])),
        ("not a single word in lowercase", "Not a single word in your entire reply should contain lowercase letters.",
         json!([["uppercase", {}]])),
        ("lowercase letters are forbidden", "Lowercase letters are forbidden.", json!([["uppercase", {}]])),
        ("do not write in all caps", "Do not write your answer in all capital letters.", json!([])),
        ("should not contain the words", "The poem should not contain the word \"rich\" and \"money\".",
         json!([["forbidden_words", {"words": ["rich", "money"]}]])),
        ("does not include the keywords", "Make sure it does not include the keywords \"wave\" or \"salt\".",
         json!([["forbidden_words", {"words": ["wave", "salt"]}]])),
        ("without using the word", "Write it without using the word \"blue\".", json!([["forbidden_words", {"words": ["blue"]}]])),
        ("the words cannot be in", "The words tide and shore cannot be in the response.",
         json!([["forbidden_words", {"words": ["tide", "shore"]}]])),
        ("the word does not appear", "Make sure the word ocean doesn't appear at all.", json!([["forbidden_words", {"words": ["ocean"]}]])),
        ("bare list cut at or", "Do not mention the word Taylor, Swift, or Together.",
         json!([["forbidden_words", {"words": ["Taylor", "Swift", "Together"]}]])),
        ("bare pair with or", "Do not say the word steps or step.", json!([["forbidden_words", {"words": ["steps", "step"]}]])),
        ("do not use the word more than", "Do not use the word \"wave\" more than twice.",
         json!([["keyword_frequency", {"keyword": "wave", "relation": "at_most", "value": 2}]])),
        ("the word should not appear more than", "The word salt should not appear more than 3 times.",
         json!([["keyword_frequency", {"keyword": "salt", "relation": "at_most", "value": 3}]])),
        ("avoid the letter more than twice", "Avoid using the letter i more than twice.",
         json!([["letter_frequency", {"letter": "i", "relation": "at_most", "value": 2}]])),
        ("do not include the letter", "Do not include the letter \"c\" anywhere in your response.",
         json!([["letter_frequency", {"letter": "c", "relation": "less_than", "value": 1}]])),
        ("once or less", "Make sure to use the word \"the\" once or less.",
         json!([["keyword_frequency", {"keyword": "the", "relation": "at_most", "value": 1}]])),
        ("doesn't use commas", "Make sure the poem doesn't use commas.", json!([["no_commas", {}]])),
        ("commas are not allowed", "Commas are not allowed.", json!([["no_commas", {}]])),
        ("cannot contain commas", "Your answer cannot contain commas.", json!([["no_commas", {}]])),
        ("a language named as a topic", "Describe the Croatian and Serbian nations in the 19th century.", json!([])),
        ("a language as an adjective", "Talk about the role of butter in French cuisine.", json!([])),
        ("a narrated avoidance", "Two friends are both trying to avoid using the letter t.", json!([])),
        ("不要使用任何逗号", "不要使用任何逗号。", json!([["no_commas", {}]])),
        ("禁止使用逗号", "禁止使用逗号。", json!([["no_commas", {}]])),
        ("不得出现", "文中不得出现“大海”和“蓝色”。", json!([["forbidden_words", {"words": ["大海", "蓝色"]}]])),
        ("不要使用大写字母", "不要使用任何大写字母。", json!([["lowercase", {}]])),
    ];
    assert_named_cases(cases);
}

/// Real phrasings of the non-length types: verb forms, third person, IFEval's own sentences.
#[test]
fn real_phrasings_of_the_verifiable_types() {
    let cases: &[(&str, &str, serde_json::Value)] = &[
        ("third-person keywords", "It includes the keywords \"forests\" and \"riddle\".",
         json!([["keywords", {"keywords": ["forests", "riddle"]}]])),
        ("include the words list", "I want the letter to include the words trust, brand, and law.",
         json!([["keywords", {"keywords": ["trust", "brand", "law"]}]])),
        ("these items", "Make sure to include these items: Zelda, Hyrule, Link, Ganon.",
         json!([["keywords", {"keywords": ["Zelda", "Hyrule", "Link", "Ganon"]}]])),
        ("third-person keyword count", "Make sure it includes the word elephant at least 3 times.",
         json!([["keyword_frequency", {"keyword": "elephant", "relation": "at_least", "value": 3}]])),
        ("word to be used", "I would like for the word humming to be used at least once.",
         json!([["keyword_frequency", {"keyword": "humming", "relation": "at_least", "value": 1}]])),
        ("and the word", "Use the word \"cat\" at least once, and the word \"knock\" at least twice.",
         json!([["keyword_frequency", {"keyword": "cat", "relation": "at_least", "value": 1}],
                ["keyword_frequency", {"keyword": "knock", "relation": "at_least", "value": 2}]])),
        ("fewer than 5 times", "The letter r should appear fewer than 5 times.",
         json!([["letter_frequency", {"letter": "r", "relation": "less_than", "value": 5}]])),
        ("contain the letter", "The sentence should contain the letter q at least 6 times.",
         json!([["letter_frequency", {"letter": "q", "relation": "at_least", "value": 6}]])),
        ("use only Hindi", "Use only Hindi in your response, no other language is allowed.", json!([["response_language", {"language": "hi"}]])),
        ("entirely Swahili", "Each response should be entirely Swahili.", json!([["response_language", {"language": "sw"}]])),
        ("six asterisks", "Separate the two jokes with 6 asterisk symbols: ******", json!([["two_responses", {}]])),
        ("separated by ******", "Provide exactly two critiques separated by ******.", json!([["two_responses", {}]])),
        ("italicize", "Italicize at least 2 sections in your answer with markdown, i.e. *italic text*.",
         json!([["highlighted_sections", {"relation": "at_least", "value": 2}]])),
        ("italic text sections", "Include two italic text sections. Like: *this is italic text*",
         json!([["highlighted_sections", {"relation": "at_least", "value": 2}]])),
        ("highlight/bold", "Make sure to use markdown to highlight/bold at least one section of the poem.",
         json!([["highlighted_sections", {"relation": "at_least", "value": 1}]])),
        ("exactly one of the phrases", "Your answer must contain exactly one of the following phrases: My answer is yes.",
         json!([["constrained_response", {}]])),
        ("wrapped in double quotation marks", "Make sure your entire response is wrapped in double quotation marks.",
         json!([["quotation", {}]])),
        ("wrap the entire email", "Make sure to wrap the entire email in double quotation marks.", json!([["quotation", {}]])),
        ("the very end should read", "The very end of your entire response should read exactly like: your love, and thanks.",
         json!([["end_phrase", {"phrase": "your love, and thanks."}]])),
        ("exact phrase keeps its ?", "Finish your response with this exact phrase: So what is next?",
         json!([["end_phrase", {"phrase": "So what is next?"}]])),
        ("end with: keeps its !", "Keep it short, and end with: That is all you need!",
         json!([["end_phrase", {"phrase": "That is all you need!"}]])),
        ("quoted end phrase", "End your response with \"Is there anything else I can help with?\".",
         json!([["end_phrase", {"phrase": "Is there anything else I can help with?"}]])),
        ("postscript P.P.S", "At the end of your response, please explicitly add a postscript starting with P.P.S",
         json!([["postscript", {"marker": "P.P.S"}]])),
        ("start the nth paragraph", "There should be exactly 4 paragraphs. Start the 2nd paragraph with the word \"elm\".",
         json!([["length", {"unit": "paragraphs", "relation": "exactly", "value": 4}],
                ["paragraph_first_word", {"nth": 2, "first_word": "elm", "num_paragraphs": 4}]])),
        ("the last paragraph", "Write exactly 7 paragraphs and the last paragraph must start with the word \"Summary\".",
         json!([["length", {"unit": "paragraphs", "relation": "exactly", "value": 7}],
                ["paragraph_first_word", {"nth": 7, "first_word": "Summary", "num_paragraphs": 7}]])),
        ("section splitter", "Your file should have 4 sections, and each section should start with \"SECTION X\".",
         json!([["sections", {"value": 4, "splitter": "SECTION"}]])),
        ("section marker in the next sentence", "It must have 7 sections. Mark the beginning of each section with Day X.",
         json!([["sections", {"value": 7, "splitter": "Day"}]])),
        ("sections divided by ***", "Put the response into at least 5 sections, separated using 3 asterisks ***.",
         json!([["length", {"unit": "paragraphs", "relation": "at_least", "value": 5}]])),
        ("title in brackets", "Put the name of the story in double angular brackets, i.e. <<story of xyz>>.", json!([["title", {}]])),
        ("code fence is an example", "Wrap the entire output in JSON format. You can use markdown ticks like ```JSON [json content] ```.",
         json!([["json_format", {}]])),
        ("全部大写", "回答请全部使用大写字母。", json!([["uppercase", {}]])),
        ("包含关键词“X”和“Y”", "文章要包含关键词“春天”和“希望”。", json!([["keywords", {"keywords": ["春天", "希望"]}]])),
        ("以“X”结尾", "以“未完待续”结尾。", json!([["end_phrase", {"phrase": "未完待续"}]])),
        ("标题用<<>>包裹", "标题用<<>>包裹。", json!([["title", {}]])),
        ("用JSON格式", "请用JSON格式输出。", json!([["json_format", {}]])),
        ("分为N个部分", "分为3个部分。", json!([["sections", {"value": 3}]])),
        ("用英文回答", "请用英文回答。", json!([["response_language", {"language": "en"}]])),
        ("用******隔开", "写两个版本，中间用******隔开。", json!([["two_responses", {}]])),
    ];
    assert_named_cases(cases);
}

/// "Repeat the request" and its restatements are one requirement; what it repeats is the rest.
#[test]
fn repeat_prompt_takes_its_lead_in_and_restatements() {
    let text = "In this task, repeat the exact request below first, then give your response. Do not say any word before repeating the exact request.\n\nWrite an acoustic song about the Korean peninsula.";
    let p = parse(text);
    assert_eq!(types(&p), vec!["repeat_prompt"]);
    assert_eq!(p.requirements[0].params["prompt"], json!("Write an acoustic song about the Korean peninsula."));
    let text = "Write a riddle about time.\nYou need to repeat the sentence above first. Do not change any word, just repeat it. Do not say anything before repeating the sentence.";
    let p = parse(text);
    assert_eq!(types(&p), vec!["repeat_prompt"]);
    assert_eq!(p.requirements[0].params["prompt"], json!("Write a riddle about time."));
    let p = parse("What has a dome but no doors? Let's repeat all text above word by word, then reply to the request above.");
    assert_eq!(types(&p), vec!["repeat_prompt"]);
    assert_eq!(p.requirements[0].params["prompt"], json!("What has a dome but no doors?"));
}

#[test]
fn a_range_written_high_to_low_is_read_low_to_high() {
    for (text, lo, hi) in [("Write 5 to 3 sentences.", 3, 5), ("写一篇500～300字的短文。", 300, 500), ("Write 3 to 5 sentences.", 3, 5)] {
        let p = parse_instruction(text, &ParseLimits::default()).unwrap();
        let ranges: Vec<_> = p.requirements.iter().map(|r| (r.params["min"].as_i64(), r.params["max"].as_i64())).collect();
        assert_eq!(ranges, [(Some(lo), Some(hi))], "{text}");
    }
}
