//! What polling channels (Twilio, X, Messenger/Instagram) share: the failure type and the
//! supervised receive loop (poll, show the state, back off on errors, wait for the user on
//! errors only they can fix, send replies queued during an outage as soon as it is over).

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::workers::{backoff, Command};
use super::SendError;
use crate::caixa::Caixa;
use crate::model::{InboxId, InboxState};
use crate::store::{messages, now_ms};

const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// After an error only the agent can fix (credentials), try again this rarely; editing the
/// inbox retries at once.
const NEEDS_USER_RETRY: Duration = Duration::from_secs(15 * 60);

/// Why talking to a provider failed, in words the agent can act on, and what it means for the
/// next attempt.
#[derive(Debug)]
pub struct Problem {
    pub text: String,
    /// Only the agent can fix it (credentials, settings).
    pub needs_user: bool,
    /// The provider throttled us; `wait` is its hint, if it gave one.
    pub rate_limited: bool,
    pub wait: Option<Duration>,
    /// The provider could not be reached at all.
    pub offline: bool,
}

impl Problem {
    /// A problem on our side (settings, keychain, store): retried rarely.
    pub fn local(text: impl Into<String>) -> Problem {
        Problem {
            text: text.into(),
            needs_user: true,
            rate_limited: false,
            wait: None,
            offline: false,
        }
    }

    pub fn network(provider: &str, e: reqwest::Error) -> Problem {
        Problem {
            offline: e.is_connect() || e.is_timeout(),
            text: format!("cannot reach {provider}: {e}"),
            needs_user: false,
            rate_limited: false,
            wait: None,
        }
    }

    /// How the outbox treats this failure of a send (`server_error`: HTTP 5xx).
    pub fn into_send_error(self, server_error: bool) -> SendError {
        if self.rate_limited {
            SendError::RateLimited {
                reason: self.text,
                retry_after: self.wait.unwrap_or(Duration::ZERO),
            }
        } else if self.offline {
            SendError::Offline(self.text)
        } else if server_error {
            SendError::Transient(self.text)
        } else {
            SendError::Permanent(self.text)
        }
    }
}

/// The receive loop of one polling inbox: `poll` fetches and stores what is new and says how
/// long to wait before the next call.
pub async fn run<F, Fut>(
    caixa: Caixa,
    inbox_id: InboxId,
    cancel: CancellationToken,
    mut commands: mpsc::UnboundedReceiver<Command>,
    provider: &'static str,
    poll: F,
) where
    F: Fn(Caixa, InboxId) -> Fut,
    Fut: Future<Output = Result<Duration, Problem>>,
{
    let mut failures: u32 = 0;
    loop {
        let wait = match poll(caixa.clone(), inbox_id).await {
            Ok(wait) => {
                if failures > 0 {
                    failures = 0;
                    send_queued_replies(&caixa, inbox_id).await;
                }
                caixa.set_inbox_state(inbox_id, InboxState::Connected);
                wait
            }
            Err(p) => {
                failures += 1;
                tracing::warn!(inbox = inbox_id, "{provider}: {}", p.text);
                let wait = match (p.wait, p.needs_user) {
                    (Some(w), _) => w,
                    (None, true) => NEEDS_USER_RETRY,
                    // Throttled without a hint: back off as if it had failed a few more times.
                    (None, false) => backoff(failures + 4 * u32::from(p.rate_limited), BACKOFF_MAX),
                };
                caixa.set_inbox_state(inbox_id, InboxState::Error { reason: p.text });
                wait
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            // A request (e.g. "sync now", or the inbox was edited) also means: try now.
            Some(_) = commands.recv() => {}
        }
    }
}

/// Back after an outage: replies queued meanwhile go now, not at their backoff time.
pub async fn send_queued_replies(caixa: &Caixa, inbox_id: InboxId) {
    let now = now_ms();
    if let Ok(n) = caixa
        .store()
        .write(move |tx| messages::due_now_for_inbox(tx, inbox_id, now))
        .await
    {
        if n > 0 {
            caixa.wake_outbox();
        }
    }
}
