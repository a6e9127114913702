//! How the engine compiles a lexicon regex: shared by the engine (`lexicon::compile`) and by
//! build.rs, which checks every regex of the source with it.

use regex::Regex;

/// Compile a lexicon regex. `\b` means an ASCII word boundary: it keeps the regex engine on its
/// fast DFA path (a Unicode boundary forces the slow one).
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    // A roomy lazy-DFA cache: with the default one, Unicode classes under (?i) make the DFA
    // re-determinize states over and over on every instruction.
    regex::RegexBuilder::new(&pattern.replace("\\b", "(?-u:\\b)")).dfa_size_limit(64 << 20).build()
}
