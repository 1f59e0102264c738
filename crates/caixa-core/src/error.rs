//! Typed errors of the core. Shells turn them into `{code, message, fields}` (see [`ErrorCode`]).

use serde::Serialize;
use specta::Type;

use crate::model::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the user can fix, with one message per field.
    #[error("invalid input: {}", summarize(.0))]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Something outside the app is missing or down (keychain, network, port in use).
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

fn summarize(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::Validation,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Db(_) | Error::Migration(_) | Error::Io(_) | Error::Internal(_) => {
                ErrorCode::Internal
            }
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task failed: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Validation,
    NotFound,
    Conflict,
    Unavailable,
    Internal,
}

/// What crosses the IPC boundary (and what `caixa-cli --json` prints on failure).
#[derive(Debug, Clone, Serialize, Type)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl From<&Error> for ErrorPayload {
    fn from(e: &Error) -> Self {
        ErrorPayload {
            code: e.code(),
            message: e.to_string(),
            fields: match e {
                Error::Validation(f) => f.clone(),
                _ => Vec::new(),
            },
        }
    }
}
