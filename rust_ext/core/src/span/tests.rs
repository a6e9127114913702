//! Unit tests of `span`, in their own file: the pipeline's stages depend on `span.rs`, not on its tests.

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
