//! The outbox worker: sends queued replies in order, records the result, retries transient
//! failures with exponential backoff and jitter, and marks permanent ones failed with the reason.
//! Replies are always in the store before this runs, so nothing typed is lost.

use std::time::Duration;

use rand::Rng;

use crate::caixa::Caixa;
use crate::channels::{self, SendError, Sent};
use crate::model::{ChannelKind, CoreEvent, InboxSettings};
use crate::store::{inboxes, messages, now_ms};

/// How long a claimed message is reserved for the engine sending it.
const LEASE_MS: i64 = 60_000;
/// Longest wait between attempts while a server is unreachable.
const OFFLINE_MAX_MS: i64 = 5 * 60_000;
/// Upper bound on sleeping, so writes by other processes are picked up even without a wake.
const MAX_IDLE: Duration = Duration::from_secs(2);

pub async fn run(caixa: Caixa) {
    let inner = &caixa.inner;
    loop {
        let now = now_ms();
        let claimed = inner
            .store
            .write(move |tx| messages::claim_due(tx, now, now + LEASE_MS, 20))
            .await;
        match claimed {
            Ok(batch) => {
                for queued in batch {
                    deliver(&caixa, queued).await;
                }
            }
            Err(e) => tracing::error!("outbox: cannot read the queue: {e}"),
        }
        let sleep = match inner.store.read(messages::next_due_at).await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, 2_000) as u64),
            _ => MAX_IDLE,
        };
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = inner.outbox_wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

async fn deliver(caixa: &Caixa, q: messages::Queued) {
    let inner = &caixa.inner;
    let result = send(caixa, &q).await;
    let (id, conversation_id) = (q.id, q.conversation_id);
    let stored = match &result {
        Ok(sent) => {
            let sent = sent.clone();
            inner
                .store
                .write(move |tx| {
                    messages::mark_sent(tx, id, sent.delivery, sent.source_id.as_deref())
                })
                .await
        }
        Err(e) => {
            let attempts = q.attempts as u32 + 1;
            let (reason, retry_at) = match e {
                SendError::Transient(r) if attempts < inner.cfg.retry.max_attempts => (
                    r.clone(),
                    Some(now_ms() + backoff_ms(&inner.cfg.retry, attempts)),
                ),
                SendError::Transient(r) => {
                    (format!("{r} (gave up after {attempts} attempts)"), None)
                }
                SendError::Permanent(r) => (r.clone(), None),
                SendError::RateLimited {
                    reason,
                    retry_after,
                } => (
                    reason.clone(),
                    // The provider's wait if it named one, else our own growing backoff.
                    Some(
                        now_ms()
                            + (retry_after.as_millis() as i64)
                                .max(backoff_ms(&inner.cfg.retry, attempts)),
                    ),
                ),
                SendError::Offline(r) => (
                    format!("waiting for the connection: {r}"),
                    Some(now_ms() + backoff_ms(&inner.cfg.retry, attempts).min(OFFLINE_MAX_MS)),
                ),
            };
            tracing::warn!(
                message = id,
                attempts,
                retry = retry_at.is_some(),
                "send failed: {reason}"
            );
            inner
                .store
                .write(move |tx| messages::mark_attempt_failed(tx, id, &reason, retry_at))
                .await
        }
    };
    if let Err(e) = stored {
        tracing::error!(
            message = id,
            "outbox: cannot record the delivery result: {e}"
        );
    }
    inner.bus.emit(CoreEvent::MessageChanged {
        conversation_id,
        message_id: id,
    });
}

fn backoff_ms(policy: &crate::caixa::RetryPolicy, attempts: u32) -> i64 {
    let base = policy.base.as_millis() as i64;
    let exp = base.saturating_mul(1 << attempts.saturating_sub(1).min(16));
    // Full jitter on the upper half keeps retries of many messages from moving in lockstep.
    exp / 2 + rand::rng().random_range(0..=exp / 2)
}

async fn send(caixa: &Caixa, q: &messages::Queued) -> Result<Sent, SendError> {
    let inner = &caixa.inner;
    let inbox_id = q.inbox_id;
    let inbox = inner
        .store
        .read(move |c| inboxes::get(c, inbox_id))
        .await
        .map_err(|e| SendError::Permanent(format!("inbox unavailable: {e}")))?;
    match (&inbox.kind, &inbox.settings) {
        (ChannelKind::Website, _) => {
            let message = crate::channels::website::WidgetMessage {
                id: q.id,
                author: "agent",
                content: q.content.clone(),
                sender_name: q.sender_name.clone(),
                created_at: q.created_at,
            };
            Ok(channels::website::send(
                &inner.hub,
                &(q.inbox_id, q.thread_key.clone()),
                message,
            ))
        }
        (ChannelKind::Api, InboxSettings::Api(settings)) => {
            let secret = caixa.inbox_secret(inbox.id).await.map_err(|e| {
                SendError::Transient(format!("cannot read the signing secret: {e}"))
            })?;
            let event = channels::api::WebhookEvent {
                event: "message.created",
                inbox_id: inbox.id,
                conversation_id: q.conversation_id,
                contact: channels::api::WebhookContact {
                    identifier: &q.thread_key,
                },
                message: channels::api::WebhookMessage {
                    id: q.id,
                    content: &q.content,
                    sender_name: q.sender_name.as_deref(),
                    created_at: q.created_at,
                },
            };
            channels::api::send(
                &inner.http,
                settings.webhook_url.as_deref(),
                &secret,
                &event,
            )
            .await
        }
        (ChannelKind::Email, InboxSettings::Email(settings)) => {
            channels::email::send_reply(caixa, inbox.id, settings, q).await
        }
        (ChannelKind::Telegram, InboxSettings::Telegram(settings)) => {
            channels::telegram::send(caixa, inbox.id, settings, q).await
        }
        (ChannelKind::WhatsApp, InboxSettings::WhatsApp(settings)) => {
            channels::whatsapp::send(caixa, inbox.id, settings, q).await
        }
        (ChannelKind::Twilio, InboxSettings::Twilio(settings)) => {
            channels::twilio::send(caixa, inbox.id, settings, q).await
        }
        (
            ChannelKind::Messenger | ChannelKind::Instagram,
            InboxSettings::Messenger(settings) | InboxSettings::Instagram(settings),
        ) => channels::messenger::send(caixa, inbox.id, inbox.kind, settings, q).await,
        (ChannelKind::X, InboxSettings::X(settings)) => {
            channels::x::send(caixa, inbox.id, settings, q).await
        }
        (ChannelKind::Line, InboxSettings::Line(settings)) => {
            channels::line::send(caixa, inbox.id, settings, q).await
        }
        (
            ChannelKind::Api
            | ChannelKind::Email
            | ChannelKind::Telegram
            | ChannelKind::WhatsApp
            | ChannelKind::Twilio
            | ChannelKind::Line
            | ChannelKind::X
            | ChannelKind::Messenger
            | ChannelKind::Instagram,
            _,
        ) => Err(SendError::Permanent("inbox settings are corrupt".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caixa::RetryPolicy;

    #[test]
    fn backoff_grows_and_stays_jittered() {
        let p = RetryPolicy {
            base: Duration::from_millis(1000),
            max_attempts: 6,
        };
        for attempt in 1..6u32 {
            let exp = 1000i64 << (attempt - 1);
            for _ in 0..50 {
                let b = backoff_ms(&p, attempt);
                assert!(b >= exp / 2 && b <= exp, "attempt {attempt}: {b}");
            }
        }
    }
}
