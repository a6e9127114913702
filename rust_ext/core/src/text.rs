//! Segmentation shared by the parser, the dropper and the verifiers: an instruction becomes
//! sentences (with list items and their markers), and each sentence becomes clauses joined by
//! connectors. All offsets are byte offsets into the original text.

use crate::lexicon::{Lexicon, LEXICON};

/// A clause: `text[start..end]`, preceded by its connector `text[conn_start..start]`
/// (empty for the first clause of a sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    pub conn_start: usize,
    pub start: usize,
    pub end: usize,
}

/// A sentence: body `text[start..body_end]` split into clauses, then its terminal punctuation
/// `text[body_end..end]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub start: usize,
    pub body_end: usize,
    pub end: usize,
    pub clauses: Vec<Clause>,
    /// Index into `Document::items` when the sentence belongs to a list item.
    pub item: Option<usize>,
}

/// A list item: its marker `text[marker_start..marker_end]` ("1.", "-", "(2)") and the list it
/// belongs to. `number` is set for numbered markers, so dropping items can renumber the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub marker_start: usize,
    pub marker_end: usize,
    pub number: Option<u32>,
    pub list: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub sentences: Vec<Sentence>,
    pub items: Vec<Item>,
}

fn is_open_quote(c: char) -> Option<char> {
    match c {
        '"' => Some('"'),
        '“' => Some('”'),
        '‘' => Some('’'),
        '«' => Some('»'),
        '「' => Some('」'),
        '『' => Some('』'),
        '\'' => Some('\''),
        _ => None,
    }
}

/// Where a scanned character stands relative to quotes and brackets.
#[derive(PartialEq, Eq)]
enum Nest {
    /// Outside every quote and bracket, and not a quote or bracket itself.
    TopLevel,
    /// The character closed the open quote.
    QuoteClosed,
    /// Inside a quote or bracket, or an opening/closing quote or bracket.
    Inside,
}

/// Quote and bracket nesting while scanning: text inside them never splits a sentence or a
/// clause. An apostrophe inside a word ("don't") is not a quote; an unmatched closing bracket is
/// ignored.
#[derive(Default)]
struct Nesting {
    quote: Option<char>,
    depth: i32,
}

impl Nesting {
    fn is_top_level(&self) -> bool {
        self.quote.is_none() && self.depth == 0
    }

    /// Feed the character `c` at byte `pos` (`prev` is the character before it).
    fn feed(&mut self, text: &str, pos: usize, end: usize, c: char, prev: Option<char>) -> Nest {
        if let Some(close) = self.quote {
            if c == close && (c != '\'' || !next_is_alphanumeric(text, pos + c.len_utf8(), end)) {
                self.quote = None;
                return Nest::QuoteClosed;
            }
            return Nest::Inside;
        }
        if let Some(close) = is_open_quote(c) {
            if c != '\'' || !prev.is_some_and(|p| p.is_alphanumeric()) {
                self.quote = Some(close);
            }
            return Nest::Inside;
        }
        match c {
            '(' | '（' | '[' => {
                self.depth += 1;
                Nest::Inside
            }
            ')' | '）' | ']' if self.depth > 0 => {
                self.depth -= 1;
                Nest::Inside
            }
            _ if self.depth == 0 => Nest::TopLevel,
            _ => Nest::Inside,
        }
    }
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | ':' | '：')
}

fn is_cjk_terminal(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；')
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '»' | '」' | '』' | '）')
}

/// A list marker at `pos`: "1." "2)" "3、" "(4)" "（5）" at a line start, or "-", "*", "•" followed
/// by a space. Returns (marker end, number).
fn line_marker(text: &str, pos: usize) -> Option<(usize, Option<u32>)> {
    let rest = &text[pos..];
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    if matches!(first, '-' | '*' | '•' | '·') {
        let next = rest[first.len_utf8()..].chars().next()?;
        return (next == ' ' || next == '\t').then_some((pos + first.len_utf8(), None));
    }
    numbered_marker(text, pos, true)
}

/// A numbered marker at `pos`: digits then "." or ")" (or "、" at a line start), or a number in
/// parentheses, followed by whitespace.
fn numbered_marker(text: &str, pos: usize, line_start: bool) -> Option<(usize, Option<u32>)> {
    let rest = &text[pos..];
    let (open_len, digits_from) = if rest.starts_with('(') {
        (1, 1)
    } else if rest.starts_with('（') {
        (3, 3)
    } else {
        (0, 0)
    };
    if open_len > 0 && !line_start {
        return None;
    }
    let digits: &str = {
        let d = &rest[digits_from..];
        let n = d.bytes().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 3 {
            return None;
        }
        &d[..n]
    };
    let after = digits_from + digits.len();
    let close = rest[after..].chars().next()?;
    let ok = if open_len > 0 {
        (open_len == 1 && close == ')') || (open_len == 3 && close == '）')
    } else {
        close == '.' || close == ')' || (line_start && close == '、')
    };
    if !ok {
        return None;
    }
    let marker_end = after + close.len_utf8();
    let follow = rest[marker_end..].chars().next();
    let followed_by_space = matches!(follow, Some(' ') | Some('\t'));
    // "、" and "）" markers are followed directly by CJK text.
    if !(followed_by_space || (close != '.' && close != ')' && follow.is_some())) {
        return None;
    }
    Some((pos + marker_end, digits.parse().ok()))
}

fn skip_spaces(text: &str, mut pos: usize, end: usize) -> usize {
    while pos < end {
        let c = text[pos..].chars().next().unwrap();
        if !c.is_whitespace() {
            break;
        }
        pos += c.len_utf8();
    }
    pos
}

fn trim_end_pos(text: &str, start: usize, mut end: usize) -> usize {
    while end > start {
        let c = text[..end].chars().next_back().unwrap();
        if !c.is_whitespace() {
            break;
        }
        end -= c.len_utf8();
    }
    end
}

/// Is the '.' at `dot` the end of an abbreviation such as "e.g."?
fn is_abbreviation(lx: &Lexicon, text: &str, line_start: usize, dot: usize) -> bool {
    let before = &text[line_start..dot];
    let token_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '.'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let token = before[token_start..].to_lowercase();
    !token.is_empty() && lx.abbreviations.contains(&token)
}

/// Segment an instruction into sentences, list items and clauses.
pub fn segment(text: &str) -> Document {
    let lx = &*LEXICON;
    let mut doc = split_sentences(text);
    for s in &mut doc.sentences {
        s.clauses = split_clauses(lx, text, s.start, s.body_end);
    }
    doc
}

/// Sentences and list items only, without clause splitting: what the verifiers count in long
/// responses. Every sentence's `clauses` is empty.
pub fn split_sentences(text: &str) -> Document {
    let lx = &*LEXICON;
    let mut doc = Document::default();
    let mut list_count = 0usize;
    let mut in_list = false;
    let mut line_start = 0usize;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let content_end = trim_end_pos(text, line_start, line_end);
        let mut pos = skip_spaces(text, line_start, content_end);
        if pos < content_end {
            let mut current_item = None;
            let mut inline_next: Option<u32> = None;
            if let Some((marker_end, number)) = line_marker(text, pos) {
                if !in_list {
                    list_count += 1;
                    in_list = true;
                }
                doc.items.push(Item { marker_start: pos, marker_end, number, list: list_count - 1 });
                current_item = Some(doc.items.len() - 1);
                inline_next = None;
                pos = skip_spaces(text, marker_end, content_end);
            } else {
                in_list = false;
            }
            scan_line(lx, text, line_start, pos, content_end, &mut doc, &mut current_item, &mut inline_next, &mut list_count, &mut in_list);
        }
        line_start = line_end;
    }
    doc
}

/// Split one line's content into sentences, starting inline numbered lists where they appear.
#[allow(clippy::too_many_arguments)]
fn scan_line(
    lx: &Lexicon,
    text: &str,
    line_start: usize,
    mut pos: usize,
    end: usize,
    doc: &mut Document,
    current_item: &mut Option<usize>,
    inline_next: &mut Option<u32>,
    list_count: &mut usize,
    in_list: &mut bool,
) {
    let mut sent_start = pos;
    let mut nesting = Nesting::default();
    let mut prev: Option<char> = None;
    while pos < end {
        let c = text[pos..].chars().next().unwrap();
        let clen = c.len_utf8();
        // Inline numbered list: "...requirements: 1. ... 2. ..."
        if nesting.is_top_level() && c.is_ascii_digit() && prev.is_none_or(|p| p.is_whitespace()) {
            let expected = inline_next.unwrap_or(1);
            let prefix_ok = inline_next.is_some()
                || text[line_start..pos].trim_end().ends_with([':', '：']);
            if prefix_ok {
                if let Some((marker_end, Some(n))) = numbered_marker(text, pos, false) {
                    if n == expected {
                        push_sentence(doc, text, sent_start, pos, *current_item);
                        if inline_next.is_none() && !*in_list {
                            *list_count += 1;
                            *in_list = true;
                        }
                        doc.items.push(Item { marker_start: pos, marker_end, number: Some(n), list: *list_count - 1 });
                        *current_item = Some(doc.items.len() - 1);
                        *inline_next = Some(n + 1);
                        pos = skip_spaces(text, marker_end, end);
                        sent_start = pos;
                        nesting = Nesting::default();
                        prev = Some(' ');
                        continue;
                    }
                }
            }
        }
        let nest = nesting.feed(text, pos, end, c, prev);
        if nest == Nest::QuoteClosed {
            // A quote closing right after terminal punctuation ends the sentence when a
            // capitalized word follows: 'He said "Stop." Then ...'.
            if prev.is_some_and(|p| matches!(p, '.' | '!' | '?')) && followed_by_new_sentence(text, pos + clen, end) {
                push_sentence(doc, text, sent_start, pos + clen, *current_item);
                pos = skip_spaces(text, pos + clen, end);
                sent_start = pos;
                prev = Some(' ');
                continue;
            }
        } else if nest == Nest::TopLevel && is_terminal(c) {
            let mut term_end = pos + clen;
            while term_end < end {
                let n = text[term_end..].chars().next().unwrap();
                if is_terminal(n) || is_closer(n) {
                    term_end += n.len_utf8();
                } else {
                    break;
                }
            }
            let boundary = if is_cjk_terminal(c) {
                true
            } else if c == ':' || c == '：' {
                // A colon ends a sentence only when a list follows it on the next line.
                term_end >= end
            } else {
                let at_end = term_end >= end;
                let spaced = at_end || text[term_end..].starts_with(char::is_whitespace);
                spaced
                    && (at_end || followed_by_new_sentence(text, term_end, end))
                    && !(c == '.' && is_abbreviation(lx, text, line_start, pos))
            };
            if boundary {
                push_sentence(doc, text, sent_start, term_end, *current_item);
                pos = skip_spaces(text, term_end, end);
                sent_start = pos;
                prev = Some(' ');
                continue;
            }
        }
        prev = Some(c);
        pos += clen;
    }
    push_sentence(doc, text, sent_start, end, *current_item);
}

fn next_is_alphanumeric(text: &str, pos: usize, end: usize) -> bool {
    pos < end && text[pos..].chars().next().is_some_and(|c| c.is_alphanumeric())
}

/// After whitespace, does a new sentence start (not a lowercase continuation such as "P.S. at")?
fn followed_by_new_sentence(text: &str, pos: usize, end: usize) -> bool {
    let p = skip_spaces(text, pos, end);
    if p >= end {
        return true;
    }
    if p == pos {
        return false;
    }
    !text[p..].chars().next().is_some_and(|c| c.is_lowercase())
}

fn push_sentence(doc: &mut Document, text: &str, start: usize, end: usize, item: Option<usize>) {
    let end = trim_end_pos(text, start, end);
    if end <= start {
        return;
    }
    // Terminal punctuation (and closing quotes after it) is kept apart from the body.
    let mut body_end = end;
    while body_end > start {
        let c = text[..body_end].chars().next_back().unwrap();
        if is_terminal(c) {
            body_end -= c.len_utf8();
        } else {
            break;
        }
    }
    let body_end = trim_end_pos(text, start, body_end);
    doc.sentences.push(Sentence { start, body_end, end, clauses: Vec::new(), item });
}

/// Does a clause trigger (a requirement-opening word) start at `pos`?
fn trigger_at(lx: &Lexicon, text: &str, pos: usize, end: usize) -> bool {
    let rest = &text[pos..end];
    if !rest.as_bytes().first().is_some_and(|b| lx.trigger_first[b.to_ascii_lowercase() as usize]) {
        return false;
    }
    lx.clause_triggers.iter().any(|t| {
        let Some(head) = rest.get(..t.len()) else { return false };
        if !head.eq_ignore_ascii_case(t) {
            return false;
        }
        // ASCII triggers must end at a word boundary; CJK triggers need none.
        !t.is_ascii() || !rest[t.len()..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '\'')
    })
}

/// Length of a conjunction (plus following whitespace) at `pos`, if one is there.
fn conjunction_at(lx: &Lexicon, text: &str, pos: usize, end: usize) -> Option<usize> {
    let rest = &text[pos..end];
    if !lx.conjunction_first[rest.as_bytes().first()?.to_ascii_lowercase() as usize] {
        return None;
    }
    lx.clause_conjunctions.iter().find_map(|c| {
        let head = rest.get(..c.len())?;
        if !head.eq_ignore_ascii_case(c) {
            return None;
        }
        if c.is_ascii() {
            let after = &rest[c.len()..];
            let ws = after.len() - after.trim_start().len();
            (ws > 0).then_some(c.len() + ws)
        } else {
            Some(c.len())
        }
    })
}

/// Split a sentence body into clauses at ";" and at ",", "and", "but", "并且", ... when a clause
/// trigger follows, ignoring anything inside quotes or parentheses.
pub fn split_clauses(lx: &Lexicon, text: &str, start: usize, end: usize) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut clause_start = start;
    let mut conn_start = start;
    let mut nesting = Nesting::default();
    let mut prev: Option<char> = None;
    let mut pos = start;
    while pos < end {
        let c = text[pos..].chars().next().unwrap();
        let clen = c.len_utf8();
        if nesting.feed(text, pos, end, c, prev) == Nest::TopLevel && pos > clause_start {
            // Where would the next clause start if we split here?
            let next_start = if c == ';' {
                Some(skip_spaces(text, pos + clen, end))
            } else if matches!(c, ',' | '，' | '、') {
                let p = skip_spaces(text, pos + clen, end);
                let p = conjunction_at(lx, text, p, end).map_or(p, |n| skip_spaces(text, p + n, end));
                trigger_at(lx, text, p, end).then_some(p)
            } else if c.is_whitespace() || !c.is_ascii() {
                let p = if c.is_whitespace() { skip_spaces(text, pos, end) } else { pos };
                let boundary_ok = c.is_whitespace() || !prev.is_some_and(|p| p.is_ascii_alphanumeric());
                match conjunction_at(lx, text, p, end) {
                    Some(n) if boundary_ok => {
                        let q = skip_spaces(text, p + n, end);
                        trigger_at(lx, text, q, end).then_some(q)
                    }
                    _ => None,
                }
            } else {
                None
            };
            if let Some(next) = next_start {
                if next < end {
                    let clause_end = trim_end_pos(text, clause_start, pos);
                    if clause_end > clause_start {
                        clauses.push(Clause { conn_start, start: clause_start, end: clause_end });
                        conn_start = clause_end;
                        clause_start = next;
                        pos = next;
                        prev = Some(' ');
                        continue;
                    }
                }
            }
        }
        prev = Some(c);
        pos += clen;
    }
    let clause_end = trim_end_pos(text, clause_start, end);
    if clause_end > clause_start {
        clauses.push(Clause { conn_start, start: clause_start, end: clause_end });
    }
    clauses
}

/// A word character, as Python's `\w` sees it: alphanumeric or underscore.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Han ideographs and kana, which are written without spaces: each counts as a word of its own.
pub fn is_unspaced_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Words as byte spans: runs of word characters (`\w+`), except that each Han ideograph or kana
/// is a word by itself.
pub fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut iter = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = loop {
            let (i, c) = iter.next()?;
            if is_word_char(c) {
                break (i, c);
            }
        };
        if is_unspaced_cjk(first) {
            return Some((start, start + first.len_utf8()));
        }
        let mut end = start + first.len_utf8();
        while let Some(&(i, c)) = iter.peek() {
            if !is_word_char(c) || is_unspaced_cjk(c) {
                break;
            }
            end = i + c.len_utf8();
            iter.next();
        }
        Some((start, end))
    })
}

/// The number of words of [`word_spans`].
pub fn count_words(text: &str) -> usize {
    word_spans(text).count()
}

/// The number of sentences of [`split_sentences`] (list items and lines count as sentences).
pub fn count_sentences(text: &str) -> usize {
    split_sentences(text).sentences.len()
}

/// Is the text mostly CJK (Han, kana, hangul)?
pub fn is_mostly_cjk(text: &str) -> bool {
    if text.is_ascii() {
        return false;
    }
    let (mut cjk, mut letters) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_alphabetic() {
            letters += 1;
            if is_cjk(c) {
                cjk += 1;
            }
        }
    }
    letters > 0 && cjk * 2 >= letters
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

#[cfg(test)]
mod tests;
