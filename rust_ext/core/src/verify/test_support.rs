//! What the verifiers' tests share: building parameters, one-requirement verdicts, a case per
//! verifiable type, and random texts made of what the scanners look at.

use serde_json::{json, Value};

use super::verify_one;
use crate::model::Params;

pub(super) fn params(v: Value) -> Params {
    v.as_object().cloned().unwrap_or_default()
}

pub(super) fn strict(rtype: &str, p: Value, response: &str) -> bool {
    verify_one(response, rtype, &params(p)).unwrap().strict.unwrap()
}

pub(super) fn loose(rtype: &str, p: Value, response: &str) -> bool {
    verify_one(response, rtype, &params(p)).unwrap().loose.unwrap()
}

/// (type, params, followed response, violated response) for every verifiable type.
pub(super) fn cases() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    vec![
        ("length", json!({"unit": "words", "relation": "at_least", "value": 5}), "one two three four five", "one two three four"),
        ("length", json!({"unit": "words", "relation": "less_than", "value": 4}), "one two three", "one two three four"),
        ("length", json!({"unit": "words", "relation": "about", "value": 10}), "a b c d e f g h i", "a b c d e f g h"),
        ("length", json!({"unit": "sentences", "relation": "exactly", "value": 2}), "It rains. We stay in.", "It rains. We stay. Fine."),
        ("length", json!({"unit": "paragraphs", "relation": "exactly", "value": 2, "separator": "***"}), "One.\n***\nTwo.", "One.\n\nTwo."),
        ("length", json!({"unit": "paragraphs", "relation": "exactly", "value": 2}), "One.\n\nTwo.", "One.\nTwo."),
        ("length", json!({"unit": "chars", "relation": "at_most", "value": 5}), "ab cd e", "abc def"),
        ("bullet_points", json!({"relation": "exactly", "value": 2}), "* one\n- two", "* one\n* two\n* three"),
        ("highlighted_sections", json!({"relation": "at_least", "value": 2}), "*one* and **two**", "*one* and ** **"),
        ("sections", json!({"splitter": "SECTION", "value": 2}), "SECTION 1\na\nSECTION 2\nb", "SECTION 1\na\nSection 2\nb"),
        ("paragraph_first_word", json!({"num_paragraphs": 2, "nth": 2, "first_word": "then"}), "First.\n\n\"Then, more.", "First.\n\nNow."),
        ("json_format", json!({}), "```json\n{\"a\": {\"b\": [1, 2]}}\n```", "{\"a\": 1"),
        ("title", json!({}), "Text\n<<My Title>>", "<< >> no title"),
        ("constrained_response", json!({}), "My answer is yes.", "Yes."),
        ("two_responses", json!({}), "A\n******\nB", "A\n******\nA"),
        ("keywords", json!({"keywords": ["River", "moon"]}), "The river and the Moon.", "The river only."),
        ("keyword_frequency", json!({"keyword": "cat", "relation": "less_than", "value": 2}), "A cat.", "A cat, a cat."),
        ("forbidden_words", json!({"words": ["bad"]}), "Badge is fine.", "That is BAD."),
        ("letter_frequency", json!({"letter": "z", "relation": "at_least", "value": 2}), "Zig zag", "Zig"),
        ("lowercase", json!({}), "all lower, 123.", "Not lower"),
        ("uppercase", json!({}), "ALL UPPER 123", "ALL UPPEr"),
        ("capital_word_frequency", json!({"relation": "at_most", "value": 1}), "ONE word here", "ONE TWO words"),
        ("no_commas", json!({}), "No commas here.", "Commas，even wide ones"),
        ("quotation", json!({}), " \"quoted\" ", "\"open only"),
        ("response_language", json!({"language": "de"}), "Das ist ein kurzer Satz auf Deutsch, und er ist ganz einfach zu lesen.", "This is a short sentence in English, and it is easy to read."),
        ("start_phrase", json!({"phrase": "Dear Sir"}), "\"dear sir, hello", "Hello dear sir"),
        ("end_phrase", json!({"phrase": "Any other questions?"}), "Done. Any other questions?\"", "Any other questions? Bye."),
        ("postscript", json!({"marker": "P.S."}), "Hi.\n\nP.S. bye", "Hi. PS bye"),
        ("postscript", json!({"marker": "P.P.S"}), "Hi.\nP. P. S more", "Hi.\nP.S. more"),
        ("placeholders", json!({"relation": "at_least", "value": 2}), "[name] at [address]", "[name] at\n[address\n]"),
        ("repeat_prompt", json!({"prompt": "Write a poem."}), "  write a POEM. Roses...", "Sure! Write a poem."),
    ]
}

/// Random texts made of the pieces the scanners look at.
pub(super) fn random_texts(seed: u64, n: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "*", "**", "***", "******", " ", "  ", "\n", "\n\n", "\n \n", "\t", "-", "- ", "* ", "[", "]", "[x]", "<<",
        ">>", "<", ">", "<<T>>", "a", "B", "word", "WORD", "Ab", "é", "É", "\u{2003}", "\u{85}", "\u{a0}", "p.", "P.",
        "s.", "S", "p. s.", "P.P.S", "1", "_", "\"", "'", ".", ",", "!", "春天", "Σ", "ς", "İ", "K",
    ];
    let mut rng = crate::rng::Rng::for_key(seed, "verify");
    (0..n)
        .map(|_| {
            let k = (rng.next_u64() % 30) as usize;
            (0..k).map(|_| PIECES[(rng.next_u64() % PIECES.len() as u64) as usize]).collect()
        })
        .collect()
}
