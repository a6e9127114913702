//! IFEval's loose rule: a requirement also counts as followed when the response passes it
//! without markdown `*`, without its first and/or last line, or both. The variants are set up
//! once per response, built only as far as a check needs, and skipped where they cannot help.

use super::helpers::Subject;
use super::Check;


/// The loose variants after the original, in IFEval's order, as (index into [`LOOSE_VARIANTS`],
/// text to check). Nothing is copied here: variants without the first/last line are slices of the
/// response, and a variant without asterisks is built only if a check reads it whole. Left out,
/// since their verdict could not differ: a variant that is empty, a variant without asterisks of
/// a text that has none (it equals the variant before it), a slice equal to one before it.
pub(super) fn loose_variants(response: &str) -> Vec<(usize, Subject<'_>)> {
    let first_nl = response.find('\n');
    let last_nl = response.rfind('\n');
    let first = first_nl.map_or("", |i| response[i + 1..].trim());
    let last = last_nl.map_or("", |i| response[..i].trim());
    let both = match (first_nl, last_nl) {
        (Some(a), Some(b)) if a < b => response[a + 1..b].trim(),
        _ => "",
    };
    // Some text is left once the asterisks are gone.
    let filled = |t: &str| !t.chars().all(|c| c == '*' || c.is_whitespace());
    let star = response.contains('*');
    let mut out: Vec<(usize, Subject)> = Vec::with_capacity(7);
    let mut slices: Vec<&str> = Vec::with_capacity(4);
    slices.push(response);
    if star && filled(response) {
        out.push((1, Subject::new(response, true)));
    }
    for (i, text) in [(2, first), (3, last), (4, both)] {
        if !text.is_empty() && !slices.contains(&text) {
            slices.push(text);
            out.push((i, Subject::new(text, false)));
        }
    }
    if star {
        let mut stripped: Vec<&str> = Vec::with_capacity(3);
        for (i, text) in [(5, first), (6, last), (7, both)] {
            // Empty once the asterisks are gone, or the same text as a variant before it.
            if text.contains('*') && filled(text) && !stripped.contains(&text) {
                stripped.push(text);
                out.push((i, Subject::new(text, true)));
            }
        }
    }
    out
}

impl Check {
    /// Can no loose variant pass a check that the response failed? True only when the check
    /// counts something that no variant has more of than the response (a variant is the
    /// response without whole lines, trimmed, and/or without `*`), and the response already has
    /// too few; each family says which of its counts qualify, and why.
    pub(super) fn loose_cannot_pass(&self, s: &Subject, star: bool) -> bool {
        match self {
            Check::Length(c) => c.loose_cannot_pass(s),
            Check::Format(c) => c.loose_cannot_pass(s),
            Check::Lexical(c) => c.loose_cannot_pass(s, star),
            Check::Mechanics(c) => c.loose_cannot_pass(s),
            Check::Phrase(c) => c.loose_cannot_pass(s),
            Check::Language(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::verify::test_support::{cases, loose, params, random_texts, strict};
    use crate::verify::{verify, verify_one, Verifier, LOOSE_VARIANTS};

    #[test]
    fn loose_accepts_markdown_and_framing_lines() {
        // A closing line after the phrase, removed.
        let p = json!({"phrase": "The end."});
        assert!(!strict("end_phrase", p.clone(), "The end.\nHope this helps!"));
        assert!(loose("end_phrase", p.clone(), "The end.\nHope this helps!"));
        let v = verify_one("Story... The end.\nHope this helps!", "end_phrase", &params(p)).unwrap();
        assert_eq!(v.loose_variant, Some("without_last_line"));
        // Markdown emphasis: "**Dear** Sir" starts with "dear sir" once the asterisks are gone.
        let p = json!({"phrase": "Dear Sir"});
        assert!(!strict("start_phrase", p.clone(), "**Dear** Sir, hello"));
        assert!(loose("start_phrase", p, "**Dear** Sir, hello"));
        // The loose rule never turns an empty variant into a pass.
        assert!(!loose("no_commas", json!({}), "a, b"));
    }

    /// IFEval's loose rule as written: build all eight variants, take the first that passes.
    fn naive_loose(response: &str, v: &Verifier) -> Option<&'static str> {
        let lines: Vec<&str> = response.split('\n').collect();
        let first = if lines.len() > 1 { lines[1..].join("\n").trim().to_string() } else { String::new() };
        let last = if lines.len() > 1 { lines[..lines.len() - 1].join("\n").trim().to_string() } else { String::new() };
        let both = if lines.len() > 2 { lines[1..lines.len() - 1].join("\n").trim().to_string() } else { String::new() };
        let variants = [
            response.to_string(),
            response.replace('*', ""),
            first.clone(),
            last.clone(),
            both.clone(),
            first.replace('*', ""),
            last.replace('*', ""),
            both.replace('*', ""),
        ];
        variants
            .iter()
            .enumerate()
            .find(|(_, t)| !t.trim().is_empty() && v.check(t).followed)
            .map(|(i, _)| LOOSE_VARIANTS[i])
    }

    #[test]
    fn lazy_loose_variants_give_ifevals_first_passing_variant() {
        let mut verifiers: Vec<Verifier> = cases().into_iter().map(|(t, p, _, _)| Verifier::new(t, &params(p)).unwrap()).collect();
        for (t, p) in [
            ("bullet_points", json!({"value": 1})),
            ("highlighted_sections", json!({"value": 2})),
            ("title", json!({})),
            ("start_phrase", json!({"phrase": "word"})),
            ("end_phrase", json!({"phrase": "word"})),
            ("quotation", json!({})),
            ("lowercase", json!({})),
            ("length", json!({"unit": "words", "relation": "at_least", "value": 3})),
            ("length", json!({"unit": "words", "relation": "about", "value": 4})),
            ("length", json!({"unit": "chars", "relation": "more_than", "value": 8})),
            ("capital_word_frequency", json!({"relation": "at_least", "value": 1})),
            ("capital_word_frequency", json!({"relation": "exactly", "value": 2})),
            ("letter_frequency", json!({"letter": "a", "relation": "at_least", "value": 2})),
            ("letter_frequency", json!({"letter": "é", "relation": "exactly", "value": 1})),
            ("keyword_frequency", json!({"keyword": "word", "relation": "at_least", "value": 2})),
            ("keyword_frequency", json!({"keyword": "p.", "relation": "exactly", "value": 1})),
            ("placeholders", json!({"relation": "at_least", "value": 1})),
            ("highlighted_sections", json!({"relation": "exactly", "value": 1})),
        ] {
            verifiers.push(Verifier::new(t, &params(p)).unwrap());
        }
        for response in random_texts(2, 3_000) {
            if response.trim().is_empty() || response.contains('\r') {
                continue;
            }
            for (v, verdict) in verifiers.iter().zip(verify(&response, &verifiers)) {
                assert_eq!(verdict.loose_variant, naive_loose(&response, v), "{} on {response:?}", v.rtype);
                assert_eq!(verdict.loose, Some(verdict.loose_variant.is_some()));
            }
        }
    }
}
