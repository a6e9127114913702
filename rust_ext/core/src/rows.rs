//! Table rows as every stage reads them: string cells that may be null or not UTF-8, the ids
//! that name rows in outputs and rejects, and a row's rejection. The bindings read cells out of
//! Arrow; what a cell's content means for the row is decided here and in the stages.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::{CoreError, Result};

/// A string-like cell: null (or a column the table does not have), text, or bytes that are not
/// valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    InvalidUtf8,
}

impl<'a> Cell<'a> {
    /// The text, if the cell holds valid text.
    pub fn text(self) -> Option<&'a str> {
        match self {
            Cell::Text(t) => Some(t),
            Cell::Null | Cell::InvalidUtf8 => None,
        }
    }

    /// An optional JSON cell (`what` names it): null is absent, invalid UTF-8 the row's error.
    pub fn optional(self, what: &str) -> Result<Option<&'a str>> {
        match self {
            Cell::Text(t) => Ok(Some(t)),
            Cell::Null => Ok(None),
            Cell::InvalidUtf8 => Err(CoreError::InvalidRequirements(format!("{what} is not valid UTF-8"))),
        }
    }
}

/// Why a row was rejected: the `reason_kind` and `reason` columns of a rejects table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: &'static str,
    pub reason: String,
}

impl Rejection {
    pub fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        Rejection { kind, reason: reason.into() }
    }
}

impl From<CoreError> for Rejection {
    fn from(e: CoreError) -> Self {
        Rejection { kind: e.kind(), reason: e.to_string() }
    }
}

/// The ids of a table's rows: the id column's text, or the row number when the table has no id
/// column; an id seen in an earlier row is noted as repeated.
pub struct RowIds {
    numbered: bool,
    seen: HashSet<String>,
}

impl RowIds {
    pub fn new(has_id_column: bool) -> Self {
        RowIds { numbered: !has_id_column, seen: HashSet::new() }
    }

    /// The id of row `row` (`None` when its cell is null or not UTF-8).
    pub fn id<'a>(&self, row: usize, cell: Cell<'a>) -> Option<Cow<'a, str>> {
        match cell {
            Cell::Text(s) => Some(Cow::Borrowed(s)),
            _ if self.numbered => Some(Cow::Owned(row.to_string())),
            _ => None,
        }
    }

    /// Has an earlier row had this id? Records it for the rows after.
    pub fn repeated(&mut self, id: &str) -> bool {
        !self.seen.insert(id.to_string())
    }
}

#[cfg(test)]
mod tests;
