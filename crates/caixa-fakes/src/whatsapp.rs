//! Fake WhatsApp Business Cloud API on the Meta Graph API
//! (<https://developers.facebook.com/docs/whatsapp/cloud-api>).
//!
//! Paths (below [`WhatsAppFake::base_url`], which stands for `https://graph.facebook.com`;
//! the `/{version}` prefix such as `/v21.0` is optional and any version is accepted):
//! - `POST /{version}/{phone-number-id}/messages`: JSON with `messaging_product:"whatsapp"`,
//!   `to`, `type` (`text`, `image`, `document`, `audio`, `video`, `sticker`, `template`,
//!   `interactive`, `location`, `contacts`, `reaction`) → `{"messaging_product","contacts":
//!   [{"input","wa_id"}],"messages":[{"id":"wamid.…"}]}`; `{"status":"read","message_id"}`
//!   marks a message read → `{"success":true}`.
//! - `POST /{version}/{phone-number-id}/media`: multipart `messaging_product`, `type`, `file`
//!   → `{"id"}`.
//! - `GET /{version}/{media-id}` → `{"messaging_product","url","mime_type","sha256",
//!   "file_size","id"}`; the `url` (a lookaside-style `…/whatsapp_business/attachments/?mid=…`
//!   on this fake) downloads the bytes with the same bearer token. `DELETE` removes media.
//! - `GET /{version}/{phone-number-id}` → the phone number (`verified_name`,
//!   `display_phone_number`, `quality_rating`, …; `fields` narrows it).
//!
//! Auth: `Authorization: Bearer <token>` (or `access_token`); missing → 400 code 104,
//! unknown → 401 code 190, in the Graph error shape.
//!
//! The 24-hour customer service window: replying outside it is accepted (200, like the real
//! API) and later reported failed with error 131047 in a status webhook; build that webhook
//! with [`WhatsAppNumber::webhook_status`] (`"failed"`), which fills the 131047 error for
//! messages the fake saw sent outside the window. [`failures::reengagement`] gives the
//! synchronous form of the same error, should a test want it.
//!
//! Injected failures ([`WhatsAppFake::fail_next`], matched on the path):
//! - [`Failure::RateLimited`] → 429, code 130429 `(#130429) Rate limit hit` (throughput);
//!   [`failures`] also has codes 4, 80007 and 131056.
//! - [`Failure::Unauthorized`] → 401 code 190. [`Failure::ServerError`]: 500 code 2.
//! - [`Failure::Status`] → Graph error with that status, code and message.
//! - [`Failure::Raw`] → exactly the given response.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::Digest;

use crate::failure::Failure;
use crate::graph;
use crate::recorder::{lock, Recorded};
use crate::server::{self, Provider, Server};
use crate::{clock, ids};

pub use crate::graph::{sign, verify_challenge_params};

const WINDOW_SECS: i64 = 24 * 3600;
const REENGAGEMENT_DETAILS: &str = "Message failed to send because more than 24 hours have passed since the customer last replied to this number.";

/// Ready-made [`Failure`]s for errors the Cloud API documents.
pub mod failures {
    use serde_json::json;

    use crate::failure::Failure;
    use crate::graph;

    fn whatsapp(status: u16, code: i64, title: &str, details: &str) -> Failure {
        graph::failure(
            status,
            code,
            &format!("(#{code}) {title}"),
            "OAuthException",
            None,
            Some(json!({"messaging_product": "whatsapp", "details": details})),
        )
    }

    /// 429, code 130429: Cloud API throughput reached.
    pub fn throughput() -> Failure {
        whatsapp(
            429,
            130429,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        )
    }

    /// 429, code 4: the app's Graph call rate limit.
    pub fn app_rate_limit() -> Failure {
        whatsapp(
            429,
            4,
            "Application request limit reached",
            "The app has reached its API call rate limit.",
        )
    }

    /// 429, code 80007: the WhatsApp Business Account's rate limit.
    pub fn account_rate_limit() -> Failure {
        whatsapp(
            429,
            80007,
            "Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit.",
        )
    }

    /// 429, code 131056: too many messages to the same recipient.
    pub fn pair_rate_limit() -> Failure {
        whatsapp(
            429,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
        )
    }

    /// 400, code 131047: outside the 24-hour window (synchronous form).
    pub fn reengagement() -> Failure {
        whatsapp(
            400,
            131047,
            "Re-engagement message",
            super::REENGAGEMENT_DETAILS,
        )
    }

    /// 401, code 190 subcode 463: an expired access token.
    pub fn token_expired() -> Failure {
        graph::failure(
            401,
            190,
            "Error validating access token: Session has expired.",
            "OAuthException",
            Some(463),
            None,
        )
    }
}

/// A message the business sent through `POST /{phone-number-id}/messages`.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatsAppSent {
    /// The `wamid.…` the fake answered with.
    pub id: String,
    /// `to` as given, and the `wa_id` derived from it.
    pub to: String,
    pub wa_id: String,
    /// The `type` field (`text` when absent).
    pub kind: String,
    /// `text.body` for text messages.
    pub text: Option<String>,
    /// Whether the customer service window was open when it was sent.
    pub within_window: bool,
    /// The whole request body.
    pub body: Value,
}

/// The fake Cloud API. Clones share the server; the last drop stops it.
#[derive(Clone)]
pub struct WhatsAppFake {
    server: Arc<Server>,
    state: Arc<State>,
}

/// Test-side handle on one business phone number.
#[derive(Clone)]
pub struct WhatsAppNumber {
    state: Arc<State>,
    id: String,
}

struct State {
    inner: Mutex<Inner>,
    base_url: OnceLock<String>,
}

struct Inner {
    tokens: HashSet<String>,
    numbers: HashMap<String, Number>,
    media: HashMap<String, StoredMedia>,
}

struct Number {
    display_phone_number: String,
    verified_name: String,
    waba_id: String,
    /// Message templates of the number's business account (Graph objects, as listed).
    templates: Vec<Value>,
    sent: Vec<WhatsAppSent>,
    // wa_id → unix time of the customer's last message.
    last_inbound: HashMap<String, i64>,
}

#[derive(Clone)]
struct StoredMedia {
    id: String,
    phone_number_id: String,
    mime_type: String,
    bytes: Arc<Vec<u8>>,
    sha256: String,
}

fn wamid() -> String {
    let mut raw = ids::digits(11).into_bytes();
    raw.extend_from_slice(ids::alnum(18).as_bytes());
    format!(
        "wamid.HBgL{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// `+1 (555) 010-0000` → `15550100000`.
fn wa_id_of(to: &str) -> String {
    to.chars().filter(char::is_ascii_digit).collect()
}

impl WhatsAppFake {
    /// Starts the fake on 127.0.0.1 (random port) on the current tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(State {
            inner: Mutex::new(Inner {
                tokens: HashSet::new(),
                numbers: HashMap::new(),
                media: HashMap::new(),
            }),
            base_url: OnceLock::new(),
        });
        let server = Arc::new(Server::start(state.clone()).await);
        let _ = state.base_url.set(server.base_url());
        Self { server, state }
    }

    /// Stands for `https://graph.facebook.com` (append `/v21.0` or not, both work).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Registers a business phone number and an access token allowed to use it (tokens are
    /// valid for every number of the fake, like a system user token of the business).
    pub fn add_phone_number(
        &self,
        phone_number_id: &str,
        display_phone_number: &str,
        verified_name: &str,
        access_token: &str,
    ) -> WhatsAppNumber {
        let mut inner = lock(&self.state.inner);
        inner.tokens.insert(access_token.to_owned());
        inner.numbers.insert(
            phone_number_id.to_owned(),
            Number {
                display_phone_number: display_phone_number.to_owned(),
                verified_name: verified_name.to_owned(),
                waba_id: ids::digits(15),
                templates: Vec::new(),
                sent: Vec::new(),
                last_inbound: HashMap::new(),
            },
        );
        WhatsAppNumber {
            state: self.state.clone(),
            id: phone_number_id.to_owned(),
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

impl WhatsAppNumber {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The WhatsApp Business Account the number belongs to (its templates live there).
    pub fn business_account_id(&self) -> String {
        self.with(|i| i.numbers.get(&self.id).map(|n| n.waba_id.clone()))
            .unwrap_or_default()
    }

    /// Adds a message template to the number's business account. `body` may hold positional
    /// parameters `{{1}}`, `{{2}}`…; `status` is `APPROVED`, `PENDING` or `REJECTED`.
    pub fn add_template(
        &self,
        name: &str,
        language: &str,
        category: &str,
        status: &str,
        body: &str,
    ) {
        self.with(|i| {
            if let Some(n) = i.numbers.get_mut(&self.id) {
                n.templates.push(json!({
                    "name": name,
                    "parameter_format": "POSITIONAL",
                    "components": [{"type": "BODY", "text": body}],
                    "language": language,
                    "status": status,
                    "category": category,
                    "id": ids::digits(16),
                }));
            }
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut lock(&self.state.inner))
    }

    /// Everything sent from this number, oldest first.
    pub fn sent_messages(&self) -> Vec<WhatsAppSent> {
        self.with(|i| i.numbers.get(&self.id).map(|n| n.sent.clone()))
            .unwrap_or_default()
    }

    /// Opens the 24-hour window with `wa_id` now (the webhook builders do this too).
    pub fn open_window(&self, wa_id: &str) {
        self.with(|i| {
            if let Some(n) = i.numbers.get_mut(&self.id) {
                n.last_inbound.insert(wa_id.to_owned(), clock::now_unix());
            }
        });
    }

    /// Acts as if the customer last wrote more than 24 hours ago.
    pub fn expire_window(&self, wa_id: &str) {
        self.with(|i| {
            if let Some(n) = i.numbers.get_mut(&self.id) {
                n.last_inbound
                    .insert(wa_id.to_owned(), clock::now_unix() - WINDOW_SECS - 60);
            }
        });
    }

    /// Stores media as if a customer had sent it; returns the media id the webhook carries.
    pub fn add_media(&self, mime_type: &str, bytes: &[u8]) -> String {
        self.with(|i| store_media(i, &self.id, mime_type, bytes.to_vec()))
    }

    fn envelope(&self, value: Value) -> Value {
        let (display, waba) = self.with(|i| {
            i.numbers
                .get(&self.id)
                .map(|n| (n.display_phone_number.clone(), n.waba_id.clone()))
                .unwrap_or_default()
        });
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] = json!({
            "display_phone_number": display.chars().filter(char::is_ascii_digit).collect::<String>(),
            "phone_number_id": self.id,
        });
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": waba, "changes": [{"value": value, "field": "messages"}]}],
        })
    }

    fn inbound(&self, from: &str, profile_name: &str, kind: &str, content: Value) -> Value {
        self.open_window(from);
        let mut message = json!({
            "from": from,
            "id": wamid(),
            "timestamp": clock::now_unix().to_string(),
            "type": kind,
        });
        message[kind] = content;
        self.envelope(json!({
            "contacts": [{"profile": {"name": profile_name}, "wa_id": from}],
            "messages": [message],
        }))
    }

    /// The webhook body for a text from `from` (a wa_id such as `16505551234`).
    pub fn webhook_text(&self, from: &str, profile_name: &str, text: &str) -> Value {
        self.inbound(from, profile_name, "text", json!({"body": text}))
    }

    /// The webhook body for an image; the media is stored so `GET /{media-id}` and the
    /// download work.
    pub fn webhook_image(
        &self,
        from: &str,
        profile_name: &str,
        mime_type: &str,
        bytes: &[u8],
        caption: Option<&str>,
    ) -> Value {
        let id = self.add_media(mime_type, bytes);
        let mut image = json!({"mime_type": mime_type, "sha256": sha256_hex(bytes), "id": id});
        if let Some(caption) = caption {
            image["caption"] = json!(caption);
        }
        self.inbound(from, profile_name, "image", image)
    }

    /// The webhook body for a document.
    pub fn webhook_document(
        &self,
        from: &str,
        profile_name: &str,
        filename: &str,
        mime_type: &str,
        bytes: &[u8],
    ) -> Value {
        let id = self.add_media(mime_type, bytes);
        let document = json!({"filename": filename, "mime_type": mime_type,
                              "sha256": sha256_hex(bytes), "id": id});
        self.inbound(from, profile_name, "document", document)
    }

    /// The webhook body for a shared location.
    pub fn webhook_location(
        &self,
        from: &str,
        profile_name: &str,
        latitude: f64,
        longitude: f64,
    ) -> Value {
        self.inbound(
            from,
            profile_name,
            "location",
            json!({"latitude": latitude, "longitude": longitude}),
        )
    }

    /// A status webhook (`sent`, `delivered`, `read` or `failed`) for a message sent through
    /// the fake (or any wamid, with `recipient_id` unknown). `failed` carries error 131047 when
    /// the message went out after the window had closed, else a generic 131000.
    pub fn webhook_status(&self, message_id: &str, status: &str) -> Value {
        let sent = self
            .sent_messages()
            .into_iter()
            .find(|m| m.id == message_id);
        let recipient = sent.as_ref().map(|m| m.wa_id.clone()).unwrap_or_default();
        let mut entry = json!({
            "id": message_id,
            "status": status,
            "timestamp": clock::now_unix().to_string(),
            "recipient_id": recipient,
        });
        if status == "failed" {
            let (code, title, details) = match &sent {
                Some(m) if !m.within_window => {
                    (131047, "Re-engagement message", REENGAGEMENT_DETAILS)
                }
                _ => (
                    131000,
                    "Something went wrong",
                    "Message failed to send due to an unknown error.",
                ),
            };
            entry["errors"] = json!([{
                "code": code, "title": title, "message": title,
                "error_data": {"details": details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }]);
        } else {
            entry["conversation"] = json!({
                "id": ids::hex(32),
                "expiration_timestamp": (clock::now_unix() + WINDOW_SECS).to_string(),
                "origin": {"type": "service"},
            });
            entry["pricing"] =
                json!({"billable": true, "pricing_model": "CBP", "category": "service"});
        }
        self.envelope(json!({ "statuses": [entry] }))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn store_media(
    inner: &mut Inner,
    phone_number_id: &str,
    mime_type: &str,
    bytes: Vec<u8>,
) -> String {
    let id = ids::digits(16);
    inner.media.insert(
        id.clone(),
        StoredMedia {
            id: id.clone(),
            phone_number_id: phone_number_id.to_owned(),
            mime_type: mime_type.to_owned(),
            sha256: sha256_hex(&bytes),
            bytes: Arc::new(bytes),
        },
    );
    id
}

impl Provider for State {
    async fn handle(self: Arc<Self>, request: Recorded) -> Response {
        let Some(token) = graph::access_token(&request) else {
            return graph::missing_token();
        };
        if !lock(&self.inner).tokens.contains(&token) {
            return graph::invalid_token();
        }
        let segments = graph::segments(&request.path);
        let method = request.method.as_str();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (method, segs.as_slice()) {
            ("GET", ["whatsapp_business", "attachments"]) => self.download(&request),
            ("POST", [number, "messages"]) => self.send(number, &request),
            ("POST", [number, "media"]) => self.upload(number, &request),
            ("GET", [waba, "message_templates"]) => self.templates(waba, &request),
            ("GET", [id]) => self.get_object(id, &request),
            ("DELETE", [id]) => self.delete_media(id),
            ("GET", [id, ..]) | ("POST", [id, ..]) | ("DELETE", [id, ..]) => {
                graph::unknown_object(method, id)
            }
            _ => graph::error(
                400,
                2500,
                &format!("Unknown path components: {}", request.path),
                "OAuthException",
                None,
                None,
            ),
        }
    }

    fn render_failure(&self, failure: &Failure, _request: &Recorded) -> Response {
        graph::render_failure(failure, |_| {
            let Failure::Raw {
                status,
                content_type,
                body,
            } = failures::throughput()
            else {
                unreachable!("failures::throughput is a raw failure")
            };
            server::raw(status, &content_type, &body)
        })
    }
}

impl State {
    fn send(&self, number: &str, request: &Recorded) -> Response {
        let params = match graph::params(request) {
            Ok(p) => p,
            Err(response) => return *response,
        };
        let mut inner = lock(&self.inner);
        if !inner.numbers.contains_key(number) {
            return graph::unknown_object("POST", number);
        }
        if params.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
            return graph::invalid_parameter("(#100) The parameter messaging_product is required.");
        }
        if params.get("status").and_then(Value::as_str) == Some("read") {
            return match params.get("message_id").and_then(Value::as_str) {
                Some(_) => server::json(200, &json!({"success": true})),
                None => graph::invalid_parameter("(#100) The parameter message_id is required."),
            };
        }
        let Some(to) = params.get("to").and_then(Value::as_str).map(str::to_owned) else {
            return graph::invalid_parameter("(#100) The parameter to is required.");
        };
        let kind = params
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("text")
            .to_owned();
        if let Err(response) = validate_content(&inner, &kind, &params) {
            return *response;
        }
        let wa_id = wa_id_of(&to);
        let Some(n) = inner.numbers.get_mut(number) else {
            return graph::unknown_object("POST", number);
        };
        let now = clock::now_unix();
        let within_window = kind == "template"
            || n.last_inbound
                .get(&wa_id)
                .is_some_and(|at| now - at < WINDOW_SECS);
        let id = wamid();
        n.sent.push(WhatsAppSent {
            id: id.clone(),
            to: to.clone(),
            wa_id: wa_id.clone(),
            kind: kind.clone(),
            text: params
                .get("text")
                .and_then(|t| t.get("body"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            within_window,
            body: Value::Object(params.clone()),
        });
        let mut message = json!({"id": id});
        if kind == "template" {
            message["message_status"] = json!("accepted");
        }
        server::json(
            200,
            &json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [message],
            }),
        )
    }

    fn upload(&self, number: &str, request: &Recorded) -> Response {
        let params = match graph::params(request) {
            Ok(p) => p,
            Err(response) => return *response,
        };
        let mut inner = lock(&self.inner);
        if !inner.numbers.contains_key(number) {
            return graph::unknown_object("POST", number);
        }
        if params.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
            return graph::invalid_parameter("(#100) The parameter messaging_product is required.");
        }
        let Some(file) = graph::files(request).into_iter().find(|p| p.name == "file") else {
            return graph::invalid_parameter("(#100) The parameter file is required.");
        };
        let mime = params
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(file.content_type.clone())
            .unwrap_or_else(|| "application/octet-stream".into());
        let id = store_media(&mut inner, number, &mime, file.data);
        server::json(200, &json!({"id": id}))
    }

    /// `GET /{waba-id}/message_templates`: filtered by `status` and `name`, `limit` per page
    /// (default 25) with cursor paging (`after`, `paging.next`).
    fn templates(&self, waba: &str, request: &Recorded) -> Response {
        let inner = lock(&self.inner);
        let Some(all) = inner
            .numbers
            .values()
            .find(|n| n.waba_id == waba)
            .map(|n| n.templates.clone())
        else {
            return graph::unknown_object("GET", waba);
        };
        let query: HashMap<String, String> = request.query_pairs().into_iter().collect();
        let field_eq = |t: &Value, key: &str| {
            query.get(key).is_none_or(|want| {
                t[key]
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(want))
            })
        };
        let matching: Vec<Value> = all
            .into_iter()
            .filter(|t| field_eq(t, "status") && field_eq(t, "name"))
            .collect();
        let limit: usize = query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .filter(|&l| l > 0)
            .unwrap_or(25);
        let start: usize = query
            .get("after")
            .and_then(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = matching.iter().skip(start).take(limit).cloned().collect();
        let cursor = |i: usize| base64::engine::general_purpose::STANDARD.encode(i.to_string());
        let end = start + page.len();
        let mut paging = json!({"cursors": {"before": cursor(start), "after": cursor(end)}});
        if end < matching.len() {
            let base = self.base_url.get().cloned().unwrap_or_default();
            let mut next = url::Url::parse(&format!("{base}{}", request.path)).expect("own URL");
            {
                let mut q = next.query_pairs_mut();
                for (k, v) in &query {
                    if k != "after" {
                        q.append_pair(k, v);
                    }
                }
                q.append_pair("after", &cursor(end));
            }
            paging["next"] = json!(next.to_string());
        }
        server::json(200, &json!({"data": page, "paging": paging}))
    }

    fn get_object(&self, id: &str, request: &Recorded) -> Response {
        let inner = lock(&self.inner);
        let query: HashMap<String, String> = request.query_pairs().into_iter().collect();
        if let Some(n) = inner.numbers.get(id) {
            let mut all = Map::new();
            all.insert("verified_name".into(), json!(n.verified_name));
            all.insert("code_verification_status".into(), json!("VERIFIED"));
            all.insert("display_phone_number".into(), json!(n.display_phone_number));
            all.insert("quality_rating".into(), json!("GREEN"));
            all.insert("platform_type".into(), json!("CLOUD_API"));
            all.insert("throughput".into(), json!({"level": "STANDARD"}));
            let mut out = Map::new();
            match query.get("fields") {
                Some(fields) => {
                    for (name, _, _) in graph::parse_fields(fields) {
                        if let Some(v) = all.get(&name) {
                            out.insert(name, v.clone());
                        }
                    }
                }
                None => out = all,
            }
            out.insert("id".into(), json!(id));
            return server::json(200, &Value::Object(out));
        }
        if let Some(media) = inner.media.get(id) {
            if let Some(pn) = query.get("phone_number_id") {
                if pn != &media.phone_number_id {
                    return graph::unknown_object("GET", id);
                }
            }
            let base = self.base_url.get().cloned().unwrap_or_default();
            let url = format!(
                "{base}/whatsapp_business/attachments/?mid={}&ext={}&hash={}",
                media.id,
                clock::now_unix() + 300,
                ids::urlsafe(24)
            );
            return server::json(
                200,
                &json!({
                    "messaging_product": "whatsapp",
                    "url": url,
                    "mime_type": media.mime_type,
                    "sha256": media.sha256,
                    "file_size": media.bytes.len(),
                    "id": media.id,
                }),
            );
        }
        graph::unknown_object("GET", id)
    }

    fn delete_media(&self, id: &str) -> Response {
        match lock(&self.inner).media.remove(id) {
            Some(_) => server::json(200, &json!({"success": true})),
            None => graph::unknown_object("DELETE", id),
        }
    }

    fn download(&self, request: &Recorded) -> Response {
        let mid = request
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == "mid")
            .map(|(_, v)| v)
            .unwrap_or_default();
        match lock(&self.inner).media.get(&mid) {
            Some(media) => server::bytes(200, &media.mime_type, media.bytes.to_vec()),
            None => server::bytes(404, "text/html", b"Not Found".to_vec()),
        }
    }
}

fn validate_content(
    inner: &Inner,
    kind: &str,
    params: &Map<String, Value>,
) -> Result<(), Box<Response>> {
    let object = params.get(kind);
    let field = |name: &str| object.and_then(|o| o.get(name));
    match kind {
        "text" => match field("body").and_then(Value::as_str) {
            Some(body) if !body.is_empty() => Ok(()),
            _ => Err(Box::new(graph::invalid_parameter(
                "(#100) The parameter text['body'] is required.",
            ))),
        },
        "image" | "document" | "audio" | "video" | "sticker" => {
            match (field("id").and_then(Value::as_str), field("link")) {
                (Some(id), _) if inner.media.contains_key(id) => Ok(()),
                (Some(_), _) => Err(Box::new(graph::error(
                    400,
                    131053,
                    "(#131053) Media upload error",
                    "OAuthException",
                    None,
                    Some(json!({"messaging_product": "whatsapp", "details": "Unknown media id"})),
                ))),
                (None, Some(_)) => Ok(()),
                (None, None) => Err(Box::new(graph::invalid_parameter(&format!(
                    "(#100) The parameter {kind}['id'] or {kind}['link'] is required."
                )))),
            }
        }
        "template" => match field("name").and_then(Value::as_str) {
            Some(_) => Ok(()),
            None => Err(Box::new(graph::invalid_parameter(
                "(#100) The parameter template['name'] is required.",
            ))),
        },
        "interactive" | "location" | "contacts" | "reaction" => match object {
            Some(_) => Ok(()),
            None => Err(Box::new(graph::invalid_parameter(&format!(
                "(#100) The parameter {kind} is required."
            )))),
        },
        other => Err(Box::new(graph::error(
            400,
            131009,
            "(#131009) Parameter value is not valid",
            "OAuthException",
            None,
            Some(json!({"messaging_product": "whatsapp",
                        "details": format!("Unsupported message type: {other}")})),
        ))),
    }
}
