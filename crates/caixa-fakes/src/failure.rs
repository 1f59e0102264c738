//! Failures a test can inject into the next matching request of a fake.

use std::sync::Mutex;

use crate::recorder::lock;

/// A failure to answer the next matching request with, in the provider's own error format.
///
/// Every fake renders these in its provider's shape; its module documentation says which
/// status, code and body each variant becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The provider's rate-limit answer; `retry_after_secs` goes wherever the provider reports
    /// it (body field, header or both).
    RateLimited { retry_after_secs: u64 },
    /// The provider's answer to bad credentials.
    Unauthorized,
    /// A server-side error (5xx) in the provider's error shape.
    ServerError,
    /// Any provider error in the provider's shape: HTTP status, the provider's own error code
    /// (ignored where the provider has none) and message.
    Status {
        status: u16,
        code: i64,
        message: String,
    },
    /// Exactly this response, for shapes the fake does not build itself.
    Raw {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
}

/// Pending injected failures, consumed in the order they were added.
pub(crate) struct FailureQueue {
    pending: Mutex<Vec<(String, Failure)>>,
}

impl FailureQueue {
    pub(crate) fn new() -> Self {
        Self {
            pending: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn push(&self, path_contains: &str, failure: Failure) {
        lock(&self.pending).push((path_contains.to_ascii_lowercase(), failure));
    }

    /// Removes and returns the first failure whose pattern occurs in `path`. Case-insensitive
    /// because some providers (Telegram) treat method names case-insensitively and clients
    /// differ in the casing they send.
    pub(crate) fn take(&self, path: &str) -> Option<Failure> {
        let path = path.to_ascii_lowercase();
        let mut pending = lock(&self.pending);
        let index = pending
            .iter()
            .position(|(p, _)| path.contains(p.as_str()))?;
        Some(pending.remove(index).1)
    }
}
