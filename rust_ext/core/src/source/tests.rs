//! Unit tests of `source`, in their own file: the pipeline's stages depend on `source.rs`, not on its tests.

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
