//! Unit tests of `expand`, in their own file: the pipeline's stages depend on `expand.rs`, not on its tests.

use super::*;
use crate::lexicon::compile;

fn words(ws: &str) -> Vec<String> {
    ws.split_whitespace().map(str::to_string).collect()
}

/// The macro's regex, anchored to match a whole string, as the engine compiles it.
fn whole(words: &[String], chars: &str, case_insensitive: bool) -> regex::Regex {
    let flag = if case_insensitive { "(?i)" } else { "" };
    compile(&format!("{flag}^{}$", word_except(words, chars).unwrap())).unwrap()
}

/// What the regex should accept: characters of the alphabet (under (?i), after Unicode simple
/// case folding, which maps the Kelvin sign to k and ſ to s), ending in an ASCII word
/// character (the boundary), and not an excluded word.
fn oracle(s: &str, excluded: &[String], alphabet: &[char], case_insensitive: bool) -> bool {
    let fold = |c: char| match c {
        '\u{212A}' if case_insensitive => 'k',
        '\u{17F}' if case_insensitive => 's',
        _ if case_insensitive => c.to_ascii_lowercase(),
        _ => c,
    };
    let folded: String = s.chars().map(fold).collect();
    !s.is_empty()
        && folded.chars().all(|c| alphabet.contains(&c))
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && !excluded.contains(&folded)
}

/// Every string up to `len` characters over `symbols`.
fn all_strings(symbols: &[char], len: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..len {
        layer = layer.iter().flat_map(|s| symbols.iter().map(move |c| format!("{s}{c}"))).collect();
        out.extend(layer.iter().cloned());
    }
    out
}

#[test]
fn accepts_exactly_the_words_that_are_not_excluded() {
    let excluded = words("a an and ant the then them in into it it's to");
    let chars = "a-z0-9_'-";
    let alphabet = class_chars(chars).unwrap();
    // The letters of the excluded words and their neighbours, a digit, the joiners, upper case,
    // non-ASCII letters (é, the Kelvin sign and ſ, which (?i) folds onto k and s).
    let symbols = ['a', 'n', 'd', 't', 'h', 'e', 'i', 'o', 'm', 'k', 's', '1', '_', '\'', '-', 'A', 'N', 'T', 'é', '\u{212A}', '\u{17F}'];
    let candidates = all_strings(&symbols, 4);
    assert!(candidates.len() > 200_000);
    for case_insensitive in [false, true] {
        let re = whole(&excluded, chars, case_insensitive);
        for s in &candidates {
            assert_eq!(re.is_match(s), oracle(s, &excluded, &alphabet, case_insensitive), "{s:?}, (?i) {case_insensitive}");
        }
    }
}

#[test]
fn prefixes_and_extensions_of_excluded_words_are_words() {
    let excluded = words("and the then");
    let re = whole(&excluded, "a-z0-9_-", true);
    for refused in ["and", "AND", "And", "the", "THE", "then", "Then"] {
        assert!(!re.is_match(refused), "{refused}");
    }
    for accepted in ["a", "an", "th", "andes", "andy", "thence", "them", "theme", "the-end", "and_", "x", "2nd"] {
        assert!(re.is_match(accepted), "{accepted}");
    }
    // Case-sensitive, capitals are not word characters at all.
    assert!(!whole(&excluded, "a-z0-9_-", false).is_match("Andes"));
}

#[test]
fn a_non_ascii_letter_ends_the_word() {
    // \b is an ASCII boundary: "café" is the word "caf" followed by a non-word character, and
    // an excluded word stays excluded whatever non-ASCII letter follows it.
    let excluded = words("and");
    let re = compile(&format!("(?i)^{}", word_except(&excluded, "a-z0-9_-").unwrap())).unwrap();
    assert_eq!(re.find("café").map(|m| m.as_str()), Some("caf"));
    assert_eq!(re.find("andé"), None);
    assert_eq!(re.find("andés"), None);
    assert_eq!(re.find("éclair"), None);
}

#[test]
fn the_expansion_is_the_trie_complement() {
    let got = word_except(&words("a an and as"), "a-z0-9_-").unwrap();
    assert_eq!(got, "(?:[0-9_b-z-][a-z0-9_-]*|a(?:[0-9_a-mo-rt-z-][a-z0-9_-]*|n(?:[0-9_a-ce-z-][a-z0-9_-]*|d[a-z0-9_-]+)|s[a-z0-9_-]+))\\b");
    // A prefix that is no excluded word ("ar" of "are") may end the word: its group is optional.
    assert!(word_except(&words("are"), "a-z").unwrap().contains("r(?:[a-df-z][a-z]*|e[a-z]+)?"));
}

#[test]
fn bad_word_lists_are_errors() {
    assert!(word_except(&words("Hello"), "a-z").unwrap_err().contains("'H'"));
    assert!(word_except(&words("don't"), "a-z").unwrap_err().contains("'\\''"));
    assert!(word_except(&[String::new()], "a-z").is_err());
    assert!(word_except(&words("a"), "a-z]").is_err());
    assert!(word_except(&words("a"), "z-a").is_err());
    assert!(word_except(&words("a"), "").is_err());
}

#[test]
fn classes_merge_runs_of_three_and_keep_the_dash_last() {
    let alphabet = class_chars("a-z0-9_'-").unwrap();
    let members: Vec<char> = alphabet.iter().copied().filter(|c| !"bcfhx".contains(*c)).collect();
    assert_eq!(render_class(&members, &alphabet), "[0-9_'adegi-wyz-]");
}

#[test]
fn one_of_puts_longer_entries_first() {
    let entries = words("a an one").into_iter().chain(["a couple".to_string(), "a couple of".to_string()]).collect::<Vec<_>>();
    let alternation = one_of(&entries);
    assert_eq!(alternation, "a\\s+couple\\s+of|a\\s+couple|one|an|a");
    let re = regex::Regex::new(&format!("^(?:{alternation})")).unwrap();
    assert_eq!(re.find("a couple of days").unwrap().as_str(), "a couple of");
    assert_eq!(one_of(&words("a.b c+")), "a\\.b|c\\+");
}

fn definitions() -> Definitions {
    let mut defs = Definitions::default();
    defs.fragments.insert("digit".into(), "[0-9]".into());
    defs.fragments.insert("number".into(), "{digit}+|{one_of:small}".into());
    defs.fragments.insert("loop".into(), "x{again}".into());
    defs.fragments.insert("again".into(), "{loop}".into());
    defs.word_lists.insert("small".into(), words("one two"));
    defs.except_lists.insert("stop".into(), ExceptList { chars: "a-z".into(), words: words("z") });
    defs
}

#[test]
fn templates_expand_fragments_lists_and_exceptions() {
    let defs = definitions();
    assert_eq!(defs.expand("(?:{number}){1,3} \\{x} [{]").unwrap(), "(?:[0-9]+|one|two){1,3} \\{x} [{]");
    assert_eq!(defs.expand("{word_except:stop}").unwrap(), "(?:[a-y][a-z]*|z[a-z]+)\\b");
    assert!(defs.expand("{nope}").unwrap_err().contains("unknown fragment {nope}"));
    assert!(defs.expand("{one_of:nope}").unwrap_err().contains("unknown word list"));
    assert!(defs.expand("{word_except:nope}").unwrap_err().contains("unknown exception list"));
    assert!(defs.expand("{loop}").unwrap_err().contains("contains itself"));
    assert!(defs.expand("{digit").unwrap_err().contains("unclosed"));
}

#[test]
fn multi_line_regexes_join_their_trimmed_lines() {
    assert_eq!(join_lines("\n  (?i)a b\n  |c\n"), "(?i)a b|c");
    assert_eq!(join_lines("one line "), "one line");
}
