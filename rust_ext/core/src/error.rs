//! The core's error type. Each variant becomes its own Python exception in the bindings.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// The instruction text is unusable (empty, too long, too many pieces).
    #[error("invalid instruction: {0}")]
    InvalidInstruction(String),
    /// Structured requirements (IFEval ids and kwargs, or a requirements list) are malformed.
    #[error("invalid requirements: {0}")]
    InvalidRequirements(String),
    /// An IFEval instruction id that the taxonomy does not know.
    #[error("unknown IFEval instruction id {0:?}")]
    UnknownInstructionId(String),
    /// A configuration value (strategy, rate, ...) is out of range.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A bug in the core (a panic caught at a row or call boundary), never the caller's mistake.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl CoreError {
    /// A short machine-readable kind, used as the `reason_kind` column of rejects files.
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::InvalidInstruction(_) => "invalid_instruction",
            CoreError::InvalidRequirements(_) => "invalid_requirements",
            CoreError::UnknownInstructionId(_) => "unknown_instruction_id",
            CoreError::InvalidConfig(_) => "invalid_config",
            CoreError::Internal(_) => "internal",
        }
    }
}

pub type Result<T> = std::result::Result<T, CoreError>;
