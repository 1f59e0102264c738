//! Caixa's core: every customer channel in one local inbox. No GUI here: the Tauri shell and
//! `caixa-cli` are thin layers over [`Caixa`].
//!
//! - [`model`]: domain types (also exported to TypeScript through specta).
//! - [`store`]: SQLite, one writer and several readers, migrations, FTS5 search.
//! - [`events`]: the bus of [`model::CoreEvent`]s that keeps every view live.
//! - [`gateway`]: the HTTP/WebSocket server for the website widget and the API channel.
//! - [`channels`]: sending through each channel; [`outbox`]: the durable send queue.
//! - [`secrets`]: the OS keychain.
//! - [`actions`], [`macros`], [`canned`]: working a conversation; [`automation`]: rules and
//!   the chatbot.

pub mod actions;
pub mod automation;
pub mod caixa;
pub mod canned;
pub mod channels;
pub mod contacts;
pub mod error;
pub mod events;
pub mod files;
pub mod gateway;
pub mod inbox_config;
pub mod ingest;
pub mod macros;
pub mod model;
pub mod outbox;
pub mod paths;
pub mod reports;
pub mod secrets;
pub mod seed;
pub mod signature;
pub mod store;

pub use caixa::{Caixa, Config, IncomingOwned, RetryPolicy, Running};
pub use error::{Error, ErrorCode, ErrorPayload, Result};
