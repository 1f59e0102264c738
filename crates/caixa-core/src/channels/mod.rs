//! Channel adapters: how each kind of inbox receives and sends. Website and API inboxes receive
//! through the gateway; e-mail and Telegram inboxes through their own worker ([`workers`]).

pub mod api;
pub mod email;
pub mod line;
pub mod messenger;
pub mod poll;
pub mod telegram;
pub mod twilio;
pub mod website;
pub mod whatsapp;
pub mod workers;
pub mod x;

/// Why a send did not work, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Network down, timeout, 5xx, 429: retried with backoff.
    Transient(String),
    /// The provider refused for good (4xx, no webhook configured): shown on the message.
    Permanent(String),
    /// The provider asked to wait (HTTP 429, Telegram `retry_after`, Graph throughput codes):
    /// retried no sooner than `retry_after` (zero: the outbox's own backoff), without giving up.
    RateLimited {
        reason: String,
        retry_after: std::time::Duration,
    },
    /// The server cannot be reached at all (no network, DNS, connection refused): the reply
    /// stays queued and is retried, with capped backoff, for as long as it takes.
    Offline(String),
}

impl SendError {
    /// The reason in words.
    pub fn reason(&self) -> &str {
        match self {
            SendError::Transient(r)
            | SendError::Permanent(r)
            | SendError::Offline(r)
            | SendError::RateLimited { reason: r, .. } => r,
        }
    }
}

/// What one verified webhook delivery asks of the store.
#[derive(Debug, Default)]
pub struct Inbound {
    pub messages: Vec<crate::caixa::IncomingOwned>,
    /// `(provider message id, delivery, error)` reports for messages we sent.
    pub statuses: Vec<(String, crate::model::Delivery, Option<String>)>,
}

/// What a successful send reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub delivery: crate::model::Delivery,
    /// The provider's id for the message, if it gave one.
    pub source_id: Option<String>,
}
