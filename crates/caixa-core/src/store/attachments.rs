//! Attachments: metadata in the `attachments` table, bytes on disk content-addressed
//! (`<data dir>/attachments/ab/abcdef…`), so a file received twice is stored once.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::MessageId;

pub const DIR: &str = "attachments";

/// Where the bytes with this hash live.
pub fn path_of(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join(DIR).join(&sha256[..2]).join(sha256)
}

/// Writes the bytes (if not already there) and returns their hash. Written to a temporary
/// name first: a crash never leaves a truncated file under a valid hash.
pub fn save_file(data_dir: &Path, data: &[u8]) -> Result<String> {
    let sha = hex::encode(Sha256::digest(data));
    let path = path_of(data_dir, &sha);
    if path.exists() {
        return Ok(sha);
    }
    let dir = path.parent().expect("hash path has a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{sha}.{}", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, &path)?;
    Ok(sha)
}

pub struct NewAttachment<'a> {
    pub file_name: &'a str,
    pub mime_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub content_id: Option<&'a str>,
    /// Left on the server: where to fetch it (JSON); `sha256` is empty until then.
    pub remote: Option<&'a str>,
}

pub fn insert(conn: &Connection, message_id: MessageId, a: &NewAttachment<'_>) -> Result<i64> {
    conn.prepare_cached("INSERT INTO attachments (message_id, file_name, mime_type, size, sha256, content_id, remote)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![
            message_id,
            a.file_name,
            a.mime_type,
            a.size,
            a.sha256,
            a.content_id,
            a.remote
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// `(file name, mime type, sha256)` of one attachment.
pub fn get(conn: &Connection, id: i64) -> Result<(String, String, String)> {
    conn.prepare_cached("SELECT file_name, mime_type, sha256 FROM attachments WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or(Error::NotFound("attachment"))
}

/// The files of a message: `(file name, mime type, sha256)`, in the order they were added.
/// A file of a reply, to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub id: i64,
    pub file_name: String,
    pub mime_type: String,
    pub sha256: String,
}

fn out_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutFile> {
    Ok(OutFile {
        id: r.get(0)?,
        file_name: r.get(1)?,
        mime_type: r.get(2)?,
        sha256: r.get(3)?,
    })
}

pub fn files_of(conn: &Connection, message_id: MessageId) -> Result<Vec<OutFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, file_name, mime_type, sha256 FROM attachments
         WHERE message_id = ?1 AND content_id IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([message_id], out_file)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A file of one of our replies (never a customer's), for the public media link.
pub fn outgoing_file(conn: &Connection, id: i64) -> Result<Option<OutFile>> {
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.file_name, a.mime_type, a.sha256 FROM attachments a
             JOIN messages m ON m.id = a.message_id
             WHERE a.id = ?1 AND m.kind = 'outgoing' AND a.remote IS NULL",
        )?
        .query_row([id], out_file)
        .optional()?)
}

/// An attachment left on the server: its inbox and where it lives (JSON), if it is one.
pub fn remote_of(conn: &Connection, id: i64) -> Result<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.inbox_id, a.remote FROM attachments a JOIN messages m ON m.id = a.message_id
             WHERE a.id = ?1 AND a.remote IS NOT NULL",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// `(message id, conversation id)` of an attachment.
pub fn message_of(conn: &Connection, id: i64) -> Result<(MessageId, i64)> {
    conn.prepare_cached(
        "SELECT m.id, m.conversation_id FROM attachments a JOIN messages m ON m.id = a.message_id
         WHERE a.id = ?1",
    )?
    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?
    .ok_or(Error::NotFound("attachment"))
}

/// Records that a file left on the server is now on disk.
pub fn mark_downloaded(conn: &Connection, id: i64, sha256: &str, size: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE attachments SET sha256 = ?2, size = ?3, remote = NULL WHERE id = ?1",
    )?
    .execute(params![id, sha256, size])?;
    Ok(())
}

/// Inline parts of a message: `(content id, mime type, sha256)`.
pub fn inline_parts(
    conn: &Connection,
    message_id: MessageId,
) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT content_id, mime_type, sha256 FROM attachments
         WHERE message_id = ?1 AND content_id IS NOT NULL",
    )?;
    let rows = stmt.query_map([message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
