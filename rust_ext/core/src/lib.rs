//! wrl-core: the requirement engine of wrl, in pure Rust.
//!
//! - [`taxonomy`]: requirement types, families, and the IFEval mapping.
//! - [`text`]: sentence, list and clause segmentation shared by every stage.
//! - [`parse`]: free-text instructions → typed requirements with spans and parameters.
//! - [`structured`]: IFEval ids + kwargs, or explicit requirement lists → the same model.
//! - [`drop`]: seeded requirement dropping and fluent rewriting.
//! - [`verify`]: rule verifiers of the verifiable requirement types, IFEval-compatible.
//! - [`batch`]: the same over many rows, on all cores, with per-row errors.

pub mod batch;
pub mod drop;
pub mod error;
pub mod lexicon;
pub mod model;
pub mod parse;
pub mod rng;
pub mod structured;
pub mod taxonomy;
pub mod text;
pub mod verify;

pub use error::{CoreError, Result};
pub use model::{ParsedInstruction, Requirement};
