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
mod tests {
    use super::*;

    fn row(prompt: Cell<'static>) -> ParseRow<'static> {
        ParseRow {
            id: Some(Cow::Borrowed("a")),
            repeated_id: false,
            prompt,
            instruction_ids: Ok(None),
            kwargs: Cell::Null,
            requirements: Cell::Null,
        }
    }

    fn reason(row: &ParseRow) -> String {
        parse_row(row, &ParseLimits::default()).unwrap_err().to_string()
    }

    #[test]
    fn sources_take_precedence_in_order() {
        let ids = || Some(vec!["punctuation:no_comma".to_string()]);
        assert_eq!(
            RequirementSource::choose(ids(), None, Some("[]")),
            RequirementSource::Ifeval { ids: ids().unwrap(), kwargs: None }
        );
        assert_eq!(RequirementSource::choose(None, Some("[{}]"), Some("[]")), RequirementSource::List("[]"));
        assert_eq!(RequirementSource::choose(None, Some("[{}]"), None), RequirementSource::Text);
        let text = "Write a haiku. Do not use any commas.";
        let by_ids = parse_with(text, RequirementSource::choose(ids(), Some("[{}]"), None), &ParseLimits::default()).unwrap();
        assert_eq!((by_ids.requirements[0].source.as_str(), by_ids.base_task.as_str()), ("structured", "Write a haiku."));
        let by_text = parse_with(text, RequirementSource::Text, &ParseLimits::default()).unwrap();
        assert_eq!(by_text.requirements[0].source, "text");
    }

    #[test]
    fn bad_rows_are_rejected_in_order() {
        let good = row(Cell::Text("Write a haiku."));
        assert!(parse_row(&good, &ParseLimits::default()).is_ok());
        assert_eq!(reason(&ParseRow { id: None, prompt: Cell::Null, ..good.clone() }), "invalid instruction: missing or non-UTF-8 id");
        assert_eq!(reason(&ParseRow { repeated_id: true, ..good.clone() }), "invalid instruction: duplicate id \"a\"");
        assert_eq!(reason(&row(Cell::Null)), "invalid instruction: missing prompt (null)");
        assert_eq!(reason(&row(Cell::InvalidUtf8)), "invalid instruction: prompt is not valid UTF-8");
        let unreadable = ParseRow { instruction_ids: Err("bad list".into()), kwargs: Cell::InvalidUtf8, ..good.clone() };
        assert_eq!(reason(&unreadable), "invalid requirements: bad list");
        let bad_kwargs = ParseRow { kwargs: Cell::InvalidUtf8, requirements: Cell::InvalidUtf8, ..good.clone() };
        assert_eq!(reason(&bad_kwargs), "invalid requirements: kwargs is not valid UTF-8");
        let bad_list = ParseRow { requirements: Cell::InvalidUtf8, ..good.clone() };
        assert_eq!(reason(&bad_list), "invalid requirements: requirements is not valid UTF-8");
        let unknown = ParseRow { instruction_ids: Ok(Some(vec!["made:up".into()])), kwargs: Cell::Text("[{}]"), ..good };
        assert_eq!(parse_row(&unknown, &ParseLimits::default()).unwrap_err().kind(), "unknown_instruction_id");
    }
}
