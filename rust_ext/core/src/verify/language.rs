//! The language family: the response is written in a given language, as whatlang detects it.

use std::cell::RefCell;
use std::collections::HashMap;

use super::helpers::{decide, invalid, str_param, Subject};
use super::{Check, Kind, Outcome};
use crate::error::Result;
use crate::model::Params;


/// Language detection reads at most this many characters of a text (its beginning): whatlang's
/// answer on the first 2,000 characters is the answer on the whole text for 98% of texts of
/// 1,200–6,000 characters, at half the cost or less (see `docs/verify.md`). The IFEval-style
/// Python checkers (`wrl/verify_reference.py`) apply the same cap.
pub const LANGUAGE_SAMPLE_CHARS: usize = 2_000;

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

/// A compiled `response_language` requirement.
#[derive(Debug, Clone)]
pub(super) struct Language {
    code: String,
}

/// Compile a `response_language` requirement: a code the detector does not know is not verifiable.
pub(super) fn compile(p: &Params) -> Result<Kind> {
    let raw = str_param("response_language", p, "language")?;
    let code = normalize_language(raw);
    if !(2..=3).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(invalid(format!("response_language: {raw:?} is not an ISO 639-1 code")));
    }
    if !language_supported(&code) {
        return Ok(Kind::NotVerifiable(format!("response_language: the language detector does not know {code:?}")));
    }
    Ok(Kind::Check(Check::Language(Language { code })))
}

impl Language {
    pub(super) fn run(&self, s: &Subject, explain: bool) -> Outcome {
        let code = &self.code;
        match s.language() {
            None => decide(true, explain, || "no language detectable; counted as followed, as IFEval does".into()),
            Some(found) => decide(found == code, explain, || {
                format!("detected {} ({found}), needs {} ({code})", language_name(found), language_name(code))
            }),
        }
    }
}

impl Subject<'_> {
    /// The language of the text's sample. A variant without asterisks builds its sample from the
    /// head of its source, never the whole variant.
    pub(super) fn language(&self) -> Option<&'static str> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::verify::test_support::strict;

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
    fn codes_are_normalized() {
        assert_eq!(normalize_language(" zh-CN "), "zh");
        assert_eq!(normalize_language("nb"), "no");
        assert_eq!(normalize_language("EN_us"), "en");
        assert!(language_supported("kn") && !language_supported("sw"));
    }
}
