//! Rule verifiers: does a response follow a requirement?
//!
//! A [`Verifier`] is built once from a requirement's type and normalized parameters (bad
//! parameters are an error then, not a wrong verdict later) and checks any number of responses.
//! Each check returns whether the requirement is followed and a short reason ("412 words,
//! needs ≥ 500").
//!
//! The semantics follow IFEval's `instructions.py` for its 25 instruction ids (see
//! `docs/verify.md` for every place where they differ, and why): [`verify`] gives the strict
//! verdict (the response as is; an empty response follows nothing) and the loose one (also
//! accepted: the response without markdown `*`, without its first and/or last line, or both).
//! Sentences and words are counted by [`crate::text`], the splitter the parser uses.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::model::Params;
use crate::taxonomy::type_info;
use crate::text;

/// Counts in parameters above this are rejected as absurd.
pub const MAX_COUNT: u64 = 1_000_000_000;

/// Language detection reads at most this many characters of a text (its beginning): whatlang's
/// answer on the first 2,000 characters is the answer on the whole text for 98% of texts of
/// 1,200–6,000 characters, at half the cost or less (see `docs/verify.md`). The Python
/// reference applies the same cap.
pub const LANGUAGE_SAMPLE_CHARS: usize = 2_000;

/// IFEval's default options for `detectable_format:constrained_response`.
pub const DEFAULT_OPTIONS: [&str; 3] = ["My answer is yes.", "My answer is no.", "My answer is maybe."];

/// The names of the eight loose variants, in IFEval's order.
pub const LOOSE_VARIANTS: [&str; 8] = [
    "original",
    "no_asterisks",
    "without_first_line",
    "without_last_line",
    "without_first_and_last_lines",
    "no_asterisks_without_first_line",
    "no_asterisks_without_last_line",
    "no_asterisks_without_first_and_last_lines",
];

fn invalid(msg: String) -> CoreError {
    CoreError::InvalidRequirements(msg)
}

// ---------------------------------------------------------------------------------------------
// Relations and units

/// How a measured count compares with the required value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    AtLeast,
    AtMost,
    Exactly,
    LessThan,
    MoreThan,
    /// Within ±10% of the value, bounds included.
    About,
}

impl Relation {
    /// Canonical names ("at_least") and IFEval's ("at least", "less than").
    pub fn parse(s: &str) -> Option<Relation> {
        let norm = s.trim().to_lowercase().replace([' ', '-'], "_");
        Some(match norm.as_str() {
            "at_least" | ">=" | "≥" => Relation::AtLeast,
            "at_most" | "<=" | "≤" => Relation::AtMost,
            "exactly" | "=" | "==" => Relation::Exactly,
            "less_than" | "<" | "fewer_than" => Relation::LessThan,
            "more_than" | ">" | "greater_than" => Relation::MoreThan,
            "about" | "approximately" | "around" | "≈" => Relation::About,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::AtLeast => "at_least",
            Relation::AtMost => "at_most",
            Relation::Exactly => "exactly",
            Relation::LessThan => "less_than",
            Relation::MoreThan => "more_than",
            Relation::About => "about",
        }
    }

    /// Does `n` stand in this relation to `v`? "less_than" is strict.
    pub fn holds(self, n: u64, v: u64) -> bool {
        match self {
            Relation::AtLeast => n >= v,
            Relation::AtMost => n <= v,
            Relation::Exactly => n == v,
            Relation::LessThan => n < v,
            Relation::MoreThan => n > v,
            Relation::About => {
                let (n, v) = (n as u128, v as u128);
                10 * n >= 9 * v && 10 * n <= 11 * v
            }
        }
    }

    /// "≥ 500", "exactly 3", "about 200 (±10%)".
    pub fn describe(self, v: u64) -> String {
        match self {
            Relation::AtLeast => format!("≥ {v}"),
            Relation::AtMost => format!("≤ {v}"),
            Relation::Exactly => format!("exactly {v}"),
            Relation::LessThan => format!("< {v}"),
            Relation::MoreThan => format!("> {v}"),
            Relation::About => format!("about {v} (±10%)"),
        }
    }
}

/// What a length requirement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Words,
    Sentences,
    Paragraphs,
    Chars,
}

/// How paragraphs are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParagraphSplit {
    /// IFEval's `number_paragraphs`: markdown dividers `***`.
    Divider,
    /// Blank lines.
    BlankLine,
    /// Dividers when the response has a `***`, blank lines otherwise.
    Auto,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---------------------------------------------------------------------------------------------
// Parameter readers

fn param<'a>(rtype: &str, params: &'a Params, name: &str) -> Result<&'a Value> {
    match params.get(name) {
        None | Some(Value::Null) => Err(invalid(format!("{rtype}: missing parameter {name:?}"))),
        Some(v) => Ok(v),
    }
}

fn count_param(rtype: &str, params: &Params, name: &str) -> Result<u64> {
    let v = param(rtype, params, name)?;
    let n = v
        .as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e18).map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<i64>().ok()));
    match n {
        Some(n) if n < 0 => Err(invalid(format!("{rtype}: {name} = {n} is negative"))),
        Some(n) if n as u64 > MAX_COUNT => Err(invalid(format!("{rtype}: {name} = {n} is absurdly large"))),
        Some(n) => Ok(n as u64),
        None => Err(invalid(format!("{rtype}: {name} = {v} is not a whole number"))),
    }
}

fn str_param<'a>(rtype: &str, params: &'a Params, name: &str) -> Result<&'a str> {
    let v = param(rtype, params, name)?;
    let s = v.as_str().ok_or_else(|| invalid(format!("{rtype}: {name} = {v} is not a string")))?;
    if s.trim().is_empty() {
        return Err(invalid(format!("{rtype}: {name} is empty")));
    }
    Ok(s)
}

fn relation_param(rtype: &str, params: &Params, default: Option<Relation>) -> Result<Relation> {
    match params.get("relation") {
        None | Some(Value::Null) => {
            default.ok_or_else(|| invalid(format!("{rtype}: missing parameter \"relation\"")))
        }
        Some(Value::String(s)) => {
            Relation::parse(s).ok_or_else(|| invalid(format!("{rtype}: unknown relation {s:?}")))
        }
        Some(other) => Err(invalid(format!("{rtype}: relation {other} is not a string"))),
    }
}

/// A list of non-empty strings; a single string is a list of one.
fn list_param(rtype: &str, params: &Params, name: &str) -> Result<Vec<String>> {
    let v = param(rtype, params, name)?;
    let items: Vec<String> = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| invalid(format!("{rtype}: {name} item {x} is not a string"))))
            .collect::<Result<_>>()?,
        other => return Err(invalid(format!("{rtype}: {name} = {other} is not a list of strings"))),
    };
    if items.is_empty() {
        return Err(invalid(format!("{rtype}: {name} is an empty list")));
    }
    if items.iter().any(|s| s.trim().is_empty()) {
        return Err(invalid(format!("{rtype}: {name} holds an empty string")));
    }
    Ok(items)
}

// ---------------------------------------------------------------------------------------------
// Languages

/// whatlang's languages as (ISO 639-3 used by whatlang, ISO 639-1, English name).
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("epo", "eo", "Esperanto"), ("eng", "en", "English"), ("rus", "ru", "Russian"), ("cmn", "zh", "Chinese"),
    ("spa", "es", "Spanish"), ("por", "pt", "Portuguese"), ("ita", "it", "Italian"), ("ben", "bn", "Bengali"),
    ("fra", "fr", "French"), ("deu", "de", "German"), ("ukr", "uk", "Ukrainian"), ("kat", "ka", "Georgian"),
    ("ara", "ar", "Arabic"), ("hin", "hi", "Hindi"), ("jpn", "ja", "Japanese"), ("heb", "he", "Hebrew"),
    ("yid", "yi", "Yiddish"), ("pol", "pl", "Polish"), ("amh", "am", "Amharic"), ("jav", "jv", "Javanese"),
    ("kor", "ko", "Korean"), ("nob", "no", "Norwegian"), ("dan", "da", "Danish"), ("swe", "sv", "Swedish"),
    ("fin", "fi", "Finnish"), ("tur", "tr", "Turkish"), ("nld", "nl", "Dutch"), ("hun", "hu", "Hungarian"),
    ("ces", "cs", "Czech"), ("ell", "el", "Greek"), ("bul", "bg", "Bulgarian"), ("bel", "be", "Belarusian"),
    ("mar", "mr", "Marathi"), ("kan", "kn", "Kannada"), ("ron", "ro", "Romanian"), ("slv", "sl", "Slovenian"),
    ("hrv", "hr", "Croatian"), ("srp", "sr", "Serbian"), ("mkd", "mk", "Macedonian"), ("lit", "lt", "Lithuanian"),
    ("lav", "lv", "Latvian"), ("est", "et", "Estonian"), ("tam", "ta", "Tamil"), ("vie", "vi", "Vietnamese"),
    ("urd", "ur", "Urdu"), ("tha", "th", "Thai"), ("guj", "gu", "Gujarati"), ("uzb", "uz", "Uzbek"),
    ("pan", "pa", "Punjabi"), ("aze", "az", "Azerbaijani"), ("ind", "id", "Indonesian"), ("tel", "te", "Telugu"),
    ("pes", "fa", "Persian"), ("mal", "ml", "Malayalam"), ("ori", "or", "Odia"), ("mya", "my", "Burmese"),
    ("nep", "ne", "Nepali"), ("sin", "si", "Sinhala"), ("khm", "km", "Khmer"), ("tuk", "tk", "Turkmen"),
    ("aka", "ak", "Akan"), ("zul", "zu", "Zulu"), ("sna", "sn", "Shona"), ("afr", "af", "Afrikaans"),
    ("lat", "la", "Latin"), ("slk", "sk", "Slovak"), ("cat", "ca", "Catalan"), ("tgl", "tl", "Tagalog"),
    ("hye", "hy", "Armenian"), ("cym", "cy", "Welsh"),
];

/// Other spellings of the codes above.
const LANGUAGE_ALIASES: &[(&str, &str)] =
    &[("nb", "no"), ("nn", "no"), ("iw", "he"), ("in", "id"), ("fil", "tl"), ("ji", "yi"), ("zh_cn", "zh"), ("zh_tw", "zh")];

/// Normalize a language code ("EN", "zh-CN", "nb") to the ISO 639-1 code the detector reports.
pub fn normalize_language(code: &str) -> String {
    let c = code.trim().to_lowercase().replace('-', "_");
    if let Some((_, to)) = LANGUAGE_ALIASES.iter().find(|(from, _)| *from == c) {
        return to.to_string();
    }
    let base = c.split('_').next().unwrap_or("").to_string();
    LANGUAGE_ALIASES.iter().find(|(from, _)| *from == base).map(|(_, to)| to.to_string()).unwrap_or(base)
}

/// The detector knows this ISO 639-1 code.
pub fn language_supported(code: &str) -> bool {
    LANGUAGES.iter().any(|(_, c, _)| *c == code)
}

fn language_name(code: &str) -> &str {
    LANGUAGES.iter().find(|(_, c, _)| *c == code).map(|(_, _, n)| *n).unwrap_or(code)
}

/// Detect the language of a text (its first [`LANGUAGE_SAMPLE_CHARS`] characters) with whatlang,
/// as an ISO 639-1 code; `None` when the text has no letters to go by. Deterministic.
pub fn detect_language(text: &str) -> Option<&'static str> {
    detect_sample(language_sample(text))
}

/// The first [`LANGUAGE_SAMPLE_CHARS`] characters of a text: what the detector reads.
pub fn language_sample(text: &str) -> &str {
    let n = LANGUAGE_SAMPLE_CHARS;
    if text.len() <= n {
        return text;
    }
    if text.as_bytes()[..n].is_ascii() {
        return &text[..n];
    }
    match text.char_indices().nth(n) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn detect_sample(sample: &str) -> Option<&'static str> {
    let info = whatlang::detect(sample)?;
    let code3 = info.lang().code();
    LANGUAGES.iter().find(|(c3, _, _)| *c3 == code3).map(|(_, c1, _)| *c1)
}

/// Distinct samples whose language a thread keeps, before it forgets them all.
const LANGUAGE_CACHE_ENTRIES: usize = 256;

thread_local! {
    /// Sample → detected language, per thread: the strict text and the loose variants of a
    /// response often share their sample, and so do rows that repeat a response.
    static LANGUAGE_CACHE: RefCell<HashMap<Box<str>, Option<&'static str>>> = RefCell::new(HashMap::new());
}

/// Forget the calling thread's detected samples (a batch starts with an empty cache, so that
/// what it costs does not depend on what ran before it on the thread).
pub fn forget_languages() {
    LANGUAGE_CACHE.with(|cache| cache.borrow_mut().clear());
}

/// [`detect_sample`], detected once per distinct sample (the detector is deterministic).
fn detect_cached(sample: &str) -> Option<&'static str> {
    LANGUAGE_CACHE.with(|cache| {
        if let Some(found) = cache.borrow().get(sample) {
            return *found;
        }
        let found = detect_sample(sample);
        let mut cache = cache.borrow_mut();
        if cache.len() >= LANGUAGE_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(sample.into(), found);
        found
    })
}

// ---------------------------------------------------------------------------------------------
// Compiled checks

/// IFEval's `p\.\s?s\.` and `p\.\s?p\.\s?s` on the lowercased response, matched on the response
/// itself: only `P` lowercases to `p` and only `S` to `s`, and no character lowercases to `.` or a
/// space (see the test `postscript_patterns_need_no_lowercased_copy`).
static PS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[pP]\.\s?[sS]\.").unwrap());
static PPS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[pP]\.\s?[pP]\.\s?[sS]").unwrap());

#[derive(Debug, Clone)]
enum PostscriptMarker {
    /// "P.S.": `p\.\s?s\.` anywhere in the lowercased response, as IFEval.
    Ps,
    /// "P.P.S": `p\.\s?p\.\s?s`.
    Pps,
    /// Any other marker, lowercased, found literally.
    Literal(String),
}

#[derive(Debug, Clone)]
enum Check {
    Length { unit: Unit, relation: Relation, value: u64, split: ParagraphSplit },
    BulletPoints { relation: Relation, value: u64 },
    Highlights { relation: Relation, value: u64 },
    Sections { splitter: String, case_insensitive: bool, relation: Relation, value: u64 },
    ParagraphFirstWord { num: Option<u64>, nth: u64, word: String },
    Json,
    Title,
    Constrained { options: Vec<String> },
    TwoResponses,
    Keywords { words: Vec<String> },
    KeywordFrequency { keyword: String, relation: Relation, value: u64 },
    Forbidden { words: Vec<String> },
    LetterFrequency { letter: char, relation: Relation, value: u64 },
    Lowercase,
    Uppercase,
    CapitalWords { relation: Relation, value: u64 },
    NoCommas,
    Quotation,
    Language { code: String },
    StartPhrase { phrase: String },
    EndPhrase { phrase: String },
    Postscript { marker: PostscriptMarker, shown: String },
    Placeholders { relation: Relation, value: u64 },
    RepeatPrompt { prompt: String },
}

#[derive(Debug, Clone)]
enum Kind {
    Check(Check),
    /// The type (or this instance of it) has no rule; the reason says why.
    NotVerifiable(String),
    /// The requirement is malformed (a missing or absurd parameter); the reason says how.
    Invalid(String),
}

/// A requirement compiled for checking.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub rtype: String,
    kind: Kind,
}

/// The result of checking one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub followed: bool,
    pub reason: String,
}

fn outcome(followed: bool, reason: String) -> Outcome {
    Outcome { followed, reason }
}

/// Whether a requirement was followed, by the strict and the loose rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Followed,
    Violated,
    NotVerifiable,
    /// The requirement itself is malformed, so nothing was checked.
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Followed => "followed",
            Status::Violated => "violated",
            Status::NotVerifiable => "not_verifiable",
            Status::Invalid => "invalid",
        }
    }
}

/// The verdict on one requirement: `status` follows the strict rule; `strict` and `loose` are
/// `None` for a requirement no rule can verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub status: Status,
    pub strict: Option<bool>,
    pub loose: Option<bool>,
    /// The first loose variant that passed (see [`LOOSE_VARIANTS`]), when `loose` is true.
    pub loose_variant: Option<&'static str>,
    pub reason: String,
}

impl Verdict {
    /// The verdict on a requirement no rule checked: no strict or loose result, only the reason.
    fn unchecked(status: Status, why: &str) -> Verdict {
        Verdict { status, strict: None, loose: None, loose_variant: None, reason: why.to_string() }
    }
}

impl Verifier {
    /// Compile a requirement. Unknown types and missing or absurd parameters are errors;
    /// requirement types without a rule (tone, audience, ...) give a verifier that reports
    /// "not verifiable".
    pub fn new(rtype: &str, params: &Params) -> Result<Verifier> {
        let info = type_info(rtype).ok_or_else(|| invalid(format!("unknown requirement type {rtype:?}")))?;
        let kind = if !info.verifiable {
            Kind::NotVerifiable(format!("{rtype} is not verifiable by a rule"))
        } else {
            Self::compile(rtype, params)?
        };
        Ok(Verifier { rtype: rtype.to_string(), kind })
    }

    /// Compile a requirement of a dataset row: a malformed one gives a verifier whose verdict is
    /// `invalid` with the reason, so the row's other requirements are still verified.
    pub fn new_or_invalid(rtype: &str, params: &Params) -> Verifier {
        Verifier::new(rtype, params)
            .unwrap_or_else(|e| Verifier { rtype: rtype.to_string(), kind: Kind::Invalid(e.to_string()) })
    }

    fn compile(rtype: &str, p: &Params) -> Result<Kind> {
        let t = rtype;
        let check = match rtype {
            "length" => {
                let unit = match str_param(t, p, "unit")?.trim().to_lowercase().as_str() {
                    "words" | "word" => Unit::Words,
                    "sentences" | "sentence" => Unit::Sentences,
                    "paragraphs" | "paragraph" => Unit::Paragraphs,
                    "chars" | "characters" | "char" | "character" => Unit::Chars,
                    other => return Err(invalid(format!("length: unknown unit {other:?}"))),
                };
                let split = match p.get("separator").and_then(Value::as_str) {
                    None => ParagraphSplit::Auto,
                    Some("***") => ParagraphSplit::Divider,
                    Some("blank_line") | Some("\n\n") => ParagraphSplit::BlankLine,
                    Some(other) => return Err(invalid(format!("length: unknown paragraph separator {other:?}"))),
                };
                Check::Length { unit, relation: relation_param(t, p, None)?, value: count_param(t, p, "value")?, split }
            }
            "bullet_points" => Check::BulletPoints {
                relation: relation_param(t, p, Some(Relation::Exactly))?,
                value: count_param(t, p, "value")?,
            },
            "highlighted_sections" => Check::Highlights {
                relation: relation_param(t, p, Some(Relation::AtLeast))?,
                value: count_param(t, p, "value")?,
            },
            "placeholders" => Check::Placeholders {
                relation: relation_param(t, p, Some(Relation::AtLeast))?,
                value: count_param(t, p, "value")?,
            },
            "sections" => {
                let (splitter, case_insensitive) = match p.get("splitter") {
                    None | Some(Value::Null) => ("section".to_string(), true),
                    Some(_) => (str_param(t, p, "splitter")?.trim().to_string(), false),
                };
                Check::Sections {
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
                Check::ParagraphFirstWord { num, nth, word }
            }
            "json_format" => Check::Json,
            "title" => Check::Title,
            "constrained_response" => {
                let options = match p.get("options") {
                    None | Some(Value::Null) => DEFAULT_OPTIONS.iter().map(|s| s.to_string()).collect(),
                    Some(_) => list_param(t, p, "options")?,
                };
                Check::Constrained { options }
            }
            "two_responses" => Check::TwoResponses,
            "keywords" => Check::Keywords {
                words: list_param(t, p, "keywords")?.iter().map(|w| w.trim().to_lowercase()).collect(),
            },
            "keyword_frequency" => Check::KeywordFrequency {
                keyword: str_param(t, p, "keyword")?.trim().to_lowercase(),
                relation: relation_param(t, p, None)?,
                value: count_param(t, p, "value")?,
            },
            "forbidden_words" => Check::Forbidden {
                words: list_param(t, p, "words")?.iter().map(|w| w.trim().to_lowercase()).collect(),
            },
            "letter_frequency" => {
                let s = str_param(t, p, "letter")?.trim().to_lowercase();
                let mut chars = s.chars();
                let letter = match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_alphabetic() => c,
                    _ => return Err(invalid(format!("letter_frequency: {s:?} is not a single letter"))),
                };
                Check::LetterFrequency { letter, relation: relation_param(t, p, None)?, value: count_param(t, p, "value")? }
            }
            "lowercase" => Check::Lowercase,
            "uppercase" => Check::Uppercase,
            "capital_word_frequency" => Check::CapitalWords {
                relation: relation_param(t, p, None)?,
                value: count_param(t, p, "value")?,
            },
            "no_commas" => Check::NoCommas,
            "quotation" => Check::Quotation,
            "response_language" => {
                let raw = str_param(t, p, "language")?;
                let code = normalize_language(raw);
                if !(2..=3).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_lowercase()) {
                    return Err(invalid(format!("response_language: {raw:?} is not an ISO 639-1 code")));
                }
                if !language_supported(&code) {
                    return Ok(Kind::NotVerifiable(format!(
                        "response_language: the language detector does not know {code:?}"
                    )));
                }
                Check::Language { code }
            }
            "start_phrase" => Check::StartPhrase { phrase: str_param(t, p, "phrase")?.trim().to_lowercase() },
            "end_phrase" => Check::EndPhrase { phrase: str_param(t, p, "phrase")?.trim().to_lowercase() },
            "postscript" => {
                let shown = str_param(t, p, "marker")?.trim().to_string();
                let marker = match shown.as_str() {
                    "P.S." => PostscriptMarker::Ps,
                    "P.P.S" => PostscriptMarker::Pps,
                    other => PostscriptMarker::Literal(other.to_lowercase()),
                };
                Check::Postscript { marker, shown }
            }
            "repeat_prompt" => Check::RepeatPrompt { prompt: str_param(t, p, "prompt")?.trim().to_lowercase() },
            other => return Ok(Kind::NotVerifiable(format!("{other} has no rule"))),
        };
        Ok(Kind::Check(check))
    }

    /// Can a rule decide this requirement?
    pub fn verifiable(&self) -> bool {
        matches!(self.kind, Kind::Check(_))
    }

    /// Check one text as it is (no empty-response rule, no loose variants).
    pub fn check(&self, text: &str) -> Outcome {
        match &self.kind {
            Kind::Check(c) => run(c, &Subject::new(text, false), true),
            Kind::NotVerifiable(why) | Kind::Invalid(why) => outcome(false, why.clone()),
        }
    }
}

/// One text being checked: the response or one of its loose variants, with what several checks
/// share computed once, and only when a check asks for it.
struct Subject<'a> {
    /// The response, or a slice of it.
    source: &'a str,
    /// The text is `source` with every `*` removed, built only when a check reads it whole.
    strip: bool,
    stripped: OnceCell<String>,
    lower: OnceCell<String>,
    language: OnceCell<Option<&'static str>>,
}

impl<'a> Subject<'a> {
    fn new(source: &'a str, strip: bool) -> Self {
        Subject { source, strip, stripped: OnceCell::new(), lower: OnceCell::new(), language: OnceCell::new() }
    }

    fn text(&self) -> &str {
        if self.strip {
            self.stripped.get_or_init(|| self.source.replace('*', ""))
        } else {
            self.source
        }
    }

    fn lower(&self) -> &str {
        self.lower.get_or_init(|| self.text().to_lowercase())
    }

    /// The language of the text's sample. A variant without asterisks builds its sample from the
    /// head of its source, never the whole variant.
    fn language(&self) -> Option<&'static str> {
        *self.language.get_or_init(|| {
            if !self.strip || self.stripped.get().is_some() {
                return detect_cached(language_sample(self.text()));
            }
            let head = language_sample(self.source);
            if !head.contains('*') {
                // The first characters without asterisks are the first characters.
                return detect_cached(head);
            }
            let sample: String = self.source.chars().filter(|&c| c != '*').take(LANGUAGE_SAMPLE_CHARS).collect();
            detect_cached(&sample)
        })
    }
}

/// A verdict whose reason is formatted only when `explain` (the loose variants need none).
fn decide(followed: bool, explain: bool, reason: impl FnOnce() -> String) -> Outcome {
    Outcome { followed, reason: if explain { reason() } else { String::new() } }
}

/// Count relation check with a reason "<n> <what>, needs <relation>".
fn counted(n: u64, one: &str, many: &str, relation: Relation, value: u64, explain: bool) -> Outcome {
    decide(relation.holds(n, value), explain, || format!("{}, needs {}", plural(n, one, many), relation.describe(value)))
}

/// Python's `str.islower()`: some lowercase letter and no uppercase one.
fn is_lower(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return !b.iter().any(u8::is_ascii_uppercase) && b.iter().any(u8::is_ascii_lowercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_uppercase() {
            return false;
        }
        cased |= c.is_lowercase();
    }
    cased
}

/// Python's `str.isupper()`.
fn is_upper(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return !b.iter().any(u8::is_ascii_lowercase) && b.iter().any(u8::is_ascii_uppercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
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

/// `char::is_whitespace` (Unicode White_Space, regex's `\s`) of an ASCII byte.
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

/// The number of words of [`text::count_words`] (runs of word characters; each Han ideograph or
/// kana a word of its own), counted without building spans: a byte scan on ASCII text.
fn count_words(text: &str) -> u64 {
    let mut n = 0u64;
    let mut in_word = false;
    if text.is_ascii() {
        for &b in text.as_bytes() {
            let w = b.is_ascii_alphanumeric() || b == b'_';
            n += (w && !in_word) as u64;
            in_word = w;
        }
        return n;
    }
    for c in text.chars() {
        if !text::is_word_char(c) {
            in_word = false;
        } else if text::is_unspaced_cjk(c) {
            n += 1;
            in_word = false;
        } else {
            n += (!in_word) as u64;
            in_word = true;
        }
    }
    n
}

/// Non-whitespace characters.
fn count_non_space(text: &str) -> u64 {
    if text.is_ascii() {
        text.bytes().filter(|&b| !ascii_space(b)).count() as u64
    } else {
        text.chars().filter(|c| !c.is_whitespace()).count() as u64
    }
}

/// The byte after the whitespace (`\s*`, line ends included) that starts at `pos`.
fn skip_space(text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    while pos < b.len() {
        if b[pos] < 0x80 {
            if !ascii_space(b[pos]) {
                break;
            }
            pos += 1;
        } else {
            match text[pos..].chars().next() {
                Some(c) if c.is_whitespace() => pos += c.len_utf8(),
                _ => break,
            }
        }
    }
    pos
}

/// The next `\n` at or after `pos`, or the end of the text.
fn next_newline(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i)
}

/// The first `n` copies of ASCII `c` in a row at or after `from` (as `text[from..].find("cc…")`,
/// but by memchr on `c`, which std's substring search does not use).
fn find_run(text: &str, from: usize, c: u8, n: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut pos = from;
    while let Some(i) = text[pos..].find(c as char).map(|i| pos + i) {
        let run = b[i..].iter().take(n).take_while(|&&x| x == c).count();
        if run == n {
            return Some(i);
        }
        // No run of `n` starts inside this shorter one.
        pos = i + run;
    }
    None
}

/// The parts of `text` between runs of `n` asterisks, as `text.split("**…")`.
fn split_stars(text: &str, n: usize) -> impl Iterator<Item = &str> {
    let mut pos = Some(0);
    std::iter::from_fn(move || {
        let from = pos?;
        match find_run(text, from, b'*', n) {
            Some(i) => {
                pos = Some(i + n);
                Some(&text[from..i])
            }
            None => {
                pos = None;
                Some(&text[from..])
            }
        }
    })
}

/// The first byte at or after `from` that is `a` or `b`.
fn find_either(bytes: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    bytes[from..].iter().position(|&c| c == a || c == b).map(|i| from + i)
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
fn count_highlights(text: &str) -> u64 {
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

/// Placeholders: `\[.*?\]` matches, from a `[` to the first `]` on the same line.
fn count_placeholders(text: &str) -> u64 {
    let b = text.as_bytes();
    let mut n = 0;
    let mut pos = 0;
    while let Some(i) = text[pos..].find('[').map(|i| pos + i) {
        match find_either(b, i + 1, b']', b'\n') {
            None => break,
            Some(j) => {
                n += (b[j] == b']') as u64;
                pos = j + 1;
            }
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

/// Occurrences of the ASCII `letter` (lowercase) in an ASCII text once lowercased, without the copy.
fn count_ascii_letter(text: &str, letter: u8) -> u64 {
    text.bytes().filter(|b| b.to_ascii_lowercase() == letter).count() as u64
}

/// Does the lowercased `text` start with `phrase` (lowercase)? `None` when the head of the text
/// is not ASCII (the caller then lowercases the text).
fn ascii_head_is(text: &str, phrase: &str) -> Option<bool> {
    let head = text.as_bytes().get(..phrase.len())?;
    head.is_ascii().then(|| head.iter().zip(phrase.as_bytes()).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// Does the lowercased `text` end with `phrase` (lowercase)? `None` when the tail is not ASCII.
fn ascii_tail_is(text: &str, phrase: &str) -> Option<bool> {
    let tail = text.as_bytes().get(text.len().checked_sub(phrase.len())?..)?;
    tail.is_ascii().then(|| tail.iter().zip(phrase.as_bytes()).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// All-capital words: whitespace tokens that, edge punctuation trimmed, are `isupper`. On ASCII
/// text a token counts when it has a capital and no lowercase letter (trimmed edges hold no letter).
fn count_capital_words(text: &str) -> u64 {
    if !text.is_ascii() {
        return text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty() && is_upper(w))
            .count() as u64;
    }
    let (mut n, mut upper, mut lower) = (0u64, false, false);
    for &b in text.as_bytes() {
        if ascii_space(b) {
            n += (upper && !lower) as u64;
            upper = false;
            lower = false;
        } else {
            upper |= b.is_ascii_uppercase();
            lower |= b.is_ascii_lowercase();
        }
    }
    n + (upper && !lower) as u64
}

/// IFEval's `number_paragraphs`: split on `***` dividers; an empty paragraph between two dividers
/// fails the check (`None`). IFEval splits on `\s?\*\*\*\s?`: the optional spaces only move
/// whitespace between parts that are trimmed anyway, so splitting on `***` finds the same parts.
fn paragraphs_by_divider(text: &str) -> Option<u64> {
    let mut parts = split_stars(text, 3).peekable();
    let mut n = 0u64;
    let mut first = true;
    while let Some(p) = parts.next() {
        if !p.trim().is_empty() {
            n += 1;
        } else if !first && parts.peek().is_some() {
            return None;
        }
        first = false;
    }
    Some(n)
}

/// Non-empty parts of a split on `\n\s*\n`: runs of text separated by whitespace that holds two
/// `\n` or more.
fn paragraphs_by_blank_line(text: &str) -> u64 {
    let (mut n, mut newlines) = (0u64, 2usize);
    let mut see = |c: char| {
        if c == '\n' {
            newlines += 1;
        } else if !c.is_whitespace() {
            n += (newlines >= 2) as u64;
            newlines = 0;
        }
    };
    if text.is_ascii() {
        text.bytes().for_each(|b| see(b as char));
    } else {
        text.chars().for_each(see);
    }
    n
}

/// Check one text; the reason is formatted only when `explain`.
fn run(check: &Check, s: &Subject, explain: bool) -> Outcome {
    match check {
        Check::Language { code } => {
            return match s.language() {
                None => decide(true, explain, || "no language detectable; counted as followed, as IFEval does".into()),
                Some(found) => decide(found == code, explain, || {
                    format!("detected {} ({found}), needs {} ({code})", language_name(found), language_name(code))
                }),
            };
        }
        Check::Postscript { marker: marker @ (PostscriptMarker::Ps | PostscriptMarker::Pps), shown } => {
            // IFEval's pattern on the lowercased response, matched on the response as it is.
            let re = if matches!(marker, PostscriptMarker::Ps) { &*PS } else { &*PPS };
            let ok = re.is_match(s.text());
            return decide(ok, explain, || if ok { format!("has a postscript {shown}") } else { format!("no postscript {shown}") });
        }
        _ => {}
    }
    let text = s.text();
    match check {
        Check::Length { unit, relation, value, split } => match unit {
            Unit::Words => counted(count_words(text), "word", "words", *relation, *value, explain),
            Unit::Sentences => {
                counted(text::count_sentences(text) as u64, "sentence", "sentences", *relation, *value, explain)
            }
            Unit::Chars => counted(count_non_space(text), "non-space character", "non-space characters", *relation, *value, explain),
            Unit::Paragraphs => {
                let divider = match split {
                    ParagraphSplit::Divider => true,
                    ParagraphSplit::BlankLine => false,
                    ParagraphSplit::Auto => find_run(text, 0, b'*', 3).is_some(),
                };
                let (n, how) = if divider {
                    match paragraphs_by_divider(text) {
                        Some(n) => (n, "***"),
                        None => return decide(false, explain, || "an empty paragraph between two *** dividers".into()),
                    }
                } else {
                    (paragraphs_by_blank_line(text), "blank lines")
                };
                decide(relation.holds(n, *value), explain, || {
                    format!("{}, needs {} (separated by {how})", plural(n, "paragraph", "paragraphs"), relation.describe(*value))
                })
            }
        },
        Check::BulletPoints { relation, value } => {
            counted(count_bullets(text), "bullet point", "bullet points", *relation, *value, explain)
        }
        Check::Highlights { relation, value } => {
            counted(count_highlights(text), "highlighted section", "highlighted sections", *relation, *value, explain)
        }
        Check::Placeholders { relation, value } => {
            counted(count_placeholders(text), "placeholder", "placeholders", *relation, *value, explain)
        }
        Check::Sections { splitter, case_insensitive, relation, value } => {
            let n = if *case_insensitive { count_sections(s.lower(), splitter) } else { count_sections(text, splitter) };
            decide(relation.holds(n, *value), explain, || {
                format!("{}, needs {} (marked {splitter:?} + number)", plural(n, "section", "sections"), relation.describe(*value))
            })
        }
        Check::ParagraphFirstWord { num, nth, word } => {
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
        Check::Json => {
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
        Check::Title => match find_title(text) {
            Some(m) => decide(true, explain, || format!("title {m}")),
            None => decide(false, explain, || "no title in <<double angular brackets>>".into()),
        },
        Check::Constrained { options } => {
            let t = text.trim();
            match options.iter().find(|o| t.contains(o.as_str())) {
                Some(o) => decide(true, explain, || format!("contains {o:?}")),
                None => decide(false, explain, || format!("contains none of {options:?}")),
            }
        }
        Check::TwoResponses => {
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
        Check::Keywords { words } => {
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
        Check::KeywordFrequency { keyword, relation, value } => {
            let n = s.lower().matches(keyword.as_str()).count() as u64;
            decide(relation.holds(n, *value), explain, || {
                format!("{keyword:?} {}, needs {}", plural(n, "time", "times"), relation.describe(*value))
            })
        }
        Check::Forbidden { words } => {
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
        Check::LetterFrequency { letter, relation, value } => {
            let n = if letter.is_ascii() && text.is_ascii() {
                count_ascii_letter(text, *letter as u8)
            } else {
                s.lower().chars().filter(|c| c == letter).count() as u64
            };
            decide(relation.holds(n, *value), explain, || {
                format!("letter {letter:?} {}, needs {}", plural(n, "time", "times"), relation.describe(*value))
            })
        }
        Check::Lowercase => {
            let ok = is_lower(text);
            decide(ok, explain, || {
                if ok {
                    return "all lowercase".into();
                }
                let n = text.chars().filter(|c| c.is_uppercase()).count() as u64;
                if n == 0 { "no letters".to_string() } else { plural(n, "capital letter", "capital letters") }
            })
        }
        Check::Uppercase => {
            let ok = is_upper(text);
            decide(ok, explain, || {
                if ok {
                    return "all capitals".into();
                }
                let n = text.chars().filter(|c| c.is_lowercase()).count() as u64;
                if n == 0 { "no letters".to_string() } else { plural(n, "lowercase letter", "lowercase letters") }
            })
        }
        Check::CapitalWords { relation, value } => {
            counted(count_capital_words(text), "all-capital word", "all-capital words", *relation, *value, explain)
        }
        Check::NoCommas => {
            let ok = !text.contains(',') && !text.contains('，');
            decide(ok, explain, || {
                if ok {
                    "no commas".into()
                } else {
                    plural(text.matches(',').count() as u64 + text.matches('，').count() as u64, "comma", "commas")
                }
            })
        }
        Check::Quotation => {
            let t = text.trim();
            let ok = t.chars().nth(1).is_some() && t.starts_with('"') && t.ends_with('"');
            decide(ok, explain, || if ok { "wrapped in double quotes".into() } else { "not wrapped in double quotes".into() })
        }
        Check::StartPhrase { phrase } => {
            // Lowercasing changes no space or `"`, so trimming before or after it is the same.
            let t = text.trim_start().trim_start_matches('"').trim_start();
            let ok = ascii_head_is(t, phrase)
                .unwrap_or_else(|| s.lower().trim_start().trim_start_matches('"').trim_start().starts_with(phrase.as_str()));
            decide(ok, explain, || if ok { format!("starts with {phrase:?}") } else { format!("does not start with {phrase:?}") })
        }
        Check::EndPhrase { phrase } => {
            let t = text.trim().trim_matches('"');
            let ok = ascii_tail_is(t, phrase).unwrap_or_else(|| t.to_lowercase().ends_with(phrase.as_str()));
            decide(ok, explain, || if ok { format!("ends with {phrase:?}") } else { format!("does not end with {phrase:?}") })
        }
        Check::Postscript { marker, shown } => {
            let ok = match marker {
                PostscriptMarker::Literal(m) => s.lower().contains(m.as_str()),
                _ => unreachable!("handled above"),
            };
            decide(ok, explain, || if ok { format!("has a postscript {shown}") } else { format!("no postscript {shown}") })
        }
        Check::RepeatPrompt { prompt } => {
            let t = text.trim_start();
            let ok = ascii_head_is(t, prompt).unwrap_or_else(|| s.lower().trim_start().starts_with(prompt.as_str()));
            decide(ok, explain, || {
                if ok { "starts with the prompt".into() } else { "does not start with the prompt, word for word".into() }
            })
        }
        Check::Language { .. } => unreachable!("handled above"),
    }
}

// ---------------------------------------------------------------------------------------------
// Strict and loose verification

/// Reject a response that cannot be verified: over `max_bytes`.
pub fn check_response(response: &str, max_bytes: usize) -> Result<()> {
    if response.len() > max_bytes {
        return Err(CoreError::InvalidInstruction(format!(
            "response is {} bytes, over the limit of {max_bytes} (verify max_bytes)",
            response.len()
        )));
    }
    Ok(())
}

/// The loose variants after the original, in IFEval's order, as (index into [`LOOSE_VARIANTS`],
/// text to check). Nothing is copied here: variants without the first/last line are slices of the
/// response, and a variant without asterisks is built only if a check reads it whole. Left out,
/// since their verdict could not differ: a variant that is empty, a variant without asterisks of
/// a text that has none (it equals the variant before it), a slice equal to one before it.
fn loose_variants(response: &str) -> Vec<(usize, Subject<'_>)> {
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

/// Is `n` too small for the relation, so that no smaller count can satisfy it either?
fn too_few(relation: Relation, n: u64, v: u64) -> bool {
    let n = n as u128;
    let v = v as u128;
    match relation {
        Relation::AtLeast | Relation::Exactly => n < v,
        Relation::MoreThan => n <= v,
        Relation::About => 10 * n < 9 * v,
        Relation::AtMost | Relation::LessThan => false,
    }
}

/// Can no loose variant pass a check that the response failed? True only when the check counts
/// something that no variant has more of than the response (a variant is the response without
/// whole lines, trimmed, and/or without `*`), and the response already has too few:
///
/// - words and non-space characters: removing lines or `*` removes or merges words, never adds;
/// - all-capital words: tokens never merge or split (`*` is not a space), a `*` is neither a
///   letter nor cased, and every cased character is alphanumeric, so trimming keeps it;
/// - a letter, or a keyword when the response has no `*`: lowercasing maps each character on
///   its own (except `Σ`, whose final form depends on its neighbours: left out);
/// - placeholders and highlights: matches never cross a line; without `*` there is no highlight.
fn loose_cannot_pass(check: &Check, s: &Subject, star: bool) -> bool {
    let text = s.text();
    let sigma = |t: &str| t.contains(['σ', 'ς']);
    match check {
        Check::Length { unit: Unit::Words, relation, value, .. } => too_few(*relation, count_words(text), *value),
        Check::Length { unit: Unit::Chars, relation, value, .. } => too_few(*relation, count_non_space(text), *value),
        Check::CapitalWords { relation, value } => too_few(*relation, count_capital_words(text), *value),
        Check::Placeholders { relation, value } => too_few(*relation, count_placeholders(text), *value),
        Check::Highlights { relation, value } => too_few(*relation, count_highlights(text), *value),
        Check::LetterFrequency { letter, relation, value } if !matches!(letter, 'σ' | 'ς') => {
            let n = if letter.is_ascii() && text.is_ascii() {
                count_ascii_letter(text, *letter as u8)
            } else {
                s.lower().chars().filter(|c| c == letter).count() as u64
            };
            too_few(*relation, n, *value)
        }
        Check::KeywordFrequency { keyword, relation, value } if !star && !sigma(keyword) => {
            too_few(*relation, s.lower().matches(keyword.as_str()).count() as u64, *value)
        }
        _ => false,
    }
}

/// Verify one response against compiled requirements: strict and loose, per requirement.
///
/// Windows line ends are read as `\n`. An empty or whitespace-only response follows nothing
/// (IFEval). A requirement that the response follows as it is follows the loose rule too, so the
/// loose variants are tried only for requirements that failed, in IFEval's order, stopping at the
/// first that passes; they are set up once per response and built only as far as a check needs.
pub fn verify(response: &str, verifiers: &[Verifier]) -> Vec<Verdict> {
    let response: Cow<str> = if response.contains('\r') { Cow::Owned(response.replace("\r\n", "\n")) } else { Cow::Borrowed(response) };
    let empty = response.trim().is_empty();
    let subject = Subject::new(&response, false);
    let mut verdicts: Vec<Verdict> = verifiers
        .iter()
        .map(|v| match &v.kind {
            Kind::NotVerifiable(why) => Verdict::unchecked(Status::NotVerifiable, why),
            Kind::Invalid(why) => Verdict::unchecked(Status::Invalid, why),
            Kind::Check(c) => {
                let o = if empty { outcome(false, "empty response".into()) } else { run(c, &subject, true) };
                Verdict {
                    status: if o.followed { Status::Followed } else { Status::Violated },
                    strict: Some(o.followed),
                    loose: Some(o.followed),
                    loose_variant: o.followed.then_some(LOOSE_VARIANTS[0]),
                    reason: o.reason,
                }
            }
        })
        .collect();
    if empty || !verdicts.iter().any(|v| v.loose == Some(false)) {
        return verdicts;
    }
    let variants = loose_variants(&response);
    let star = response.contains('*');
    for (v, verdict) in verifiers.iter().zip(verdicts.iter_mut()) {
        let Kind::Check(c) = &v.kind else { continue };
        if verdict.loose != Some(false) || loose_cannot_pass(c, &subject, star) {
            continue;
        }
        if let Some((i, _)) = variants.iter().find(|(_, s)| run(c, s, false).followed) {
            verdict.loose = Some(true);
            verdict.loose_variant = Some(LOOSE_VARIANTS[*i]);
        }
    }
    verdicts
}

/// Compile and verify one requirement (for notebooks and tests).
pub fn verify_one(response: &str, rtype: &str, params: &Params) -> Result<Verdict> {
    let v = Verifier::new(rtype, params)?;
    Ok(verify(response, std::slice::from_ref(&v)).pop().expect("one verdict"))
}

/// Requirements from IFEval ids and kwargs, for verification: [`crate::structured::from_ifeval`],
/// plus the `***` paragraph separator of `length_constraints:number_paragraphs`.
pub fn ifeval_requirements(ids: &[String], kwargs_json: &str) -> Result<Vec<(String, Params)>> {
    let mut reqs = crate::structured::from_ifeval(ids, kwargs_json)?;
    for (id, (_, params)) in ids.iter().zip(reqs.iter_mut()) {
        if id == "length_constraints:number_paragraphs" {
            params.insert("separator".into(), Value::from("***"));
        }
    }
    Ok(reqs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_requirement_is_invalid_and_the_others_are_verified() {
        let verifiers = [
            Verifier::new_or_invalid("repeat_prompt", &Params::new()),
            Verifier::new_or_invalid("no_commas", &Params::new()),
        ];
        let verdicts = verify("No commas here.", &verifiers);
        assert_eq!((verdicts[0].status, verdicts[0].strict), (Status::Invalid, None));
        assert!(verdicts[0].reason.contains("missing parameter \"prompt\""), "{}", verdicts[0].reason);
        assert_eq!((verdicts[1].status, verdicts[1].strict), (Status::Followed, Some(true)));
    }
    use serde_json::json;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    fn strict(rtype: &str, p: Value, response: &str) -> bool {
        verify_one(response, rtype, &params(p)).unwrap().strict.unwrap()
    }

    fn loose(rtype: &str, p: Value, response: &str) -> bool {
        verify_one(response, rtype, &params(p)).unwrap().loose.unwrap()
    }

    /// (type, params, followed response, violated response) for every verifiable type.
    fn cases() -> Vec<(&'static str, Value, &'static str, &'static str)> {
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

    #[test]
    fn every_verifier_has_followed_and_violated_cases() {
        let mut covered = std::collections::BTreeSet::new();
        for (rtype, p, good, bad) in cases() {
            let g = verify_one(good, rtype, &params(p.clone())).unwrap();
            assert_eq!(g.strict, Some(true), "{rtype} {p} should follow on {good:?}: {}", g.reason);
            let b = verify_one(bad, rtype, &params(p.clone())).unwrap();
            assert_eq!(b.strict, Some(false), "{rtype} {p} should be violated on {bad:?}: {}", b.reason);
            covered.insert(rtype);
        }
        for t in crate::taxonomy::TYPES.iter().filter(|t| t.verifiable) {
            assert!(covered.contains(t.name), "no cases for {}", t.name);
        }
    }

    #[test]
    fn less_than_is_strict() {
        let p = json!({"unit": "words", "relation": "less_than", "value": 3});
        assert!(strict("length", p.clone(), "one two"));
        assert!(!strict("length", p.clone(), "one two three"));
        assert!(!strict("length", p, "one two three four"));
        let r = verify_one("one two three", "length", &params(json!({"unit": "words", "relation": "less than", "value": 3}))).unwrap();
        assert_eq!(r.reason, "3 words, needs < 3");
    }

    #[test]
    fn reasons_are_short_and_informative() {
        let v = verify_one(&"word ".repeat(412), "length", &params(json!({"unit": "words", "relation": "at_least", "value": 500}))).unwrap();
        assert_eq!(v.reason, "412 words, needs ≥ 500");
        assert_eq!(v.status, Status::Violated);
    }

    #[test]
    fn empty_and_whitespace_responses_follow_nothing() {
        for r in ["", "   \n\t "] {
            let v = verify_one(r, "no_commas", &Params::new()).unwrap();
            assert_eq!((v.strict, v.loose), (Some(false), Some(false)));
            assert_eq!(v.reason, "empty response");
        }
    }

    #[test]
    fn loose_accepts_markdown_and_framing_lines() {
        // A title only on the first line, with a preamble line removed.
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

    #[test]
    fn bullets_dash_and_star_but_not_bold() {
        let p = json!({"relation": "exactly", "value": 3});
        assert!(strict("bullet_points", p.clone(), "Intro\n* a\n- b\n  * nested c\n**Bold line**"));
        assert!(!strict("bullet_points", p.clone(), "1. a\n2. b\n3. c"));
        assert!(!strict("bullet_points", p, "• a\n• b\n• c"));
    }

    #[test]
    fn title_on_the_last_line_and_unicode_punctuation() {
        assert!(strict("title", json!({}), "Body text.\n<<A Title>>"));
        assert!(!strict("title", json!({}), "«A Title»"));
        assert!(!strict("title", json!({}), "<<A\nTitle>>"));
        assert!(!strict("quotation", json!({}), "“curly quotes”"));
        assert!(strict("end_phrase", json!({"phrase": "¿Algo más?"}), "Hola. ¿ALGO MÁS?"));
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
    fn ifeval_paragraph_rules() {
        let p = json!({"unit": "paragraphs", "relation": "exactly", "value": 3, "separator": "***"});
        assert!(strict("length", p.clone(), "***\nA\n***\nB\n***\nC\n***"));
        assert!(!strict("length", p.clone(), "A\n***\n***\nB\n***\nC"));
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
    fn bad_parameters_are_errors() {
        let bad = [
            ("length", json!({"unit": "words", "relation": "at_least", "value": -3})),
            ("length", json!({"unit": "lightyears", "relation": "at_least", "value": 3})),
            ("length", json!({"unit": "words", "relation": "roughly-ish", "value": 3})),
            ("keywords", json!({"keywords": [""]})),
            ("keywords", json!({"keywords": []})),
            ("keyword_frequency", json!({"keyword": " ", "relation": "at_least", "value": 1})),
            ("letter_frequency", json!({"letter": "ab", "relation": "at_least", "value": 1})),
            ("paragraph_first_word", json!({"num_paragraphs": 2, "nth": 5, "first_word": "x"})),
            ("response_language", json!({"language": "klingon!"})),
            ("vibes", json!({})),
            ("bullet_points", json!({"value": 1e12})),
        ];
        for (t, p) in bad {
            assert!(verify_one("text", t, &params(p.clone())).is_err(), "{t} {p}");
        }
    }

    #[test]
    fn unverifiable_types_are_reported_never_guessed() {
        let v = verify_one("Hello", "tone", &params(json!({"tone": "warm"}))).unwrap();
        assert_eq!((v.status, v.strict, v.loose), (Status::NotVerifiable, None, None));
        let v = verify_one("Habari yako", "response_language", &params(json!({"language": "sw"}))).unwrap();
        assert_eq!(v.status, Status::NotVerifiable);
    }

    #[test]
    fn language_detection_is_deterministic_and_bounded() {
        let t = "Ceci est une phrase en français, écrite pour tester la détection de la langue.";
        assert_eq!(detect_language(t), Some("fr"));
        assert_eq!(detect_language(t), detect_language(t));
        assert_eq!(detect_language("12345 !!!"), None);
        assert!(strict("response_language", json!({"language": "en"}), "12345"));
        let long = "é".repeat(LANGUAGE_SAMPLE_CHARS * 3);
        detect_language(&long);
    }

    /// Random texts made of the pieces the scanners look at.
    fn random_texts(seed: u64, n: usize) -> Vec<String> {
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

    #[test]
    fn scanners_agree_with_the_ifeval_regexes() {
        let re = |p: &str| Regex::new(p).unwrap();
        let (star, dash) = (re(r"(?m)^\s*\*[^\*].*$"), re(r"(?m)^\s*-.*$"));
        let (single, double) = (re(r"\*[^\n\*]*\*"), re(r"\*\*[^\n\*]*\*\*"));
        let (placeholder, title) = (re(r"\[.*?\]"), re(r"<<[^\n]+>>"));
        let (divider, blank) = (re(r"\s?\*\*\*\s?"), re(r"\n\s*\n"));
        let (ps, pps) = (re(r"p\.\s?s\."), re(r"p\.\s?p\.\s?s"));
        for t in random_texts(1, 20_000) {
            let t = t.as_str();
            assert_eq!(count_bullets(t), (star.find_iter(t).count() + dash.find_iter(t).count()) as u64, "{t:?}");
            let highlights = single.find_iter(t).filter(|m| !m.as_str().trim_matches('*').trim().is_empty()).count()
                + double.find_iter(t).filter(|m| !m.as_str()[2..m.len() - 2].trim().is_empty()).count();
            assert_eq!(count_highlights(t), highlights as u64, "{t:?}");
            assert_eq!(count_placeholders(t), placeholder.find_iter(t).count() as u64, "{t:?}");
            let found = title.find_iter(t).find(|m| !m.as_str().trim_start_matches('<').trim_end_matches('>').trim().is_empty());
            assert_eq!(find_title(t), found.map(|m| m.as_str()), "{t:?}");
            let parts: Vec<&str> = divider.split(t).collect();
            let by_regex = if parts.iter().enumerate().any(|(i, p)| p.trim().is_empty() && i != 0 && i != parts.len() - 1) {
                None
            } else {
                Some(parts.iter().filter(|p| !p.trim().is_empty()).count() as u64)
            };
            assert_eq!(paragraphs_by_divider(t), by_regex, "{t:?}");
            for n in [2, 3, 6] {
                let stars = "*".repeat(n);
                assert!(split_stars(t, n).eq(t.split(stars.as_str())), "{t:?} {n}");
                assert_eq!(find_run(t, 0, b'<', 2), t.find("<<"), "{t:?}");
            }
            assert_eq!(paragraphs_by_blank_line(t), blank.split(t).filter(|p| !p.trim().is_empty()).count() as u64, "{t:?}");
            assert_eq!(count_words(t), text::count_words(t) as u64, "{t:?}");
            assert_eq!(count_non_space(t), t.chars().filter(|c| !c.is_whitespace()).count() as u64, "{t:?}");
            let capitals = t
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| !w.is_empty() && is_upper(w))
                .count();
            assert_eq!(count_capital_words(t), capitals as u64, "{t:?}");
            let lower = t.to_lowercase();
            assert_eq!(PS.is_match(t), ps.is_match(&lower), "{t:?}");
            assert_eq!(PPS.is_match(t), pps.is_match(&lower), "{t:?}");
            for phrase in ["p.", "word", "ab", "é", "\"a", "σ"] {
                let head = t.trim_start().trim_start_matches('"').trim_start();
                let slow = lower.trim_start().trim_start_matches('"').trim_start().starts_with(phrase);
                assert!(ascii_head_is(head, phrase).is_none_or(|fast| fast == slow), "{t:?} {phrase:?}");
                let tail = t.trim().trim_matches('"');
                let slow = tail.to_lowercase().ends_with(phrase);
                assert!(ascii_tail_is(tail, phrase).is_none_or(|fast| fast == slow), "{t:?} {phrase:?}");
            }
            if t.is_ascii() {
                for letter in [b'a', b's', b'p'] {
                    assert_eq!(count_ascii_letter(t, letter), lower.bytes().filter(|&b| b == letter).count() as u64);
                }
            }
        }
    }

    #[test]
    fn cased_characters_are_alphanumeric() {
        // What `loose_cannot_pass` relies on for all-capital words.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert!(!(c.is_uppercase() || c.is_lowercase()) || c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn postscript_patterns_need_no_lowercased_copy() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if matches!(c, 'p' | 'P' | 's' | 'S' | '.') || c.is_whitespace() {
                continue;
            }
            assert!(!c.to_lowercase().any(|l| matches!(l, 'p' | 's' | '.') || l.is_whitespace()), "{c:?}");
        }
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

    #[test]
    fn language_sample_is_capped_in_characters() {
        let n = LANGUAGE_SAMPLE_CHARS;
        assert_eq!(language_sample(&"é".repeat(n + 10)).chars().count(), n);
        assert_eq!(language_sample(&"a".repeat(n + 10)).len(), n);
        assert_eq!(language_sample("short"), "short");
        // Text past the cap does not change the answer.
        let fr = "Ceci est une phrase en français, écrite pour tester la détection de la langue. ".repeat(40);
        let tail = " This is a long English tail, which the detector never reads at all.".repeat(200);
        assert_eq!(detect_language(&(fr.clone() + &tail)), Some("fr"));
        // The sample of a variant without asterisks is the head of the variant.
        let starred = "*Ceci* est **une** phrase en français. ".repeat(100) + &tail;
        let s = Subject::new(&starred, true);
        assert_eq!(s.language(), detect_language(&starred.replace('*', "")));
    }

    #[test]
    fn huge_and_crlf_responses() {
        assert!(check_response(&"a".repeat(11 << 20), 1 << 20).is_err());
        let big = "word, ".repeat(2_000_000);
        let v = verify_one(&big, "no_commas", &Params::new()).unwrap();
        assert_eq!(v.strict, Some(false));
        assert!(strict("paragraph_first_word", json!({"nth": 2, "first_word": "b"}), "A\r\n\r\nB"));
    }

    #[test]
    fn ifeval_requirements_mark_the_divider() {
        let ids = vec!["length_constraints:number_paragraphs".to_string()];
        let reqs = ifeval_requirements(&ids, r#"[{"num_paragraphs": 2}]"#).unwrap();
        assert_eq!(reqs[0].1["separator"], "***");
        let v = Verifier::new(&reqs[0].0, &reqs[0].1).unwrap();
        assert_eq!(verify("A\n\nB", &[v.clone()])[0].strict, Some(false));
        assert_eq!(verify("A\n***\nB", &[v])[0].strict, Some(true));
    }
}
