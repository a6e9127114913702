//! The requirement model shared by parsing, dropping and verification.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Normalized parameters, serialized with sorted keys so both engines agree byte for byte.
pub type Params = Map<String, Value>;

/// A requirement found in (or attached to) an instruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// Stable id within its instruction: r1, r2, ... in order of appearance.
    pub id: String,
    /// Type name from the taxonomy.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Character span (Unicode code points, end exclusive) in the original instruction,
    /// or `None` when a structured requirement could not be located in the text.
    pub start: Option<usize>,
    pub end: Option<usize>,
    /// The surface text of the span ("" when unlocated).
    pub text: String,
    pub params: Params,
    /// `text` when found by the parser, `structured` when it came from IFEval kwargs or a list.
    pub source: String,
}

impl Requirement {
    pub fn family(&self) -> &'static str {
        crate::taxonomy::type_info(&self.rtype).map(|t| t.family.as_str()).unwrap_or("unknown")
    }

    pub fn verifiable(&self) -> bool {
        crate::taxonomy::type_info(&self.rtype).is_some_and(|t| t.verifiable)
    }

    /// Parameters as compact JSON with sorted keys.
    pub fn params_json(&self) -> String {
        params_to_json(&self.params)
    }
}

/// Compact JSON with keys sorted (serde_json's `Map` is a BTreeMap without `preserve_order`).
pub fn params_to_json(params: &Params) -> String {
    serde_json::to_string(params).expect("a JSON map always serializes")
}

/// An instruction split into its base task and its requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedInstruction {
    /// The instruction with every locatable requirement removed.
    pub base_task: String,
    /// Dominant script of the instruction: "zh" when it is mostly CJK, else "en".
    pub script: String,
    pub requirements: Vec<Requirement>,
}
