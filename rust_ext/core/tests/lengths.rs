//! Length requirements, parsed and verified: ranges (`relation: between` with `min` and `max`),
//! lines and speaking time, Chinese lengths (字左右, 万, ranges, N字的), and the polarity of
//! length phrases. Each case is a phrasing written for these tests (a handful follow IFEval's
//! wording); what must not be read as a length is a case with no length at all.

use serde_json::{json, Map, Value};
use wrl_core::parse::{parse_instruction, ParseLimits};
use wrl_core::verify::{verify_one, Status};

fn lengths(text: &str) -> Vec<Map<String, Value>> {
    let p = parse_instruction(text, &ParseLimits::default()).unwrap();
    p.requirements.into_iter().filter(|r| r.rtype == "length").map(|r| r.params).collect()
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn length_phrasings_parse_to_their_exact_params() {
    let cases: Vec<(&str, Value)> = vec![
        ("Write an essay of 600 to 700 words about rivers.", json!([{"unit": "words", "relation": "between", "min": 600, "max": 700}])),
        ("Write a 600-700 word essay on trains.", json!([{"unit": "words", "relation": "between", "min": 600, "max": 700}])),
        ("The story should be between 600 and 700 words.", json!([{"unit": "words", "relation": "between", "min": 600, "max": 700}])),
        ("Respond in 20 to 30 sentences.", json!([{"unit": "sentences", "relation": "between", "min": 20, "max": 30}])),
        ("Answer in two or three paragraphs.", json!([{"unit": "paragraphs", "relation": "between", "min": 2, "max": 3}])),
        ("Write a poem of about 200 words.", json!([{"unit": "words", "relation": "about", "value": 200}])),
        ("Keep it to approximately 150 words.", json!([{"unit": "words", "relation": "about", "value": 150}])),
        ("Your reply should be around 80 words long.", json!([{"unit": "words", "relation": "about", "value": 80}])),
        ("Your answer must be no more than 120 words.", json!([{"unit": "words", "relation": "at_most", "value": 120}])),
        ("The summary must not exceed 100 words.", json!([{"unit": "words", "relation": "at_most", "value": 100}])),
        ("The bio should not be longer than 50 words.", json!([{"unit": "words", "relation": "at_most", "value": 50}])),
        ("I don't want anything longer than 30 words.", json!([{"unit": "words", "relation": "at_most", "value": 30}])),
        ("Please provide less than a total of 10 sentences.", json!([{"unit": "sentences", "relation": "less_than", "value": 10}])),
        ("Use fewer than 40 words.", json!([{"unit": "words", "relation": "less_than", "value": 40}])),
        ("Write a product description under 200 words.", json!([{"unit": "words", "relation": "less_than", "value": 200}])),
        ("Use a maximum of 5 sentences.", json!([{"unit": "sentences", "relation": "at_most", "value": 5}])),
        ("Write 300 words at minimum.", json!([{"unit": "words", "relation": "at_least", "value": 300}])),
        ("The essay needs at least 300 words.", json!([{"unit": "words", "relation": "at_least", "value": 300}])),
        ("Explain it in 4 paragraphs or fewer.", json!([{"unit": "paragraphs", "relation": "at_most", "value": 4}])),
        ("Do not write fewer than 250 words.", json!([{"unit": "words", "relation": "at_least", "value": 250}])),
        ("The total number of words in your response should be 250 or more.", json!([{"unit": "words", "relation": "at_least", "value": 250}])),
        ("Write a 30-line poem about the sea.", json!([{"unit": "lines", "relation": "exactly", "value": 30}])),
        ("The poem should have no more than 12 lines.", json!([{"unit": "lines", "relation": "at_most", "value": 12}])),
        ("Write a 5-minute speech for a school assembly.", json!([{"unit": "minutes", "relation": "about", "value": 5}])),
        ("The eulogy should be 3 minutes long.", json!([{"unit": "minutes", "relation": "about", "value": 3}])),
        ("Write a radio ad script of 90 seconds.", json!([{"unit": "seconds", "relation": "about", "value": 90}])),
        ("Write a 3-5 minute talk on climate.", json!([{"unit": "minutes", "relation": "between", "min": 3, "max": 5}])),
        ("Draft a toast that can be delivered in under 2 minutes.", json!([{"unit": "minutes", "relation": "less_than", "value": 2}])),
        ("Write a script for a one-hour lecture on physics.", json!([{"unit": "hours", "relation": "about", "value": 1}])),
        ("Write a recipe that takes 30 minutes to cook.", json!([])),
        ("Include at least 20 words in all capital letters.", json!([])),
        ("Have more than 4 words be in all capital letters.", json!([])),
        ("Not a single word in your reply should contain lowercase letters.", json!([])),
        ("Write 3 stanzas of 4 lines each.", json!([])),
        ("Each line should contain exactly one sentence.", json!([])),
        ("Answer in a single word.", json!([{"unit": "words", "relation": "about", "value": 1}])),
        ("请帮我写一篇1500字左右的书评。", json!([{"unit": "chars", "relation": "about", "value": 1500}])),
        ("写一篇2000字左右的散文。", json!([{"unit": "chars", "relation": "about", "value": 2000}])),
        ("写一篇3000字的短篇小说。", json!([{"unit": "chars", "relation": "about", "value": 3000}])),
        ("写一篇3000～4000字的调研报告。", json!([{"unit": "chars", "relation": "between", "min": 3000, "max": 4000}])),
        ("写一部网络小说的开篇，不少于2万字。", json!([{"unit": "chars", "relation": "at_least", "value": 20000}])),
        ("写一份方案，不少于三千字。", json!([{"unit": "chars", "relation": "at_least", "value": 3000}])),
        ("写一篇产品介绍，字数要求：300-500字。", json!([{"unit": "chars", "relation": "between", "min": 300, "max": 500}])),
        ("写一篇影评，字数要求在2000～2500字之间。", json!([{"unit": "chars", "relation": "between", "min": 2000, "max": 2500}])),
        ("写一则新闻稿，不超过800字。", json!([{"unit": "chars", "relation": "at_most", "value": 800}])),
        ("写一段自我介绍，800字以内。", json!([{"unit": "chars", "relation": "at_most", "value": 800}])),
        ("写一封感谢信，至少500字。", json!([{"unit": "chars", "relation": "at_least", "value": 500}])),
        ("写一篇议论文，分为五段。", json!([{"unit": "paragraphs", "relation": "exactly", "value": 5}])),
        ("写一篇短文，包含三个段落。", json!([{"unit": "paragraphs", "relation": "exactly", "value": 3}])),
        ("用五句话介绍你的家乡。", json!([{"unit": "sentences", "relation": "exactly", "value": 5}])),
        ("每段不少于三句话。", json!([])),
        ("在第三段中引用一句名言。", json!([])),
        ("写一份90分钟的讲座讲稿。", json!([{"unit": "minutes", "relation": "about", "value": 90}])),
        ("写一篇演讲稿，时长15-20分钟。", json!([{"unit": "minutes", "relation": "between", "min": 15, "max": 20}])),
        ("发言时间控制在5分钟以内。", json!([{"unit": "minutes", "relation": "at_most", "value": 5}])),
        ("写一段30秒的广告词。", json!([{"unit": "seconds", "relation": "about", "value": 30}])),
        ("写一首诗，不超过20行。", json!([{"unit": "lines", "relation": "at_most", "value": 20}])),
        ("全文控制在1.5万字左右。", json!([{"unit": "chars", "relation": "about", "value": 15000}])),
        ("请将内容复述一遍，一字不差。", json!([])),
        ("写一篇读后感，字数1000字以上。", json!([{"unit": "chars", "relation": "at_least", "value": 1000}])),
        ("请用一句话概括这篇文章。", json!([{"unit": "sentences", "relation": "exactly", "value": 1}])),
        ("篇幅在3000到5000字之间。", json!([{"unit": "chars", "relation": "between", "min": 3000, "max": 5000}])),
        ("Write a cover letter of between 250 and 300 words.", json!([{"unit": "words", "relation": "between", "min": 250, "max": 300}])),
        ("Summarize it in 150-200 characters.", json!([{"unit": "chars", "relation": "between", "min": 150, "max": 200}])),
        ("The word count should be 300-500.", json!([{"unit": "words", "relation": "between", "min": 300, "max": 500}])),
        ("Stay within a 300-word limit.", json!([{"unit": "words", "relation": "at_most", "value": 300}])),
        ("Write a limerick with 200 words or less.", json!([{"unit": "words", "relation": "at_most", "value": 200}])),
    ];
    let mut failures = Vec::new();
    for (text, want) in &cases {
        let want: Vec<Map<String, Value>> = want.as_array().unwrap().iter().map(|v| params(v.clone())).collect();
        let got = lengths(text);
        if got != want {
            failures.push(format!("{text:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Polarity: a negated or limiting phrase is never read with its meaning inverted.
#[test]
fn a_length_is_never_read_inverted() {
    for (text, relation) in [
        ("I don't want anything longer than 30 words.", "at_most"),
        ("Your answer should not be more than 3 paragraphs.", "at_most"),
        ("Please do not use over 100 words.", "at_most"),
        ("Nothing longer than 40 words, please.", "at_most"),
        ("Please provide less than a total of 10 sentences in your entire answer.", "less_than"),
        ("It must not be shorter than 5 sentences.", "at_least"),
        ("Don't write less than 300 words.", "at_least"),
        ("The word count should not exceed 300.", "at_most"),
        ("全文不得少于1000字。", "at_least"),
        ("字数不低于500字。", "at_least"),
        ("回答最多三句话。", "at_most"),
        ("不多于200字。", "at_most"),
        ("简介写在100字以下。", "less_than"),
    ] {
        let got = lengths(text);
        assert_eq!(got.len(), 1, "{text:?}: {got:?}");
        assert_eq!(got[0]["relation"], relation, "{text:?}: {got:?}");
    }
}

/// "N minutes" is speaking time only where something is spoken; 分钟 is never characters.
#[test]
fn minutes_are_speaking_time_never_characters() {
    for text in ["写一篇演讲稿，时长15-20分钟。", "请写一份90分钟的讲座讲稿。", "Write a 10-minute keynote."] {
        let got = lengths(text);
        assert_eq!(got.len(), 1, "{text:?}: {got:?}");
        assert_eq!(got[0]["unit"], "minutes", "{text:?}");
    }
    for text in ["Describe a workout that takes 30 minutes.", "每天锻炼30分钟有什么好处？", "The bus leaves every 15 minutes; write a poem."] {
        assert_eq!(lengths(text), Vec::<Map<String, Value>>::new(), "{text:?}");
    }
}

fn verdict(response: &str, p: Value) -> (Status, String) {
    let v = verify_one(response, "length", &params(p)).unwrap();
    (v.status, v.reason)
}

#[test]
fn a_range_is_verified_with_both_bounds_included() {
    let p = json!({"unit": "words", "relation": "between", "min": 3, "max": 5});
    assert_eq!(verdict("one two", p.clone()), (Status::Violated, "2 words, needs between 3 and 5".into()));
    assert_eq!(verdict("one two three", p.clone()).0, Status::Followed);
    assert_eq!(verdict("one two three four five", p.clone()).0, Status::Followed);
    assert_eq!(verdict("one two three four five six", p).0, Status::Violated);
    let zh = json!({"unit": "chars", "relation": "between", "min": 4, "max": 6});
    assert_eq!(verdict("春眠不觉晓", zh.clone()).0, Status::Followed);
    assert_eq!(verdict("春眠", zh).0, Status::Violated);
    let sentences = json!({"unit": "sentences", "relation": "between", "min": 2, "max": 2});
    assert_eq!(verdict("It rains. We stay in.", sentences).0, Status::Followed);
}

#[test]
fn malformed_ranges_and_rates_are_rejected() {
    for p in [
        json!({"unit": "words", "relation": "between", "min": 7, "max": 5}),
        json!({"unit": "words", "relation": "between", "min": 7}),
        json!({"unit": "words", "relation": "between", "min": -1, "max": 5}),
        json!({"unit": "minutes", "relation": "about", "value": 5, "words_per_minute": 0}),
        json!({"unit": "minutes", "relation": "about", "value": 5, "chars_per_minute": 1e9}),
    ] {
        assert!(verify_one("text", "length", &params(p.clone())).is_err(), "{p}");
    }
    // min and max without a relation are a range too.
    assert_eq!(verdict("a b c", json!({"unit": "words", "min": 2, "max": 4})).0, Status::Followed);
}

#[test]
fn lines_are_non_empty_lines() {
    let p = json!({"unit": "lines", "relation": "exactly", "value": 3});
    assert_eq!(verdict("Roses are red,\n\nviolets are blue,\n  \nsugar is sweet.", p.clone()).0, Status::Followed);
    assert_eq!(verdict("One line only.", p).1, "1 non-empty line, needs exactly 3");
}

#[test]
fn speaking_time_goes_through_the_speaking_rate() {
    // 150 words a minute by default: 5 minutes are 750 words, about (±10%) is 675..=825.
    let p = json!({"unit": "minutes", "relation": "about", "value": 5});
    assert_eq!(verdict(&"word ".repeat(750), p.clone()).0, Status::Followed);
    assert_eq!(verdict(&"word ".repeat(675), p.clone()).0, Status::Followed);
    let (status, reason) = verdict(&"word ".repeat(600), p.clone());
    assert_eq!(status, Status::Violated);
    assert_eq!(reason, "600 words, about 4.0 minutes at 150 a minute, needs about 5 (±10%) minutes");
    // A rate given with the requirement: at 120 words a minute, 600 words are 5 minutes.
    let slow = json!({"unit": "minutes", "relation": "about", "value": 5, "words_per_minute": 120});
    assert_eq!(verdict(&"word ".repeat(600), slow).0, Status::Followed);
    // Seconds and ranges: 90 seconds at 150 a minute are 225 words; under 2 minutes is < 300.
    let secs = json!({"unit": "seconds", "relation": "at_most", "value": 90});
    assert_eq!(verdict(&"word ".repeat(225), secs.clone()).0, Status::Followed);
    assert_eq!(verdict(&"word ".repeat(226), secs).0, Status::Violated);
    let range = json!({"unit": "minutes", "relation": "between", "min": 2, "max": 3});
    assert_eq!(verdict(&"word ".repeat(299), range.clone()).0, Status::Violated);
    assert_eq!(verdict(&"word ".repeat(450), range).0, Status::Followed);
    // A Chinese response counts non-space characters, 200 a minute by default.
    let zh = json!({"unit": "minutes", "relation": "at_least", "value": 1});
    assert_eq!(verdict(&"春".repeat(200), zh.clone()).0, Status::Followed);
    assert_eq!(verdict(&"春".repeat(199), zh).0, Status::Violated);
    let hours = json!({"unit": "hours", "relation": "less_than", "value": 1});
    assert_eq!(verdict(&"word ".repeat(100), hours).0, Status::Followed);
}

/// A range parsed from the text verifies end to end, in both languages.
#[test]
fn parsed_ranges_verify() {
    let p = lengths("Write a haiku review in 3 to 5 words.");
    assert_eq!(p, vec![params(json!({"unit": "words", "relation": "between", "min": 3, "max": 5}))]);
    assert_eq!(verify_one("Bold, bright, brave.", "length", &p[0]).unwrap().status, Status::Followed);
    let zh = lengths("写一句4到6字的标语。");
    assert_eq!(zh, vec![params(json!({"unit": "chars", "relation": "between", "min": 4, "max": 6}))]);
    assert_eq!(verify_one("春眠不觉晓", "length", &zh[0]).unwrap().status, Status::Followed);
}
