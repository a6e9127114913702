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
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways_on_mixed_text() {
        let text = "a春b";
        let index = CharIndex::new(text);
        assert_eq!((index.char_of(0), index.char_of(1), index.char_of(4), index.char_of(5)), (0, 1, 2, 3));
        assert_eq!((index.byte_of(2), index.byte_of(3), index.byte_of(4)), (Some(4), Some(5), None));
        let ascii = CharIndex::new("abc");
        assert_eq!((ascii.char_of(2), ascii.byte_of(3), ascii.byte_of(4)), (2, Some(3), None));
    }

    #[test]
    fn rejects_reversed_and_overlong_spans() {
        assert_eq!(check_order("r1", Some(3), Some(2)).unwrap_err(), "requirement r1 has start 3 after end 2");
        assert!(check_order("r1", Some(2), None).is_ok());
        let req = |end| Requirement {
            id: "r2".into(),
            rtype: "tone".into(),
            start: Some(0),
            end: Some(end),
            text: String::new(),
            params: Default::default(),
            source: "text".into(),
        };
        assert!(check_within("春天", &[req(2)]).is_ok());
        let err = check_within("春天", &[req(3)]).unwrap_err();
        assert_eq!(err.to_string(), "invalid requirements: requirement r2 ends past the prompt");
    }
}
