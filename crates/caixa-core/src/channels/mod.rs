//! Channel adapters: how each kind of inbox receives and sends. Receiving for website and API
//! inboxes happens in the gateway; this module holds the sending side.

pub mod api;
pub mod email;
pub mod website;

/// Why a send did not work, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Network down, timeout, 5xx, 429: retried with backoff.
    Transient(String),
    /// The provider refused for good (4xx, no webhook configured): shown on the message.
    Permanent(String),
    /// The server cannot be reached at all (no network, DNS, connection refused): the reply
    /// stays queued and is retried, with capped backoff, for as long as it takes.
    Offline(String),
}

/// What a successful send reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub delivery: crate::model::Delivery,
    /// The provider's id for the message, if it gave one.
    pub source_id: Option<String>,
}
