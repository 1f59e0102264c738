//! Fake Messenger Platform and Instagram Messaging on the Meta Graph API
//! (<https://developers.facebook.com/docs/messenger-platform>).
//!
//! Paths (below [`MessengerFake::base_url`], standing for `https://graph.facebook.com`; the
//! `/{version}` prefix is optional, any version works):
//! - `GET /{version}/{page-id}/conversations?platform=messenger|instagram` (also `user_id`,
//!   `fields`, `limit`, `after`, `before`): `{"data":[…],"paging":{"cursors":{"before",
//!   "after"},"next"?,"previous"?}}`, most recently updated first; default fields `id`,
//!   `updated_time`; `fields` understands `participants`, `messages` (with `.limit(n)` and
//!   `{subfields}`), `message_count`, `unread_count`, `snippet`, `can_reply`.
//! - `GET /{version}/{conversation-id}/messages` (cursor paged, newest first) and
//!   `GET /{version}/{conversation-id}` / `GET /{version}/{message-id}` with `fields`: message
//!   fields `id`, `created_time` (default) plus `from`, `to`, `message`, `attachments`.
//! - `GET /{version}/{page-id}`: `{"name","id"}` (connection test).
//! - Send API `POST /{version}/{page-id}/messages` or `/me/messages` (Instagram: also the
//!   linked Instagram account id): `recipient.id`, `messaging_type` (`RESPONSE`, `UPDATE`,
//!   `MESSAGE_TAG` + `tag`), `message.text` or `message.attachment` (`payload.url`,
//!   `payload.attachment_id`, or a multipart `filedata` upload), or `sender_action`
//!   → `{"recipient_id","message_id"}`.
//!
//! The page access token goes in `access_token` or `Authorization: Bearer`. Outside the
//! 24-hour window (7 days with `tag: "HUMAN_AGENT"`) sends fail with code 10, subcode 2018278.
//! Every response carries `X-App-Usage` and `X-Business-Use-Case-Usage`
//! ([`MessengerFake::set_usage`]).
//!
//! Injected failures ([`MessengerFake::fail_next`], matched on the path):
//! - [`Failure::RateLimited`] → 400, code 613 `Calls to this api have exceeded the rate limit.`,
//!   with `estimated_time_to_regain_access` (minutes, rounded up) in the usage header;
//!   [`failures`] also has code 32 (page) and 4 (app).
//! - [`Failure::Unauthorized`] → 401 code 190. [`Failure::ServerError`]: 500 code 2.
//! - [`Failure::Status`] → Graph error with that status, code and message.
//! - [`Failure::Raw`] → exactly the given response.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::failure::Failure;
use crate::graph;
use crate::recorder::{lock, Recorded};
use crate::server::{self, Provider, Server};
use crate::{clock, ids, text};

pub use crate::graph::{sign, verify_challenge_params};

const WINDOW_SECS: i64 = 24 * 3600;
const HUMAN_AGENT_SECS: i64 = 7 * 24 * 3600;
const OUTSIDE_WINDOW: &str = "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview";

/// Ready-made [`Failure`]s for documented Messenger Platform errors.
pub mod failures {
    use crate::failure::Failure;
    use crate::graph;

    /// Code 613: the Send API rate limit.
    pub fn send_rate_limit() -> Failure {
        graph::failure(
            400,
            613,
            "(#613) Calls to this api have exceeded the rate limit.",
            "OAuthException",
            None,
            None,
        )
    }

    /// Code 32: the Page's request limit.
    pub fn page_rate_limit() -> Failure {
        graph::failure(
            400,
            32,
            "(#32) Page request limit reached",
            "OAuthException",
            None,
            None,
        )
    }

    /// Code 4: the app's request limit.
    pub fn app_rate_limit() -> Failure {
        graph::failure(
            400,
            4,
            "(#4) Application request limit reached",
            "OAuthException",
            None,
            None,
        )
    }

    /// Code 10, subcode 2018278: outside the messaging window.
    pub fn outside_window() -> Failure {
        graph::failure(
            400,
            10,
            super::OUTSIDE_WINDOW,
            "OAuthException",
            Some(2018278),
            None,
        )
    }

    /// Code 551, subcode 1545041: the person is not available (blocked the Page, left…).
    pub fn user_unavailable() -> Failure {
        graph::failure(
            400,
            551,
            "This person isn't available right now.",
            "OAuthException",
            Some(1545041),
            None,
        )
    }
}

/// Which product a conversation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Messenger,
    Instagram,
}

/// A message the Page sent through the Send API.
#[derive(Clone, Debug, PartialEq)]
pub struct MessengerSent {
    pub message_id: String,
    pub platform: Platform,
    pub recipient_id: String,
    pub messaging_type: String,
    pub tag: Option<String>,
    pub text: Option<String>,
    /// `message.attachment` as sent (uploads: `payload.attachment_id` of the stored file).
    pub attachment: Option<Value>,
    /// Bytes of a multipart `filedata` upload.
    pub upload: Option<Vec<u8>>,
    /// All parameters of the request (JSON values; form fields decoded).
    pub params: Map<String, Value>,
}

/// The fake Graph API for Messenger and Instagram. Clones share the server; the last drop
/// stops it.
#[derive(Clone)]
pub struct MessengerFake {
    server: Arc<Server>,
    state: Arc<State>,
}

/// Test-side handle on one Facebook Page (and its linked Instagram account).
#[derive(Clone)]
pub struct MessengerPage {
    state: Arc<State>,
    id: String,
}

struct State {
    inner: Mutex<Inner>,
    base_url: OnceLock<String>,
}

struct Inner {
    pages: HashMap<String, Page>,
    attachments: HashMap<String, StoredAttachment>,
    usage_pct: u32,
    regain_minutes: u64,
    next_seq: u64,
}

struct Page {
    name: String,
    token: String,
    instagram: Option<(String, String)>,
    conversations: Vec<Conversation>,
    sent: Vec<MessengerSent>,
}

struct Conversation {
    id: String,
    platform: Platform,
    user_id: String,
    user_name: String,
    /// Oldest first.
    messages: Vec<Msg>,
    last_inbound: i64,
}

#[derive(Clone)]
struct Msg {
    id: String,
    /// Order of arrival; timestamps have one-second resolution and tie too easily.
    seq: u64,
    created: i64,
    from_user: bool,
    text: String,
    attachments: Vec<String>,
}

#[derive(Clone)]
struct StoredAttachment {
    id: String,
    mime_type: String,
    name: String,
    bytes: Arc<Vec<u8>>,
}

fn message_id(platform: Platform) -> String {
    match platform {
        Platform::Messenger => format!("m_{}", ids::urlsafe(43)),
        Platform::Instagram => format!(
            "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx{}",
            ids::alnum(40)
        ),
    }
}

fn cursor(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn uncursor(cursor: &str) -> Option<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

fn attachment_kind(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "file",
    }
}

impl MessengerFake {
    /// Starts the fake on 127.0.0.1 (random port) on the current tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(State {
            inner: Mutex::new(Inner {
                pages: HashMap::new(),
                attachments: HashMap::new(),
                usage_pct: 1,
                regain_minutes: 0,
                next_seq: 0,
            }),
            base_url: OnceLock::new(),
        });
        let server = Arc::new(Server::start(state.clone()).await);
        let _ = state.base_url.set(server.base_url());
        Self { server, state }
    }

    /// Stands for `https://graph.facebook.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Registers a Page and its Page access token.
    pub fn add_page(&self, page_id: &str, name: &str, page_access_token: &str) -> MessengerPage {
        lock(&self.state.inner).pages.insert(
            page_id.to_owned(),
            Page {
                name: name.to_owned(),
                token: page_access_token.to_owned(),
                instagram: None,
                conversations: Vec::new(),
                sent: Vec::new(),
            },
        );
        MessengerPage {
            state: self.state.clone(),
            id: page_id.to_owned(),
        }
    }

    /// The usage the `X-App-Usage`/`X-Business-Use-Case-Usage` headers report: percent of
    /// the limit used and minutes until access is regained.
    pub fn set_usage(&self, percent: u32, regain_minutes: u64) {
        let mut inner = lock(&self.state.inner);
        inner.usage_pct = percent;
        inner.regain_minutes = regain_minutes;
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

impl MessengerPage {
    pub fn id(&self) -> &str {
        &self.id
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut lock(&self.state.inner))
    }

    /// Links an Instagram professional account to the Page.
    pub fn link_instagram(&self, instagram_id: &str, username: &str) {
        self.with(|i| {
            if let Some(page) = i.pages.get_mut(&self.id) {
                page.instagram = Some((instagram_id.to_owned(), username.to_owned()));
            }
        });
    }

    /// A message from a person (`user_id` is the PSID or IGSID; `name` their name, or username
    /// on Instagram). `attachments` are `(mime type, bytes)`. Returns the message id (`mid`).
    pub fn push_incoming(
        &self,
        platform: Platform,
        user_id: &str,
        name: &str,
        text: &str,
        attachments: Vec<(String, Vec<u8>)>,
    ) -> String {
        let now = clock::now_unix();
        self.with(|inner| {
            let attachment_ids: Vec<String> = attachments
                .into_iter()
                .enumerate()
                .map(|(n, (mime, bytes))| {
                    let id = ids::digits(16);
                    let name = format!("attachment_{n}.{}", text::extension_for(&mime));
                    inner.attachments.insert(
                        id.clone(),
                        StoredAttachment {
                            id: id.clone(),
                            mime_type: mime,
                            name,
                            bytes: Arc::new(bytes),
                        },
                    );
                    id
                })
                .collect();
            inner.next_seq += 1;
            let seq = inner.next_seq;
            let Some(page) = inner.pages.get_mut(&self.id) else {
                return String::new();
            };
            let conversation = conversation_for(page, platform, user_id, name);
            let msg = Msg {
                id: message_id(platform),
                seq,
                created: now,
                from_user: true,
                text: text.to_owned(),
                attachments: attachment_ids,
            };
            conversation.last_inbound = now;
            conversation.messages.push(msg.clone());
            msg.id
        })
    }

    /// Acts as if `user_id` last wrote `age` ago (e.g. 25 h to close the standard window).
    pub fn set_last_inbound_age(&self, user_id: &str, age: Duration) {
        self.with(|i| {
            if let Some(page) = i.pages.get_mut(&self.id) {
                for c in page
                    .conversations
                    .iter_mut()
                    .filter(|c| c.user_id == user_id)
                {
                    c.last_inbound = clock::now_unix() - age.as_secs() as i64;
                }
            }
        });
    }

    /// Everything the Page sent, oldest first.
    pub fn sent_messages(&self) -> Vec<MessengerSent> {
        self.with(|i| i.pages.get(&self.id).map(|p| p.sent.clone()))
            .unwrap_or_default()
    }

    /// The webhook body Meta would POST for a message stored with [`Self::push_incoming`]:
    /// `{"object":"page"|"instagram","entry":[{"id","time","messaging":[{"sender",
    /// "recipient","timestamp","message":{"mid","text","attachments"}}]}]}`.
    pub fn webhook_for(&self, mid: &str) -> Option<Value> {
        let base = self.state.base_url.get().cloned().unwrap_or_default();
        self.with(|inner| {
            let page = inner.pages.get(&self.id)?;
            let (conversation, msg) = page
                .conversations
                .iter()
                .find_map(|c| c.messages.iter().find(|m| m.id == mid).map(|m| (c, m)))?;
            let (object, account) = match conversation.platform {
                Platform::Messenger => ("page", self.id.clone()),
                Platform::Instagram => (
                    "instagram",
                    page.instagram
                        .as_ref()
                        .map(|(id, _)| id.clone())
                        .unwrap_or_default(),
                ),
            };
            let ms = msg.created * 1000;
            let mut message = json!({"mid": msg.id});
            if !msg.text.is_empty() {
                message["text"] = json!(msg.text);
            }
            if !msg.attachments.is_empty() {
                message["attachments"] = Value::Array(
                    msg.attachments
                        .iter()
                        .filter_map(|id| inner.attachments.get(id))
                        .map(|a| {
                            json!({"type": attachment_kind(&a.mime_type),
                                        "payload": {"url": format!("{base}/cdn/{}", a.id)}})
                        })
                        .collect(),
                );
            }
            let (sender, recipient) = if msg.from_user {
                (conversation.user_id.clone(), account.clone())
            } else {
                (account.clone(), conversation.user_id.clone())
            };
            Some(json!({
                "object": object,
                "entry": [{
                    "id": account,
                    "time": ms,
                    "messaging": [{
                        "sender": {"id": sender},
                        "recipient": {"id": recipient},
                        "timestamp": ms,
                        "message": message,
                    }],
                }],
            }))
        })
    }

    /// Shorthand: [`Self::push_incoming`] a text and return its webhook body.
    pub fn webhook_text(&self, platform: Platform, user_id: &str, name: &str, text: &str) -> Value {
        let mid = self.push_incoming(platform, user_id, name, text, Vec::new());
        self.webhook_for(&mid).unwrap_or(Value::Null)
    }
}

fn conversation_for<'a>(
    page: &'a mut Page,
    platform: Platform,
    user_id: &str,
    name: &str,
) -> &'a mut Conversation {
    let index = match page
        .conversations
        .iter()
        .position(|c| c.platform == platform && c.user_id == user_id)
    {
        Some(i) => i,
        None => {
            let id = match platform {
                Platform::Messenger => format!("t_{}", ids::digits(16)),
                Platform::Instagram => {
                    format!("aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6{}", ids::alnum(32))
                }
            };
            page.conversations.push(Conversation {
                id,
                platform,
                user_id: user_id.to_owned(),
                user_name: name.to_owned(),
                messages: Vec::new(),
                last_inbound: 0,
            });
            page.conversations.len() - 1
        }
    };
    &mut page.conversations[index]
}

// ---- rendering ------------------------------------------------------------------------

struct Ctx<'a> {
    page_id: &'a str,
    page: &'a Page,
    attachments: &'a HashMap<String, StoredAttachment>,
    base: &'a str,
}

impl Ctx<'_> {
    fn page_party(&self, platform: Platform) -> Value {
        match (platform, &self.page.instagram) {
            (Platform::Instagram, Some((id, username))) => json!({"username": username, "id": id}),
            _ => {
                json!({"name": self.page.name, "email": format!("{}@facebook.com", self.page_id), "id": self.page_id})
            }
        }
    }

    fn user_party(&self, c: &Conversation) -> Value {
        match c.platform {
            Platform::Instagram => json!({"username": c.user_name, "id": c.user_id}),
            Platform::Messenger => {
                json!({"name": c.user_name, "email": format!("{}@facebook.com", c.user_id), "id": c.user_id})
            }
        }
    }

    fn message(&self, c: &Conversation, m: &Msg, fields: &str) -> Value {
        let fields = if fields.is_empty() {
            "id,created_time"
        } else {
            fields
        };
        let mut out = Map::new();
        for (name, _, _) in graph::parse_fields(fields) {
            let value = match name.as_str() {
                "id" => json!(m.id),
                "created_time" => json!(clock::graph_time(m.created)),
                "message" => json!(m.text),
                "from" if m.from_user => self.user_party(c),
                "from" => self.page_party(c.platform),
                "to" if m.from_user => json!({"data": [self.page_party(c.platform)]}),
                "to" => json!({"data": [self.user_party(c)]}),
                "attachments" if m.attachments.is_empty() => continue,
                "attachments" => {
                    json!({"data": m.attachments.iter().filter_map(|id| self.attachments.get(id)).map(|a| self.attachment(a)).collect::<Vec<_>>()})
                }
                _ => continue,
            };
            out.insert(name, value);
        }
        // Graph returns a node's id whether or not it was asked for.
        out.entry("id").or_insert_with(|| json!(m.id));
        Value::Object(out)
    }

    fn attachment(&self, a: &StoredAttachment) -> Value {
        let url = format!("{}/cdn/{}", self.base, a.id);
        let mut v =
            json!({"id": a.id, "mime_type": a.mime_type, "name": a.name, "size": a.bytes.len()});
        if a.mime_type.starts_with("image/") {
            v["image_data"] = json!({"width": 1280, "height": 960, "max_width": 1280, "max_height": 960,
                                     "url": url, "preview_url": url});
        } else {
            v["file_url"] = json!(url);
        }
        v
    }

    fn conversation(&self, c: &Conversation, fields: &str, request: &Recorded) -> Value {
        let fields = if fields.is_empty() {
            "id,updated_time"
        } else {
            fields
        };
        let mut out = Map::new();
        for (name, modifiers, sub) in graph::parse_fields(fields) {
            let value = match name.as_str() {
                "id" => json!(c.id),
                "updated_time" => json!(clock::graph_time(
                    c.messages.last().map_or(0, |m| m.created)
                )),
                "message_count" => json!(c.messages.len()),
                "unread_count" => json!(0),
                "can_reply" => json!(true),
                "snippet" => json!(c
                    .messages
                    .last()
                    .map(|m| m.text.clone())
                    .unwrap_or_default()),
                "participants" => {
                    json!({"data": [self.user_party(c), self.page_party(c.platform)]})
                }
                "messages" => {
                    let limit = modifiers
                        .strip_prefix("limit(")
                        .and_then(|l| l.strip_suffix(')'))
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(25);
                    let newest_first: Vec<&Msg> = c.messages.iter().rev().collect();
                    let page = cursor_page(&newest_first, |m| m.id.as_str(), limit, None, None);
                    let data: Vec<Value> = page
                        .items
                        .iter()
                        .map(|m| self.message(c, m, &sub))
                        .collect();
                    let mut edge = json!({"data": data});
                    if let Some(paging) = paging_json(
                        &page,
                        |m| m.id.as_str(),
                        &format!("{}/{}/messages", self.base, c.id),
                        request,
                        false,
                    ) {
                        edge["paging"] = paging;
                    }
                    edge
                }
                _ => continue,
            };
            out.insert(name, value);
        }
        out.entry("id").or_insert_with(|| json!(c.id));
        Value::Object(out)
    }
}

struct CursorPage<'a, T> {
    items: &'a [T],
    more_before: bool,
    more_after: bool,
}

fn cursor_page<'a, T>(
    all: &'a [T],
    id_of: impl Fn(&T) -> &str,
    limit: usize,
    after: Option<&str>,
    before: Option<&str>,
) -> CursorPage<'a, T> {
    let limit = limit.clamp(1, 100);
    let position = |c: &str| uncursor(c).and_then(|id| all.iter().position(|t| id_of(t) == id));
    let (start, end) = match (after, before) {
        (Some(a), _) => {
            let start = position(a).map_or(all.len(), |i| i + 1);
            (start, (start + limit).min(all.len()))
        }
        (None, Some(b)) => {
            let end = position(b).unwrap_or(0);
            (end.saturating_sub(limit), end)
        }
        (None, None) => (0, limit.min(all.len())),
    };
    CursorPage {
        items: &all[start..end],
        more_before: start > 0,
        more_after: end < all.len(),
    }
}

/// `{"cursors":{"before","after"},"next"?,"previous"?}`; `next`/`previous` repeat the request
/// with the cursor swapped, like Graph (access token included).
fn paging_json<T>(
    page: &CursorPage<'_, T>,
    id_of: impl Fn(&T) -> &str,
    url: &str,
    request: &Recorded,
    keep_query: bool,
) -> Option<Value> {
    let (first, last) = (page.items.first()?, page.items.last()?);
    let link = |key: &str, value: String| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in request.query_pairs() {
            let keep = keep_query || k == "access_token";
            if keep && k != "after" && k != "before" {
                s.append_pair(&k, &v);
            }
        }
        s.append_pair(key, &value);
        format!("{url}?{}", s.finish())
    };
    let mut paging =
        json!({"cursors": {"before": cursor(id_of(first)), "after": cursor(id_of(last))}});
    if page.more_after {
        paging["next"] = json!(link("after", cursor(id_of(last))));
    }
    if page.more_before {
        paging["previous"] = json!(link("before", cursor(id_of(first))));
    }
    Some(paging)
}

fn usage_headers(response: &mut Response, inner: &Inner) {
    let pct = inner.usage_pct;
    if !response.headers().contains_key("x-app-usage") {
        let app = json!({"call_count": pct, "total_cputime": pct, "total_time": pct});
        server::set_header(response, "x-app-usage", &app.to_string());
    }
    if !response.headers().contains_key("x-business-use-case-usage") {
        let mut buc = Map::new();
        for id in inner.pages.keys() {
            buc.insert(
                id.clone(),
                json!([{"type": "messenger", "call_count": pct, "total_cputime": pct,
                        "total_time": pct, "estimated_time_to_regain_access": inner.regain_minutes}]),
            );
        }
        server::set_header(
            response,
            "x-business-use-case-usage",
            &Value::Object(buc).to_string(),
        );
    }
}

impl Provider for State {
    async fn handle(self: Arc<Self>, request: Recorded) -> Response {
        let segments = graph::segments(&request.path);
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        if let ["cdn", id] = segs.as_slice() {
            return match lock(&self.inner).attachments.get(*id) {
                Some(a) => server::bytes(200, &a.mime_type, a.bytes.to_vec()),
                None => server::bytes(404, "text/html", b"Not Found".to_vec()),
            };
        }
        let Some(token) = graph::access_token(&request) else {
            return graph::missing_token();
        };
        let mut inner = lock(&self.inner);
        let Some(page_id) = inner
            .pages
            .iter()
            .find(|(_, p)| p.token == token)
            .map(|(id, _)| id.clone())
        else {
            return graph::invalid_token();
        };
        let base = self.base_url.get().cloned().unwrap_or_default();
        let method = request.method.as_str();
        let owns = |page: &Page, id: &str| {
            id == "me" || id == page_id || page.instagram.as_ref().is_some_and(|(ig, _)| ig == id)
        };
        let page_ref = &inner.pages[&page_id];
        match (method, segs.as_slice()) {
            ("GET", [id, "conversations"]) if owns(page_ref, id) => {
                let ctx = Ctx {
                    page_id: &page_id,
                    page: page_ref,
                    attachments: &inner.attachments,
                    base: &base,
                };
                list_conversations(&ctx, &request)
            }
            ("POST", [id, "messages"]) if owns(page_ref, id) => {
                let via_instagram = page_ref.instagram.as_ref().is_some_and(|(ig, _)| ig == id);
                send(&mut inner, &page_id, via_instagram, &request)
            }
            ("GET", [id]) if owns(page_ref, id) => {
                server::json(200, &json!({"name": page_ref.name, "id": page_id}))
            }
            ("GET", [id, "messages"]) => {
                let ctx = Ctx {
                    page_id: &page_id,
                    page: page_ref,
                    attachments: &inner.attachments,
                    base: &base,
                };
                match page_ref.conversations.iter().find(|c| c.id == *id) {
                    Some(c) => list_messages(&ctx, c, &request),
                    None => graph::unknown_object(method, id),
                }
            }
            ("GET", [id]) => {
                let ctx = Ctx {
                    page_id: &page_id,
                    page: page_ref,
                    attachments: &inner.attachments,
                    base: &base,
                };
                let fields = query_value(&request, "fields").unwrap_or_default();
                if let Some(c) = page_ref.conversations.iter().find(|c| c.id == *id) {
                    return server::json(200, &ctx.conversation(c, &fields, &request));
                }
                let found = page_ref
                    .conversations
                    .iter()
                    .find_map(|c| c.messages.iter().find(|m| m.id == *id).map(|m| (c, m)));
                match found {
                    Some((c, m)) => server::json(200, &ctx.message(c, m, &fields)),
                    None => graph::unknown_object(method, id),
                }
            }
            (_, [id, ..]) => graph::unknown_object(method, id),
            _ => graph::error(
                400,
                2500,
                "Unknown path components",
                "OAuthException",
                None,
                None,
            ),
        }
    }

    fn render_failure(&self, failure: &Failure, _request: &Recorded) -> Response {
        graph::render_failure(failure, |retry_after_secs| {
            let Failure::Raw {
                status,
                content_type,
                body,
            } = failures::send_rate_limit()
            else {
                unreachable!("failures::send_rate_limit is a raw failure")
            };
            let mut response = server::raw(status, &content_type, &body);
            let inner = lock(&self.inner);
            let minutes = retry_after_secs.div_ceil(60);
            let mut buc = Map::new();
            for id in inner.pages.keys() {
                buc.insert(
                    id.clone(),
                    json!([{"type": "messenger", "call_count": 100, "total_cputime": 100,
                            "total_time": 100, "estimated_time_to_regain_access": minutes}]),
                );
            }
            server::set_header(
                &mut response,
                "x-business-use-case-usage",
                &Value::Object(buc).to_string(),
            );
            response
        })
    }

    fn decorate(&self, response: &mut Response) {
        usage_headers(response, &lock(&self.inner));
    }
}

fn query_value(request: &Recorded, key: &str) -> Option<String> {
    request
        .query_pairs()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn list_conversations(ctx: &Ctx<'_>, request: &Recorded) -> Response {
    let platform = match query_value(request, "platform").as_deref() {
        None | Some("messenger") => Platform::Messenger,
        Some("instagram") => Platform::Instagram,
        Some(other) => {
            return graph::invalid_parameter(&format!(
                "(#100) Param platform must be one of {{MESSENGER, INSTAGRAM}} - got \"{other}\""
            ))
        }
    };
    let user = query_value(request, "user_id");
    let mut conversations: Vec<&Conversation> = ctx
        .page
        .conversations
        .iter()
        .filter(|c| c.platform == platform)
        .filter(|c| user.as_ref().is_none_or(|u| &c.user_id == u))
        .collect();
    conversations.sort_by_key(|c| std::cmp::Reverse(c.messages.last().map_or(0, |m| m.seq)));
    let limit = query_value(request, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25);
    let after = query_value(request, "after");
    let before = query_value(request, "before");
    let page = cursor_page(
        &conversations,
        |c| c.id.as_str(),
        limit,
        after.as_deref(),
        before.as_deref(),
    );
    let fields = query_value(request, "fields").unwrap_or_default();
    let data: Vec<Value> = page
        .items
        .iter()
        .map(|c| ctx.conversation(c, &fields, request))
        .collect();
    let mut body = json!({"data": data});
    let url = format!("{}{}", ctx.base, request.path);
    if let Some(paging) = paging_json(&page, |c| c.id.as_str(), &url, request, true) {
        body["paging"] = paging;
    }
    server::json(200, &body)
}

fn list_messages(ctx: &Ctx<'_>, c: &Conversation, request: &Recorded) -> Response {
    let newest_first: Vec<&Msg> = c.messages.iter().rev().collect();
    let limit = query_value(request, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25);
    let after = query_value(request, "after");
    let before = query_value(request, "before");
    let page = cursor_page(
        &newest_first,
        |m| m.id.as_str(),
        limit,
        after.as_deref(),
        before.as_deref(),
    );
    let fields = query_value(request, "fields").unwrap_or_default();
    let data: Vec<Value> = page
        .items
        .iter()
        .map(|m| ctx.message(c, m, &fields))
        .collect();
    let mut body = json!({"data": data});
    let url = format!("{}{}", ctx.base, request.path);
    if let Some(paging) = paging_json(&page, |m| m.id.as_str(), &url, request, true) {
        body["paging"] = paging;
    }
    server::json(200, &body)
}

fn send(inner: &mut Inner, page_id: &str, via_instagram: bool, request: &Recorded) -> Response {
    let params = match graph::params(request) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let Some(recipient) = params.get("recipient").and_then(|r| r.get("id")).map(|id| {
        id.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| id.to_string())
    }) else {
        return graph::invalid_parameter("(#100) The parameter recipient is required");
    };
    let message = params.get("message").cloned();
    let sender_action = params.get("sender_action").and_then(Value::as_str);
    if message.is_none() && sender_action.is_none() {
        return graph::invalid_parameter("(#100) Must send either message or sender_action");
    }
    let upload = graph::files(request)
        .into_iter()
        .find(|p| p.name == "filedata");
    inner.next_seq += 1;
    let seq = inner.next_seq;
    let Some(page) = inner.pages.get_mut(page_id) else {
        return graph::invalid_token();
    };
    let Some(conversation) = page
        .conversations
        .iter_mut()
        .filter(|c| !via_instagram || c.platform == Platform::Instagram)
        .find(|c| c.user_id == recipient)
    else {
        return graph::error(
            400,
            100,
            "(#100) No matching user found",
            "OAuthException",
            Some(2018001),
            None,
        );
    };
    if sender_action.is_some() {
        return server::json(200, &json!({"recipient_id": recipient}));
    }
    let messaging_type = params
        .get("messaging_type")
        .and_then(Value::as_str)
        .unwrap_or("RESPONSE")
        .to_owned();
    let tag = params.get("tag").and_then(Value::as_str).map(str::to_owned);
    let age = clock::now_unix() - conversation.last_inbound;
    let allowed = match (messaging_type.as_str(), tag.as_deref()) {
        ("MESSAGE_TAG", Some("HUMAN_AGENT")) => age < HUMAN_AGENT_SECS,
        ("MESSAGE_TAG", Some(_)) => true,
        ("MESSAGE_TAG", None) => {
            return graph::invalid_parameter(
                "(#100) Param tag must be provided when messaging_type is MESSAGE_TAG",
            )
        }
        _ => age < WINDOW_SECS,
    };
    if !allowed {
        return graph::error(
            400,
            10,
            OUTSIDE_WINDOW,
            "OAuthException",
            Some(2018278),
            None,
        );
    }
    let message = message.unwrap_or(Value::Null);
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut attachment = message.get("attachment").cloned();
    if text.is_none() && attachment.is_none() {
        return graph::invalid_parameter(
            "(#100) Message cannot be empty, must provide valid attachment or text",
        );
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > 2000) {
        return graph::invalid_parameter(
            "(#100) Length of param message[text] must be less than or equal to 2000",
        );
    }
    let platform = conversation.platform;
    let mid = message_id(platform);
    conversation.messages.push(Msg {
        id: mid.clone(),
        seq,
        created: clock::now_unix(),
        from_user: false,
        text: text.clone().unwrap_or_default(),
        attachments: Vec::new(),
    });
    let upload_bytes = upload.as_ref().map(|p| p.data.clone());
    let stored = upload.map(|part| {
        let id = ids::digits(16);
        let mime = part.content_type.clone().unwrap_or_else(|| {
            text::mime_from_name(part.file_name.as_deref().unwrap_or("")).to_owned()
        });
        (id, mime, part)
    });
    if let Some((id, _, _)) = &stored {
        if let Some(Value::Object(a)) = attachment.as_mut() {
            a.insert("payload".into(), json!({"attachment_id": id}));
        }
    }
    page.sent.push(MessengerSent {
        message_id: mid.clone(),
        platform,
        recipient_id: recipient.clone(),
        messaging_type,
        tag,
        text,
        attachment,
        upload: upload_bytes,
        params,
    });
    if let Some((id, mime, part)) = stored {
        inner.attachments.insert(
            id.clone(),
            StoredAttachment {
                id,
                mime_type: mime,
                name: part.file_name.unwrap_or_default(),
                bytes: Arc::new(part.data),
            },
        );
    }
    server::json(200, &json!({"recipient_id": recipient, "message_id": mid}))
}
