//! Website live chat: the widget script, its JSON API and its WebSocket, under
//! `/api/widget/v1/{inbox_token}/…`. A visitor is identified by a random visitor token the
//! widget keeps in `localStorage` and sends as `X-Caixa-Visitor` (or `?visitor=` on the socket);
//! the token is the conversation's thread key, so a visitor only ever reaches their own thread.
//! Requests from browsers must come from the inbox's website origin or the gateway's own pages.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::caixa::{Caixa, IncomingOwned, MAX_CONTENT_BYTES};
use crate::channels::website::WidgetMessage;
use crate::inbox_config::{new_visitor_token, origin_of};
use crate::model::{ChannelKind, ConversationId, Inbox, InboxSettings, WebsiteSettings};
use crate::store::{conversations, messages, now_ms};

const SCRIPT: &str = include_str!("assets/widget.js");
const TEST_PAGE: &str = include_str!("assets/test_page.html");
const VISITOR_HEADER: &str = "x-caixa-visitor";
const HISTORY: u32 = 200;

struct Limits {
    /// Messages per visitor: a burst of 10, then one a second.
    messages: DefaultKeyedRateLimiter<String>,
    /// New visitor tokens per client address.
    visitors: DefaultKeyedRateLimiter<std::net::IpAddr>,
}

pub fn routes(caixa: Caixa) -> Router<Caixa> {
    let nz = |n| NonZeroU32::new(n).expect("non-zero");
    let limits = Arc::new(Limits {
        messages: RateLimiter::keyed(Quota::per_second(nz(1)).allow_burst(nz(10))),
        visitors: RateLimiter::keyed(Quota::per_minute(nz(30)).allow_burst(nz(30))),
    });
    Router::new()
        .route("/config", get(config))
        .route("/visitors", post(new_visitor))
        .route("/conversation", get(own_conversation))
        .route("/conversations/{id}/messages", get(conversation_messages))
        .route("/messages", post(send))
        .route("/ws", get(socket))
        .layer(Extension(limits))
        .layer(middleware::from_fn_with_state(caixa, origin_guard))
}

/// The website inbox of the request and the origin the browser sent, if any.
#[derive(Clone)]
struct WidgetInbox {
    inbox: Inbox,
    settings: WebsiteSettings,
}

async fn website_inbox(caixa: &Caixa, token: &str) -> Result<WidgetInbox, ApiError> {
    let inbox = caixa.inbox_by_token(token).await?;
    match inbox {
        Some(inbox) if inbox.kind == ChannelKind::Website => {
            let InboxSettings::Website(settings) = inbox.settings.clone() else {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "inbox settings are corrupt",
                ));
            };
            Ok(WidgetInbox { inbox, settings })
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_inbox",
            "no website inbox has this token",
        )),
    }
}

/// Resolves the inbox, refuses foreign origins, answers CORS preflights and adds CORS headers.
async fn origin_guard(
    State(caixa): State<Caixa>,
    Path(params): Path<Vec<(String, String)>>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = params
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let wi = match website_inbox(&caixa, &token).await {
        Ok(wi) => wi,
        Err(e) => return e.into_response(),
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(origin) = &origin {
        let allowed = [
            origin_of(&wi.settings.website_url),
            origin_of(&caixa.gateway_url()),
        ];
        if !allowed.iter().flatten().any(|a| a == origin) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                format!(
                    "this inbox only accepts its website ({})",
                    wi.settings.website_url
                ),
            )
            .into_response();
        }
    }
    let mut res = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        req.extensions_mut().insert(wi);
        next.run(req).await
    };
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Content-Type, X-Caixa-Visitor"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    res
}

fn visitor_token(raw: Option<&str>) -> Result<String, ApiError> {
    let t = raw.unwrap_or("").trim();
    if t.len() == 32 && t.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(t.to_string())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_visitor",
            "missing or malformed visitor token; create one with POST /visitors",
        ))
    }
}

fn visitor_from_headers(headers: &HeaderMap) -> Result<String, ApiError> {
    visitor_token(headers.get(VISITOR_HEADER).and_then(|v| v.to_str().ok()))
}

#[derive(Serialize)]
struct WidgetConfig {
    name: String,
    welcome_title: String,
    welcome_text: String,
    color: String,
}

async fn config(Extension(wi): Extension<WidgetInbox>) -> Json<WidgetConfig> {
    Json(WidgetConfig {
        name: wi.inbox.name,
        welcome_title: wi.settings.welcome_title,
        welcome_text: wi.settings.welcome_text,
        color: wi.settings.color,
    })
}

#[derive(Serialize)]
struct NewVisitor {
    visitor_token: String,
}

async fn new_visitor(
    Extension(limits): Extension<Arc<Limits>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<impl IntoResponse, ApiError> {
    if limits.visitors.check_key(&peer.ip()).is_err() {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many new visitors from this address; try again shortly",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(NewVisitor {
            visitor_token: new_visitor_token(),
        }),
    ))
}

#[derive(Serialize)]
struct Thread {
    conversation_id: Option<ConversationId>,
    messages: Vec<WidgetMessage>,
}

async fn thread_of(caixa: &Caixa, inbox_id: i64, visitor: String) -> Result<Thread, ApiError> {
    Ok(caixa
        .store()
        .read(move |c| {
            let id: Option<ConversationId> = {
                use rusqlite::OptionalExtension;
                c.query_row(
                    "SELECT id FROM conversations WHERE inbox_id = ?1 AND source_id = ?2",
                    rusqlite::params![inbox_id, visitor],
                    |r| r.get(0),
                )
                .optional()?
            };
            let messages = match id {
                Some(id) => messages::list_public(c, id, HISTORY)?,
                None => Vec::new(),
            };
            Ok(Thread {
                conversation_id: id,
                messages: messages
                    .iter()
                    .filter_map(WidgetMessage::from_message)
                    .collect(),
            })
        })
        .await?)
}

/// The visitor's own conversation (empty before their first message).
async fn own_conversation(
    State(caixa): State<Caixa>,
    Extension(wi): Extension<WidgetInbox>,
    headers: HeaderMap,
) -> Result<Json<Thread>, ApiError> {
    let visitor = visitor_from_headers(&headers)?;
    Ok(Json(thread_of(&caixa, wi.inbox.id, visitor).await?))
}

/// A conversation by id: only for the visitor it belongs to.
async fn conversation_messages(
    State(caixa): State<Caixa>,
    Extension(wi): Extension<WidgetInbox>,
    Path(params): Path<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Json<Thread>, ApiError> {
    let visitor = visitor_from_headers(&headers)?;
    let id: ConversationId = params
        .iter()
        .find(|(k, _)| k == "id")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "bad_id", "bad conversation id"))?;
    let forbidden = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "not_your_conversation",
            "this conversation does not belong to this visitor",
        )
    };
    let (inbox_id, key) = caixa
        .store()
        .read(move |c| conversations::source(c, id))
        .await
        .map_err(|_| forbidden())?;
    if inbox_id != wi.inbox.id || key != visitor {
        return Err(forbidden());
    }
    Ok(Json(thread_of(&caixa, wi.inbox.id, visitor).await?))
}

#[derive(Deserialize)]
struct VisitorMessage {
    content: String,
}

#[derive(Serialize)]
struct SentMessage {
    conversation_id: ConversationId,
    message: Option<WidgetMessage>,
}

async fn send(
    State(caixa): State<Caixa>,
    Extension(wi): Extension<WidgetInbox>,
    Extension(limits): Extension<Arc<Limits>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<SentMessage>), ApiError> {
    let visitor = visitor_from_headers(&headers)?;
    if limits.messages.check_key(&visitor).is_err() {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "you are sending messages too fast; wait a moment",
        ));
    }
    let msg: VisitorMessage = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("expected {{\"content\": \"…\"}}: {e}"),
        )
    })?;
    if msg.content.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "the message is empty",
        ));
    }
    if msg.content.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the message is over {} KiB", MAX_CONTENT_BYTES / 1024),
        ));
    }
    let name = format!("Visitor {}", &visitor[..6]);
    let out = caixa
        .ingest(IncomingOwned {
            inbox_id: wi.inbox.id,
            contact_key: visitor.clone(),
            contact_name: name,
            contact_email: None,
            contact_phone: None,
            thread_key: visitor.clone(),
            source_id: None,
            content: msg.content,
            created_at: now_ms(),
            files: Vec::new(),
        })
        .await?;
    let message = match out.message_id {
        Some(id) => WidgetMessage::from_message(&caixa.get_message(id).await?),
        None => None,
    };
    if let Some(m) = &message {
        // Other tabs of the same visitor show it too.
        caixa.inner.hub.publish(&(wi.inbox.id, visitor), m.clone());
    }
    Ok((
        StatusCode::CREATED,
        Json(SentMessage {
            conversation_id: out.conversation_id,
            message,
        }),
    ))
}

#[derive(Deserialize)]
struct SocketQuery {
    visitor: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerFrame<'a> {
    Ready,
    Message { message: &'a WidgetMessage },
}

async fn socket(
    State(caixa): State<Caixa>,
    Extension(wi): Extension<WidgetInbox>,
    Query(q): Query<SocketQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let visitor = visitor_token(q.visitor.as_deref())?;
    let rx = caixa.inner.hub.subscribe((wi.inbox.id, visitor));
    let shutdown = caixa.inner.shutdown.clone();
    Ok(ws
        .max_message_size(4096)
        .on_upgrade(move |socket| pump(socket, rx, shutdown)))
}

/// Forwards the visitor's thread to the socket until either side goes away. Visitors send
/// messages over HTTP, so anything they send here is only read to notice a close.
async fn pump(
    mut socket: WebSocket,
    mut rx: tokio::sync::broadcast::Receiver<WidgetMessage>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let frame =
        |f: &ServerFrame<'_>| WsMessage::Text(serde_json::to_string(f).unwrap_or_default().into());
    if socket.send(frame(&ServerFrame::Ready)).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(std::time::Duration::from_secs(25));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = rx.recv() => match received {
                Ok(m) => {
                    if socket.send(frame(&ServerFrame::Message { message: &m })).await.is_err() {
                        break;
                    }
                }
                // The widget refetches its history on reconnect, so closing is enough.
                Err(_) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = socket.send(WsMessage::Close(None)).await;
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        SCRIPT,
    )
}

/// A page that embeds the widget exactly as the snippet would, for trying the inbox out.
pub async fn test_page(
    State(caixa): State<Caixa>,
    Path(token): Path<String>,
) -> Result<Html<String>, ApiError> {
    let wi = website_inbox(&caixa, &token).await?;
    let view = caixa.inbox_view(wi.inbox.clone());
    let snippet = view.snippet.unwrap_or_default();
    let page = TEST_PAGE
        .replace("{{name}}", &html_escape(&wi.inbox.name))
        .replace("{{website}}", &html_escape(&wi.settings.website_url))
        .replace("{{snippet_text}}", &html_escape(&snippet))
        .replace("{{snippet}}", &snippet);
    Ok(Html(page))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
