//! Unit tests of `batch`, in their own file: the pipeline's stages depend on `batch.rs`, not on its tests.

use super::*;

#[test]
fn keeps_order_and_contains_panics() {
    let items: Vec<u32> = (0..1000).collect();
    let out = par_map(&items, 2, |&x| if x == 500 { panic!("boom") } else { Ok(x * 2) }).unwrap();
    assert_eq!(out.len(), 1000);
    assert_eq!(out[10], Ok(20));
    assert!(out[500].as_ref().unwrap_err().to_string().contains("boom"));
}

#[test]
fn a_panicking_row_is_an_internal_error() {
    let items: Vec<usize> = (0..200).collect();
    for threads in [1, 2] {
        let out = par_map(&items, threads, |&x| if x == 7 { panic!("index {x} out of range") } else { Ok(x) }).unwrap();
        let err = out[7].clone().unwrap_err();
        assert_eq!(err, CoreError::Internal("index 7 out of range".into()));
        assert_eq!(err.kind(), "internal");
        assert_eq!(err.to_string(), "internal error (please report it): index 7 out of range");
        assert_eq!(out[8], Ok(8));
    }
    assert_eq!(guard(|| -> Result<()> { std::panic::panic_any(3u8) }), Err(CoreError::Internal("unknown panic".into())));
}
