//! The lexical family: keywords, a keyword's frequency, forbidden words, a letter's frequency.

use super::helpers::{count_param, decide, invalid, list_param, plural, relation_param, str_param, too_few, Relation, Subject};
use super::{Check, Kind, Outcome};
use crate::error::Result;
use crate::model::Params;
use crate::text;


/// A compiled requirement of the lexical family.
#[derive(Debug, Clone)]
pub(super) enum Lexical {
    Keywords { words: Vec<String> },
    KeywordFrequency { keyword: String, relation: Relation, value: u64 },
    Forbidden { words: Vec<String> },
    LetterFrequency { letter: char, relation: Relation, value: u64 },
}

/// Compile a requirement of the lexical family.
pub(super) fn compile(rtype: &str, p: &Params) -> Result<Kind> {
    let t = rtype;
    let check = match rtype {
        "keywords" => Lexical::Keywords {
            words: list_param(t, p, "keywords")?.iter().map(|w| w.trim().to_lowercase()).collect(),
        },
        "keyword_frequency" => Lexical::KeywordFrequency {
            keyword: str_param(t, p, "keyword")?.trim().to_lowercase(),
            relation: relation_param(t, p, None)?,
            value: count_param(t, p, "value")?,
        },
        "forbidden_words" => Lexical::Forbidden {
            words: list_param(t, p, "words")?.iter().map(|w| w.trim().to_lowercase()).collect(),
        },
        "letter_frequency" => {
            let s = str_param(t, p, "letter")?.trim().to_lowercase();
            let mut chars = s.chars();
            // Any one character, as IFEval counts it: "#" and "!" are letters here too.
            let letter = match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => return Err(invalid(format!("letter_frequency: {s:?} is not a single character"))),
            };
            Lexical::LetterFrequency { letter, relation: relation_param(t, p, None)?, value: count_param(t, p, "value")? }
        }
        _ => return Ok(Kind::no_rule(rtype)),
    };
    Ok(Kind::Check(Check::Lexical(check)))
}

impl Lexical {
    pub(super) fn run(&self, s: &Subject, explain: bool) -> Outcome {
        match self {
            Lexical::Keywords { words } => {
                let lower = s.lower();
                let ok = words.iter().all(|w| lower.contains(w.as_str()));
                decide(ok, explain, || {
                    if ok {
                        format!("contains {words:?}")
                    } else {
                        format!("missing {:?}", words.iter().filter(|w| !lower.contains(w.as_str())).collect::<Vec<_>>())
                    }
                })
            }
            Lexical::KeywordFrequency { keyword, relation, value } => {
                let n = s.lower().matches(keyword.as_str()).count() as u64;
                decide(relation.holds(n, *value), explain, || {
                    format!("{keyword:?} {}, needs {}", plural(n, "time", "times"), relation.describe(*value))
                })
            }
            Lexical::Forbidden { words } => {
                let lower = s.lower();
                let ok = !words.iter().any(|w| contains_word(lower, w));
                decide(ok, explain, || {
                    if ok {
                        format!("none of {words:?}")
                    } else {
                        format!("uses {:?}", words.iter().filter(|w| contains_word(lower, w)).collect::<Vec<_>>())
                    }
                })
            }
            Lexical::LetterFrequency { letter, relation, value } => {
                let n = count_letter(s, *letter);
                decide(relation.holds(n, *value), explain, || {
                    format!("letter {letter:?} {}, needs {}", plural(n, "time", "times"), relation.describe(*value))
                })
            }
        }
    }

    /// A letter, or a keyword when the response has no `*`: lowercasing maps each character on
    /// its own (except `Σ`, whose final form depends on its neighbours: left out).
    pub(super) fn loose_cannot_pass(&self, s: &Subject, star: bool) -> bool {
        let sigma = |t: &str| t.contains(['σ', 'ς']);
        match self {
            Lexical::LetterFrequency { letter, relation, value } if !matches!(letter, 'σ' | 'ς') => {
                too_few(*relation, count_letter(s, *letter), *value)
            }
            Lexical::KeywordFrequency { keyword, relation, value } if !star && !sigma(keyword) => {
                too_few(*relation, s.lower().matches(keyword.as_str()).count() as u64, *value)
            }
            _ => false,
        }
    }
}

/// Occurrences of the (lowercase) `letter` in the lowercased text.
fn count_letter(s: &Subject, letter: char) -> u64 {
    let text = s.text();
    if letter.is_ascii() && text.is_ascii() {
        count_ascii_letter(text, letter as u8)
    } else {
        s.lower().chars().filter(|&c| c == letter).count() as u64
    }
}

/// Is there a `\b` at byte `pos` of `s` (Python's Unicode word boundary)?
fn word_boundary(s: &str, pos: usize) -> bool {
    let before = s[..pos].chars().next_back().is_some_and(text::is_word_char);
    let after = s[pos..].chars().next().is_some_and(text::is_word_char);
    before != after
}

/// Does `needle` occur in `hay` as `\bneedle\b`?
fn contains_word(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        if word_boundary(hay, start) && word_boundary(hay, end) {
            return true;
        }
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Occurrences of the ASCII `letter` (lowercase) in an ASCII text once lowercased, without the copy.
fn count_ascii_letter(text: &str, letter: u8) -> u64 {
    text.bytes().filter(|b| b.to_ascii_lowercase() == letter).count() as u64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::verify::test_support::{random_texts, strict};

    #[test]
    fn forbidden_words_are_whole_words() {
        assert!(strict("forbidden_words", json!({"words": ["bad"]}), "Badge is fine."));
        assert!(!strict("forbidden_words", json!({"words": ["bad"]}), "That is (BAD)."));
        assert!(contains_word("a_b bad", "bad") && !contains_word("a_bad", "bad"));
    }

    #[test]
    fn ascii_letters_are_counted_as_lowercased() {
        for t in random_texts(1, 20_000).into_iter().filter(|t| t.is_ascii()) {
            let lower = t.to_lowercase();
            for letter in [b'a', b's', b'p'] {
                assert_eq!(count_ascii_letter(&t, letter), lower.bytes().filter(|&b| b == letter).count() as u64);
            }
        }
    }
}
