//! Where an instruction's requirements come from, and a row of the parse stage parsed by it:
//! IFEval `instruction_id_list` + `kwargs`, an explicit requirements list, or the free text.

use std::borrow::Cow;

use crate::error::{CoreError, Result};
use crate::model::ParsedInstruction;
use crate::parse::{parse_instruction, ParseLimits};
use crate::rows::Cell;
use crate::structured::{from_ifeval, from_list, parse_structured};

/// The requirements of an instruction, by their source.
#[derive(Debug, Clone, PartialEq)]
pub enum RequirementSource<'a> {
    /// IFEval instruction ids with their kwargs (a JSON list; `[]` when absent).
    Ifeval { ids: Vec<String>, kwargs: Option<&'a str> },
    /// An explicit JSON list of `{type, params, text}`.
    List(&'a str),
    /// Found by parsing the instruction's text.
    Text,
}

impl<'a> RequirementSource<'a> {
    /// The first source given: IFEval ids, then an explicit list, then the text.
    pub fn choose(ids: Option<Vec<String>>, kwargs: Option<&'a str>, requirements: Option<&'a str>) -> Self {
        match (ids, requirements) {
            (Some(ids), _) => RequirementSource::Ifeval { ids, kwargs },
            (None, Some(list)) => RequirementSource::List(list),
            (None, None) => RequirementSource::Text,
        }
    }
}

/// Parse an instruction with its requirements from `source`, aligned to spans of `text`.
pub fn parse_with(text: &str, source: RequirementSource, limits: &ParseLimits) -> Result<ParsedInstruction> {
    match source {
        RequirementSource::Ifeval { ids, kwargs } => {
            let reqs = from_ifeval(&ids, kwargs.unwrap_or("[]"))?;
            parse_structured(text, reqs.into_iter().map(|(t, p)| (t, p, None)).collect(), limits)
        }
        RequirementSource::List(list) => parse_structured(text, from_list(list)?, limits),
        RequirementSource::Text => parse_instruction(text, limits),
    }
}

/// One input row of the parse stage, its cells borrowed from the table.
#[derive(Debug, Clone)]
pub struct ParseRow<'a> {
    /// `None` when the id cell is null or not UTF-8.
    pub id: Option<Cow<'a, str>>,
    /// An earlier row has the same id.
    pub repeated_id: bool,
    pub prompt: Cell<'a>,
    /// The `instruction_id_list` cell, or why it cannot be read.
    pub instruction_ids: std::result::Result<Option<Vec<String>>, String>,
    pub kwargs: Cell<'a>,
    pub requirements: Cell<'a>,
}

/// Parse one row, or say why the row is rejected: no usable id, a repeated id, no usable
/// prompt, an unreadable requirement cell, then whatever parsing finds wrong.
pub fn parse_row(row: &ParseRow, limits: &ParseLimits) -> Result<ParsedInstruction> {
    let Some(id) = &row.id else {
        return Err(CoreError::InvalidInstruction("missing or non-UTF-8 id".into()));
    };
    if row.repeated_id {
        return Err(CoreError::InvalidInstruction(format!("duplicate id {:?}", id.as_ref())));
    }
    let text = match row.prompt {
        Cell::Text(t) => t,
        Cell::Null => return Err(CoreError::InvalidInstruction("missing prompt (null)".into())),
        Cell::InvalidUtf8 => return Err(CoreError::InvalidInstruction("prompt is not valid UTF-8".into())),
    };
    let ids = row.instruction_ids.clone().map_err(CoreError::InvalidRequirements)?;
    let kwargs = row.kwargs.optional("kwargs")?;
    let requirements = row.requirements.optional("requirements")?;
    parse_with(text, RequirementSource::choose(ids, kwargs, requirements), limits)
}

#[cfg(test)]
mod tests;
