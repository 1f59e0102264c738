//! The `messages` table: thread reads, idempotent ingest and the outbox queue.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::error::{Error, Result};
use crate::model::{ConversationId, Delivery, InboxId, Message, MessageId, MessageKind};

const COLUMNS: &str = "m.id, m.conversation_id, m.kind, m.content, m.sender_name, m.delivery,
    m.error, m.created_at, e.subject, e.html IS NOT NULL, m.by_bot";
/// E-mail details are optional: most channels have none.
const FROM: &str = "messages m LEFT JOIN email_messages e ON e.message_id = m.id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let kind: String = r.get(2)?;
    let delivery: Option<String> = r.get(5)?;
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        kind: MessageKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown message kind {kind}").into(),
            )
        })?,
        content: r.get(3)?,
        sender_name: r.get(4)?,
        delivery: delivery.as_deref().and_then(Delivery::parse),
        error: r.get(6)?,
        created_at: r.get(7)?,
        attachments: Vec::new(),
        subject: r.get(8)?,
        has_html: r.get(9)?,
        by_bot: r.get(10)?,
    })
}

/// The whole thread, oldest first. Bounded: the newest `limit` messages.
pub fn list(
    conn: &Connection,
    conversation_id: ConversationId,
    limit: u32,
) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM (SELECT {COLUMNS} FROM {FROM} WHERE m.conversation_id = ?1
           ORDER BY m.id DESC LIMIT ?2) ORDER BY 1"
    ))?;
    let rows = stmt.query_map(params![conversation_id, limit], from_row)?;
    let mut messages = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    attach(conn, &mut messages)?;
    Ok(messages)
}

/// Messages a customer may see on the website widget: never notes or activity.
pub fn list_public(
    conn: &Connection,
    conversation_id: ConversationId,
    limit: u32,
) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM (SELECT {COLUMNS} FROM {FROM} WHERE m.conversation_id = ?1
           AND m.kind IN ('incoming', 'outgoing') ORDER BY m.id DESC LIMIT ?2) ORDER BY 1"
    ))?;
    let rows = stmt.query_map(params![conversation_id, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn attach(conn: &Connection, messages: &mut [Message]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, file_name, mime_type, size, remote IS NOT NULL FROM attachments
         WHERE message_id = ?1 ORDER BY id",
    )?;
    for m in messages.iter_mut() {
        m.attachments = stmt
            .query_map([m.id], |r| {
                Ok(crate::model::Attachment {
                    id: r.get(0)?,
                    file_name: r.get(1)?,
                    mime_type: r.get(2)?,
                    size: r.get(3)?,
                    on_server: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    Ok(())
}

pub fn get(conn: &Connection, id: MessageId) -> Result<Message> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = ?1"))?;
    let mut m = stmt
        .query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound("message"))?;
    attach(conn, std::slice::from_mut(&mut m))?;
    Ok(m)
}

pub struct NewMessage<'a> {
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    pub source_id: Option<&'a str>,
    pub kind: MessageKind,
    pub content: &'a str,
    pub sender_name: Option<&'a str>,
    pub delivery: Option<Delivery>,
    pub created_at: i64,
    /// Written by the chatbot or an automation rule.
    pub by_bot: bool,
}

/// Inserts a message; when `(inbox_id, source_id)` already exists nothing is written and
/// `Ok(None)` is returned, which makes every sync safe to repeat.
pub fn insert(conn: &Connection, m: &NewMessage<'_>) -> Result<Option<MessageId>> {
    let n = conn.prepare_cached("INSERT INTO messages (conversation_id, inbox_id, source_id, kind, content, sender_name,
            delivery, next_attempt_at, created_at, by_bot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?7 = 'queued' THEN ?8 END, ?8, ?9)
         ON CONFLICT (inbox_id, source_id) DO NOTHING")?.execute(params![
            m.conversation_id,
            m.inbox_id,
            m.source_id,
            m.kind.as_str(),
            m.content,
            m.sender_name,
            m.delivery.map(Delivery::as_str),
            m.created_at,
            m.by_bot
        ],
    )?;
    Ok((n > 0).then(|| conn.last_insert_rowid()))
}

/// The WhatsApp template a reply is sent as.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
    pub parameters: Vec<String>,
}

pub fn set_template(conn: &Connection, id: MessageId, t: &TemplateRef) -> Result<()> {
    let parameters =
        serde_json::to_string(&t.parameters).map_err(|e| Error::Internal(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO message_templates (message_id, name, language, parameters)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, t.name, t.language, parameters])?;
    Ok(())
}

pub fn template_of(conn: &Connection, id: MessageId) -> Result<Option<TemplateRef>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT name, language, parameters FROM message_templates WHERE message_id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(name, language, p)| {
        Ok(TemplateRef {
            name,
            language,
            parameters: serde_json::from_str(&p)
                .map_err(|e| Error::Internal(format!("template parameters: {e}")))?,
        })
    })
    .transpose()
}

/// An outgoing message waiting for the outbox worker.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    /// The conversation's channel thread key (visitor token, API contact identifier…).
    pub thread_key: String,
    pub content: String,
    pub sender_name: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
}

/// Claims queued messages whose next attempt is due, oldest first (so replies go out in
/// order), by moving their next attempt to `lease_until`: a second engine on the same store
/// (app and CLI gateway) will not send them twice, and a crash mid-send retries after the lease.
pub fn claim_due(
    tx: &Transaction<'_>,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> Result<Vec<Queued>> {
    let mut stmt = tx.prepare_cached(
        "SELECT m.id, m.conversation_id, m.inbox_id, c.source_id, m.content, m.sender_name,
                m.attempts, m.created_at
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.delivery = 'queued' AND m.next_attempt_at <= ?1 ORDER BY m.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(Queued {
            id: r.get(0)?,
            conversation_id: r.get(1)?,
            inbox_id: r.get(2)?,
            thread_key: r.get(3)?,
            content: r.get(4)?,
            sender_name: r.get(5)?,
            attempts: r.get(6)?,
            created_at: r.get(7)?,
        })
    })?;
    let claimed: Vec<Queued> = rows.collect::<rusqlite::Result<_>>()?;
    let mut lease = tx.prepare_cached("UPDATE messages SET next_attempt_at = ?2 WHERE id = ?1")?;
    for q in &claimed {
        lease.execute(params![q.id, lease_until])?;
    }
    Ok(claimed)
}

/// When the next queued message is due, to sleep exactly until then.
pub fn next_due_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT min(next_attempt_at) FROM messages WHERE delivery = 'queued'")?
        .query_row([], |r| r.get(0))?)
}

pub fn mark_sent(
    conn: &Connection,
    id: MessageId,
    delivery: Delivery,
    source_id: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET delivery = ?2, source_id = coalesce(?3, source_id), error = NULL,
            attempts = attempts + 1, next_attempt_at = NULL WHERE id = ?1",
    )?
    .execute(params![id, delivery.as_str(), source_id])?;
    Ok(())
}

/// A provider's delivery report for a message we sent (found by the provider's id). Reports
/// arrive out of order, so `sent` never replaces `delivered`; `failed` always wins. Returns the
/// `(message, conversation)` changed, if any.
pub fn apply_delivery_report(
    conn: &Connection,
    inbox_id: InboxId,
    source_id: &str,
    delivery: Delivery,
    error: Option<&str>,
) -> Result<Option<(MessageId, ConversationId)>> {
    Ok(conn
        .prepare_cached(
            "UPDATE messages SET delivery = ?3, error = ?4
             WHERE inbox_id = ?1 AND source_id = ?2 AND kind = 'outgoing'
               AND (?3 = 'failed' OR (?3 = 'delivered' AND delivery <> 'failed')
                    OR (?3 = 'sent' AND delivery = 'queued'))
             RETURNING id, conversation_id",
        )?
        .query_row(
            params![inbox_id, source_id, delivery.as_str(), error],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Records a failed attempt: retried at `retry_at`, or failed for good when `None`.
pub fn mark_attempt_failed(
    conn: &Connection,
    id: MessageId,
    reason: &str,
    retry_at: Option<i64>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET attempts = attempts + 1, error = ?2,
            delivery = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'queued' END,
            next_attempt_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, reason, retry_at])?;
    Ok(())
}

/// Puts a failed outgoing message back in the queue. Returns its conversation.
pub fn requeue(conn: &Connection, id: MessageId, now: i64) -> Result<ConversationId> {
    let (conv, delivery): (ConversationId, Option<String>) = conn
        .prepare_cached("SELECT conversation_id, delivery FROM messages WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(Error::NotFound("message"))?;
    if delivery.as_deref() != Some("failed") {
        return Err(Error::Conflict(
            "only a failed message can be retried".into(),
        ));
    }
    conn.prepare_cached(
        "UPDATE messages SET delivery = 'queued', attempts = 0, next_attempt_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(conv)
}

/// Makes an inbox's queued replies due now (its server is reachable again).
pub fn due_now_for_inbox(conn: &Connection, inbox_id: InboxId, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE messages SET next_attempt_at = ?2
         WHERE inbox_id = ?1 AND delivery = 'queued' AND next_attempt_at > ?2",
        )?
        .execute(params![inbox_id, now])?)
}

/// Changes a private note's text (its search index follows by trigger).
pub fn update_note(conn: &Connection, id: MessageId, content: &str) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE messages SET content = ?2 WHERE id = ?1 AND kind = 'note'")?
        .execute(params![id, content])?;
    if n == 0 {
        return Err(Error::NotFound("note"));
    }
    Ok(())
}

pub fn delete_note(conn: &Connection, id: MessageId) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM messages WHERE id = ?1 AND kind = 'note'")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("note"));
    }
    Ok(())
}
