//! Where Caixa keeps its data. The app and the CLI use the same default, so they share a store.

use std::path::PathBuf;

/// `$CAIXA_DATA_DIR`, else the per-user data dir (`~/.local/share/caixa` on Linux).
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAIXA_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("app", "caixa", "caixa")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".caixa"))
}

pub const DB_FILE: &str = "caixa.sqlite3";

/// Default gateway address: loopback only, a fixed port so pasted snippets keep working.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
