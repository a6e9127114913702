//! Unit tests of `rows`, in their own file: the pipeline's stages depend on `rows.rs`, not on its tests.

use super::*;

#[test]
fn cells_read_as_text_or_an_error() {
    assert_eq!(Cell::Text("[]").optional("kwargs"), Ok(Some("[]")));
    assert_eq!(Cell::Null.optional("kwargs"), Ok(None));
    let err = Cell::InvalidUtf8.optional("kwargs").unwrap_err();
    assert_eq!(err.to_string(), "invalid requirements: kwargs is not valid UTF-8");
    assert_eq!((Cell::Text("a").text(), Cell::InvalidUtf8.text()), (Some("a"), None));
}

#[test]
fn ids_default_to_row_numbers_and_repeats_are_noted() {
    let mut ids = RowIds::new(true);
    assert_eq!(ids.id(3, Cell::Text("x")).as_deref(), Some("x"));
    assert_eq!(ids.id(3, Cell::Null), None);
    assert_eq!(ids.id(3, Cell::InvalidUtf8), None);
    assert!(!ids.repeated("x") && ids.repeated("x") && !ids.repeated("y"));
    assert_eq!(RowIds::new(false).id(7, Cell::Null).as_deref(), Some("7"));
}

#[test]
fn rejections_carry_the_error_kind() {
    let r = Rejection::from(CoreError::Internal("boom".into()));
    assert_eq!((r.kind, r.reason.as_str()), ("internal", "internal error (please report it): boom"));
}
