//! The running receive tasks of inboxes that hold their own connection to the provider (e-mail
//! IMAP, Telegram long polling, Twilio, X, Messenger and Instagram polling): one per inbox, restarted when the inbox's settings change.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::caixa::Caixa;
use crate::model::{ChannelKind, InboxId, InboxSettings};
use crate::store::inboxes;

/// Requests from the rest of the engine to a running worker; each kind ignores what it has no
/// use for.
#[derive(Debug)]
pub enum Command {
    /// E-mail: set `\Seen` on these `(folder, uid)` copies.
    MarkSeen(Vec<(String, u32)>),
    /// Look for new messages now (and reconnect if waiting after an error).
    SyncNow,
}

#[derive(Default)]
pub struct Workers {
    running: Mutex<HashMap<InboxId, Worker>>,
}

struct Worker {
    /// The settings it runs with (JSON), to notice edits.
    settings: String,
    cancel: CancellationToken,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

/// Inboxes that need a worker: `(id, kind, settings as JSON)`.
pub fn inboxes_to_run(
    conn: &rusqlite::Connection,
) -> crate::error::Result<Vec<(InboxId, ChannelKind, String)>> {
    Ok(inboxes::list(conn)?
        .into_iter()
        .filter(|i| {
            matches!(
                i.settings,
                InboxSettings::Email(_)
                    | InboxSettings::Telegram(_)
                    | InboxSettings::Twilio(_)
                    | InboxSettings::X(_)
                    | InboxSettings::Messenger(_)
                    | InboxSettings::Instagram(_)
            )
        })
        .map(|i| {
            let json = serde_json::to_string(&i.settings).unwrap_or_default();
            (i.id, i.kind, json)
        })
        .collect())
}

impl Workers {
    /// Starts workers for new inboxes, restarts those whose settings changed, stops the rest.
    pub fn reconcile(
        &self,
        caixa: &Caixa,
        wanted: Vec<(InboxId, ChannelKind, String)>,
        parent: &CancellationToken,
    ) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        running.retain(|id, w| {
            let keep =
                wanted.iter().any(|(i, _, s)| i == id && *s == w.settings) && !w.task.is_finished();
            if !keep {
                w.cancel.cancel();
            }
            keep
        });
        for (id, kind, settings) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let cancel = parent.child_token();
            let (tx, rx) = mpsc::unbounded_channel();
            let (c, token) = (caixa.clone(), cancel.clone());
            let task = match kind {
                ChannelKind::Email => tokio::spawn(super::email::worker::run(c, id, token, rx)),
                ChannelKind::Telegram => tokio::spawn(super::telegram::run(c, id, token, rx)),
                ChannelKind::Twilio => tokio::spawn(super::twilio::run(c, id, token, rx)),
                ChannelKind::X => tokio::spawn(super::x::run(c, id, token, rx)),
                ChannelKind::Messenger | ChannelKind::Instagram => {
                    tokio::spawn(super::messenger::run(c, id, token, rx))
                }
                ChannelKind::Website
                | ChannelKind::Api
                | ChannelKind::WhatsApp
                | ChannelKind::Line => continue,
            };
            running.insert(
                id,
                Worker {
                    settings,
                    cancel,
                    commands: tx,
                    task,
                },
            );
        }
    }

    pub fn send(&self, inbox_id: InboxId, command: Command) {
        if let Ok(running) = self.running.lock() {
            if let Some(w) = running.get(&inbox_id) {
                let _ = w.commands.send(command);
            }
        }
    }

    pub fn stop_all(&self) {
        if let Ok(mut running) = self.running.lock() {
            for (_, w) in running.drain() {
                w.cancel.cancel();
            }
        }
    }
}

/// Wait before reconnecting after `failures` failures in a row: exponential from 1 s up to
/// `max`, with jitter on the upper half so many inboxes never retry in lockstep.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = Duration::from_secs(1) * 2u32.saturating_pow(failures.saturating_sub(1).min(12));
    let exp = exp.min(max);
    let half = exp.as_millis() as u64 / 2;
    Duration::from_millis(half + rand::rng().random_range(0..=half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        let max = Duration::from_secs(300);
        for f in 1..40 {
            let b = backoff(f, max);
            assert!(b <= max, "{b:?}");
            assert!(b >= Duration::from_millis(500));
        }
    }
}
