//! SMS (and WhatsApp) through Twilio. A desktop has no public address, so the worker polls
//! `GET /2010-04-01/Accounts/{sid}/Messages.json?To={number}` (newest first), pages back to the
//! newest message it stored before (kept in `channel_cursors` with the messages), and stores
//! what is new oldest first; the message SID is the `source_id`. Replies:
//! `POST …/Messages.json` with `To`, `From`, `Body`. Auth is HTTP Basic `AccountSid:AuthToken`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::poll::{self, Problem};
use super::workers::Command;
use super::{SendError, Sent};
use crate::caixa::{Caixa, IncomingOwned};
use crate::ingest::IncomingFile;
use crate::model::{ChannelKind, Delivery, InboxId, InboxSettings, TwilioSettings};
use crate::store::{attachments, cursors, messages, now_ms};

pub const DEFAULT_API: &str = "https://api.twilio.com";
/// How often to look for new messages. Twilio's list API is cheap, but never hammer it.
const POLL_EVERY: Duration = Duration::from_secs(5);
/// At most this many pages per poll (a long outage catches up over several polls).
const MAX_PAGES: usize = 10;
const PAGE_SIZE: u32 = 50;
const CURSOR: &str = "twilio_newest_sid";

fn base(settings: &TwilioSettings) -> String {
    settings
        .api_base_url
        .as_deref()
        .unwrap_or(DEFAULT_API)
        .trim_end_matches('/')
        .to_string()
}

/// Twilio's error body: `{"code": 20429, "message": "...", "more_info": "...", "status": 429}`.
#[derive(Debug, Deserialize)]
struct TwilioError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

fn api_problem(status: reqwest::StatusCode, body: &str) -> Problem {
    let e: Option<TwilioError> = serde_json::from_str(body).ok();
    let (code, message) = e
        .map(|e| (e.code, e.message))
        .unwrap_or((0, format!("HTTP {status}")));
    let text = match code {
        20003 => "Twilio did not accept the Account SID and auth token (20003)".to_string(),
        0 => format!("Twilio answered {message}"),
        c => format!("Twilio refused: {message} ({c})"),
    };
    Problem {
        text,
        needs_user: code == 20003 || status == reqwest::StatusCode::UNAUTHORIZED,
        rate_limited: code == 20429 || status == reqwest::StatusCode::TOO_MANY_REQUESTS,
        wait: None,
        offline: false,
    }
}

async fn get_json(
    http: &reqwest::Client,
    url: &str,
    settings: &TwilioSettings,
    token: &str,
) -> Result<Value, Problem> {
    let res = http
        .get(url)
        .basic_auth(&settings.account_sid, Some(token))
        .send()
        .await
        .map_err(|e| Problem::network("Twilio", e))?;
    let status = res.status();
    let body = res
        .text()
        .await
        .map_err(|e| Problem::network("Twilio", e))?;
    if !status.is_success() {
        return Err(api_problem(status, &body));
    }
    serde_json::from_str(&body).map_err(|e| Problem {
        needs_user: false,
        ..Problem::local(format!("Twilio answered something unreadable: {e}"))
    })
}

/// Checks the credentials and the number: the account's friendly name, or the reason.
pub async fn check(
    http: &reqwest::Client,
    settings: &TwilioSettings,
    token: &str,
) -> Result<String, String> {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json?PageSize=1",
        base(settings),
        settings.account_sid
    );
    get_json(http, &url, settings, token)
        .await
        .map(|_| settings.number.clone())
        .map_err(|p| p.text)
}

/// The receive loop of one Twilio inbox.
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
        "twilio",
        |c, id| async move { poll_once(&c, id).await.map(|()| POLL_EVERY) },
    )
    .await
}

/// One poll: new inbound messages since the newest one stored, stored oldest first with the
/// new cursor in the same transaction.
async fn poll_once(caixa: &Caixa, inbox_id: InboxId) -> Result<(), Problem> {
    let inbox = caixa
        .get_inbox(inbox_id)
        .await
        .map_err(|e| Problem::local(e.to_string()))?;
    let InboxSettings::Twilio(settings) = inbox.settings else {
        return Err(Problem::local("inbox settings are not Twilio settings"));
    };
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        Problem::local(format!("cannot read the auth token from the keychain: {e}"))
    })?;
    let newest_known = caixa
        .store()
        .read(move |c| cursors::get(c, inbox_id, CURSOR))
        .await
        .map_err(|e| Problem::local(e.to_string()))?;
    let http = &caixa.inner.http;
    let root = base(&settings);
    let mut url = {
        let mut u = reqwest::Url::parse(&format!(
            "{root}/2010-04-01/Accounts/{}/Messages.json",
            settings.account_sid
        ))
        .map_err(|e| Problem::local(format!("the Twilio address is not valid: {e}")))?;
        u.query_pairs_mut()
            .append_pair("To", &settings.number)
            .append_pair("PageSize", &PAGE_SIZE.to_string());
        u.to_string()
    };
    let mut fresh: Vec<Value> = Vec::new();
    'pages: for _ in 0..MAX_PAGES {
        let page = get_json(http, &url, &settings, &token).await?;
        for m in page["messages"].as_array().into_iter().flatten() {
            if newest_known.as_deref() == m["sid"].as_str() {
                break 'pages;
            }
            if m["direction"].as_str() == Some("inbound") {
                fresh.push(m.clone());
            }
        }
        // The first run takes one page: the newest messages, not the account's whole history.
        let Some(next) = page["next_page_uri"]
            .as_str()
            .filter(|_| newest_known.is_some())
        else {
            break;
        };
        url = format!("{root}{next}");
    }
    let Some(newest) = fresh
        .first()
        .and_then(|m| m["sid"].as_str())
        .map(str::to_string)
    else {
        return Ok(());
    };
    let mut batch = Vec::with_capacity(fresh.len());
    for m in fresh.iter().rev() {
        batch.push(incoming(caixa, &settings, &token, inbox_id, m).await);
    }
    caixa
        .ingest_batch(batch, Some((inbox_id, CURSOR, newest)))
        .await
        .map_err(|e| Problem::local(format!("cannot store Twilio messages: {e}")))?;
    Ok(())
}

async fn incoming(
    caixa: &Caixa,
    settings: &TwilioSettings,
    token: &str,
    inbox_id: InboxId,
    m: &Value,
) -> IncomingOwned {
    let from = m["from"].as_str().unwrap_or("unknown").to_string();
    let sid = m["sid"].as_str().unwrap_or_default().to_string();
    let at = m["date_sent"]
        .as_str()
        .or(m["date_created"].as_str())
        .and_then(mail_parser::DateTime::parse_rfc822)
        .map(|d| d.to_timestamp() * 1000)
        .unwrap_or_else(now_ms);
    let mut files = Vec::new();
    let num_media: u32 = m["num_media"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if num_media > 0 {
        if let Some(list) = m["subresource_uris"]["media"].as_str() {
            match media(caixa, settings, token, list).await {
                Ok(f) => files = f,
                Err(e) => tracing::warn!(message = %sid, "twilio: cannot fetch media: {e}"),
            }
        }
    }
    let body = m["body"].as_str().unwrap_or_default().trim().to_string();
    let content = match (body.is_empty(), files.len()) {
        (false, _) => body,
        (true, 0) if num_media > 0 => "[Media that could not be downloaded]".to_string(),
        (true, 0) => "[Empty message]".to_string(),
        (true, n) => format!("📎 {n} file(s)"),
    };
    let display = from.trim_start_matches("whatsapp:").to_string();
    IncomingOwned {
        inbox_id,
        contact_key: from.clone(),
        contact_name: display.clone(),
        contact_email: None,
        contact_phone: Some(display),
        thread_key: from,
        source_id: Some(sid),
        content,
        created_at: at,
        files,
    }
}

/// Downloads a message's media (list, then each content URL, with the account's credentials).
async fn media(
    caixa: &Caixa,
    settings: &TwilioSettings,
    token: &str,
    list_uri: &str,
) -> Result<Vec<IncomingFile>, String> {
    let root = base(settings);
    let http = &caixa.inner.http;
    let list = get_json(http, &format!("{root}{list_uri}"), settings, token)
        .await
        .map_err(|p| p.text)?;
    let mut out = Vec::new();
    for (i, item) in list["media_list"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (Some(uri), mime) = (
            item["uri"].as_str(),
            item["content_type"]
                .as_str()
                .unwrap_or("application/octet-stream"),
        ) else {
            continue;
        };
        let content = format!("{root}{}", uri.trim_end_matches(".json"));
        let data = http
            .get(content)
            .basic_auth(&settings.account_sid, Some(token))
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
        let ext = mime.rsplit('/').next().unwrap_or("bin");
        out.push(IncomingFile {
            file_name: format!("media-{}.{ext}", i + 1),
            mime_type: mime.to_string(),
            size,
            sha256: sha,
        });
    }
    Ok(out)
}

/// Sends one queued reply as an SMS (or WhatsApp message) from the inbox's number.
pub async fn send(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &TwilioSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!("cannot read the auth token from the keychain: {e}"))
    })?;
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        base(settings),
        settings.account_sid
    );
    let mut form = vec![
        ("To", q.thread_key.clone()),
        ("From", settings.number.clone()),
        ("Body", q.content.clone()),
    ];
    // Twilio downloads each file from its URL; one message carries the text and up to 10.
    for f in super::reply_files(caixa, q.id).await? {
        form.push((
            "MediaUrl",
            crate::gateway::media::link(caixa, ChannelKind::Twilio, &f).await?,
        ));
    }
    let res = caixa
        .inner
        .http
        .post(url)
        .basic_auth(&settings.account_sid, Some(&token))
        .form(&form)
        .send()
        .await;
    let res = res.map_err(|e| Problem::network("Twilio", e).into_send_error(true))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(api_problem(status, &body).into_send_error(status.is_server_error()));
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    Ok(Sent {
        delivery: Delivery::Sent,
        source_id: v["sid"].as_str().map(str::to_string),
    })
}
