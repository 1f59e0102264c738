//! Telegram bot inboxes (teloxide): `getUpdates` long polling, the update offset saved in the
//! same transaction as the messages it covers; replies with `sendMessage`, `sendPhoto` and
//! `sendDocument`. A desktop has no public address, so webhooks are not used (and a webhook set
//! elsewhere is reported, since Telegram then refuses `getUpdates`).

use std::time::Duration;

use teloxide::net::Download;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, ChatId, InputFile, Message, UpdateKind};
use teloxide::{ApiError, Bot, RequestError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::workers::{backoff, Command};
use super::{SendError, Sent};
use crate::caixa::{Caixa, IncomingOwned};
use crate::ingest::IncomingFile;
use crate::model::{Delivery, InboxId, InboxSettings, InboxState, TelegramSettings};
use crate::store::{attachments, cursors, messages};

pub const DEFAULT_API: &str = "https://api.telegram.org";
/// Long-poll length: Telegram answers at once when an update arrives, else after this.
const POLL_SECS: u32 = 25;
const CURSOR: &str = "telegram_offset";
const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// After an error only the agent can fix (token revoked, webhook set elsewhere).
const NEEDS_USER_RETRY: Duration = Duration::from_secs(15 * 60);
/// Files larger than this are not downloaded (the Bot API serves at most 20 MB).
const MAX_FILE_BYTES: u32 = 20 * 1024 * 1024;

/// A failure of the Bot API in words the agent can act on, and whether retrying can help.
#[derive(Debug)]
struct Problem {
    text: String,
    needs_user: bool,
    retry_after: Option<Duration>,
}

fn problem(e: &RequestError) -> Problem {
    // teloxide matches Telegram's descriptions exactly; the real 409 texts carry more words.
    let unknown = match e {
        RequestError::Api(ApiError::Unknown(text)) => text.as_str(),
        _ => "",
    };
    let (text, needs_user, retry_after) = match e {
        _ if unknown.contains("terminated by other getUpdates") => {
            return problem(&RequestError::Api(ApiError::TerminatedByOtherGetUpdates))
        }
        _ if unknown.contains("webhook is active") => {
            return problem(&RequestError::Api(ApiError::CantGetUpdates))
        }
        RequestError::Api(ApiError::InvalidToken) => (
            "Telegram did not accept the bot token (401 Unauthorized); check it in @BotFather"
                .to_string(),
            true,
            None,
        ),
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => (
            "another program is receiving this bot's messages (409 Conflict); stop it, or \
             create a separate bot for Caixa"
                .to_string(),
            false,
            None,
        ),
        RequestError::Api(ApiError::CantGetUpdates) => (
            "a webhook is set for this bot, so Telegram does not hand its messages to Caixa \
             (409 Conflict); remove the webhook (deleteWebhook) or use another bot"
                .to_string(),
            true,
            None,
        ),
        RequestError::RetryAfter(s) => (
            format!(
                "Telegram asks to slow down; retrying in {} s",
                s.duration().as_secs()
            ),
            false,
            Some(s.duration()),
        ),
        RequestError::Network(e) => (format!("cannot reach Telegram: {e}"), false, None),
        RequestError::Api(other) => (format!("Telegram refused: {other}"), false, None),
        other => (format!("Telegram: {other}"), false, None),
    };
    Problem {
        text: redact_token(&text),
        needs_user,
        retry_after,
    }
}

/// Telegram puts the bot token in every URL (`/bot<token>/method`, `/file/bot<token>/…`), and
/// HTTP errors quote the URL: cut the token out before the text reaches a log or the screen.
fn redact_token(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("/bot") {
        out.push_str(&rest[..i + 4]);
        let after = &rest[i + 4..];
        let end = after
            .find(|c: char| c == '/' || c == ')' || c.is_whitespace())
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str("<token>");
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The bot client for an inbox, on the one shared HTTP client.
pub fn bot(
    http: &reqwest::Client,
    settings: &TelegramSettings,
    token: &str,
) -> Result<Bot, String> {
    let base = settings.api_base_url.as_deref().unwrap_or(DEFAULT_API);
    let url = reqwest::Url::parse(base)
        .map_err(|e| format!("the Bot API address {base} is not valid: {e}"))?;
    Ok(Bot::with_client(token, http.clone()).set_api_url(url))
}

/// Checks a token: the bot's `@username`, or what is wrong in plain words.
pub async fn check(
    http: &reqwest::Client,
    settings: &TelegramSettings,
    token: &str,
) -> Result<String, String> {
    let bot = bot(http, settings, token)?;
    let me = bot.get_me().await.map_err(|e| problem(&e).text)?;
    Ok(me.username.clone().unwrap_or_else(|| me.first_name.clone()))
}

/// The receive loop of one Telegram inbox.
pub async fn run(
    caixa: Caixa,
    inbox_id: InboxId,
    cancel: CancellationToken,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut failures: u32 = 0;
    loop {
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            r = poll(&caixa, inbox_id, &mut failures) => r,
        };
        let p = match outcome {
            Ok(()) => return,
            Err(p) => p,
        };
        failures += 1;
        let wait = p.retry_after.unwrap_or(if p.needs_user {
            NEEDS_USER_RETRY
        } else {
            backoff(failures, BACKOFF_MAX)
        });
        tracing::warn!(inbox = inbox_id, retry_in = ?wait, "telegram: {}", p.text);
        caixa.set_inbox_state(inbox_id, InboxState::Error { reason: p.text });
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            Some(_) = commands.recv() => {}
        }
    }
}

fn local(text: impl Into<String>) -> Problem {
    Problem {
        text: text.into(),
        needs_user: true,
        retry_after: None,
    }
}

async fn poll(caixa: &Caixa, inbox_id: InboxId, failures: &mut u32) -> Result<(), Problem> {
    let inbox = caixa
        .get_inbox(inbox_id)
        .await
        .map_err(|e| local(e.to_string()))?;
    let InboxSettings::Telegram(settings) = inbox.settings else {
        return Err(local("inbox settings are not Telegram settings"));
    };
    let token = caixa
        .inbox_secret(inbox_id)
        .await
        .map_err(|e| local(format!("cannot read the bot token from the keychain: {e}")))?;
    let bot = bot(&caixa.inner.http, &settings, &token).map_err(local)?;
    let mut offset: i32 = caixa
        .store()
        .read(move |c| cursors::get(c, inbox_id, CURSOR))
        .await
        .map_err(|e| local(e.to_string()))?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // The first poll returns at once: it proves the token and that no one else is polling,
    // so the inbox shows "connected" without waiting for a customer to write.
    let mut wait = 0;
    loop {
        let updates = bot
            .get_updates()
            .offset(offset)
            .timeout(wait)
            .allowed_updates(vec![AllowedUpdate::Message])
            .await
            .map_err(|e| problem(&e))?;
        if *failures > 0 {
            *failures = 0;
            super::poll::send_queued_replies(caixa, inbox_id).await;
        }
        caixa.set_inbox_state(inbox_id, InboxState::Connected);
        wait = POLL_SECS;
        if updates.is_empty() {
            continue;
        }
        let next = updates
            .iter()
            .map(|u| u.id.0 as i32 + 1)
            .max()
            .unwrap_or(offset);
        let mut batch = Vec::with_capacity(updates.len());
        for u in updates {
            if let UpdateKind::Message(m) = u.kind {
                batch.push(incoming(caixa, &bot, inbox_id, &m).await);
            }
        }
        caixa
            .ingest_batch(batch, Some((inbox_id, CURSOR, next.to_string())))
            .await
            .map_err(|e| local(format!("cannot store Telegram messages: {e}")))?;
        offset = next;
    }
}

/// One Telegram message as a customer message: text or caption, media downloaded into the
/// attachment store, and a readable placeholder for anything else.
async fn incoming(caixa: &Caixa, bot: &Bot, inbox_id: InboxId, m: &Message) -> IncomingOwned {
    let chat = m.chat.id.0;
    let (name, username) = match &m.from {
        Some(u) => (u.full_name(), u.username.clone()),
        None => (
            m.chat
                .title()
                .map(str::to_string)
                .unwrap_or_else(|| chat.to_string()),
            None,
        ),
    };
    let mut files = Vec::new();
    let mut text = m.text().or(m.caption()).unwrap_or("").to_string();
    let mut media = |label: &str| {
        if text.is_empty() {
            text = label.to_string();
        }
    };
    if let Some(sizes) = m.photo() {
        if let Some(biggest) = sizes.iter().max_by_key(|p| p.width * p.height) {
            let name = format!("photo-{}.jpg", m.id.0);
            fetch(caixa, bot, &biggest.file, &name, "image/jpeg", &mut files).await;
        }
        media("📷 Photo");
    } else if let Some(d) = m.document() {
        let name = d.file_name.clone().unwrap_or_else(|| "document".into());
        let mime = d
            .mime_type
            .as_ref()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        fetch(caixa, bot, &d.file, &name, &mime, &mut files).await;
        media(&format!("📎 {name}"));
    } else if let Some(v) = m.voice() {
        let mime = v
            .mime_type
            .as_ref()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "audio/ogg".into());
        let name = format!("voice-{}.ogg", m.id.0);
        fetch(caixa, bot, &v.file, &name, &mime, &mut files).await;
        media(&format!("🎤 Voice message ({} s)", v.duration.seconds()));
    } else if let Some(a) = m.audio() {
        let name = a.file_name.clone().unwrap_or_else(|| "audio".into());
        let mime = a
            .mime_type
            .as_ref()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "audio/mpeg".into());
        fetch(caixa, bot, &a.file, &name, &mime, &mut files).await;
        media(&format!("🎵 {name}"));
    } else if let Some(l) = m.location() {
        media(&format!(
            "📍 Location: {:.6}, {:.6} https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}",
            l.latitude, l.longitude, l.latitude, l.longitude
        ));
    } else if let Some(s) = m.sticker() {
        media(&format!(
            "[Sticker {}]",
            s.emoji.clone().unwrap_or_default()
        ));
    } else if text.is_empty() {
        text = "[A message of a kind Caixa cannot show yet; open Telegram to see it]".into();
    }
    IncomingOwned {
        inbox_id,
        contact_key: chat.to_string(),
        contact_name: name,
        contact_email: None,
        contact_phone: username.map(|u| format!("@{u}")),
        thread_key: chat.to_string(),
        source_id: Some(format!("{chat}:{}", m.id.0)),
        content: text,
        created_at: m.date.timestamp_millis(),
        files,
    }
}

/// Downloads a file into the attachment store; a failure is logged and the message keeps its
/// placeholder text (a lost photo must not block the conversation).
async fn fetch(
    caixa: &Caixa,
    bot: &Bot,
    file: &teloxide::types::FileMeta,
    name: &str,
    mime: &str,
    out: &mut Vec<IncomingFile>,
) {
    if file.size > MAX_FILE_BYTES {
        tracing::warn!(
            file = name,
            size = file.size,
            "telegram: file too large to download"
        );
        return;
    }
    let result = async {
        let meta = bot
            .get_file(file.id.clone())
            .await
            .map_err(|e| problem(&e).text)?;
        let mut data: Vec<u8> = Vec::with_capacity(meta.size as usize);
        bot.download_file(&meta.path, &mut data)
            .await
            .map_err(|e| redact_token(&format!("download failed: {e}")))?;
        let dir = caixa.config().data_dir.clone();
        let size = data.len() as i64;
        let sha = tokio::task::spawn_blocking(move || attachments::save_file(&dir, &data))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(IncomingFile {
            file_name: name.to_string(),
            mime_type: mime.to_string(),
            size,
            sha256: sha,
        })
    }
    .await;
    match result {
        Ok(f) => out.push(f),
        Err(e) => tracing::warn!(file = name, "telegram: cannot fetch a file: {e}"),
    }
}

/// Sends one queued reply: the text, then each file (photos as photos, the rest as documents).
pub async fn send(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &TelegramSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!("cannot read the bot token from the keychain: {e}"))
    })?;
    let bot = bot(&caixa.inner.http, settings, &token).map_err(SendError::Permanent)?;
    let chat: i64 = q
        .thread_key
        .parse()
        .map_err(|_| SendError::Permanent("this conversation has no Telegram chat".into()))?;
    let chat = ChatId(chat);
    let id = q.id;
    let files = super::reply_files(caixa, id).await?;
    let mut first_id = None;
    if !q.content.trim().is_empty() {
        let sent = bot
            .send_message(chat, q.content.clone())
            .await
            .map_err(send_error)?;
        first_id = Some(sent.id.0);
    }
    for f in files {
        let data = super::read_file(caixa, &f).await?;
        let input = InputFile::memory(data).file_name(f.file_name.clone());
        let sent = if f.mime_type.starts_with("image/") && f.mime_type != "image/svg+xml" {
            bot.send_photo(chat, input).await
        } else {
            bot.send_document(chat, input).await
        }
        .map_err(send_error)?;
        first_id.get_or_insert(sent.id.0);
    }
    Ok(Sent {
        delivery: Delivery::Sent,
        source_id: first_id.map(|m| format!("{}:{m}", chat.0)),
    })
}

fn send_error(e: RequestError) -> SendError {
    let p = problem(&e);
    match e {
        RequestError::Network(_) => SendError::Offline(p.text),
        RequestError::RetryAfter(s) => SendError::RateLimited {
            reason: p.text,
            retry_after: s.duration(),
        },
        RequestError::Api(ApiError::Unknown(_)) | RequestError::InvalidJson { .. } => {
            SendError::Transient(p.text)
        }
        RequestError::Api(_) => SendError::Permanent(p.text),
        _ => SendError::Transient(p.text),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_token;

    #[test]
    fn bot_tokens_never_reach_error_texts() {
        let e = "error sending request for url (http://127.0.0.1:1/bot123456:ABC-def/GetUpdates)";
        assert_eq!(
            redact_token(e),
            "error sending request for url (http://127.0.0.1:1/bot<token>/GetUpdates)"
        );
        assert_eq!(
            redact_token("GET /file/bot99:xyz/photos/a.jpg failed"),
            "GET /file/bot<token>/photos/a.jpg failed"
        );
        assert_eq!(redact_token("no url here"), "no url here");
    }
}
