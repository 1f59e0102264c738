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

/// The files of a queued reply (what to send, not yet read).
pub(crate) async fn reply_files(
    caixa: &crate::caixa::Caixa,
    message_id: crate::model::MessageId,
) -> Result<Vec<crate::store::attachments::OutFile>, SendError> {
    caixa
        .store()
        .read(move |c| crate::store::attachments::files_of(c, message_id))
        .await
        .map_err(|e| SendError::Transient(format!("cannot read the reply's files: {e}")))
}

/// The bytes of a reply's file, from the attachment store.
pub(crate) async fn read_file(
    caixa: &crate::caixa::Caixa,
    file: &crate::store::attachments::OutFile,
) -> Result<Vec<u8>, SendError> {
    let path = crate::store::attachments::path_of(&caixa.config().data_dir, &file.sha256);
    tokio::fs::read(&path)
        .await
        .map_err(|e| SendError::Permanent(format!("{} cannot be read: {e}", file.file_name)))
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
