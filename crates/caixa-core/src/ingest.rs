//! Storing what a customer sent: contact, conversation and message in one transaction,
//! idempotent by `(inbox_id, source_id)`.

use rusqlite::Transaction;

use crate::error::Result;
use crate::model::{ConversationId, InboxId, MessageId, MessageKind};
use crate::store::contacts::{self, ContactInfo};
use crate::store::{attachments, conversations, messages};

pub struct Incoming<'a> {
    pub inbox_id: InboxId,
    /// The contact's id in this channel (visitor token, API identifier, address…).
    pub contact_key: &'a str,
    pub contact: ContactInfo<'a>,
    /// The channel's thread key; several threads may share one contact (e.g. e-mail subjects).
    pub thread_key: &'a str,
    /// The provider's message id, for deduplication. `None`: never deduplicated.
    pub source_id: Option<&'a str>,
    pub content: &'a str,
    pub created_at: i64,
    /// Files already in the attachment store.
    pub files: &'a [IncomingFile],
}

/// A file a customer sent, already written to the attachment store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingFile {
    pub file_name: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub conversation_id: ConversationId,
    /// `None` when the message was already stored.
    pub message_id: Option<MessageId>,
    pub new_conversation: bool,
}

pub fn ingest(tx: &Transaction<'_>, m: &Incoming<'_>) -> Result<Ingested> {
    let contact_id =
        contacts::upsert_identity(tx, m.inbox_id, m.contact_key, &m.contact, m.created_at)?;
    let (conversation_id, new_conversation) =
        conversations::upsert(tx, m.inbox_id, contact_id, m.thread_key, m.created_at)?;
    let sender = (!m.contact.name.is_empty()).then_some(m.contact.name);
    let message_id = messages::insert(
        tx,
        &messages::NewMessage {
            conversation_id,
            inbox_id: m.inbox_id,
            source_id: m.source_id,
            kind: MessageKind::Incoming,
            content: m.content,
            sender_name: sender,
            delivery: None,
            created_at: m.created_at,
            by_bot: false,
        },
    )?;
    if let Some(id) = message_id {
        for f in m.files {
            attachments::insert(
                tx,
                id,
                &attachments::NewAttachment {
                    file_name: &f.file_name,
                    mime_type: &f.mime_type,
                    size: f.size,
                    sha256: &f.sha256,
                    content_id: None,
                    remote: None,
                },
            )?;
        }
        conversations::touch(
            tx,
            conversation_id,
            MessageKind::Incoming,
            m.content,
            m.created_at,
            true,
        )?;
    }
    Ok(Ingested {
        conversation_id,
        message_id,
        new_conversation,
    })
}
