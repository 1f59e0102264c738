//! Storing one fetched mail: threading by Message-ID, contact by sender address, one
//! transaction with the folder cursor so a crash repeats nothing and loses nothing.

use rusqlite::Transaction;

use super::large::RemotePart;
use super::parse::ParsedMail;
use crate::error::Result;
use crate::model::{ConversationId, Delivery, InboxId, MessageId, MessageKind};
use crate::store::contacts::{self, ContactInfo};
use crate::store::{attachments, conversations, email, messages};

/// Where a mail was found on the server.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub folder: &'a str,
    pub uid_validity: u32,
    pub uid: u32,
    /// Mail from the Sent folder is ours: it joins existing threads as outgoing and never
    /// starts a conversation.
    pub sent_folder: bool,
    /// `\Seen` on the server: read elsewhere already, so it does not count as unread.
    pub seen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    /// From the customer (not our own mail seen in Sent).
    pub incoming: bool,
    pub new_conversation: bool,
}

/// Stores `mail` unless it is already there (same Message-ID in this inbox). Attachments were
/// written to disk beforehand; `saved` holds their hashes in the same order.
pub fn store(
    tx: &Transaction<'_>,
    inbox_id: InboxId,
    own_address: &str,
    origin: Origin<'_>,
    mail: &ParsedMail,
    saved: &[String],
    received_at: i64,
) -> Result<Option<Stored>> {
    if let Some(existing) = email::message_by_rfc_id(tx, inbox_id, &mail.message_id)? {
        // Known already (e.g. our own reply, now seen in Sent): remember where it lives.
        email::insert_meta(tx, existing, inbox_id, &meta(mail, origin))?;
        return Ok(None);
    }
    let mut thread_ids: Vec<String> = mail.in_reply_to.clone();
    thread_ids.extend(mail.references.iter().rev().cloned());
    let existing_conversation =
        email::conversation_of(tx, inbox_id, &thread_ids, &mail.message_id)?;
    let from_us = origin.sent_folder
        || mail
            .from_addr
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(own_address));
    let created_at = mail.date.unwrap_or(received_at).min(received_at + 60_000);
    let content = if mail.text.trim().is_empty() {
        if mail.attachments.is_empty() {
            "(no text)".to_string()
        } else {
            format!("({} attachment(s))", mail.attachments.len())
        }
    } else {
        mail.text.clone()
    };

    let mut new_conversation = false;
    let (conversation_id, kind) = if from_us {
        let Some(conversation_id) = existing_conversation else {
            return Ok(None);
        };
        (conversation_id, MessageKind::Outgoing)
    } else {
        let address = mail.from_addr.as_deref().unwrap_or("unknown@invalid");
        let name = mail.from_name.as_deref().unwrap_or(address);
        let contact_id = contacts::upsert_identity(
            tx,
            inbox_id,
            address,
            &ContactInfo {
                name,
                email: mail.from_addr.as_deref(),
                phone: None,
            },
            created_at,
        )?;
        let conversation_id = match existing_conversation {
            Some(id) => id,
            None => {
                let (id, created) =
                    conversations::upsert(tx, inbox_id, contact_id, &mail.message_id, created_at)?;
                new_conversation = created;
                id
            }
        };
        (conversation_id, MessageKind::Incoming)
    };
    let sender = if from_us {
        None
    } else {
        mail.from_name.as_deref().or(mail.from_addr.as_deref())
    };
    let Some(message_id) = messages::insert(
        tx,
        &messages::NewMessage {
            conversation_id,
            inbox_id,
            source_id: Some(&mail.message_id),
            kind,
            content: &content,
            sender_name: sender,
            delivery: (kind == MessageKind::Outgoing).then_some(Delivery::Sent),
            created_at,
            by_bot: false,
        },
    )?
    else {
        return Ok(None);
    };
    email::insert_meta(tx, message_id, inbox_id, &meta(mail, origin))?;
    for (a, sha) in mail.attachments.iter().zip(saved) {
        let remote = a.remote.as_ref().map(|(section, encoding)| {
            serde_json::to_string(&RemotePart {
                folder: origin.folder.to_string(),
                uid_validity: origin.uid_validity,
                uid: origin.uid,
                section: section.clone(),
                encoding: encoding.clone(),
            })
            .expect("a plain struct serializes")
        });
        attachments::insert(
            tx,
            message_id,
            &attachments::NewAttachment {
                file_name: &a.file_name,
                mime_type: &a.mime_type,
                size: a.size as i64,
                sha256: sha,
                content_id: a.content_id.as_deref(),
                remote: remote.as_deref(),
            },
        )?;
    }
    let preview = match &mail.subject {
        Some(s)
            if !s.is_empty()
                && kind == MessageKind::Incoming
                && existing_conversation.is_none() =>
        {
            format!("{s} — {content}")
        }
        _ => content.clone(),
    };
    conversations::touch(
        tx,
        conversation_id,
        kind,
        &preview,
        created_at,
        !mail.auto_reply,
    )?;
    if origin.seen && kind == MessageKind::Incoming {
        conversations::read_one(tx, conversation_id)?;
    }
    Ok(Some(Stored {
        conversation_id,
        message_id,
        incoming: kind == MessageKind::Incoming,
        new_conversation,
    }))
}

fn meta<'a>(mail: &'a ParsedMail, origin: Origin<'a>) -> email::Meta<'a> {
    email::Meta {
        rfc_message_id: &mail.message_id,
        subject: mail.subject.as_deref(),
        from_addr: mail.reply_to.as_deref().or(mail.from_addr.as_deref()),
        to: &mail.to,
        cc: &mail.cc,
        in_reply_to: mail.in_reply_to.first().map(String::as_str),
        references: &mail.references,
        html: mail.html.as_deref(),
        folder: Some(origin.folder),
        uid: Some(origin.uid),
        auto_reply: mail.auto_reply,
        seen: origin.seen,
    }
}
