//! The requirement taxonomy: every requirement type, its family, whether a rule can verify it,
//! and how each of the 25 IFEval instruction ids maps onto it.

use serde::Serialize;

/// A family groups requirement types the way writing benchmarks report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Length,
    Format,
    Lexical,
    Mechanics,
    Language,
    Phrase,
    Style,
    Content,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Length => "length",
            Family::Format => "format",
            Family::Lexical => "lexical",
            Family::Mechanics => "mechanics",
            Family::Language => "language",
            Family::Phrase => "phrase",
            Family::Style => "style",
            Family::Content => "content",
        }
    }
}

/// One requirement type of the taxonomy.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TypeInfo {
    pub name: &'static str,
    pub family: Family,
    /// A rule can decide whether a response follows it.
    pub verifiable: bool,
    /// Normalized parameter names, in documentation order.
    pub params: &'static [&'static str],
    pub description: &'static str,
}

macro_rules! types {
    ($( $name:literal, $family:ident, $verifiable:literal, [$($p:literal),*], $desc:literal; )*) => {
        /// Every requirement type, in taxonomy order.
        pub const TYPES: &[TypeInfo] = &[
            $( TypeInfo { name: $name, family: Family::$family, verifiable: $verifiable,
                          params: &[$($p),*], description: $desc }, )*
        ];
    };
}

types! {
    "length", Length, true, ["unit", "relation", "value", "min", "max"],
        "Response length in words, sentences, paragraphs, characters, lines or speaking time; a bound or a range.";
    "bullet_points", Format, true, ["relation", "value"], "Number of markdown bullet points.";
    "highlighted_sections", Format, true, ["relation", "value"], "Sections highlighted with *markdown*.";
    "sections", Format, true, ["splitter", "value"], "Sections introduced by a marker such as 'SECTION X'.";
    "paragraph_first_word", Format, true, ["num_paragraphs", "nth", "first_word"],
        "The n-th paragraph starts with a given word.";
    "json_format", Format, true, [], "The whole response is valid JSON.";
    "title", Format, true, [], "A title wrapped in double angular brackets, <<like this>>.";
    "constrained_response", Format, true, ["options"], "Answer with one of a fixed set of options.";
    "two_responses", Format, true, [], "Two different responses separated by six asterisks.";
    "keywords", Lexical, true, ["keywords"], "Include every listed keyword.";
    "keyword_frequency", Lexical, true, ["keyword", "relation", "value"], "A keyword appears a number of times.";
    "forbidden_words", Lexical, true, ["words"], "None of the listed words appear.";
    "letter_frequency", Lexical, true, ["letter", "relation", "value"], "A letter appears a number of times.";
    "lowercase", Mechanics, true, [], "The whole response is in lowercase.";
    "uppercase", Mechanics, true, [], "The whole response is in capital letters.";
    "capital_word_frequency", Mechanics, true, ["relation", "value"], "Number of words in all capitals.";
    "no_commas", Mechanics, true, [], "No commas at all.";
    "quotation", Mechanics, true, [], "The whole response is wrapped in double quotation marks.";
    "response_language", Language, true, ["language"], "The response is written in a given language (ISO 639-1).";
    "start_phrase", Phrase, true, ["phrase"], "The response starts with an exact phrase.";
    "end_phrase", Phrase, true, ["phrase"], "The response ends with an exact phrase.";
    "postscript", Phrase, true, ["marker"], "A postscript starting with a marker such as P.S.";
    "placeholders", Phrase, true, ["relation", "value"], "Square-bracket placeholders such as [address].";
    "repeat_prompt", Phrase, true, ["prompt"], "Repeat the request word for word before answering.";
    "tone", Style, false, ["tone"], "Tone of voice: formal, humorous, warm, ...";
    "audience", Style, false, ["audience"], "Who the text is written for.";
    "persona", Style, false, ["persona"], "The voice or role the writer takes.";
    "style", Style, false, ["style"], "Register, genre or stylistic device.";
    "content_coverage", Content, false, ["topics"], "Topics or points the response must cover.";
}

/// Look a requirement type up by name.
pub fn type_info(name: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.name == name)
}

/// IFEval instruction id → (our type, fixed parameters as JSON).
pub const IFEVAL_IDS: &[(&str, &str, &str)] = &[
    ("keywords:existence", "keywords", "{}"),
    ("keywords:frequency", "keyword_frequency", "{}"),
    ("keywords:forbidden_words", "forbidden_words", "{}"),
    ("keywords:letter_frequency", "letter_frequency", "{}"),
    ("language:response_language", "response_language", "{}"),
    ("length_constraints:number_sentences", "length", r#"{"unit":"sentences"}"#),
    ("length_constraints:number_paragraphs", "length", r#"{"unit":"paragraphs","relation":"exactly"}"#),
    ("length_constraints:number_words", "length", r#"{"unit":"words"}"#),
    ("length_constraints:nth_paragraph_first_word", "paragraph_first_word", "{}"),
    ("detectable_content:number_placeholders", "placeholders", r#"{"relation":"at_least"}"#),
    ("detectable_content:postscript", "postscript", "{}"),
    ("detectable_format:number_bullet_lists", "bullet_points", r#"{"relation":"exactly"}"#),
    ("detectable_format:constrained_response", "constrained_response", "{}"),
    ("detectable_format:number_highlighted_sections", "highlighted_sections", r#"{"relation":"at_least"}"#),
    ("detectable_format:multiple_sections", "sections", "{}"),
    ("detectable_format:json_format", "json_format", "{}"),
    ("detectable_format:title", "title", "{}"),
    ("combination:two_responses", "two_responses", "{}"),
    ("combination:repeat_prompt", "repeat_prompt", "{}"),
    ("startend:end_checker", "end_phrase", "{}"),
    ("startend:quotation", "quotation", "{}"),
    ("change_case:capital_word_frequency", "capital_word_frequency", "{}"),
    ("change_case:english_capital", "uppercase", "{}"),
    ("change_case:english_lowercase", "lowercase", "{}"),
    ("punctuation:no_comma", "no_commas", "{}"),
];

/// The IFEval kwargs key → our parameter name, per IFEval id. Keys not listed here are rejected.
pub const IFEVAL_KWARGS: &[(&str, &str, &str)] = &[
    ("keywords:existence", "keywords", "keywords"),
    ("keywords:frequency", "keyword", "keyword"),
    ("keywords:frequency", "frequency", "value"),
    ("keywords:frequency", "relation", "relation"),
    ("keywords:forbidden_words", "forbidden_words", "words"),
    ("keywords:letter_frequency", "letter", "letter"),
    ("keywords:letter_frequency", "let_frequency", "value"),
    ("keywords:letter_frequency", "let_relation", "relation"),
    ("language:response_language", "language", "language"),
    ("length_constraints:number_sentences", "num_sentences", "value"),
    ("length_constraints:number_sentences", "relation", "relation"),
    ("length_constraints:number_paragraphs", "num_paragraphs", "value"),
    ("length_constraints:number_words", "num_words", "value"),
    ("length_constraints:number_words", "relation", "relation"),
    ("length_constraints:nth_paragraph_first_word", "num_paragraphs", "num_paragraphs"),
    ("length_constraints:nth_paragraph_first_word", "nth_paragraph", "nth"),
    ("length_constraints:nth_paragraph_first_word", "first_word", "first_word"),
    ("detectable_content:number_placeholders", "num_placeholders", "value"),
    ("detectable_content:postscript", "postscript_marker", "marker"),
    ("detectable_format:number_bullet_lists", "num_bullets", "value"),
    ("detectable_format:number_highlighted_sections", "num_highlights", "value"),
    ("detectable_format:multiple_sections", "section_spliter", "splitter"),
    ("detectable_format:multiple_sections", "num_sections", "value"),
    ("combination:repeat_prompt", "prompt_to_repeat", "prompt"),
    ("startend:end_checker", "end_phrase", "phrase"),
    ("change_case:capital_word_frequency", "capital_frequency", "value"),
    ("change_case:capital_word_frequency", "capital_relation", "relation"),
];

/// Canonical relation names. IFEval uses "less than" and "at least"; "about" means within ±10%;
/// "between" (lengths only) is a range with `min` and `max` in place of `value`, both included.
pub const RELATIONS: &[&str] = &["at_least", "at_most", "exactly", "less_than", "more_than", "about", "between"];

#[cfg(test)]
mod tests;
