//! Fake Twilio Programmable Messaging (REST API 2010-04-01,
//! <https://www.twilio.com/docs/messaging/api/message-resource>), SMS/MMS and WhatsApp.
//!
//! Paths (below [`TwilioFake::base_url`], which stands for `https://api.twilio.com`):
//! - `GET  /2010-04-01/Accounts/{AccountSid}/Messages.json`: newest first, filters `To`,
//!   `From`, `DateSent`, `DateSent<`, `DateSent>`; paging with `PageSize` (default 50, max
//!   1000), `Page`, `PageToken` and the list fields `messages`, `uri`, `first_page_uri`,
//!   `next_page_uri`, `previous_page_uri`, `page`, `page_size`, `start`, `end`.
//! - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`: form fields `To`, `From` (or
//!   `MessagingServiceSid`), `Body`, `MediaUrl` (repeatable), `StatusCallback`; answers 201
//!   with the Message (`status: "queued"`). Afterwards the message reads as `sent`.
//! - `GET  …/Messages/{MessageSid}.json`, `…/Messages/{MessageSid}/Media.json` (paged like
//!   above, key `media_list`), `…/Media/{MediaSid}.json`, and the media content at
//!   `…/Media/{MediaSid}` (no extension), which redirects (307) to a content URL like the real
//!   API's redirect to its CDN.
//!
//! Auth is HTTP Basic `AccountSid:AuthToken`; anything else answers 401 with Twilio's 20003
//! body. Media content is public unless [`TwilioAccount::require_media_auth`] is set (the
//! console's "HTTP Basic Authentication for media" switch).
//!
//! Injected failures ([`TwilioFake::fail_next`], matched on the path):
//! - [`Failure::RateLimited`] → 429 `{"code":20429,"message":"Too Many Requests",…}`
//!   (`retry_after_secs` is unused: Twilio documents no retry hint).
//! - [`Failure::Unauthorized`] → 401 code 20003 `Authenticate`.
//! - [`Failure::ServerError`] → 500 code 20500 `Internal Server Error`.
//! - [`Failure::Status`] → `{"code":code,"message":message,"more_info":
//!   "https://www.twilio.com/docs/errors/{code}","status":status}`.
//! - [`Failure::Raw`] → exactly the given response.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::failure::Failure;
use crate::recorder::{lock, Recorded};
use crate::server::{self, Provider, Server};
use crate::{clock, ids, text};

const API_VERSION: &str = "2010-04-01";

/// `X-Twilio-Signature` of a webhook request, as Twilio documents it
/// (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>): the full URL (with its
/// query string), then for POSTs each form parameter's name and value, sorted by name,
/// concatenated without separators; HMAC-SHA1 keyed with the auth token; base64.
pub fn sign_webhook(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A message as the fake stores it (inbound or sent through the API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioMessage {
    pub sid: String,
    pub account_sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
    /// `inbound` or `outbound-api`.
    pub direction: String,
    pub status: String,
    pub error_code: Option<i64>,
    /// `MediaUrl`s given on create (outbound only).
    pub media_urls: Vec<String>,
    /// Every form field of the create request (outbound only), in order.
    pub params: Vec<(String, String)>,
    date_created: i64,
    date_sent: Option<i64>,
    messaging_service_sid: Option<String>,
    media: Vec<Media>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Media {
    sid: String,
    content_type: String,
    bytes: Arc<Vec<u8>>,
    date_created: i64,
}

/// The fake Twilio REST API. Clones share the server; the last drop stops it.
#[derive(Clone)]
pub struct TwilioFake {
    server: Arc<Server>,
    state: Arc<State>,
}

/// Test-side handle on one account of a [`TwilioFake`].
#[derive(Clone)]
pub struct TwilioAccount {
    state: Arc<State>,
    sid: String,
}

struct State {
    accounts: Mutex<HashMap<String, Account>>,
    base_url: OnceLock<String>,
}

struct Account {
    auth_token: String,
    messages: Vec<TwilioMessage>,
    profile_names: HashMap<String, String>,
    media_auth: bool,
}

impl TwilioFake {
    /// Starts the fake on 127.0.0.1 (random port) on the current tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(State {
            accounts: Mutex::new(HashMap::new()),
            base_url: OnceLock::new(),
        });
        let server = Arc::new(Server::start(state.clone()).await);
        let _ = state.base_url.set(server.base_url());
        Self { server, state }
    }

    /// Stands for `https://api.twilio.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Registers an account (`AC` + 32 hex digits in real life; any string works here).
    pub fn add_account(&self, account_sid: &str, auth_token: &str) -> TwilioAccount {
        lock(&self.state.accounts).insert(
            account_sid.to_owned(),
            Account {
                auth_token: auth_token.to_owned(),
                messages: Vec::new(),
                profile_names: HashMap::new(),
                media_auth: false,
            },
        );
        TwilioAccount {
            state: self.state.clone(),
            sid: account_sid.to_owned(),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests()
    }

    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        self.server.wait_for_request(pred, timeout).await
    }

    /// Makes the next request whose path contains `path_contains` fail; see the module docs.
    pub fn fail_next(&self, path_contains: &str, failure: Failure) {
        self.server.fail_next(path_contains, failure)
    }
}

impl TwilioAccount {
    pub fn sid(&self) -> &str {
        &self.sid
    }

    fn with<R>(&self, f: impl FnOnce(&mut Account) -> R) -> Option<R> {
        lock(&self.state.accounts).get_mut(&self.sid).map(f)
    }

    /// An inbound message, as if `from` had texted `to` (SMS `+1555…` or `whatsapp:+1555…`).
    /// `media` is `(mime type, bytes)`. Returns the Message SID.
    pub fn push_incoming(
        &self,
        from: &str,
        to: &str,
        body: &str,
        media: Vec<(String, Vec<u8>)>,
    ) -> String {
        let now = clock::now_unix();
        let whatsapp = from.starts_with("whatsapp:");
        let prefix = if media.is_empty() || whatsapp {
            "SM"
        } else {
            "MM"
        };
        let message = TwilioMessage {
            sid: format!("{prefix}{}", ids::hex(32)),
            account_sid: self.sid.clone(),
            from: from.to_owned(),
            to: to.to_owned(),
            body: body.to_owned(),
            direction: "inbound".into(),
            status: "received".into(),
            error_code: None,
            media_urls: Vec::new(),
            params: Vec::new(),
            date_created: now,
            date_sent: Some(now),
            messaging_service_sid: None,
            media: media
                .into_iter()
                .map(|(content_type, bytes)| Media {
                    sid: format!("ME{}", ids::hex(32)),
                    content_type,
                    bytes: Arc::new(bytes),
                    date_created: now,
                })
                .collect(),
        };
        let sid = message.sid.clone();
        self.with(|account| account.messages.push(message));
        sid
    }

    /// The `ProfileName` a WhatsApp webhook carries for `number` (`whatsapp:+1555…`).
    pub fn set_whatsapp_profile_name(&self, number: &str, name: &str) {
        self.with(|a| a.profile_names.insert(number.to_owned(), name.to_owned()));
    }

    /// The form Twilio would POST to the incoming-message webhook for `message_sid`
    /// (<https://www.twilio.com/docs/messaging/guides/webhook-request>), media URLs pointing
    /// at this fake. Sign it with [`sign_webhook`].
    pub fn incoming_webhook_params(&self, message_sid: &str) -> Option<Vec<(String, String)>> {
        let base = self.state.base_url.get().cloned().unwrap_or_default();
        self.with(|account| {
            let m = account.messages.iter().find(|m| m.sid == message_sid)?;
            let mut p: Vec<(String, String)> = Vec::new();
            let mut add = |k: &str, v: &str| p.push((k.to_owned(), v.to_owned()));
            let whatsapp = m.from.starts_with("whatsapp:");
            if whatsapp {
                add("SmsMessageSid", &m.sid);
                add("NumMedia", &m.media.len().to_string());
                let name = account.profile_names.get(&m.from).cloned();
                add("ProfileName", name.as_deref().unwrap_or("WhatsApp User"));
                let kind = match m.media.first() {
                    None => "text".to_owned(),
                    Some(media) if media.content_type.starts_with("image/") => "image".into(),
                    Some(media) if media.content_type.starts_with("audio/") => "audio".into(),
                    Some(media) if media.content_type.starts_with("video/") => "video".into(),
                    Some(_) => "document".into(),
                };
                add("MessageType", &kind);
                add("SmsSid", &m.sid);
                add("WaId", m.from.trim_start_matches("whatsapp:+"));
                add("SmsStatus", "received");
                add("Body", &m.body);
                add("To", &m.to);
                add("NumSegments", "1");
                add("ReferralNumMedia", "0");
                add("MessageSid", &m.sid);
                add("AccountSid", &m.account_sid);
                add("From", &m.from);
                add("ApiVersion", API_VERSION);
            } else {
                add("ToCountry", "US");
                add("ToState", "CA");
                add("SmsMessageSid", &m.sid);
                add("NumMedia", &m.media.len().to_string());
                add("ToCity", "");
                add("FromZip", "");
                add("SmsSid", &m.sid);
                add("FromState", "CA");
                add("SmsStatus", "received");
                add("FromCity", "");
                add("Body", &m.body);
                add("FromCountry", "US");
                add("To", &m.to);
                add("ToZip", "");
                add("NumSegments", &segments(&m.body).to_string());
                add("ReferralNumMedia", "0");
                add("MessageSid", &m.sid);
                add("AccountSid", &m.account_sid);
                add("From", &m.from);
                add("ApiVersion", API_VERSION);
            }
            for (i, media) in m.media.iter().enumerate() {
                add(&format!("MediaContentType{i}"), &media.content_type);
                add(
                    &format!("MediaUrl{i}"),
                    &format!(
                        "{base}{}",
                        media_content_path(&m.account_sid, &m.sid, &media.sid)
                    ),
                );
            }
            Some(p)
        })
        .flatten()
    }

    /// Every message of the account, oldest first.
    pub fn messages(&self) -> Vec<TwilioMessage> {
        self.with(|a| a.messages.clone()).unwrap_or_default()
    }

    /// Messages created through the API, oldest first.
    pub fn sent_messages(&self) -> Vec<TwilioMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.direction == "outbound-api")
            .collect()
    }

    /// Moves a message to another status (`delivered`, `undelivered`, `failed`, `read`…),
    /// with the error code Twilio would report for failures (e.g. 30003, 63016).
    pub fn set_message_status(&self, message_sid: &str, status: &str, error_code: Option<i64>) {
        self.with(|a| {
            if let Some(m) = a.messages.iter_mut().find(|m| m.sid == message_sid) {
                m.status = status.to_owned();
                m.error_code = error_code;
            }
        });
    }

    /// Requires HTTP Basic auth on media content URLs too.
    pub fn require_media_auth(&self, required: bool) {
        self.with(|a| a.media_auth = required);
    }
}

// ---- wire format ----------------------------------------------------------------------

fn account_path(account: &str) -> String {
    format!("/{API_VERSION}/Accounts/{account}")
}

fn message_path(account: &str, sid: &str) -> String {
    format!("{}/Messages/{sid}", account_path(account))
}

fn media_content_path(account: &str, message: &str, media: &str) -> String {
    format!("{}/Media/{media}", message_path(account, message))
}

/// SMS segments: 160 GSM-7 characters alone or 153 per concatenated part; 70/67 for UCS-2.
fn segments(body: &str) -> usize {
    let chars = body.chars().count();
    let (single, multi) = if body.is_ascii() {
        (160, 153)
    } else {
        (70, 67)
    };
    if chars <= single {
        1
    } else {
        chars.div_ceil(multi)
    }
}

fn message_json(m: &TwilioMessage) -> Value {
    let path = message_path(&m.account_sid, &m.sid);
    json!({
        "account_sid": m.account_sid,
        "api_version": API_VERSION,
        "body": m.body,
        "date_created": clock::rfc2822(m.date_created),
        "date_sent": m.date_sent.map(clock::rfc2822),
        "date_updated": clock::rfc2822(m.date_sent.unwrap_or(m.date_created)),
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": null,
        "from": m.from,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": m.media.len().max(m.media_urls.len()).to_string(),
        "num_segments": if m.from.starts_with("whatsapp:") { "1".to_owned() } else { segments(&m.body).to_string() },
        "price": null,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {
            "media": format!("{path}/Media.json"),
            "feedback": format!("{path}/Feedback.json"),
        },
        "to": m.to,
        "uri": format!("{path}.json"),
    })
}

fn media_json(account: &str, message: &str, media: &Media) -> Value {
    json!({
        "account_sid": account,
        "content_type": media.content_type,
        "date_created": clock::rfc2822(media.date_created),
        "date_updated": clock::rfc2822(media.date_created),
        "parent_sid": message,
        "sid": media.sid,
        "uri": format!("{}.json", media_content_path(account, message, &media.sid)),
    })
}

fn error(status: u16, code: i64, message: &str) -> Response {
    server::json(
        status,
        &json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
    )
}

fn unauthorized() -> Response {
    let mut response = error(401, 20003, "Authenticate");
    server::set_header(
        &mut response,
        "www-authenticate",
        "Basic realm=\"Twilio API\"",
    );
    response
}

fn not_found(path: &str) -> Response {
    error(
        404,
        20404,
        &format!("The requested resource {path} was not found"),
    )
}

/// The user and password of an HTTP Basic `Authorization` header.
fn basic_credentials(request: &Recorded) -> Option<(String, String)> {
    let header = request.header("authorization")?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// A moment given as `YYYY-MM-DD` or an ISO 8601 UTC datetime (as the helper libraries send).
fn parse_instant(s: &str) -> Option<(i64, bool)> {
    let s = s.trim();
    let day = clock::parse_date(s)?;
    if s.len() <= 10 {
        return Some((day, true));
    }
    let time = s.get(11..19)?;
    let mut it = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (it.next()??, it.next()??, it.next()??);
    Some((day + h * 3600 + m * 60 + sec, false))
}

/// A page of a Twilio 2010 list resource.
struct Page<'a, T> {
    items: &'a [T],
    start: usize,
    page: usize,
    size: usize,
    has_next: bool,
}

/// Applies `PageSize`/`Page`/`PageToken` to `all` (already filtered and ordered). A
/// `PageToken` of `PA<sid>` continues after `sid`, `PB<sid>` ends before it, so pages stay
/// stable while new messages arrive, as with the real tokens.
fn paginate<'a, T>(
    all: &'a [T],
    sid_of: impl Fn(&T) -> &str,
    query: &HashMap<String, String>,
) -> Result<Page<'a, T>, Box<Response>> {
    let size = match query.get("PageSize") {
        None => 50,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(Box::new(error(
                    400,
                    20001,
                    "Page size must be between 1 and 1000",
                )))
            }
        },
    };
    let page: usize = query.get("Page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let position = |sid: &str| all.iter().position(|t| sid_of(t) == sid);
    let start = match query.get("PageToken") {
        Some(token) if token.starts_with("PA") => {
            position(&token[2..]).map_or(all.len(), |i| i + 1)
        }
        Some(token) if token.starts_with("PB") => {
            position(&token[2..]).unwrap_or(0).saturating_sub(size)
        }
        _ => page.saturating_mul(size).min(all.len()),
    };
    let end = (start + size).min(all.len());
    Ok(Page {
        items: &all[start..end],
        start,
        page,
        size,
        has_next: end < all.len(),
    })
}

/// The `uri`/`first_page_uri`/`next_page_uri`/`previous_page_uri`/`page`/… fields.
fn paging_fields<T>(
    path: &str,
    filters: &[(String, String)],
    page: &Page<'_, T>,
    sid_of: impl Fn(&T) -> &str,
) -> serde_json::Map<String, Value> {
    let uri = |page_no: usize, token: Option<String>| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in filters {
            s.append_pair(k, v);
        }
        s.append_pair("PageSize", &page.size.to_string());
        s.append_pair("Page", &page_no.to_string());
        if let Some(token) = token {
            s.append_pair("PageToken", &token);
        }
        format!("{path}?{}", s.finish())
    };
    let mut fields = serde_json::Map::new();
    fields.insert("first_page_uri".into(), json!(uri(0, None)));
    let next = (page.has_next)
        .then(|| page.items.last())
        .flatten()
        .map(|last| uri(page.page + 1, Some(format!("PA{}", sid_of(last)))));
    fields.insert("next_page_uri".into(), json!(next));
    let previous = (page.start > 0)
        .then(|| page.items.first())
        .flatten()
        .map(|first| {
            uri(
                page.page.saturating_sub(1),
                Some(format!("PB{}", sid_of(first))),
            )
        });
    fields.insert("previous_page_uri".into(), json!(previous));
    fields.insert("page".into(), json!(page.page));
    fields.insert("page_size".into(), json!(page.size));
    fields.insert("start".into(), json!(page.start));
    fields.insert(
        "end".into(),
        json!(page.start + page.items.len().saturating_sub(1)),
    );
    fields.insert("uri".into(), json!(uri(page.page, None)));
    fields
}

impl Provider for State {
    async fn handle(self: Arc<Self>, request: Recorded) -> Response {
        let path = text::percent_decode(&request.path);
        let prefix = format!("/{API_VERSION}/Accounts/");
        if let Some(rest) = path.strip_prefix("/media.twiliocdn.com/") {
            return self.cdn(rest);
        }
        let Some(rest) = path.strip_prefix(&prefix) else {
            return not_found(&path);
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let account_sid = segments[0];
        let media_content =
            matches!(segments.as_slice(), [_, "Messages", _, "Media", m] if !m.ends_with(".json"));
        let authorized = {
            let accounts = lock(&self.accounts);
            let credentials = basic_credentials(&request);
            let valid = credentials.as_ref().is_some_and(|(user, password)| {
                user == account_sid
                    && accounts
                        .get(user)
                        .is_some_and(|a| &a.auth_token == password)
            });
            let public = media_content && accounts.get(account_sid).is_some_and(|a| !a.media_auth);
            valid || public
        };
        if !authorized {
            return unauthorized();
        }
        let method = request.method.as_str();
        match (method, &segments[1..]) {
            ("GET", ["Messages.json"]) => self.list_messages(account_sid, &request),
            ("POST", ["Messages.json"]) => self.create_message(account_sid, &request),
            (_, ["Messages.json"]) => error(405, 20004, "Method not allowed"),
            ("GET", ["Messages", sid]) if sid.ends_with(".json") => {
                self.fetch_message(account_sid, sid.trim_end_matches(".json"), &path)
            }
            ("GET", ["Messages", sid, "Media.json"]) => {
                self.list_media(account_sid, sid, &request, &path)
            }
            ("GET", ["Messages", sid, "Media", media]) => {
                self.media(account_sid, sid, media, &path)
            }
            _ => not_found(&path),
        }
    }

    fn render_failure(&self, failure: &Failure, _request: &Recorded) -> Response {
        match failure {
            Failure::RateLimited { .. } => error(429, 20429, "Too Many Requests"),
            Failure::Unauthorized => unauthorized(),
            Failure::ServerError => error(500, 20500, "Internal Server Error"),
            Failure::Status {
                status,
                code,
                message,
            } => error(*status, *code, message),
            Failure::Raw {
                status,
                content_type,
                body,
            } => server::raw(*status, content_type, body),
        }
    }
}

impl State {
    fn list_messages(&self, account_sid: &str, request: &Recorded) -> Response {
        let query: HashMap<String, String> = request.query_pairs().into_iter().collect();
        let mut filters = Vec::new();
        for key in ["To", "From", "DateSent", "DateSent<", "DateSent>"] {
            if let Some(v) = query.get(key) {
                filters.push((key.to_owned(), v.clone()));
            }
        }
        let mut bounds = Vec::new();
        for (key, value) in &filters {
            if key.starts_with("DateSent") {
                match parse_instant(value) {
                    Some(instant) => bounds.push((key.as_str(), instant)),
                    None => {
                        return error(400, 20001, &format!("Invalid {key}: {value}"));
                    }
                }
            }
        }
        let accounts = lock(&self.accounts);
        let Some(account) = accounts.get(account_sid) else {
            return unauthorized();
        };
        let mut matching: Vec<&TwilioMessage> = account
            .messages
            .iter()
            .filter(|m| query.get("To").is_none_or(|to| &m.to == to))
            .filter(|m| query.get("From").is_none_or(|from| &m.from == from))
            .filter(|m| {
                let sent = m.date_sent.unwrap_or(m.date_created);
                bounds
                    .iter()
                    .all(|(key, (at, whole_day))| match (*key, whole_day) {
                        ("DateSent", true) => sent >= *at && sent < at + 86_400,
                        ("DateSent", false) => sent == *at,
                        ("DateSent<", _) => sent <= *at,
                        _ => sent >= *at,
                    })
            })
            .collect();
        // Newest first by DateSent; equal times keep the later-created message first.
        matching.reverse();
        matching.sort_by_key(|m| std::cmp::Reverse(m.date_sent.unwrap_or(m.date_created)));
        let page = match paginate(&matching, |m| m.sid.as_str(), &query) {
            Ok(page) => page,
            Err(response) => return *response,
        };
        let path = format!("{}/Messages.json", account_path(account_sid));
        let mut body = paging_fields(&path, &filters, &page, |m| m.sid.as_str());
        body.insert(
            "messages".into(),
            Value::Array(page.items.iter().map(|m| message_json(m)).collect()),
        );
        server::json(200, &Value::Object(body))
    }

    fn create_message(&self, account_sid: &str, request: &Recorded) -> Response {
        let form = request.body_form();
        let get = |k: &str| {
            form.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let Some(to) = get("To") else {
            return error(400, 21604, "A 'To' phone number is required.");
        };
        let service = get("MessagingServiceSid");
        let Some(from) = get("From").or_else(|| service.as_ref().map(|_| "+15005550006".into()))
        else {
            return error(400, 21603, "A 'From' phone number is required.");
        };
        let body = get("Body").unwrap_or_default();
        let media_urls: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "MediaUrl")
            .map(|(_, v)| v.clone())
            .collect();
        if body.is_empty() && media_urls.is_empty() && get("ContentSid").is_none() {
            return error(400, 21602, "Message body is required.");
        }
        if body.chars().count() > 1600 {
            return error(
                400,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            );
        }
        let number = to.trim_start_matches("whatsapp:");
        let valid_to = number.strip_prefix('+').is_some_and(|digits| {
            (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if !valid_to {
            return error(400, 21211, &format!("Invalid 'To' Phone Number: {to}"));
        }
        if to.starts_with("whatsapp:") != from.starts_with("whatsapp:") {
            return error(
                400,
                63007,
                &format!("Twilio could not find a Channel with the specified From address: {from}"),
            );
        }
        let now = clock::now_unix();
        let prefix = if media_urls.is_empty() || to.starts_with("whatsapp:") {
            "SM"
        } else {
            "MM"
        };
        let mut message = TwilioMessage {
            sid: format!("{prefix}{}", ids::hex(32)),
            account_sid: account_sid.to_owned(),
            from,
            to,
            body,
            direction: "outbound-api".into(),
            status: "queued".into(),
            error_code: None,
            media: media_urls
                .iter()
                .map(|url| Media {
                    sid: format!("ME{}", ids::hex(32)),
                    content_type: text::mime_from_name(url.split('?').next().unwrap_or(url))
                        .to_owned(),
                    bytes: Arc::new(Vec::new()),
                    date_created: now,
                })
                .collect(),
            media_urls,
            params: form.clone(),
            date_created: now,
            date_sent: None,
            messaging_service_sid: service,
        };
        let response = server::json(201, &message_json(&message));
        // Twilio moves the message on asynchronously; later reads see it sent.
        message.status = "sent".into();
        message.date_sent = Some(now);
        let mut accounts = lock(&self.accounts);
        match accounts.get_mut(account_sid) {
            Some(account) => {
                account.messages.push(message);
                response
            }
            None => unauthorized(),
        }
    }

    fn fetch_message(&self, account_sid: &str, sid: &str, path: &str) -> Response {
        let accounts = lock(&self.accounts);
        match accounts
            .get(account_sid)
            .and_then(|a| a.messages.iter().find(|m| m.sid == sid))
        {
            Some(m) => server::json(200, &message_json(m)),
            None => not_found(path),
        }
    }

    fn list_media(&self, account_sid: &str, sid: &str, request: &Recorded, path: &str) -> Response {
        let query: HashMap<String, String> = request.query_pairs().into_iter().collect();
        let accounts = lock(&self.accounts);
        let Some(message) = accounts
            .get(account_sid)
            .and_then(|a| a.messages.iter().find(|m| m.sid == sid))
        else {
            return not_found(path);
        };
        let page = match paginate(&message.media, |m| m.sid.as_str(), &query) {
            Ok(page) => page,
            Err(response) => return *response,
        };
        let list_path = format!("{}/Media.json", message_path(account_sid, sid));
        let mut body = paging_fields(&list_path, &[], &page, |m| m.sid.as_str());
        body.insert(
            "media_list".into(),
            Value::Array(
                page.items
                    .iter()
                    .map(|m| media_json(account_sid, sid, m))
                    .collect(),
            ),
        );
        server::json(200, &Value::Object(body))
    }

    fn media(&self, account_sid: &str, sid: &str, media: &str, path: &str) -> Response {
        let (media_sid, json) = match media.strip_suffix(".json") {
            Some(s) => (s, true),
            None => (media, false),
        };
        let accounts = lock(&self.accounts);
        let Some(found) = accounts
            .get(account_sid)
            .and_then(|a| a.messages.iter().find(|m| m.sid == sid))
            .and_then(|m| m.media.iter().find(|x| x.sid == media_sid))
        else {
            return not_found(path);
        };
        if json {
            return server::json(200, &media_json(account_sid, sid, found));
        }
        let mut response = server::bytes(307, "text/html", Vec::new());
        let location = format!("/media.twiliocdn.com/{account_sid}/{media_sid}");
        server::set_header(&mut response, "location", &location);
        response
    }

    /// The CDN URL media content redirects to (unauthenticated, like a signed URL).
    fn cdn(&self, rest: &str) -> Response {
        let Some((account_sid, media_sid)) = rest.split_once('/') else {
            return server::bytes(404, "text/plain", b"Not Found".to_vec());
        };
        let accounts = lock(&self.accounts);
        let found = accounts.get(account_sid).and_then(|a| {
            a.messages
                .iter()
                .flat_map(|m| m.media.iter())
                .find(|m| m.sid == media_sid)
        });
        match found {
            Some(media) => server::bytes(200, &media.content_type, media.bytes.to_vec()),
            None => server::bytes(404, "text/plain", b"Not Found".to_vec()),
        }
    }
}
