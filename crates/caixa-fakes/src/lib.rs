//! Local fake servers for the cloud providers Caixa's messaging channels talk to.
//!
//! Each fake follows its provider's documented wire format (paths, methods, auth, bodies,
//! pagination, error bodies), records every request it receives, and lets a test inject
//! incoming customer messages and failures. They bind to 127.0.0.1 only.
//!
//! Every fake is started with `start().await` inside a tokio runtime, exposes `base_url()` (the
//! API root to configure in the adapter), `requests()`, `wait_for_request(..)` and
//! `fail_next(..)`, and stops when its last clone is dropped. See the README for each fake's
//! test API.
//!
//! - [`telegram`]: Telegram Bot API (long polling, uploads, file downloads).
//! - [`twilio`]: Twilio Messages (SMS/MMS/WhatsApp), media, webhook signatures.
//! - [`whatsapp`]: WhatsApp Cloud API on Graph, media, webhook builders.
//! - [`messenger`]: Messenger and Instagram conversations and Send API on Graph.
//! - [`line`]: LINE Messaging API push/reply/content, webhook builders.
//! - [`x`]: X API v2 direct messages and rate limits.

mod clock;
mod failure;
mod graph;
mod ids;
mod multipart;
mod recorder;
mod server;
mod text;

pub mod line;
pub mod messenger;
pub mod telegram;
pub mod twilio;
pub mod whatsapp;
pub mod x;

pub use failure::Failure;
pub use recorder::Recorded;
