//! The template language of the lexicon source (`rust_ext/core/lexicon/*.toml`): build.rs expands
//! every regex with it before the engine sees one; the unit tests below pin its behaviour.
//!
//! In a regex template:
//! - `{name}` is the fragment `name`, itself a template;
//! - `{one_of:list}` (`{one_of:list1,list2}`) is an alternation of the entries of word lists,
//!   longest first (a regex alternation takes the first alternative that matches, so "a couple of"
//!   must come before "a couple"), regex-escaped, with each space matching any whitespace (`\s+`);
//! - `{word_except:name}` is one whole word that is none of the words of the exception list
//!   `name` (see [`word_except`]).
//!
//! Any other `{` (a repetition such as `{0,3}`) is regex syntax and stays as written; a literal `{`
//! followed by a letter is written `\{`.

use std::collections::{BTreeMap, HashMap};

/// Words that `{word_except:...}` refuses, and the characters a word is made of.
pub struct ExceptList {
    /// A character-class body such as `a-z0-9_-`: single characters and `x-y` ranges.
    pub chars: String,
    pub words: Vec<String>,
}

/// Everything a template can refer to.
#[derive(Default)]
pub struct Definitions {
    pub fragments: HashMap<String, String>,
    pub word_lists: HashMap<String, Vec<String>>,
    pub except_lists: HashMap<String, ExceptList>,
}

impl Definitions {
    /// Expand every macro of `template`, recursively.
    pub fn expand(&self, template: &str) -> Result<String, String> {
        self.expand_within(template, &mut Vec::new())
    }

    /// `stack` holds the fragments being expanded, to report a fragment that contains itself.
    fn expand_within(&self, template: &str, stack: &mut Vec<String>) -> Result<String, String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(i) = rest.find(['\\', '{']) {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if rest[i..].starts_with('\\') {
                // An escape and the character it escapes are copied as they are.
                let escaped = after.chars().next().map_or(0, char::len_utf8);
                out.push_str(&rest[i..i + 1 + escaped]);
                rest = &after[escaped..];
                continue;
            }
            if !after.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                out.push('{');
                rest = after;
                continue;
            }
            let end = after.find('}').ok_or_else(|| format!("unclosed {{ in {:?}", &rest[i..]))?;
            out.push_str(&self.expand_macro(&after[..end], stack)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn expand_macro(&self, call: &str, stack: &mut Vec<String>) -> Result<String, String> {
        if let Some(lists) = call.strip_prefix("one_of:") {
            return Ok(one_of(&self.list_entries(lists)?));
        }
        if let Some(name) = call.strip_prefix("word_except:") {
            let list = self.except_lists.get(name.trim()).ok_or_else(|| format!("unknown exception list {{{call}}}"))?;
            return word_except(&list.words, &list.chars).map_err(|e| format!("{{{call}}}: {e}"));
        }
        let fragment = self.fragments.get(call).ok_or_else(|| format!("unknown fragment {{{call}}}"))?;
        if stack.iter().any(|f| f == call) {
            return Err(format!("fragment {{{call}}} contains itself (through {})", stack.join(" → ")));
        }
        stack.push(call.to_string());
        let expanded = self.expand_within(fragment, stack);
        stack.pop();
        expanded.map_err(|e| format!("in fragment {{{call}}}: {e}"))
    }

    /// The entries of comma-separated word lists, in order: what `{one_of:...}` draws on, and
    /// what an anchor `{one_of:...}` stands for.
    pub fn list_entries(&self, lists: &str) -> Result<Vec<String>, String> {
        let mut entries = Vec::new();
        for name in lists.split(',').map(str::trim) {
            let list = self.word_lists.get(name).ok_or_else(|| format!("unknown word list {name:?}"))?;
            entries.extend(list.iter().cloned());
        }
        Ok(entries)
    }
}

/// A multi-line regex as written in the source: every line trimmed, the lines joined. A break
/// therefore goes where no space is meant.
pub fn join_lines(regex: &str) -> String {
    regex.lines().map(str::trim).collect()
}

/// An alternation of `entries`, longest first (ties in byte order), regex-escaped, spaces
/// matching any whitespace.
pub fn one_of(entries: &[String]) -> String {
    let mut sorted: Vec<&String> = entries.iter().collect();
    sorted.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    sorted.dedup();
    let escaped: Vec<String> =
        sorted.iter().map(|e| e.split_whitespace().map(regex::escape).collect::<Vec<_>>().join("\\s+")).collect();
    escaped.join("|")
}

/// One trie node of the excluded words.
#[derive(Default)]
struct Node {
    /// An excluded word ends here.
    ends_word: bool,
    children: BTreeMap<char, Node>,
}

/// The regex of one whole word that is not one of `words`: a run of the characters of `chars` (a
/// class body such as `a-z0-9_-`) ending at a word boundary. The regex engine has no look-around,
/// so the complement is spelled out over a trie of the words: at each node the word either leaves
/// the trie (a character no excluded word has there, then any word characters) or follows one of
/// its branches; where an excluded word ends, at least one more character must follow. The final
/// `\b` keeps a prefix of an excluded word ("th" of "the") from matching inside it.
///
/// Case follows the pattern: under `(?i)` "And" is excluded like "and".
pub fn word_except(words: &[String], chars: &str) -> Result<String, String> {
    let alphabet = class_chars(chars)?;
    let mut root = Node::default();
    for word in words {
        if word.is_empty() {
            return Err("an empty word".into());
        }
        let mut node = &mut root;
        for c in word.chars() {
            if !alphabet.contains(&c) {
                return Err(format!("{word:?} has {c:?}, which is not one of the word characters [{chars}]"));
            }
            node = node.children.entry(c).or_default();
        }
        node.ends_word = true;
    }
    let tail = format!("[{chars}]");
    Ok(format!("(?:{})\\b", alternatives(&root, &alphabet, &tail).join("|")))
}

/// The ways a word can go on from `node`.
fn alternatives(node: &Node, alphabet: &[char], tail: &str) -> Vec<String> {
    let leaving: Vec<char> = alphabet.iter().copied().filter(|c| !node.children.contains_key(c)).collect();
    let mut out = Vec::new();
    if !leaving.is_empty() {
        out.push(format!("{}{tail}*", render_class(&leaving, alphabet)));
    }
    for (&c, child) in &node.children {
        let step = regex::escape(&c.to_string());
        if child.children.is_empty() {
            // Only excluded words end here: something must follow.
            out.push(format!("{step}{tail}+"));
        } else {
            let optional = if child.ends_word { "" } else { "?" };
            out.push(format!("{step}(?:{}){optional}", alternatives(child, alphabet, tail).join("|")));
        }
    }
    out
}

/// The characters of a class body (`a-z0-9_-`: characters and `x-y` ranges, `-` last), in order.
/// Only characters that need no escape inside a class are accepted.
fn class_chars(body: &str) -> Result<Vec<char>, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !(c.is_ascii_alphanumeric() || c == '_' || c == '\'' || (c == '-' && i == chars.len() - 1)) {
            return Err(format!("word characters [{body}]: {c:?} is not allowed (letters, digits, _ and ', a - last)"));
        }
        if i + 2 < chars.len() && chars[i + 1] == '-' {
            let hi = chars[i + 2];
            if hi < c || !hi.is_ascii_alphanumeric() {
                return Err(format!("word characters [{body}]: bad range {c}-{hi}"));
            }
            out.extend(c..=hi);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    if out.is_empty() {
        return Err("no word characters".into());
    }
    Ok(out)
}

/// A class of `members` (a subset of `alphabet`): the non-letters in the alphabet's order, then
/// the letters a-z (runs of three or more as ranges), then `-`, last so that it is literal.
fn render_class(members: &[char], alphabet: &[char]) -> String {
    let is_letter = |c: &char| c.is_ascii_lowercase();
    let mut ordered: Vec<char> = alphabet.iter().copied().filter(|c| members.contains(c) && !is_letter(c) && *c != '-').collect();
    let mut letters: Vec<char> = members.iter().copied().filter(is_letter).collect();
    letters.sort_unstable();
    ordered.extend(letters);
    let mut body = String::new();
    let mut i = 0;
    while i < ordered.len() {
        let mut j = i;
        while j + 1 < ordered.len() && ordered[j + 1] as u32 == ordered[j] as u32 + 1 {
            j += 1;
        }
        if j - i >= 2 {
            body.extend([ordered[i], '-', ordered[j]]);
        } else {
            body.extend(&ordered[i..=j]);
        }
        i = j + 1;
    }
    if members.contains(&'-') {
        body.push('-');
    }
    format!("[{body}]")
}

#[cfg(test)]
mod tests;
