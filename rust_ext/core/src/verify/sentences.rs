//! Sentence counting as IFEval does it: nltk's punkt sentence tokenizer with its English parameters,
//! reimplemented without nltk and without its data download.
//!
//! The algorithm is punkt's (nltk 3.9 `PunktSentenceTokenizer`): a potential sentence end is a `.`, `?` or
//! `!` followed by a punctuation mark of punkt's "non-word" set or by whitespace and a token; its context
//! (the word before, the mark, what follows) is split into punkt's word tokens, which go through the two
//! annotation passes; the text breaks there when a token of the context other than the last is a sentence
//! break; closing quotes and brackets after a break move to the sentence before it. The first pass marks
//! `?`, `!` and every word ending in `.` as a break, except abbreviations (punkt's 155 English ones:
//! `dr`, `mr`, `p.m`, `u.s`, `inc`, ...) and ellipses. The second pass: punkt's 37 English collocations
//! are never split; after an abbreviation or an ellipsis a capitalized word breaks if it is one of punkt's
//! 40 frequent sentence starters ("The", "However", "It", ...) or one of [`STARTS_WHEN_CAPITALIZED`]; a
//! number or a single-letter initial followed by a lowercase word or `;:,.!?` does not break.
//!
//! What differs from punkt: punkt decides the last two rules with a table of how each of 20,366 words
//! was seen capitalized in its training text (its "orthographic context"). Here a short list stands in
//! for the table where it says "capitalized, this word starts a sentence", every lowercase word counts as
//! "not a sentence start" (punkt's table says so for nearly all), and an initial followed by a capitalized
//! word breaks (punkt keeps "J. Bach" together because it never saw "bach" lowercase; in responses
//! outline letters, "A. Introduction", are the common case). And Chinese/Japanese text, which punkt does
//! not split at all: the text is first cut after each run of `。！？` (with the closing quotes or brackets
//! after it), and the pieces are counted one by one.
//!
//! Every line is not a sentence: a list item or a heading without final punctuation runs on into the
//! next line's sentence, as in punkt; "e.g." and "etc." end a sentence (punkt does not know them as
//! abbreviations).

/// punkt's English abbreviations (`punkt_tab/english/abbrev_types.txt`), without their final period.
const ABBREVIATIONS: &[&str] = &[
    "a.a", "a.c", "a.d", "a.g", "a.h", "a.m", "a.m.e", "a.s", "a.t", "adm", "ala", "ariz", "aug", "ave", "b.f", "b.v",
    "bros", "c", "c.i.t", "c.o.m.b", "c.v", "calif", "chg", "cie", "co", "col", "colo", "conn", "corp", "cos", "ct", "d",
    "d.c", "d.h", "d.w", "dec", "dr", "e", "e.f", "e.h", "e.l", "e.m", "f", "f.g", "f.j", "feb", "fla", "fri", "ft", "g",
    "g.d", "g.f", "g.k", "ga", "gen", "h", "h.c", "h.f", "h.m", "i.m.s", "ill", "inc", "j.b", "j.c", "j.j", "j.k", "j.p",
    "j.r", "jan", "jr", "k", "kan", "ky", "l", "l.a", "l.f", "l.p", "lt", "ltd", "m", "m.b.a", "m.d.c", "m.j", "maj",
    "messrs", "mg", "mich", "minn", "mr", "mrs", "ms", "n", "n.c", "n.d", "n.h", "n.j", "n.m", "n.v", "n.y", "nev", "nov",
    "oct", "ok", "okla", "ore", "p", "p.a.m", "p.m", "pa", "ph.d", "prof", "r", "r.a", "r.h", "r.i", "r.j", "r.k", "r.t",
    "rep", "reps", "s", "s.a", "s.a.y", "s.c", "s.g", "s.p.a", "s.s", "sen", "sep", "sept", "sr", "st", "sw", "t", "t.j",
    "tenn", "tues", "u.k", "u.n", "u.s", "u.s.a", "u.s.s.r", "v", "va", "vs", "vt", "w", "w.c", "w.r", "w.va", "w.w",
    "wash", "wed", "wis", "yr",
];

/// punkt's English collocations (`collocations.tab`): a word ending in `.` and the next word's type.
const COLLOCATIONS: &[(&str, &str)] = &[
    ("##number##", "abreast"), ("##number##", "aes"), ("##number##", "business"), ("##number##", "cbot"),
    ("##number##", "colgate"), ("##number##", "commodities"), ("##number##", "cooper"), ("##number##", "corrections"),
    ("##number##", "credit"), ("##number##", "dividend"), ("##number##", "financing"), ("##number##", "genentech"),
    ("##number##", "henley"), ("##number##", "insider"), ("##number##", "international"), ("##number##", "leisure"),
    ("##number##", "letters"), ("##number##", "notable"), ("##number##", "pay-fone"), ("##number##", "pegasus"),
    ("##number##", "pepper"), ("##number##", "review"), ("##number##", "rj"), ("##number##", "wedgestone"),
    ("##number##", "who"), ("##number##", "zimmer"), ("b", "edelman"), ("b", "levine"), ("b", "smith"),
    ("b", "stewart"), ("b", "wigton"), ("i", "magnin"), ("i", "toussie"), ("j", "aron"), ("j", "fialka"),
    ("j", "walter"), ("o", "ludcke"),
];

/// punkt's English frequent sentence starters (`sent_starters.txt`).
const SENTENCE_STARTERS: &[&str] = &[
    "according", "although", "among", "both", "but", "despite", "even", "he", "however", "i", "if", "in", "indeed",
    "instead", "it", "many", "meanwhile", "moreover", "most", "nevertheless", "nonetheless", "nor", "sales",
    "separately", "similarly", "since", "so", "some", "the", "there", "these", "they", "this", "though", "thus",
    "under", "when", "while", "yet",
];

/// Common words that punkt's orthographic table has seen lowercase and never capitalized inside a
/// sentence, so that capitalized after an abbreviation or an ellipsis they start a sentence (the
/// stand-in for the table; each checked against it).
pub const STARTS_WHEN_CAPITALIZED: &[&str] = &[
    "above", "accordingly", "almost", "already", "apparently", "besides", "certainly", "conclusion", "currently",
    "especially", "eventually", "finally", "furthermore", "hence", "her", "here", "ideally", "including", "indeed",
    "instead", "likewise", "moreover", "nevertheless", "nonetheless", "nor", "note", "okay", "otherwise", "overall",
    "particularly", "please", "previously", "recently", "remember", "sadly", "separately", "similarly", "so",
    "sometimes", "specifically", "still", "such", "surely", "therefore", "though", "thus", "tomorrow", "typically",
    "ultimately", "unfortunately", "which", "yes", "yesterday", "your",
];

/// Characters that end a punkt word and may follow a sentence end (`_re_non_word_chars`).
fn non_word(c: char) -> bool {
    matches!(c, ')' | '"' | ';' | '}' | ']' | '*' | ':' | '@' | '\'' | '(' | '{' | '[' | '?' | '!')
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
fn space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `string.whitespace`, which punkt uses to find the word before a sentence end.
fn ascii_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

fn cjk_terminal(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

fn closer(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '}' | '”' | '’' | '」' | '』' | '）' | '》' | '»')
}

/// The number of sentences IFEval's `count_sentences` (punkt) finds, by the rules above.
pub fn count_sentences(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut n, mut start, mut i) = (0, 0, 0);
    while i < chars.len() {
        if cjk_terminal(chars[i]) {
            let mut end = i + 1;
            while end < chars.len() && (cjk_terminal(chars[end]) || closer(chars[end])) {
                end += 1;
            }
            n += punkt_count(&chars[start..end]);
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    n + punkt_count(&chars[start..])
}

/// A potential sentence end: the mark at `at`, what follows it up to `after_end`, and where the next
/// token starts when whitespace follows.
struct Candidate {
    at: usize,
    after_end: usize,
    next_tok: Option<usize>,
}

fn candidates(t: &[char]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for i in 0..t.len() {
        if !matches!(t[i], '.' | '?' | '!') || i + 1 >= t.len() {
            continue;
        }
        let next = t[i + 1];
        if non_word(next) {
            out.push(Candidate { at: i, after_end: i + 2, next_tok: None });
        } else if space(next) {
            let mut j = i + 1;
            while j < t.len() && space(t[j]) {
                j += 1;
            }
            if j < t.len() {
                let mut k = j;
                while k < t.len() && !space(t[k]) {
                    k += 1;
                }
                out.push(Candidate { at: i, after_end: k, next_tok: Some(j) });
            }
        }
    }
    out
}

/// punkt's sentence count of a text with no CJK sentence end inside.
fn punkt_count(t: &[char]) -> usize {
    // punkt's `_match_potential_end_contexts`: a candidate whose word runs into the next candidate's
    // (no whitespace between) gives way to it; the context starts at the word before the candidate.
    let mut contexts: Vec<(Candidate, usize)> = Vec::new();
    let (mut prev_start, mut prev_stop) = (0usize, 0usize);
    let mut prev: Option<Candidate> = None;
    for c in candidates(t) {
        let before = &t[prev_stop..c.at];
        let last_space = before.iter().rposition(|&ch| ascii_space(ch)).unwrap_or(0);
        let start = if last_space != 0 { last_space + prev_stop + 1 } else { prev_start };
        if let Some(p) = prev.take() {
            if prev_stop <= start {
                contexts.push((p, prev_start));
            }
        }
        prev = Some(c);
        prev_start = start;
        prev_stop = prev.as_ref().map_or(0, |c| c.at);
    }
    if let Some(p) = prev {
        contexts.push((p, prev_start));
    }
    let mut slices: Vec<(usize, usize)> = Vec::new();
    let mut last_break = 0;
    for (c, start) in contexts {
        if contains_break(&t[start..c.after_end]) {
            slices.push((last_break, c.at + 1));
            last_break = c.next_tok.unwrap_or(c.at + 1);
        }
    }
    let end = t.iter().rposition(|&c| !space(c)).map_or(0, |i| i + 1);
    slices.push((last_break, end));
    // `_realign_boundaries`: closing quotes and brackets that start a sentence join the one before.
    let (mut n, mut realign) = (0, 0);
    for k in 0..slices.len() {
        let (a, b) = (slices[k].0 + realign, slices[k].1);
        realign = 0;
        if let Some(&(a2, b2)) = slices.get(k + 1) {
            if let Some(m) = realignment(&t[a2..b2]) {
                realign = m;
                n += 1;
                continue;
            }
        }
        n += (a < b) as usize;
    }
    n
}

/// `["')\]}]+?(?:\s+|(?=--)|$)` at the start of `s`: the length it matches.
fn realignment(s: &[char]) -> Option<usize> {
    let mut k = 0;
    while k < s.len() && matches!(s[k], '"' | '\'' | ')' | ']' | '}') {
        k += 1;
        if k == s.len() {
            return Some(k);
        }
        if space(s[k]) {
            let mut e = k;
            while e < s.len() && space(s[e]) {
                e += 1;
            }
            return Some(e);
        }
        if s[k] == '-' && s.get(k + 1) == Some(&'-') {
            return Some(k);
        }
    }
    None
}

/// punkt's multi-character punctuation at `p`: `-{2,}`, `\.{2,}` or `(?:\.\s){2,}\.`; its length.
fn multi_char(l: &[char], p: usize) -> Option<usize> {
    let run = |c: char| l[p..].iter().take_while(|&&x| x == c).count();
    if p >= l.len() {
        return None;
    }
    for c in ['-', '.'] {
        let r = run(c);
        if r >= 2 {
            return Some(r);
        }
    }
    let mut reps = 0;
    while p + 2 * reps + 1 < l.len() && l[p + 2 * reps] == '.' && space(l[p + 2 * reps + 1]) {
        reps += 1;
    }
    if reps >= 2 && l.get(p + 2 * reps) == Some(&'.') {
        Some(2 * reps + 1)
    } else if reps >= 3 {
        Some(2 * reps - 1)
    } else {
        None
    }
}

/// Where a punkt word may end: whitespace, the end, a non-word mark, multi-character punctuation, or
/// a comma that ends the word.
fn word_end(l: &[char], j: usize) -> bool {
    let plain = |j: usize| j >= l.len() || space(l[j]) || non_word(l[j]) || multi_char(l, j).is_some();
    plain(j) || (l[j] == ',' && plain(j + 1))
}

/// punkt's word tokenizer (`_word_tokenize_fmt`) on one line.
fn line_tokens(l: &[char], out: &mut Vec<String>) {
    let mut p = 0;
    while p < l.len() {
        if space(l[p]) {
            p += 1;
            continue;
        }
        let len = if let Some(m) = multi_char(l, p) {
            m
        } else if !matches!(l[p], '(' | '"' | '`' | '{' | '[' | ':' | ';' | '&' | '#' | '*' | '@' | ')' | '}' | ']' | '-' | ',') {
            let mut j = p + 1;
            while !word_end(l, j) {
                j += 1;
            }
            j - p
        } else {
            1
        };
        out.push(l[p..p + len].iter().collect());
        p += len;
    }
}

/// punkt's token type: lowercased, numbers as `##number##`.
fn token_type(tok: &str) -> String {
    let lower = tok.to_lowercase();
    let s = lower.strip_prefix('-').unwrap_or(&lower);
    let s = s.strip_prefix(['.', ',']).unwrap_or(s);
    let mut cs = s.chars();
    let numeric = cs.next().is_some_and(|c| c.is_ascii_digit()) && cs.all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-'));
    if numeric {
        "##number##".to_string()
    } else {
        lower
    }
}

fn without_period(typ: &str) -> &str {
    if typ.chars().count() > 1 {
        typ.strip_suffix('.').unwrap_or(typ)
    } else {
        typ
    }
}

/// A single letter (or `_`) and a period.
fn is_initial(tok: &str) -> bool {
    let mut cs = tok.chars();
    matches!((cs.next(), cs.next(), cs.next()), (Some(c), Some('.'), None) if (c.is_alphanumeric() || c == '_') && !c.is_ascii_digit())
}

#[derive(Clone, Copy, Default)]
struct Marks {
    sentbreak: bool,
    abbr: bool,
    ellipsis: bool,
}

/// punkt's orthographic heuristic on the token after a period: does it start a sentence? (`None`:
/// unknown.)
fn ortho(tok: &str, typ: &str) -> Option<bool> {
    if matches!(tok, ";" | ":" | "," | "." | "!" | "?") {
        return Some(false);
    }
    let first = tok.chars().next()?;
    if first.is_uppercase() && STARTS_WHEN_CAPITALIZED.contains(&typ) {
        return Some(true);
    }
    if first.is_lowercase() {
        return Some(false);
    }
    None
}

/// punkt's `text_contains_sentbreak`: a token of the context other than the last ends a sentence.
fn contains_break(context: &[char]) -> bool {
    let mut toks = Vec::new();
    for line in context.split(|&c| c == '\n') {
        if line.iter().any(|&c| !space(c)) {
            line_tokens(line, &mut toks);
        }
    }
    let mut marks: Vec<Marks> = toks
        .iter()
        .map(|tok| {
            if matches!(tok.as_str(), "." | "?" | "!") {
                Marks { sentbreak: true, ..Marks::default() }
            } else if tok.len() >= 2 && tok.bytes().all(|b| b == b'.') {
                Marks { ellipsis: true, ..Marks::default() }
            } else if tok.ends_with('.') && !tok.ends_with("..") {
                let base = tok[..tok.len() - 1].to_lowercase();
                let last = base.rsplit('-').next().unwrap_or("");
                let abbr = ABBREVIATIONS.contains(&base.as_str()) || ABBREVIATIONS.contains(&last);
                Marks { sentbreak: !abbr, abbr, ellipsis: false }
            } else {
                Marks::default()
            }
        })
        .collect();
    for i in 0..toks.len().saturating_sub(1) {
        let (tok, next) = (&toks[i], &toks[i + 1]);
        if !tok.ends_with('.') {
            continue;
        }
        let typ_full = token_type(tok);
        let typ = without_period(&typ_full);
        let next_full = token_type(next);
        let next_typ = if marks[i + 1].sentbreak { without_period(&next_full) } else { next_full.as_str() };
        let initial = is_initial(tok);
        if COLLOCATIONS.contains(&(typ, next_typ)) {
            marks[i].sentbreak = false;
            marks[i].abbr = true;
            continue;
        }
        if (marks[i].abbr || marks[i].ellipsis) && !initial {
            let upper = next.chars().next().is_some_and(char::is_uppercase);
            if ortho(next, next_typ) == Some(true) || (upper && SENTENCE_STARTERS.contains(&next_typ)) {
                marks[i].sentbreak = true;
                continue;
            }
        }
        if (initial || typ == "##number##") && ortho(next, next_typ) == Some(false) {
            marks[i].sentbreak = false;
            marks[i].abbr = true;
        }
    }
    marks.iter().take(marks.len().saturating_sub(1)).any(|m| m.sentbreak)
}

#[cfg(test)]
mod tests {
    use super::count_sentences;

    #[test]
    fn counts_like_punkt() {
        // (text, punkt's count: nltk 3.9.1 with its English punkt_tab parameters)
        let cases = [
            ("Dr. Smith arrived at noon. Mr. Jones left early.", 2),
            ("Use tools, e.g. hammers and saws. Then rest.", 3),
            ("It was 5 p.m. The shop was closed. We left at 6 p.m. and went home.", 3),
            ("He paused... Then he spoke. She waited... the end came.", 2),
            ("The answer is 42. the question is unknown.", 1),
            ("what?no way. What?! No way. Wow!!! Great.", 5),
            ("He said \"Stop!\" and left. She asked, \"Why?\" Nobody answered.", 4),
            ("- item one\n- item two\n- Item three.", 1),
            ("Roses are red\nViolets are blue", 1),
            ("i like it. i love it. yes.", 3),
            ("", 0),
            ("   \n ", 0),
            ("(A note in brackets.) Another sentence.", 2),
            ("\"Quoted.\"", 1),
        ];
        for (text, n) in cases {
            assert_eq!(count_sentences(text), n, "{text:?}");
        }
    }

    #[test]
    fn chinese_sentences_end_at_their_marks() {
        assert_eq!(count_sentences("你好。再见！真的吗？"), 3);
        assert_eq!(count_sentences("“你好。”他说。"), 2);
        assert_eq!(count_sentences("没有句号的一句话"), 1);
        assert_eq!(count_sentences("Mixed text. 中文句子。English again."), 3);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for t in [".", "...", ". . .", "!?!?", "--", "a.\n.b", "\u{1c}.\u{1c}x", "。", "”。」", "-- -- . . . x. Y"] {
            let _ = count_sentences(t);
        }
    }
}
