//! Unit tests of `text`, in their own file: the pipeline's stages depend on `text.rs`, not on its tests.

use super::*;

fn sentences(text: &str) -> Vec<&str> {
    segment(text).sentences.iter().map(|s| &text[s.start..s.end]).collect()
}

fn clauses(text: &str) -> Vec<Vec<&str>> {
    segment(text)
        .sentences
        .iter()
        .map(|s| s.clauses.iter().map(|c| &text[c.start..c.end]).collect())
        .collect()
}

#[test]
fn splits_sentences_with_quotes_and_abbreviations() {
    let t = "Write a poem, e.g. a sonnet. End with \"Any questions?\". Don't use commas!";
    assert_eq!(sentences(t), vec!["Write a poem, e.g. a sonnet.", "End with \"Any questions?\".", "Don't use commas!"]);
}

#[test]
fn splits_chinese_sentences() {
    let t = "写一篇关于春天的散文。字数不少于800字；语气要温柔！";
    assert_eq!(sentences(t), vec!["写一篇关于春天的散文。", "字数不少于800字；", "语气要温柔！"]);
}

#[test]
fn finds_line_and_inline_lists() {
    let t = "Write an essay with the following requirements:\n1. Use at least 300 words.\n2. Avoid jargon.";
    let d = segment(t);
    assert_eq!(d.items.len(), 2);
    assert_eq!(d.sentences.len(), 3);
    assert_eq!(d.sentences[1].item, Some(0));
    let t = "Write a story with these requirements: 1. Use a formal tone. 2. End with 'Bye.'";
    let d = segment(t);
    assert_eq!(d.items.len(), 2, "{d:?}");
    assert_eq!(&t[d.sentences[2].start..d.sentences[2].end], "End with 'Bye.'");
}

#[test]
fn splits_clauses_only_before_triggers() {
    let t = "Include the keywords 'river' and 'lantern', and use a formal tone.";
    assert_eq!(clauses(t), vec![vec!["Include the keywords 'river' and 'lantern'", "use a formal tone"]]);
    let t = "Write about cats and dogs; keep it short.";
    assert_eq!(clauses(t), vec![vec!["Write about cats and dogs", "keep it short"]]);
    let t = "字数不少于800字，语气要温柔并且使用比喻";
    assert_eq!(clauses(t), vec![vec!["字数不少于800字", "语气要温柔", "使用比喻"]]);
}

#[test]
fn words_and_sentences_for_verifiers() {
    assert_eq!(count_words("Hello, world! It's 2024_x."), 5);
    assert_eq!(count_words("春天来了 spring"), 5);
    assert_eq!(count_words(""), 0);
    assert_eq!(count_sentences("One. Two! Three?"), 3);
    assert_eq!(count_sentences("Intro:\n- a\n- b"), 3);
    assert_eq!(split_sentences("One. Two.").sentences, segment("One. Two.").sentences.iter().map(|s| Sentence { clauses: vec![], ..s.clone() }).collect::<Vec<_>>());
}

#[test]
fn pathological_input_is_linear_and_safe() {
    let commas = ",".repeat(100_000);
    assert!(segment(&commas).sentences.len() <= 1);
    let quotes = "\"unbalanced ".repeat(10_000);
    segment(&quotes);
}
