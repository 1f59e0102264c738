//! The `macros` table (steps stored as JSON).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::{Macro, MacroStep};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn decode((id, name, steps): (i64, String, String)) -> Result<Macro> {
    let steps: Vec<MacroStep> = serde_json::from_str(&steps)
        .map_err(|e| Error::Internal(format!("macro {id} has unreadable steps: {e}")))?;
    Ok(Macro { id, name, steps })
}

pub fn list(conn: &Connection) -> Result<Vec<Macro>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, steps FROM macros ORDER BY name COLLATE NOCASE")?;
    let rows = stmt
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

pub fn get(conn: &Connection, id: i64) -> Result<Macro> {
    let r = conn
        .prepare_cached("SELECT id, name, steps FROM macros WHERE id = ?1")?
        .query_row([id], row)
        .optional()?
        .ok_or(Error::NotFound("macro"))?;
    decode(r)
}

fn name_taken(conn: &Connection, name: &str, except: Option<i64>) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT id FROM macros WHERE name = ?1 AND id IS NOT ?2")?
        .query_row(params![name, except], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

pub fn save(
    conn: &Connection,
    id: Option<i64>,
    name: &str,
    steps: &[MacroStep],
    now: i64,
) -> Result<i64> {
    if name_taken(conn, name, id)? {
        return Err(Error::field("name", "Another macro already has this name."));
    }
    let json = serde_json::to_string(steps).map_err(|e| Error::Internal(e.to_string()))?;
    match id {
        Some(id) => {
            let n = conn
                .prepare_cached("UPDATE macros SET name = ?2, steps = ?3 WHERE id = ?1")?
                .execute(params![id, name, json])?;
            if n == 0 {
                return Err(Error::NotFound("macro"));
            }
            Ok(id)
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO macros (name, steps, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![name, json, now])?;
            Ok(conn.last_insert_rowid())
        }
    }
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM macros WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("macro"));
    }
    Ok(())
}
