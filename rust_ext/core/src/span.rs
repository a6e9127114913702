//! Spans: requirements are located by Unicode code points (what Python slices by), the engine
//! works in UTF-8 byte offsets. [`CharIndex`] converts between the two, and the span checks say
//! when a requirement's span cannot belong to its prompt.

use crate::error::{CoreError, Result};
use crate::model::Requirement;

/// Byte offset ↔ character offset. Non-ASCII text keeps the byte offset of every character, so
/// each lookup is a binary search, not a scan from the start.
pub struct CharIndex {
    len: usize,
    /// Byte offset of each character; empty for ASCII text, where the two offsets agree.
    starts: Vec<usize>,
}

impl CharIndex {
    pub fn new(text: &str) -> Self {
        let starts = if text.is_ascii() { Vec::new() } else { text.char_indices().map(|(b, _)| b).collect() };
        CharIndex { len: text.len(), starts }
    }

    /// The character offset of a byte offset (of the first character at or after it).
    pub fn char_of(&self, byte: usize) -> usize {
        if self.starts.is_empty() {
            byte
        } else {
            self.starts.partition_point(|&b| b < byte)
        }
    }

    /// The byte offset of a character offset; `None` past the end of the text.
    pub fn byte_of(&self, chars: usize) -> Option<usize> {
        if self.starts.is_empty() {
            return (chars <= self.len).then_some(chars);
        }
        self.starts.get(chars).copied().or((chars == self.starts.len()).then_some(self.len))
    }
}

/// A span read back from a table must not end before it starts.
pub fn check_order(id: &str, start: Option<usize>, end: Option<usize>) -> std::result::Result<(), String> {
    match (start, end) {
        (Some(s), Some(e)) if s > e => Err(format!("requirement {id} has start {s} after end {e}")),
        _ => Ok(()),
    }
}

/// Every span must end within the prompt it was found in.
pub fn check_within(prompt: &str, requirements: &[Requirement]) -> Result<()> {
    let chars = prompt.chars().count();
    match requirements.iter().find(|q| q.end.is_some_and(|e| e > chars)) {
        Some(bad) => Err(CoreError::InvalidRequirements(format!("requirement {} ends past the prompt", bad.id))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
