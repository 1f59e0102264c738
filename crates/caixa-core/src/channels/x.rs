//! X (Twitter) direct messages over API v2. The worker polls `GET /2/dm_events` (newest first)
//! back to the newest event it stored (kept in `channel_cursors` with the messages), paced by
//! the `x-rate-limit-*` headers so it never exceeds the account's quota. Replies:
//! `POST /2/dm_conversations/with/{participant_id}/messages`. Auth: an OAuth 2.0 user token.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::poll::{self, Problem};
use super::workers::Command;
use super::{SendError, Sent};
use crate::caixa::{Caixa, IncomingOwned};
use crate::model::{Delivery, InboxId, InboxSettings, XSettings};
use crate::store::{cursors, messages, now_ms};

pub const DEFAULT_API: &str = "https://api.x.com";
/// Default pause between polls; the rate-limit headers can make it longer, never shorter.
pub const DEFAULT_POLL_SECS: u32 = 60;
const MAX_PAGES: usize = 5;
const CURSOR: &str = "x_newest_event";

fn base(settings: &XSettings) -> &str {
    settings
        .api_base_url
        .as_deref()
        .unwrap_or(DEFAULT_API)
        .trim_end_matches('/')
}

/// What the rate-limit headers allow: how long to wait before the next call, if anything.
fn rate_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |n: &str| -> Option<i64> { headers.get(n)?.to_str().ok()?.parse().ok() };
    let (remaining, reset) = (get("x-rate-limit-remaining")?, get("x-rate-limit-reset")?);
    if remaining > 0 {
        return None;
    }
    let now = now_ms() / 1000;
    Some(Duration::from_secs((reset - now).max(1) as u64))
}

fn problem_of(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> Problem {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let detail = v["detail"]
        .as_str()
        .or(v["title"].as_str())
        .unwrap_or("no details");
    let text = match status.as_u16() {
        401 => "X did not accept the access token (401 Unauthorized); connect the account again"
            .to_string(),
        403 => format!("X refused: {detail} (403)"),
        429 => "X's rate limit for direct messages is used up; waiting for it to reset".to_string(),
        s => format!("X answered {s}: {detail}"),
    };
    let limited = status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    Problem {
        text,
        needs_user: status == reqwest::StatusCode::UNAUTHORIZED,
        rate_limited: limited,
        wait: limited.then(|| rate_wait(headers).unwrap_or(Duration::from_secs(60))),
        offline: false,
    }
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(Value, Option<Duration>), Problem> {
    let res = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| Problem::network("X", e))?;
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.map_err(|e| Problem::network("X", e))?;
    if !status.is_success() {
        return Err(problem_of(status, &headers, &body));
    }
    let v = serde_json::from_str(&body).map_err(|e| Problem {
        needs_user: false,
        ..Problem::local(format!("X answered something unreadable: {e}"))
    })?;
    Ok((v, rate_wait(&headers)))
}

/// Checks the token: `(user id, @username)` of the account, or the reason.
pub async fn check(
    http: &reqwest::Client,
    settings: &XSettings,
    token: &str,
) -> Result<(String, String), String> {
    let (v, _) = get(http, &format!("{}/2/users/me", base(settings)), token)
        .await
        .map_err(|p| p.text)?;
    let id = v["data"]["id"].as_str().unwrap_or_default().to_string();
    let username = v["data"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((id, username))
}

/// The receive loop of one X inbox.
pub async fn run(
    caixa: Caixa,
    inbox_id: InboxId,
    cancel: CancellationToken,
    commands: mpsc::UnboundedReceiver<Command>,
) {
    poll::run(caixa, inbox_id, cancel, commands, "x", |c, id| async move {
        poll_once(&c, id).await
    })
    .await
}

/// One poll; returns how long to wait before the next one.
async fn poll_once(caixa: &Caixa, inbox_id: InboxId) -> Result<Duration, Problem> {
    let inbox = caixa
        .get_inbox(inbox_id)
        .await
        .map_err(|e| Problem::local(e.to_string()))?;
    let InboxSettings::X(settings) = inbox.settings else {
        return Err(Problem::local("inbox settings are not X settings"));
    };
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        Problem::local(format!(
            "cannot read the access token from the keychain: {e}"
        ))
    })?;
    let mut wait =
        Duration::from_secs(settings.poll_seconds.unwrap_or(DEFAULT_POLL_SECS).max(1) as u64);
    let newest_known = caixa
        .store()
        .read(move |c| cursors::get(c, inbox_id, CURSOR))
        .await
        .map_err(|e| Problem::local(e.to_string()))?;
    let own = settings.user_id.clone().unwrap_or_default();
    let http = &caixa.inner.http;
    let first = format!(
        "{}/2/dm_events?event_types=MessageCreate&max_results=100\
         &dm_event.fields=id,event_type,text,sender_id,dm_conversation_id,created_at,attachments\
         &expansions=sender_id&user.fields=name,username",
        base(&settings)
    );
    let mut url = first.clone();
    let mut fresh: Vec<Value> = Vec::new();
    let mut users: Vec<Value> = Vec::new();
    'pages: for _ in 0..MAX_PAGES {
        let (page, limited) = get(http, &url, &token).await?;
        if let Some(l) = limited {
            wait = wait.max(l);
        }
        users.extend(
            page["includes"]["users"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
        for e in page["data"].as_array().into_iter().flatten() {
            if newest_known.as_deref() == e["id"].as_str() {
                break 'pages;
            }
            if e["event_type"].as_str() == Some("MessageCreate")
                && e["sender_id"].as_str() != Some(&own)
            {
                fresh.push(e.clone());
            }
        }
        // The first run takes one page; later ones page back to the newest stored event.
        let Some(next) = page["meta"]["next_token"]
            .as_str()
            .filter(|_| newest_known.is_some())
        else {
            break;
        };
        if limited.is_some() {
            break;
        }
        url = format!("{first}&pagination_token={next}");
    }
    let Some(newest) = fresh
        .first()
        .and_then(|e| e["id"].as_str())
        .map(str::to_string)
    else {
        return Ok(wait);
    };
    let batch: Vec<IncomingOwned> = fresh
        .iter()
        .rev()
        .map(|e| {
            let sender = e["sender_id"].as_str().unwrap_or_default().to_string();
            let user = users.iter().find(|u| u["id"].as_str() == Some(&sender));
            let name = user
                .and_then(|u| u["name"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| sender.clone());
            let username = user
                .and_then(|u| u["username"].as_str())
                .map(|u| format!("@{u}"));
            let mut text = e["text"].as_str().unwrap_or_default().trim().to_string();
            if e["attachments"]["media_keys"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
            {
                let note =
                    "[Media attached; X only serves it to the signed-in app: open X to see it]";
                text = if text.is_empty() {
                    note.to_string()
                } else {
                    format!("{text}\n{note}")
                };
            }
            if text.is_empty() {
                text = "[Empty message]".into();
            }
            IncomingOwned {
                inbox_id,
                contact_key: sender.clone(),
                contact_name: name,
                contact_email: None,
                contact_phone: username,
                thread_key: sender,
                source_id: e["id"].as_str().map(str::to_string),
                content: text,
                created_at: e["created_at"]
                    .as_str()
                    .and_then(parse_rfc3339_ms)
                    .unwrap_or_else(now_ms),
                files: Vec::new(),
            }
        })
        .collect();
    caixa
        .ingest_batch(batch, Some((inbox_id, CURSOR, newest)))
        .await
        .map_err(|e| Problem::local(format!("cannot store X messages: {e}")))?;
    Ok(wait)
}

/// `2026-11-29T20:11:03.000Z` → Unix ms (X always answers in UTC with this shape).
fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let (date, time) = s.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

/// Sends one queued reply as a direct message.
pub async fn send(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &XSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!(
            "cannot read the access token from the keychain: {e}"
        ))
    })?;
    let url = format!(
        "{}/2/dm_conversations/with/{}/messages",
        base(settings),
        q.thread_key
    );
    let mut body = json!({});
    if !q.content.trim().is_empty() {
        body["text"] = json!(q.content);
    }
    // A DM carries one file, uploaded first.
    if let Some(f) = super::reply_files(caixa, q.id).await?.first() {
        let media_id = upload(caixa, settings, &token, f).await?;
        body["attachments"] = json!([{ "media_id": media_id }]);
    }
    let res = caixa
        .inner
        .http
        .post(url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .map_err(|e| Problem::network("X", e).into_send_error(true))?;
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(problem_of(status, &headers, &body).into_send_error(status.is_server_error()));
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    Ok(Sent {
        delivery: Delivery::Sent,
        source_id: v["data"]["dm_event_id"].as_str().map(str::to_string),
    })
}

/// `POST /2/media/upload`: a reply's file, as DM media; its media id.
async fn upload(
    caixa: &Caixa,
    settings: &XSettings,
    token: &str,
    f: &crate::store::attachments::OutFile,
) -> Result<String, SendError> {
    let category = if f.mime_type == "image/gif" {
        "dm_gif"
    } else {
        "dm_image"
    };
    let data = super::read_file(caixa, f).await?;
    let part = reqwest::multipart::Part::bytes(data)
        .file_name(f.file_name.clone())
        .mime_str(&f.mime_type)
        .map_err(|e| SendError::Permanent(format!("{}: {e}", f.file_name)))?;
    let form = reqwest::multipart::Form::new()
        .text("media_category", category)
        .text("media_type", f.mime_type.clone())
        .part("media", part);
    let res = caixa
        .inner
        .http
        .post(format!("{}/2/media/upload", base(settings)))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .map_err(|e| Problem::network("X", e).into_send_error(true))?;
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(problem_of(status, &headers, &body).into_send_error(status.is_server_error()));
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SendError::Transient("X answered the upload without a media id".into()))
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339_ms;

    #[test]
    fn x_timestamps() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T00:00:01.5Z"),
            Some(951_782_401_500)
        );
        assert_eq!(parse_rfc3339_ms("garbage"), None);
    }
}
