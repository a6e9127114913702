//! The format family: bullet points, highlighted sections, sections, the first word of a
//! paragraph, JSON, a title, a constrained answer, two responses.

use serde_json::Value;

use super::helpers::{
    count_param, counted, decide, find_either, find_run, invalid, list_param, next_newline, plural, relation_param,
    skip_space, split_stars, str_param, too_few, Bound, Relation, Subject,
};
use super::{Check, Kind, Outcome};
use crate::error::Result;
use crate::model::Params;


/// IFEval's default options for `detectable_format:constrained_response`.
pub const DEFAULT_OPTIONS: [&str; 3] = ["My answer is yes.", "My answer is no.", "My answer is maybe."];

/// A compiled requirement of the format family.
#[derive(Debug, Clone)]
pub(super) enum Format {
    BulletPoints { relation: Relation, value: u64 },
    Highlights { relation: Relation, value: u64 },
    Sections { splitter: String, case_insensitive: bool, relation: Relation, value: u64 },
    ParagraphFirstWord { num: Option<u64>, nth: u64, word: String },
    Json,
    Title,
    Constrained { options: Vec<String> },
    TwoResponses,
}

/// Compile a requirement of the format family.
pub(super) fn compile(rtype: &str, p: &Params) -> Result<Kind> {
    let t = rtype;
    let check = match rtype {
        "bullet_points" => Format::BulletPoints {
            relation: relation_param(t, p, Some(Relation::Exactly))?,
            value: count_param(t, p, "value")?,
        },
        "highlighted_sections" => Format::Highlights {
            relation: relation_param(t, p, Some(Relation::AtLeast))?,
            value: count_param(t, p, "value")?,
        },
        "sections" => {
            let (splitter, case_insensitive) = match p.get("splitter") {
                None | Some(Value::Null) => ("section".to_string(), true),
                Some(_) => (str_param(t, p, "splitter")?.trim().to_string(), false),
            };
            Format::Sections {
                splitter,
                case_insensitive,
                relation: relation_param(t, p, Some(Relation::AtLeast))?,
                value: count_param(t, p, "value")?,
            }
        }
        "paragraph_first_word" => {
            let num = match p.get("num_paragraphs") {
                None | Some(Value::Null) => None,
                Some(_) => Some(count_param(t, p, "num_paragraphs")?),
            };
            let nth = count_param(t, p, "nth")?;
            if nth == 0 {
                return Err(invalid("paragraph_first_word: nth counts from 1, 0 given".into()));
            }
            if num.is_some_and(|n| nth > n) {
                return Err(invalid(format!(
                    "paragraph_first_word: paragraph {nth} of {} does not exist",
                    num.unwrap()
                )));
            }
            let word = str_param(t, p, "first_word")?.trim().to_lowercase();
            if word.split_whitespace().count() != 1 {
                return Err(invalid(format!("paragraph_first_word: first_word {word:?} is not one word")));
            }
            Format::ParagraphFirstWord { num, nth, word }
        }
        "json_format" => Format::Json,
        "title" => Format::Title,
        "constrained_response" => {
            let options = match p.get("options") {
                None | Some(Value::Null) => DEFAULT_OPTIONS.iter().map(|s| s.to_string()).collect(),
                Some(_) => list_param(t, p, "options")?,
            };
            Format::Constrained { options }
        }
        "two_responses" => Format::TwoResponses,
        _ => return Ok(Kind::no_rule(rtype)),
    };
    Ok(Kind::Check(Check::Format(check)))
}

impl Format {
    pub(super) fn run(&self, s: &Subject, explain: bool) -> Outcome {
        let text = s.text();
        match self {
            Format::BulletPoints { relation, value } => {
                counted(count_bullets(text), "bullet point", "bullet points", Bound::Rel(*relation, *value), explain)
            }
            Format::Highlights { relation, value } => {
                counted(count_highlights(text), "highlighted section", "highlighted sections", Bound::Rel(*relation, *value), explain)
            }
            Format::Sections { splitter, case_insensitive, relation, value } => {
                let n = if *case_insensitive { count_sections(s.lower(), splitter) } else { count_sections(text, splitter) };
                decide(relation.holds(n, *value), explain, || {
                    format!("{}, needs {} (marked {splitter:?} + number)", plural(n, "section", "sections"), relation.describe(*value))
                })
            }
            Format::ParagraphFirstWord { num, nth, word } => {
                let mut count = 0u64;
                let mut nth_part = None;
                for (i, p) in text.split("\n\n").enumerate() {
                    if i as u64 + 1 == *nth {
                        nth_part = Some(p);
                    }
                    count += !p.trim().is_empty() as u64;
                }
                if *nth > count {
                    return decide(false, explain, || {
                        format!("{}, paragraph {nth} is missing", plural(count, "paragraph", "paragraphs"))
                    });
                }
                // There are at least `nth` parts, since there are `nth` non-empty ones.
                let para = nth_part.unwrap_or("").trim();
                if para.is_empty() {
                    return decide(false, explain, || format!("paragraph {nth} is empty"));
                }
                let first = para.split_whitespace().next().unwrap_or("");
                let first = first.trim_start_matches('\'').trim_start_matches('"');
                let first = &first[..first.find(['.', ',', '?', '!', '\'', '"']).unwrap_or(first.len())];
                let count_ok = num.is_none_or(|n| n == count);
                let word_ok = if first.is_ascii() {
                    first.len() == word.len() && first.bytes().zip(word.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b)
                } else {
                    first.chars().flat_map(char::to_lowercase).eq(word.chars())
                };
                decide(count_ok && word_ok, explain, || {
                    let found: String = first.chars().flat_map(char::to_lowercase).collect();
                    let counts = match num {
                        Some(n) => format!("{}, needs {n}; ", plural(count, "paragraph", "paragraphs")),
                        None => String::new(),
                    };
                    format!("{counts}paragraph {nth} starts with {found:?}, needs {word:?}")
                })
            }
            Format::Json => {
                let t = text.trim();
                let t = t.strip_prefix("```json").unwrap_or(t);
                let t = t.strip_prefix("```Json").unwrap_or(t);
                let t = t.strip_prefix("```JSON").unwrap_or(t);
                let t = t.strip_prefix("```").unwrap_or(t);
                let t = t.strip_suffix("```").unwrap_or(t);
                match serde_json::from_str::<serde::de::IgnoredAny>(t.trim()) {
                    Ok(_) => decide(true, explain, || "valid JSON".into()),
                    Err(e) => decide(false, explain, || format!("not valid JSON: {e}")),
                }
            }
            Format::Title => match find_title(text) {
                Some(m) => decide(true, explain, || format!("title {m}")),
                None => decide(false, explain, || "no title in <<double angular brackets>>".into()),
            },
            Format::Constrained { options } => {
                let t = text.trim();
                match options.iter().find(|o| t.contains(o.as_str())) {
                    Some(o) => decide(true, explain, || format!("contains {o:?}")),
                    None => decide(false, explain, || format!("contains none of {options:?}")),
                }
            }
            Format::TwoResponses => {
                let mut valid: [&str; 2] = ["", ""];
                let mut n = 0usize;
                let mut parts = split_stars(text, 6).peekable();
                let mut first = true;
                while let Some(p) = parts.next() {
                    let p = p.trim();
                    let inner = !first && parts.peek().is_some();
                    first = false;
                    if p.is_empty() {
                        if inner {
                            return decide(false, explain, || "an empty response between two ****** separators".into());
                        }
                    } else {
                        if n < 2 {
                            valid[n] = p;
                        }
                        n += 1;
                    }
                }
                match n {
                    2 if valid[0] != valid[1] => decide(true, explain, || "two different responses separated by ******".into()),
                    2 => decide(false, explain, || "the two responses are identical".into()),
                    n => decide(false, explain, || format!("{}, needs 2 separated by ******", plural(n as u64, "response", "responses"))),
                }
            }
        }
    }

    /// Highlights: matches never cross a line, and without `*` there is no highlight.
    pub(super) fn loose_cannot_pass(&self, s: &Subject) -> bool {
        match self {
            Format::Highlights { relation, value } => too_few(*relation, count_highlights(s.text()), *value),
            _ => false,
        }
    }
}

/// Sections: occurrences of the splitter followed by an optional whitespace and ASCII digits
/// (IFEval's `\s?SPLITTER\s?\d+\s?`, the splitter taken literally).
fn count_sections(text: &str, splitter: &str) -> u64 {
    let mut n = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find(splitter) {
        let mut pos = from + i + splitter.len();
        let rest = &text[pos..];
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            if c.is_whitespace() && rest[c.len_utf8()..].starts_with(|d: char| d.is_ascii_digit()) {
                pos += c.len_utf8();
            }
        }
        let digits = text[pos..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            n += 1;
            from = pos + digits;
        } else {
            from = from + i + splitter.len();
        }
    }
    n
}

/// Bullet points: IFEval's `(?m)^\s*\*[^\*].*$` matches plus `(?m)^\s*-.*$` matches, counted by
/// a scan of line starts instead of the two regexes. As with the regexes, `\s*` may run over
/// blank lines and `[^\*]` may be the line's own `\n` (the match then takes the next line too).
fn count_bullets(text: &str) -> u64 {
    line_start_matches(text, b'*') + line_start_matches(text, b'-')
}

fn line_start_matches(text: &str, marker: u8) -> u64 {
    let b = text.as_bytes();
    let mut n = 0;
    let mut line = 0;
    loop {
        // Every line start up to `q`'s line leads to the same `q`, so one try covers them.
        let q = skip_space(text, line);
        if q >= b.len() {
            return n;
        }
        let mut end = None;
        if b[q] == marker {
            if marker != b'*' {
                end = Some(next_newline(text, q + 1));
            } else if let Some(c) = text[q + 1..].chars().next().filter(|&c| c != '*') {
                end = Some(next_newline(text, q + 1 + c.len_utf8()));
            }
        }
        let stop = match end {
            Some(e) => {
                n += 1;
                e
            }
            None => next_newline(text, q),
        };
        if stop >= b.len() {
            return n;
        }
        line = stop + 1;
    }
}

/// Highlights: non-empty `\*[^\n\*]*\*` plus non-empty `\*\*[^\n\*]*\*\*` (IFEval's), found by
/// scanning from each `*` rather than by the two regexes.
pub(super) fn count_highlights(text: &str) -> u64 {
    let b = text.as_bytes();
    let filled = |from: usize, to: usize| !text[from..to].trim().is_empty();
    let mut n = 0;
    let mut pos = 0;
    while let Some(i) = text[pos..].find('*').map(|i| pos + i) {
        match find_either(b, i + 1, b'*', b'\n') {
            None => break,
            Some(j) if b[j] == b'*' => {
                n += filled(i + 1, j) as u64;
                pos = j + 1;
            }
            Some(j) => pos = j + 1,
        }
    }
    let mut pos = 0;
    while let Some(i) = find_run(text, pos, b'*', 2) {
        match find_either(b, i + 2, b'*', b'\n') {
            None => break,
            Some(j) if b[j] == b'*' && b.get(j + 1) == Some(&b'*') => {
                n += filled(i + 2, j) as u64;
                pos = j + 2;
            }
            Some(_) => pos = i + 1,
        }
    }
    n
}

/// The first non-empty `<<[^\n]+>>`: on a line, the regex runs from the first `<<` to the last
/// `>>` (at least one character between), and nothing else on that line can match.
fn find_title(text: &str) -> Option<&str> {
    let mut pos = 0;
    while let Some(i) = find_run(text, pos, b'<', 2) {
        let e = next_newline(text, i);
        let line = &text[i..e];
        if let Some(j) = line.rfind(">>").filter(|&j| j >= 3) {
            let m = &line[..j + 2];
            if !m.trim_start_matches('<').trim_end_matches('>').trim().is_empty() {
                return Some(m);
            }
        }
        if e >= text.len() {
            return None;
        }
        pos = e + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use regex::Regex;
    use serde_json::json;

    use super::*;
    use crate::verify::test_support::{loose, random_texts, strict};

    #[test]
    fn bullets_dash_and_star_but_not_bold() {
        let p = json!({"relation": "exactly", "value": 3});
        assert!(strict("bullet_points", p.clone(), "Intro\n* a\n- b\n  * nested c\n**Bold line**"));
        assert!(!strict("bullet_points", p.clone(), "1. a\n2. b\n3. c"));
        assert!(!strict("bullet_points", p, "• a\n• b\n• c"));
    }

    #[test]
    fn title_on_the_last_line() {
        assert!(strict("title", json!({}), "Body text.\n<<A Title>>"));
        assert!(!strict("title", json!({}), "«A Title»"));
        assert!(!strict("title", json!({}), "<<A\nTitle>>"));
    }

    #[test]
    fn json_in_code_fences() {
        assert!(strict("json_format", json!({}), "```JSON\n[{\"a\": {\"b\": {\"c\": null}}}]\n```"));
        assert!(strict("json_format", json!({}), "```\n{}\n```"));
        assert!(!strict("json_format", json!({}), "Here it is:\n```json\n{}\n```"));
        assert!(loose("json_format", json!({}), "Here it is:\n```json\n{}\n```"));
        assert!(!strict("json_format", json!({}), "NaN"));
    }

    #[test]
    fn ifeval_first_word_rules() {
        let p = json!({"num_paragraphs": 3, "nth": 3, "first_word": "finally"});
        assert!(strict("paragraph_first_word", p.clone(), "A.\n\nB.\n\n'Finally!' he said."));
        assert!(!strict("paragraph_first_word", p, "A.\n\nB.\n\nFinal.\n\nD."));
    }

    #[test]
    fn two_responses_and_sections() {
        assert!(!strict("two_responses", json!({}), "A\n******\n\n******\nB"));
        assert!(strict("two_responses", json!({}), "******\nA\n******\nB\n******"));
        assert!(strict("sections", json!({"value": 2}), "Section 1: a. section 2: b."));
        assert!(!strict("sections", json!({"splitter": "SECTION", "value": 1}), "SECTION X"));
    }

    #[test]
    fn scanners_agree_with_the_ifeval_regexes() {
        let re = |p: &str| Regex::new(p).unwrap();
        let (star, dash) = (re(r"(?m)^\s*\*[^\*].*$"), re(r"(?m)^\s*-.*$"));
        let (single, double) = (re(r"\*[^\n\*]*\*"), re(r"\*\*[^\n\*]*\*\*"));
        let title = re(r"<<[^\n]+>>");
        for t in random_texts(1, 20_000) {
            let t = t.as_str();
            assert_eq!(count_bullets(t), (star.find_iter(t).count() + dash.find_iter(t).count()) as u64, "{t:?}");
            let highlights = single.find_iter(t).filter(|m| !m.as_str().trim_matches('*').trim().is_empty()).count()
                + double.find_iter(t).filter(|m| !m.as_str()[2..m.len() - 2].trim().is_empty()).count();
            assert_eq!(count_highlights(t), highlights as u64, "{t:?}");
            let found = title.find_iter(t).find(|m| !m.as_str().trim_start_matches('<').trim_end_matches('>').trim().is_empty());
            assert_eq!(find_title(t), found.map(|m| m.as_str()), "{t:?}");
        }
    }
}
