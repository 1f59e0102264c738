//! Local fake servers for the cloud providers Caixa's messaging channels talk to.
//!
//! Each fake follows its provider's documented wire format (paths, methods, auth, bodies,
//! pagination, error bodies), records every request it receives, and lets a test inject
//! incoming customer messages and failures. They bind to 127.0.0.1 only.
