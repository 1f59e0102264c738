//! Facebook Messenger and Instagram Direct for a Facebook Page, over the Graph API. A desktop
//! has no public address, so the worker polls the Conversations API
//! (`/{page-id}/conversations?platform=messenger|instagram`, most recently updated first), then
//! the messages of each conversation updated since the last poll, at most 2 calls per second
//! per Page. Replies go through the Send API: a plain `RESPONSE` within 24 h of the customer's
//! last message, the `HUMAN_AGENT` tag up to 7 days.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::poll::{self, Problem};
use super::workers::Command;
use super::{SendError, Sent};
use crate::caixa::{Caixa, IncomingOwned};
use crate::ingest::IncomingFile;
use crate::model::{ChannelKind, Delivery, InboxId, InboxSettings, MessengerSettings};
use crate::store::{attachments, conversations, cursors, messages, now_ms};

pub const DEFAULT_API: &str = "https://graph.facebook.com";
pub const DEFAULT_VERSION: &str = "v21.0";
pub const DEFAULT_POLL_SECS: u32 = 10;
/// Meta's guidance for polling: at most 2 calls per second per Page.
const CALL_GAP: Duration = Duration::from_millis(500);
const CURSOR: &str = "graph_updated_time";
const STANDARD_WINDOW_MS: i64 = 24 * 3600 * 1000;

fn platform(kind: ChannelKind) -> &'static str {
    if kind == ChannelKind::Instagram {
        "instagram"
    } else {
        "messenger"
    }
}

fn base(settings: &MessengerSettings) -> String {
    format!(
        "{}/{}",
        settings
            .api_base_url
            .as_deref()
            .unwrap_or(DEFAULT_API)
            .trim_end_matches('/'),
        settings.api_version.as_deref().unwrap_or(DEFAULT_VERSION)
    )
}

fn graph_problem(status: reqwest::StatusCode, body: &str) -> Problem {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let e = &v["error"];
    let code = e["code"].as_i64().unwrap_or(0);
    let subcode = e["error_subcode"].as_i64().unwrap_or(0);
    let message = e["message"].as_str().unwrap_or("no details");
    let text = match (code, subcode) {
        (10, 2018278) => "More than 7 days since the customer last wrote: Meta no longer accepts replies in this conversation (code 10/2018278)".to_string(),
        (190, _) => format!("Meta did not accept the Page access token: {message} (code 190)"),
        (0, _) => format!("Meta answered HTTP {status}"),
        _ => format!("Meta refused: {message} (code {code})"),
    };
    Problem {
        text,
        needs_user: code == 190 || status == reqwest::StatusCode::UNAUTHORIZED,
        rate_limited: matches!(code, 4 | 17 | 32 | 613) || status.as_u16() == 429,
        wait: None,
        offline: false,
    }
}

/// How long Meta's usage headers ask us to hold off, if at all: `X-Business-Use-Case-Usage`
/// gives `estimated_time_to_regain_access` (minutes) once throttled; near the limit (any of
/// `call_count`, `total_cputime`, `total_time` at 90 % or more, there or in `X-App-Usage`) we
/// slow to one call a minute so we never reach it.
pub fn usage_pause(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let json = |name: &str| -> Value {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default()
    };
    let mut entries = vec![json("x-app-usage")];
    if let Value::Object(per_business) = json("x-business-use-case-usage") {
        for list in per_business.values() {
            entries.extend(list.as_array().into_iter().flatten().cloned());
        }
    }
    let regain = entries
        .iter()
        .filter_map(|e| e["estimated_time_to_regain_access"].as_u64())
        .max()
        .unwrap_or(0);
    if regain > 0 {
        return Some(Duration::from_secs(regain * 60));
    }
    let highest = entries
        .iter()
        .flat_map(|e| ["call_count", "total_cputime", "total_time"].map(|k| e[k].as_u64()))
        .flatten()
        .max()
        .unwrap_or(0);
    (highest >= NEAR_LIMIT_PERCENT).then_some(NEAR_LIMIT_PAUSE)
}

const NEAR_LIMIT_PERCENT: u64 = 90;
const NEAR_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// A Graph GET; the answer and how long the usage headers ask to wait before the next call.
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
        .map_err(|e| Problem::network("Meta", e))?;
    let status = res.status();
    let pause = usage_pause(res.headers());
    let body = res.text().await.map_err(|e| Problem::network("Meta", e))?;
    if !status.is_success() {
        let mut p = graph_problem(status, &body);
        if p.rate_limited {
            p.wait = pause;
        }
        return Err(p);
    }
    let value = serde_json::from_str(&body).map_err(|e| Problem {
        needs_user: false,
        ..Problem::local(format!("Meta answered something unreadable: {e}"))
    })?;
    Ok((value, pause))
}

/// Checks the Page access token: the Page's name, or the reason.
pub async fn check(
    http: &reqwest::Client,
    settings: &MessengerSettings,
    token: &str,
) -> Result<String, String> {
    let (v, _) = get(
        http,
        &format!("{}/{}?fields=name,id", base(settings), settings.page_id),
        token,
    )
    .await
    .map_err(|p| p.text)?;
    Ok(v["name"].as_str().unwrap_or(&settings.page_id).to_string())
}

/// The receive loop of one Messenger or Instagram inbox.
pub async fn run(
    caixa: Caixa,
    inbox_id: InboxId,
    cancel: CancellationToken,
    commands: mpsc::UnboundedReceiver<Command>,
) {
    poll::run(
        caixa,
        inbox_id,
        cancel,
        commands,
        "messenger",
        |c, id| async move { poll_once(&c, id).await },
    )
    .await
}

async fn poll_once(caixa: &Caixa, inbox_id: InboxId) -> Result<Duration, Problem> {
    let inbox = caixa
        .get_inbox(inbox_id)
        .await
        .map_err(|e| Problem::local(e.to_string()))?;
    let (InboxSettings::Messenger(settings) | InboxSettings::Instagram(settings)) = &inbox.settings
    else {
        return Err(Problem::local("inbox settings are not Messenger settings"));
    };
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        Problem::local(format!(
            "cannot read the Page access token from the keychain: {e}"
        ))
    })?;
    let wait =
        Duration::from_secs(settings.poll_seconds.unwrap_or(DEFAULT_POLL_SECS).max(1) as u64);
    let since = caixa
        .store()
        .read(move |c| cursors::get(c, inbox_id, CURSOR))
        .await
        .map_err(|e| Problem::local(e.to_string()))?;
    let http = &caixa.inner.http;
    let root = base(settings);
    let (list, pause) = get(
        http,
        &format!(
            "{root}/{}/conversations?platform={}&fields=id,updated_time,participants&limit=25",
            settings.page_id,
            platform(inbox.kind)
        ),
        &token,
    )
    .await?;
    // ISO 8601 times with the same offset compare as text.
    let updated: Vec<&Value> = list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| match (&since, c["updated_time"].as_str()) {
            (Some(s), Some(t)) => t > s.as_str(),
            _ => true,
        })
        .collect();
    let Some(newest) = updated
        .iter()
        .filter_map(|c| c["updated_time"].as_str())
        .max()
        .map(str::to_string)
    else {
        return Ok(wait.max(pause.unwrap_or_default()));
    };
    let mut pause = pause;
    let mut batch = Vec::new();
    for c in updated {
        let Some(conversation) = c["id"].as_str() else {
            continue;
        };
        tokio::time::sleep(CALL_GAP).await;
        let (msgs, p) = get(
            http,
            &format!(
                "{root}/{conversation}/messages?fields=id,created_time,from,to,message,attachments&limit=25"
            ),
            &token,
        )
        .await?;
        pause = pause.max(p);
        for m in msgs["data"].as_array().into_iter().flatten().rev() {
            let from = &m["from"];
            let Some(sender) = from["id"].as_str() else {
                continue;
            };
            if sender == settings.page_id || Some(sender) == settings.instagram_id.as_deref() {
                continue; // the Page's own replies
            }
            let name = from["name"]
                .as_str()
                .or(from["username"].as_str())
                .unwrap_or(sender)
                .to_string();
            let files = attachments_of(caixa, &token, m).await;
            let text = m["message"].as_str().unwrap_or_default().trim().to_string();
            let content = match (text.is_empty(), files.len()) {
                (false, _) => text,
                (true, 0) => {
                    "[A message Caixa cannot show yet; open Meta Business Suite to see it]"
                        .to_string()
                }
                (true, n) => format!("📎 {n} file(s)"),
            };
            batch.push(IncomingOwned {
                inbox_id,
                contact_key: sender.to_string(),
                contact_name: name,
                contact_email: None,
                contact_phone: None,
                thread_key: sender.to_string(),
                source_id: m["id"].as_str().map(str::to_string),
                content,
                created_at: m["created_time"]
                    .as_str()
                    .and_then(parse_graph_time)
                    .unwrap_or_else(now_ms),
                files,
            });
        }
    }
    caixa
        .ingest_batch(batch, Some((inbox_id, CURSOR, newest)))
        .await
        .map_err(|e| Problem::local(format!("cannot store messages: {e}")))?;
    Ok(wait.max(pause.unwrap_or_default()))
}

/// Downloads a message's attachments (image/file URLs served by Meta).
async fn attachments_of(caixa: &Caixa, token: &str, m: &Value) -> Vec<IncomingFile> {
    let mut out = Vec::new();
    for (i, a) in m["attachments"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let url = a["image_data"]["url"]
            .as_str()
            .or(a["file_url"].as_str())
            .or(a["video_data"]["url"].as_str());
        let Some(url) = url else { continue };
        let mime = a["mime_type"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_string();
        let name = a["name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        let fetched = async {
            let data = caixa
                .inner
                .http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map_err(|e| e.to_string())?;
            let size = data.len() as i64;
            let dir = caixa.config().data_dir.clone();
            let sha = tokio::task::spawn_blocking(move || attachments::save_file(&dir, &data))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(IncomingFile {
                file_name: name.clone(),
                mime_type: mime.clone(),
                size,
                sha256: sha,
            })
        }
        .await;
        match fetched {
            Ok(f) => out.push(f),
            Err(e) => tracing::warn!("messenger: cannot fetch an attachment: {e}"),
        }
    }
    out
}

/// Graph times look like `2026-11-29T20:11:03+0000`.
fn parse_graph_time(s: &str) -> Option<i64> {
    let t = s.get(..19)?;
    let iso = format!("{t}Z");
    mail_parser::DateTime::parse_rfc3339(&iso).map(|d| d.to_timestamp() * 1000)
}

/// Sends one queued reply through the Send API, tagged `HUMAN_AGENT` after the first 24 h.
pub async fn send(
    caixa: &Caixa,
    inbox_id: InboxId,
    kind: ChannelKind,
    settings: &MessengerSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!(
            "cannot read the Page access token from the keychain: {e}"
        ))
    })?;
    let conversation_id = q.conversation_id;
    let last_incoming = caixa
        .store()
        .read(move |c| conversations::last_incoming_at(c, conversation_id))
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?
        .unwrap_or(0);
    let mut envelope = json!({
        "recipient": {"id": q.thread_key},
        "messaging_type": "RESPONSE",
    });
    if now_ms() - last_incoming > STANDARD_WINDOW_MS {
        envelope["messaging_type"] = json!("MESSAGE_TAG");
        envelope["tag"] = json!("HUMAN_AGENT");
    }
    let sender = if kind == ChannelKind::Instagram {
        "me".to_string()
    } else {
        settings.page_id.clone()
    };
    let url = format!("{}/{sender}/messages", base(settings));
    let http = &caixa.inner.http;
    let mut first = None;
    if !q.content.trim().is_empty() {
        let mut body = envelope.clone();
        body["message"] = json!({"text": q.content});
        first = post(http.post(&url).bearer_auth(&token).json(&body)).await?;
    }
    for f in super::reply_files(caixa, q.id).await? {
        let kind_name = attachment_type(&f.mime_type);
        let request = if kind == ChannelKind::Instagram {
            // Instagram takes files only by link.
            let link = crate::gateway::media::link(caixa, kind, &f).await?;
            let mut body = envelope.clone();
            body["message"] = json!({"attachment": {"type": kind_name, "payload": {"url": link}}});
            http.post(&url).bearer_auth(&token).json(&body)
        } else {
            let data = super::read_file(caixa, &f).await?;
            let part = reqwest::multipart::Part::bytes(data)
                .file_name(f.file_name.clone())
                .mime_str(&f.mime_type)
                .map_err(|e| SendError::Permanent(format!("{}: {e}", f.file_name)))?;
            let mut form = reqwest::multipart::Form::new();
            for (key, value) in envelope.as_object().into_iter().flatten() {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                form = form.text(key.clone(), text);
            }
            let message =
                json!({"attachment": {"type": kind_name, "payload": {"is_reusable": false}}});
            form = form
                .text("message", message.to_string())
                .part("filedata", part);
            http.post(&url).bearer_auth(&token).multipart(form)
        };
        let mid = post(request).await?;
        first = first.or(mid);
    }
    Ok(Sent {
        delivery: Delivery::Sent,
        source_id: first,
    })
}

/// The Send API's attachment type for a file.
fn attachment_type(mime: &str) -> &'static str {
    match mime.split('/').next() {
        Some("image") => "image",
        Some("video") => "video",
        Some("audio") => "audio",
        _ => "file",
    }
}

/// Sends one Send API request; the message id it answers with.
async fn post(request: reqwest::RequestBuilder) -> Result<Option<String>, SendError> {
    let res = request
        .send()
        .await
        .map_err(|e| Problem::network("Meta", e).into_send_error(true))?;
    let status = res.status();
    let pause = usage_pause(res.headers());
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        let mut p = graph_problem(status, &text);
        if p.rate_limited {
            p.wait = pause;
        }
        return Err(p.into_send_error(status.is_server_error()));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    Ok(v["message_id"].as_str().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(app: &str, buc: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-app-usage", HeaderValue::from_str(app).unwrap());
        h.insert(
            "x-business-use-case-usage",
            HeaderValue::from_str(buc).unwrap(),
        );
        h
    }

    #[test]
    fn usage_headers_slow_down_then_pause() {
        let calm = headers(
            r#"{"call_count":12,"total_cputime":3,"total_time":5}"#,
            r#"{"200":[{"type":"messenger","call_count":20,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":0}]}"#,
        );
        assert_eq!(usage_pause(&calm), None);
        let near = headers(
            r#"{"call_count":12,"total_cputime":3,"total_time":5}"#,
            r#"{"200":[{"type":"messenger","call_count":93,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":0}]}"#,
        );
        assert_eq!(usage_pause(&near), Some(NEAR_LIMIT_PAUSE));
        let throttled = headers(
            r#"{"call_count":100,"total_cputime":3,"total_time":5}"#,
            r#"{"200":[{"type":"messenger","call_count":100,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":7}]}"#,
        );
        assert_eq!(usage_pause(&throttled), Some(Duration::from_secs(7 * 60)));
        assert_eq!(usage_pause(&HeaderMap::new()), None);
    }
}
