//! The `inbox_bots` table: each inbox's greeting, business hours and chatbot (JSON).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::{BotSettings, InboxId};

/// The inbox's settings; the defaults (nothing automatic) when never saved.
pub fn get(conn: &Connection, inbox_id: InboxId) -> Result<BotSettings> {
    let json: Option<String> = conn
        .prepare_cached("SELECT settings FROM inbox_bots WHERE inbox_id = ?1")?
        .query_row([inbox_id], |r| r.get(0))
        .optional()?;
    match json {
        None => Ok(BotSettings::default()),
        Some(j) => serde_json::from_str(&j).map_err(|e| {
            Error::Internal(format!("inbox {inbox_id} has unreadable bot settings: {e}"))
        }),
    }
}

pub fn set(conn: &Connection, inbox_id: InboxId, settings: &BotSettings) -> Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| Error::Internal(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO inbox_bots (inbox_id, settings) VALUES (?1, ?2)
         ON CONFLICT (inbox_id) DO UPDATE SET settings = excluded.settings",
    )?
    .execute(params![inbox_id, json])?;
    Ok(())
}

/// When the bot last sent exactly `content` in the conversation (e.g. the out-of-office reply).
pub fn last_sent(
    conn: &Connection,
    conversation_id: crate::model::ConversationId,
    content: &str,
) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT max(created_at) FROM messages
             WHERE conversation_id = ?1 AND by_bot = 1 AND kind = 'outgoing' AND content = ?2",
        )?
        .query_row(params![conversation_id, content], |r| r.get(0))?)
}
