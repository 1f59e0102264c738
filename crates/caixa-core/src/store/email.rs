//! The e-mail side tables: per-folder sync cursors and each mail's RFC 5322 details.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::model::{ConversationId, InboxId, MessageId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub highest_modseq: Option<u64>,
}

pub fn folder_state(
    conn: &Connection,
    inbox_id: InboxId,
    folder: &str,
) -> Result<Option<FolderState>> {
    Ok(conn
        .prepare_cached(
            "SELECT uid_validity, uid_next, highest_modseq FROM email_folders
             WHERE inbox_id = ?1 AND name = ?2",
        )?
        .query_row(params![inbox_id, folder], |r| {
            Ok(FolderState {
                uid_validity: r.get::<_, i64>(0)? as u32,
                uid_next: r.get::<_, i64>(1)? as u32,
                highest_modseq: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
            })
        })
        .optional()?)
}

pub fn set_folder_state(
    conn: &Connection,
    inbox_id: InboxId,
    folder: &str,
    s: &FolderState,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO email_folders (inbox_id, name, uid_validity, uid_next, highest_modseq)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (inbox_id, name) DO UPDATE SET uid_validity = ?3, uid_next = ?4,
            highest_modseq = ?5",
    )?
    .execute(params![
        inbox_id,
        folder,
        s.uid_validity as i64,
        s.uid_next as i64,
        s.highest_modseq.map(|v| v as i64)
    ])?;
    Ok(())
}

/// The conversation a mail belongs to: the one holding any Message-ID it refers to (`refs`,
/// tried in order), or one holding a mail that refers to the same ids or to the mail itself
/// (`own_id`) — so a thread is found whatever order its mails are stored in.
pub fn conversation_of(
    conn: &Connection,
    inbox_id: InboxId,
    refs: &[String],
    own_id: &str,
) -> Result<Option<ConversationId>> {
    let mut by_id = conn.prepare_cached(
        "SELECT m.conversation_id FROM email_messages e JOIN messages m ON m.id = e.message_id
         WHERE e.inbox_id = ?1 AND e.rfc_message_id = ?2 LIMIT 1",
    )?;
    for id in refs {
        if let Some(c) = by_id
            .query_row(params![inbox_id, id], |r| r.get(0))
            .optional()?
        {
            return Ok(Some(c));
        }
    }
    let mut by_ref = conn.prepare_cached(
        "SELECT m.conversation_id FROM email_refs r JOIN messages m ON m.id = r.message_id
         WHERE r.inbox_id = ?1 AND r.ref_id = ?2 LIMIT 1",
    )?;
    for id in std::iter::once(own_id).chain(refs.iter().map(String::as_str)) {
        if let Some(c) = by_ref
            .query_row(params![inbox_id, id], |r| r.get(0))
            .optional()?
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// The stored message with this Message-ID, if any.
pub fn message_by_rfc_id(
    conn: &Connection,
    inbox_id: InboxId,
    rfc_id: &str,
) -> Result<Option<MessageId>> {
    Ok(conn
        .prepare_cached(
            "SELECT message_id FROM email_messages WHERE inbox_id = ?1 AND rfc_message_id = ?2",
        )?
        .query_row(params![inbox_id, rfc_id], |r| r.get(0))
        .optional()?)
}

pub struct Meta<'a> {
    pub rfc_message_id: &'a str,
    pub subject: Option<&'a str>,
    pub from_addr: Option<&'a str>,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    pub html: Option<&'a str>,
    pub folder: Option<&'a str>,
    pub uid: Option<u32>,
    pub auto_reply: bool,
    pub seen: bool,
}

pub fn insert_meta(
    conn: &Connection,
    message_id: MessageId,
    inbox_id: InboxId,
    m: &Meta<'_>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO email_messages (message_id, inbox_id, rfc_message_id, subject, from_addr,
            to_addrs, cc_addrs, in_reply_to, refs, html, folder, uid, auto_reply, seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (message_id) DO UPDATE SET folder = coalesce(folder, ?11),
            uid = coalesce(uid, ?12)",
    )?
    .execute(params![
        message_id,
        inbox_id,
        m.rfc_message_id,
        m.subject,
        m.from_addr,
        serde_json::to_string(m.to).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(m.cc).unwrap_or_else(|_| "[]".into()),
        m.in_reply_to,
        (!m.references.is_empty()).then(|| m.references.join(" ")),
        m.html,
        m.folder,
        m.uid.map(|u| u as i64),
        m.auto_reply as i64,
        m.seen as i64
    ])?;
    let mut refs = conn.prepare_cached(
        "INSERT OR IGNORE INTO email_refs (inbox_id, ref_id, message_id) VALUES (?1, ?2, ?3)",
    )?;
    for r in m
        .in_reply_to
        .iter()
        .copied()
        .chain(m.references.iter().map(String::as_str))
    {
        refs.execute(params![inbox_id, r, message_id])?;
    }
    Ok(())
}

/// What a reply in a conversation answers: its newest incoming mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyContext {
    pub rfc_message_id: String,
    pub references: Vec<String>,
    pub subject: Option<String>,
    /// Reply-To if the customer set one, else From.
    pub reply_to: String,
    pub cc: Vec<String>,
    pub to: Vec<String>,
}

pub fn reply_context(
    conn: &Connection,
    conversation_id: ConversationId,
) -> Result<Option<ReplyContext>> {
    Ok(conn
        .prepare_cached(
            "SELECT e.rfc_message_id, e.refs, e.subject, e.from_addr, e.cc_addrs, e.to_addrs
             FROM email_messages e JOIN messages m ON m.id = e.message_id
             WHERE m.conversation_id = ?1 AND m.kind = 'incoming' AND e.from_addr IS NOT NULL
             ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
        )?
        .query_row([conversation_id], |r| {
            let refs: Option<String> = r.get(1)?;
            let cc: String = r.get(4)?;
            let to: String = r.get(5)?;
            Ok(ReplyContext {
                rfc_message_id: r.get(0)?,
                references: refs
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default(),
                subject: r.get(2)?,
                reply_to: r.get(3)?,
                cc: serde_json::from_str(&cc).unwrap_or_default(),
                to: serde_json::from_str(&to).unwrap_or_default(),
            })
        })
        .optional()?)
}

/// `(folder, uid)` of a conversation's incoming mail, to set `\Seen` on the server.
pub fn server_copies(
    conn: &Connection,
    conversation_id: ConversationId,
) -> Result<Vec<(String, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.folder, e.uid FROM email_messages e JOIN messages m ON m.id = e.message_id
         WHERE m.conversation_id = ?1 AND m.kind = 'incoming' AND e.folder IS NOT NULL
           AND e.uid IS NOT NULL",
    )?;
    let rows = stmt.query_map([conversation_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u32))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `(sanitized html, sender address)` of a message.
pub fn html_of(
    conn: &Connection,
    message_id: MessageId,
) -> Result<Option<(String, Option<String>, InboxId)>> {
    Ok(conn.prepare_cached("SELECT html, from_addr, inbox_id FROM email_messages WHERE message_id = ?1 AND html IS NOT NULL")?.query_row([message_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

pub fn is_trusted_sender(conn: &Connection, inbox_id: InboxId, address: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM email_trusted_senders WHERE inbox_id = ?1 AND address = ?2")?
        .query_row(params![inbox_id, address], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn trust_sender(conn: &Connection, inbox_id: InboxId, address: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO email_trusted_senders (inbox_id, address) VALUES (?1, ?2)",
    )?
    .execute(params![inbox_id, address])?;
    Ok(())
}

/// Records `\Seen` changes seen on the server; returns the conversations that now have no
/// unseen mail from the customer and were marked read.
pub fn apply_seen(
    conn: &Connection,
    inbox_id: InboxId,
    folder: &str,
    changes: &[(u32, bool)],
) -> Result<Vec<ConversationId>> {
    let mut update = conn.prepare_cached(
        "UPDATE email_messages SET seen = ?4 WHERE inbox_id = ?1 AND folder = ?2 AND uid = ?3
         RETURNING message_id",
    )?;
    let mut touched = Vec::new();
    for (uid, seen) in changes {
        let ids: Vec<MessageId> = update
            .query_map(params![inbox_id, folder, *uid as i64, *seen as i64], |r| {
                r.get(0)
            })?
            .collect::<rusqlite::Result<_>>()?;
        touched.extend(ids);
    }
    let mut read = Vec::new();
    for message_id in touched {
        let conversation: Option<ConversationId> = conn.prepare_cached("UPDATE conversations SET unread_count = 0
                 WHERE id = (SELECT conversation_id FROM messages WHERE id = ?1)
                   AND unread_count > 0
                   AND NOT EXISTS (SELECT 1 FROM messages m JOIN email_messages e ON e.message_id = m.id
                                   WHERE m.conversation_id = conversations.id
                                     AND m.kind = 'incoming' AND e.seen = 0)
                 RETURNING id")?.query_row([message_id],
                |r| r.get(0),
            )
            .optional()?;
        read.extend(conversation);
    }
    Ok(read)
}
