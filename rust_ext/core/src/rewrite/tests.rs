//! Unit tests of `rewrite`, in their own file: the pipeline's stages depend on `rewrite.rs`, not on its tests.

use super::*;

/// `text` without the given phrases, each located (by its first occurrence) as a requirement.
fn without(text: &str, phrases: &[&str]) -> String {
    let requirements: Vec<Requirement> = phrases
        .iter()
        .enumerate()
        .map(|(i, phrase)| {
            let start = text[..text.find(phrase).unwrap()].chars().count();
            Requirement {
                id: format!("r{}", i + 1),
                rtype: "style".into(),
                start: Some(start),
                end: Some(start + phrase.chars().count()),
                text: phrase.to_string(),
                params: Default::default(),
                source: "text".into(),
            }
        })
        .collect();
    let all: HashSet<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
    rewrite(text, &requirements, &all)
}

#[test]
fn drops_a_clause_with_its_connector() {
    let t = "Write a poem about rain. Use a formal tone and do not use any commas.";
    assert_eq!(without(t, &["do not use any commas"]), "Write a poem about rain. Use a formal tone.");
    assert_eq!(without(t, &["Use a formal tone"]), "Write a poem about rain. Do not use any commas.");
    assert_eq!(without(t, &["Use a formal tone", "do not use any commas"]), "Write a poem about rain.");
    assert_eq!(without(t, &[]), t);
}

#[test]
fn drops_keywords_without_leaving_them_behind() {
    let t = "Write a story about a fox. Include the keywords 'river' and 'lantern'. Keep it under 200 words.";
    let out = without(t, &["Include the keywords 'river' and 'lantern'"]);
    assert_eq!(out, "Write a story about a fox. Keep it under 200 words.");
}

#[test]
fn renumbers_lists_and_removes_emptied_lead_in() {
    let t = "Write an essay about bees with the following requirements:\n1. Use at least 300 words.\n2. Use a formal tone.\n3. Do not use any commas.";
    assert_eq!(
        without(t, &["Use a formal tone"]),
        "Write an essay about bees with the following requirements:\n1. Use at least 300 words.\n2. Do not use any commas."
    );
    let all = ["Use at least 300 words", "Use a formal tone", "Do not use any commas"];
    assert_eq!(without(t, &all), "Write an essay about bees.");
}

#[test]
fn tidy_cleans_cut_text() {
    assert_eq!(tidy("Write a story  about cats ."), "Write a story about cats.");
    assert_eq!(tidy("Your response should be in English, and "), "Your response should be in English");
    assert_eq!(tidy("a poem ( ) about , , rain"), "a poem about, rain");
}
