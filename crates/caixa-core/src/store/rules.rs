//! The `automation_rules` table (conditions and actions stored as JSON, run by `position`).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::{AutomationRule, RuleEvent, RuleInput};

const COLUMNS: &str = "id, name, enabled, event, conditions, actions";

type Raw = (i64, String, bool, String, String, String);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn decode((id, name, enabled, event, conditions, actions): Raw) -> Result<AutomationRule> {
    let bad = |what: &str, e: serde_json::Error| {
        Error::Internal(format!("automation rule {id} has unreadable {what}: {e}"))
    };
    Ok(AutomationRule {
        id,
        name,
        enabled,
        event: serde_json::from_value(serde_json::Value::String(event))
            .map_err(|e| bad("event", e))?,
        conditions: serde_json::from_str(&conditions).map_err(|e| bad("conditions", e))?,
        actions: serde_json::from_str(&actions).map_err(|e| bad("actions", e))?,
    })
}

fn event_text(event: RuleEvent) -> String {
    match serde_json::to_value(event) {
        Ok(serde_json::Value::String(s)) => s,
        _ => unreachable!("RuleEvent serializes to a string"),
    }
}

/// Every rule, in the order they run.
pub fn list(conn: &Connection) -> Result<Vec<AutomationRule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM automation_rules ORDER BY position, id"
    ))?;
    let rows = stmt
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

/// The enabled rules listening to `event`, in order.
pub fn for_event(conn: &Connection, event: RuleEvent) -> Result<Vec<AutomationRule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM automation_rules WHERE enabled = 1 AND event = ?1
         ORDER BY position, id"
    ))?;
    let rows = stmt
        .query_map([event_text(event)], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

pub fn get(conn: &Connection, id: i64) -> Result<AutomationRule> {
    let r = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM automation_rules WHERE id = ?1"
        ))?
        .query_row([id], row)
        .optional()?
        .ok_or(Error::NotFound("automation rule"))?;
    decode(r)
}

/// Creates (at the end of the order) or replaces a rule.
pub fn save(conn: &Connection, id: Option<i64>, rule: &RuleInput, now: i64) -> Result<i64> {
    let taken = conn
        .prepare_cached("SELECT id FROM automation_rules WHERE name = ?1 AND id IS NOT ?2")?
        .query_row(params![rule.name, id], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some();
    if taken {
        return Err(Error::field("name", "Another rule already has this name."));
    }
    let (conditions, actions) = (to_json(&rule.conditions)?, to_json(&rule.actions)?);
    match id {
        Some(id) => {
            let n = conn
                .prepare_cached(
                    "UPDATE automation_rules SET name = ?2, enabled = ?3, event = ?4,
                        conditions = ?5, actions = ?6 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    rule.name,
                    rule.enabled,
                    event_text(rule.event),
                    conditions,
                    actions
                ])?;
            if n == 0 {
                return Err(Error::NotFound("automation rule"));
            }
            Ok(id)
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO automation_rules (name, enabled, event, conditions, actions,
                    position, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5,
                    (SELECT coalesce(max(position), 0) + 1 FROM automation_rules), ?6)",
            )?
            .execute(params![
                rule.name,
                rule.enabled,
                event_text(rule.event),
                conditions,
                actions,
                now
            ])?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// Puts the rules in the order of `ids`, which must name every rule exactly once.
pub fn reorder(conn: &Connection, ids: &[i64]) -> Result<()> {
    let mut known: Vec<i64> = list(conn)?.into_iter().map(|r| r.id).collect();
    let mut wanted = ids.to_vec();
    known.sort_unstable();
    wanted.sort_unstable();
    if known != wanted {
        return Err(Error::field(
            "ids",
            "The new order must list every rule exactly once (reload and try again).",
        ));
    }
    let mut stmt =
        conn.prepare_cached("UPDATE automation_rules SET position = ?2 WHERE id = ?1")?;
    for (position, id) in ids.iter().enumerate() {
        stmt.execute(params![id, position as i64 + 1])?;
    }
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM automation_rules WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("automation rule"));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}
