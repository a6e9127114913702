//! Unit tests of `rng`, in their own file: the pipeline's stages depend on `rng.rs`, not on its tests.

use super::*;

#[test]
fn known_values() {
    assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    let mut r = Rng(0);
    assert_eq!(r.next_u64(), 0xe220a8397b1dcdaf);
    let s = Rng::for_key(1, "k").sample(10, 10);
    let mut sorted = s.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
}
