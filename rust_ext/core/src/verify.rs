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
use std::cell::OnceCell;
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

/// Language detection reads at most this many bytes of a response (cut at a character boundary).
pub const LANGUAGE_SAMPLE_BYTES: usize = 100_000;

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

/// Detect the language of a text (its first [`LANGUAGE_SAMPLE_BYTES`]) with whatlang, as an
/// ISO 639-1 code; `None` when the text has no letters to go by. Deterministic.
pub fn detect_language(text: &str) -> Option<&'static str> {
    let mut end = text.len().min(LANGUAGE_SAMPLE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let info = whatlang::detect(&text[..end])?;
    let code3 = info.lang().code();
    LANGUAGES.iter().find(|(c3, _, _)| *c3 == code3).map(|(_, c1, _)| *c1)
}

// ---------------------------------------------------------------------------------------------
// Compiled checks

static BULLET_STAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*\*[^\*].*$").unwrap());
static BULLET_DASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*-.*$").unwrap());
static HIGHLIGHT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*[^\n\*]*\*").unwrap());
static HIGHLIGHT_DOUBLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*\*[^\n\*]*\*\*").unwrap());
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[.*?\]").unwrap());
static TITLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<<[^\n]+>>").unwrap());
static DIVIDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s?\*\*\*\s?").unwrap());
static BLANK_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n\s*\n").unwrap());
static PS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"p\.\s?s\.").unwrap());
static PPS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"p\.\s?p\.\s?s").unwrap());

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
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Followed => "followed",
            Status::Violated => "violated",
            Status::NotVerifiable => "not_verifiable",
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
        let ctx = Ctx::new(text);
        match &self.kind {
            Kind::Check(c) => run(c, &ctx),
            Kind::NotVerifiable(why) => outcome(false, why.clone()),
        }
    }
}

/// One text being checked, with what several checks share computed once.
struct Ctx<'a> {
    text: &'a str,
    lower: OnceCell<String>,
}

impl<'a> Ctx<'a> {
    fn new(text: &'a str) -> Self {
        Ctx { text, lower: OnceCell::new() }
    }

    fn lower(&self) -> &str {
        self.lower.get_or_init(|| self.text.to_lowercase())
    }
}

/// Count relation check with a reason "<n> <what>, needs <relation>".
fn counted(n: u64, one: &str, many: &str, relation: Relation, value: u64) -> Outcome {
    outcome(relation.holds(n, value), format!("{}, needs {}", plural(n, one, many), relation.describe(value)))
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

/// IFEval's `number_paragraphs`: split on `***` dividers; an empty paragraph between two dividers
/// fails the check (`None`).
fn paragraphs_by_divider(text: &str) -> Option<u64> {
    let parts: Vec<&str> = DIVIDER.split(text).collect();
    let last = parts.len() - 1;
    let mut n = parts.len() as u64;
    for (i, p) in parts.iter().enumerate() {
        if p.trim().is_empty() {
            if i == 0 || i == last {
                n -= 1;
            } else {
                return None;
            }
        }
    }
    Some(n)
}

fn paragraphs_by_blank_line(text: &str) -> u64 {
    BLANK_LINE.split(text).filter(|p| !p.trim().is_empty()).count() as u64
}

fn run(check: &Check, ctx: &Ctx) -> Outcome {
    let text = ctx.text;
    match check {
        Check::Length { unit, relation, value, split } => match unit {
            Unit::Words => counted(text::count_words(text) as u64, "word", "words", *relation, *value),
            Unit::Sentences => counted(text::count_sentences(text) as u64, "sentence", "sentences", *relation, *value),
            Unit::Chars => {
                let n = text.chars().filter(|c| !c.is_whitespace()).count() as u64;
                counted(n, "non-space character", "non-space characters", *relation, *value)
            }
            Unit::Paragraphs => {
                let divider = match split {
                    ParagraphSplit::Divider => true,
                    ParagraphSplit::BlankLine => false,
                    ParagraphSplit::Auto => text.contains("***"),
                };
                if divider {
                    match paragraphs_by_divider(text) {
                        Some(n) => {
                            let mut o = counted(n, "paragraph", "paragraphs", *relation, *value);
                            o.reason.push_str(" (separated by ***)");
                            o
                        }
                        None => outcome(false, "an empty paragraph between two *** dividers".into()),
                    }
                } else {
                    let mut o = counted(paragraphs_by_blank_line(text), "paragraph", "paragraphs", *relation, *value);
                    o.reason.push_str(" (separated by blank lines)");
                    o
                }
            }
        },
        Check::BulletPoints { relation, value } => {
            let n = (BULLET_STAR.find_iter(text).count() + BULLET_DASH.find_iter(text).count()) as u64;
            counted(n, "bullet point", "bullet points", *relation, *value)
        }
        Check::Highlights { relation, value } => {
            let single = HIGHLIGHT.find_iter(text).filter(|m| !m.as_str().trim_matches('*').trim().is_empty()).count();
            let double = HIGHLIGHT_DOUBLE.find_iter(text).filter(|m| !m.as_str()[2..m.len() - 2].trim().is_empty()).count();
            counted((single + double) as u64, "highlighted section", "highlighted sections", *relation, *value)
        }
        Check::Placeholders { relation, value } => {
            counted(PLACEHOLDER.find_iter(text).count() as u64, "placeholder", "placeholders", *relation, *value)
        }
        Check::Sections { splitter, case_insensitive, relation, value } => {
            let n = if *case_insensitive { count_sections(ctx.lower(), splitter) } else { count_sections(text, splitter) };
            let mut o = counted(n, "section", "sections", *relation, *value);
            o.reason = format!("{} (marked {splitter:?} + number)", o.reason);
            o
        }
        Check::ParagraphFirstWord { num, nth, word } => {
            let parts: Vec<&str> = text.split("\n\n").collect();
            let count = parts.iter().filter(|p| !p.trim().is_empty()).count() as u64;
            if *nth > count {
                return outcome(false, format!("{}, paragraph {nth} is missing", plural(count, "paragraph", "paragraphs")));
            }
            let para = parts[(*nth - 1) as usize].trim();
            if para.is_empty() {
                return outcome(false, format!("paragraph {nth} is empty"));
            }
            let first = para.split_whitespace().next().unwrap_or("");
            let first = first.trim_start_matches('\'').trim_start_matches('"');
            let found: String = first
                .chars()
                .take_while(|c| !matches!(c, '.' | ',' | '?' | '!' | '\'' | '"'))
                .flat_map(char::to_lowercase)
                .collect();
            let count_ok = num.is_none_or(|n| n == count);
            let word_ok = found == *word;
            let counts = match num {
                Some(n) => format!("{}, needs {n}; ", plural(count, "paragraph", "paragraphs")),
                None => String::new(),
            };
            outcome(count_ok && word_ok, format!("{counts}paragraph {nth} starts with {found:?}, needs {word:?}"))
        }
        Check::Json => {
            let s = text.trim();
            let s = s.strip_prefix("```json").unwrap_or(s);
            let s = s.strip_prefix("```Json").unwrap_or(s);
            let s = s.strip_prefix("```JSON").unwrap_or(s);
            let s = s.strip_prefix("```").unwrap_or(s);
            let s = s.strip_suffix("```").unwrap_or(s);
            match serde_json::from_str::<serde::de::IgnoredAny>(s.trim()) {
                Ok(_) => outcome(true, "valid JSON".into()),
                Err(e) => outcome(false, format!("not valid JSON: {e}")),
            }
        }
        Check::Title => {
            let found = TITLE.find_iter(text).find(|m| !m.as_str().trim_start_matches('<').trim_end_matches('>').trim().is_empty());
            match found {
                Some(m) => outcome(true, format!("title {}", m.as_str())),
                None => outcome(false, "no title in <<double angular brackets>>".into()),
            }
        }
        Check::Constrained { options } => {
            let t = text.trim();
            match options.iter().find(|o| t.contains(o.as_str())) {
                Some(o) => outcome(true, format!("contains {o:?}")),
                None => outcome(false, format!("contains none of {options:?}")),
            }
        }
        Check::TwoResponses => {
            let parts: Vec<&str> = text.split("******").collect();
            let last = parts.len() - 1;
            let mut valid = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                if p.trim().is_empty() {
                    if i != 0 && i != last {
                        return outcome(false, "an empty response between two ****** separators".into());
                    }
                } else {
                    valid.push(p.trim());
                }
            }
            match valid.len() {
                2 if valid[0] != valid[1] => outcome(true, "two different responses separated by ******".into()),
                2 => outcome(false, "the two responses are identical".into()),
                n => outcome(false, format!("{}, needs 2 separated by ******", plural(n as u64, "response", "responses"))),
            }
        }
        Check::Keywords { words } => {
            let lower = ctx.lower();
            let missing: Vec<&String> = words.iter().filter(|w| !lower.contains(w.as_str())).collect();
            if missing.is_empty() {
                outcome(true, format!("contains {words:?}"))
            } else {
                outcome(false, format!("missing {missing:?}"))
            }
        }
        Check::KeywordFrequency { keyword, relation, value } => {
            let n = ctx.lower().matches(keyword.as_str()).count() as u64;
            let o = counted(n, "time", "times", *relation, *value);
            outcome(o.followed, format!("{keyword:?} {}", o.reason))
        }
        Check::Forbidden { words } => {
            let lower = ctx.lower();
            let used: Vec<&String> = words.iter().filter(|w| contains_word(lower, w)).collect();
            if used.is_empty() {
                outcome(true, format!("none of {words:?}"))
            } else {
                outcome(false, format!("uses {used:?}"))
            }
        }
        Check::LetterFrequency { letter, relation, value } => {
            let n = ctx.lower().chars().filter(|c| c == letter).count() as u64;
            let o = counted(n, "time", "times", *relation, *value);
            outcome(o.followed, format!("letter {letter:?} {}", o.reason))
        }
        Check::Lowercase => {
            if is_lower(text) {
                outcome(true, "all lowercase".into())
            } else {
                let n = text.chars().filter(|c| c.is_uppercase()).count() as u64;
                let why = if n == 0 { "no letters".to_string() } else { plural(n, "capital letter", "capital letters") };
                outcome(false, why)
            }
        }
        Check::Uppercase => {
            if is_upper(text) {
                outcome(true, "all capitals".into())
            } else {
                let n = text.chars().filter(|c| c.is_lowercase()).count() as u64;
                let why = if n == 0 { "no letters".to_string() } else { plural(n, "lowercase letter", "lowercase letters") };
                outcome(false, why)
            }
        }
        Check::CapitalWords { relation, value } => {
            let n = text
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| !w.is_empty() && is_upper(w))
                .count() as u64;
            counted(n, "all-capital word", "all-capital words", *relation, *value)
        }
        Check::NoCommas => {
            if !text.contains(',') && !text.contains('，') {
                return outcome(true, "no commas".into());
            }
            let n = text.matches(',').count() as u64 + text.matches('，').count() as u64;
            outcome(false, plural(n, "comma", "commas"))
        }
        Check::Quotation => {
            let t = text.trim();
            let ok = t.chars().nth(1).is_some() && t.starts_with('"') && t.ends_with('"');
            outcome(ok, if ok { "wrapped in double quotes".into() } else { "not wrapped in double quotes".into() })
        }
        Check::Language { code } => match detect_language(text) {
            None => outcome(true, "no language detectable; counted as followed, as IFEval does".into()),
            Some(found) => outcome(
                found == code,
                format!("detected {} ({found}), needs {} ({code})", language_name(found), language_name(code)),
            ),
        },
        Check::StartPhrase { phrase } => {
            let t = ctx.lower().trim_start().trim_start_matches('"').trim_start();
            let ok = t.starts_with(phrase.as_str());
            outcome(ok, if ok { format!("starts with {phrase:?}") } else { format!("does not start with {phrase:?}") })
        }
        Check::EndPhrase { phrase } => {
            let t = text.trim().trim_matches('"').to_lowercase();
            let ok = t.ends_with(phrase.as_str());
            outcome(ok, if ok { format!("ends with {phrase:?}") } else { format!("does not end with {phrase:?}") })
        }
        Check::Postscript { marker, shown } => {
            let lower = ctx.lower();
            let ok = match marker {
                PostscriptMarker::Ps => PS.is_match(lower),
                PostscriptMarker::Pps => PPS.is_match(lower),
                PostscriptMarker::Literal(m) => lower.contains(m.as_str()),
            };
            outcome(ok, if ok { format!("has a postscript {shown}") } else { format!("no postscript {shown}") })
        }
        Check::RepeatPrompt { prompt } => {
            let ok = ctx.lower().trim_start().starts_with(prompt.as_str());
            outcome(ok, if ok { "starts with the prompt".into() } else { "does not start with the prompt, word for word".into() })
        }
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
/// text). Variants without the first/last line are slices of the response; only those without
/// asterisks are copies, and only when the response has an asterisk. A variant that is empty, or
/// equal to one before it, is left out: its verdict could not differ.
fn loose_variants(response: &str) -> Vec<(usize, Cow<'_, str>)> {
    let first_nl = response.find('\n');
    let last_nl = response.rfind('\n');
    let first = first_nl.map_or("", |i| response[i + 1..].trim());
    let last = last_nl.map_or("", |i| response[..i].trim());
    let both = match (first_nl, last_nl) {
        (Some(a), Some(b)) if a < b => response[a + 1..b].trim(),
        _ => "",
    };
    let star = response.contains('*');
    let revised = |s: &str| Cow::Owned(s.replace('*', ""));
    let mut candidates: Vec<(usize, Cow<str>)> = Vec::with_capacity(7);
    if star {
        candidates.push((1, revised(response)));
    }
    candidates.push((2, Cow::Borrowed(first)));
    candidates.push((3, Cow::Borrowed(last)));
    candidates.push((4, Cow::Borrowed(both)));
    if star {
        candidates.push((5, revised(first)));
        candidates.push((6, revised(last)));
        candidates.push((7, revised(both)));
    }
    let mut out: Vec<(usize, Cow<str>)> = Vec::with_capacity(candidates.len());
    for (i, text) in candidates {
        if text.trim().is_empty() || text.as_ref() == response || out.iter().any(|(_, t)| t.as_ref() == text.as_ref()) {
            continue;
        }
        out.push((i, text));
    }
    out
}

/// Verify one response against compiled requirements: strict and loose, per requirement.
///
/// Windows line ends are read as `\n`. An empty or whitespace-only response follows nothing
/// (IFEval). The loose variants are computed once per response, and only if some requirement
/// failed the strict check.
pub fn verify(response: &str, verifiers: &[Verifier]) -> Vec<Verdict> {
    let response: Cow<str> = if response.contains('\r') { Cow::Owned(response.replace("\r\n", "\n")) } else { Cow::Borrowed(response) };
    let empty = response.trim().is_empty();
    let ctx = Ctx::new(&response);
    let mut verdicts: Vec<Verdict> = verifiers
        .iter()
        .map(|v| match &v.kind {
            Kind::NotVerifiable(why) => Verdict {
                status: Status::NotVerifiable,
                strict: None,
                loose: None,
                loose_variant: None,
                reason: why.clone(),
            },
            Kind::Check(c) => {
                let o = if empty { outcome(false, "empty response".into()) } else { run(c, &ctx) };
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
    if verdicts.iter().any(|v| v.loose == Some(false)) && !empty {
        let variants = loose_variants(&response);
        let ctxs: Vec<(usize, Ctx)> = variants.iter().map(|(i, s)| (*i, Ctx::new(s))).collect();
        for (v, verdict) in verifiers.iter().zip(verdicts.iter_mut()) {
            let Kind::Check(c) = &v.kind else { continue };
            if verdict.loose != Some(false) {
                continue;
            }
            for (i, vctx) in &ctxs {
                if run(c, vctx).followed {
                    verdict.loose = Some(true);
                    verdict.loose_variant = Some(LOOSE_VARIANTS[*i]);
                    break;
                }
            }
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
        let long = "é".repeat(LANGUAGE_SAMPLE_BYTES);
        detect_language(&long);
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
