//! Unit tests of `taxonomy`, in their own file: the pipeline's stages depend on `taxonomy.rs`, not on its tests.

use super::*;

#[test]
fn every_ifeval_id_maps_to_a_known_type() {
    assert_eq!(IFEVAL_IDS.len(), 25);
    for (id, ty, fixed) in IFEVAL_IDS {
        assert!(type_info(ty).is_some(), "{id} -> {ty}");
        assert!(serde_json::from_str::<serde_json::Value>(fixed).unwrap().is_object());
    }
    for (id, _, param) in IFEVAL_KWARGS {
        let ty = IFEVAL_IDS.iter().find(|(i, _, _)| i == id).unwrap().1;
        assert!(type_info(ty).unwrap().params.contains(param), "{id}: {param}");
    }
}

#[test]
fn taxonomy_has_all_families_and_unverifiable_types() {
    let families: std::collections::BTreeSet<_> = TYPES.iter().map(|t| t.family).collect();
    assert_eq!(families.len(), 8);
    assert!(TYPES.iter().any(|t| !t.verifiable));
}
