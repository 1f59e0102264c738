//! The local SQLite store: one writer connection and a few `query_only` readers, each used off the
//! async threads (`spawn_blocking`), so a long write never blocks a read the UI is waiting for.
//!
//! Table modules (`inboxes`, `conversations`, `messages`, `search`) hold plain functions over a
//! `&Connection` / `&Transaction`; this module only hands out connections.

pub mod attachments;
pub mod bots;
pub mod canned;
pub mod contacts;
pub mod conversations;
pub mod cursors;
pub mod email;
pub mod inboxes;
pub mod labels;
pub mod macros;
pub mod messages;
pub mod reports;
pub mod rules;
mod schema;
pub mod search;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

const READERS: usize = 4;

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    reader_returned: Condvar,
}

fn configure(conn: &Connection) -> Result<()> {
    // Another process (the CLI next to the app) may hold the write lock for a moment.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Every store function uses prepare_cached; the default 16 slots would evict hot
    // statements during a sync and re-parse them for every mail.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        schema::migrations().to_latest(&mut writer)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&r)?;
            r.pragma_update(None, "query_only", "ON")?;
            readers.push(r);
        }
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(readers),
                reader_returned: Condvar::new(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in one write transaction (committed when `f` returns `Ok`).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self
            .inner
            .writer
            .lock()
            .map_err(|_| Error::Internal("store writer poisoned".into()))?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a reader connection (never waits for the writer).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = {
            let mut pool = self
                .inner
                .readers
                .lock()
                .map_err(|_| Error::Internal("store readers poisoned".into()))?;
            loop {
                if let Some(c) = pool.pop() {
                    break c;
                }
                pool = self
                    .inner
                    .reader_returned
                    .wait(pool)
                    .map_err(|_| Error::Internal("store readers poisoned".into()))?;
            }
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.inner.readers.lock() {
            pool.push(conn);
            self.inner.reader_returned.notify_one();
        }
        out
    }

    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write_blocking(f)).await?
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f)).await?
    }

    /// SQLite's `data_version` on the writer connection: changes when another connection
    /// (another process) commits, which is how the engine notices the CLI's writes.
    pub fn data_version(&self) -> Result<i64> {
        let conn = self
            .inner
            .writer
            .lock()
            .map_err(|_| Error::Internal("store writer poisoned".into()))?;
        Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.read_blocking(move |c| {
            use rusqlite::OptionalExtension;
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write_blocking(move |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
