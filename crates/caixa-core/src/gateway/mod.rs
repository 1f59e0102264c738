//! The gateway: Caixa's own HTTP + WebSocket server. It serves the website widget (script, API,
//! socket, test page), the API channel's endpoint and providers' webhooks (`/hooks/{token}`). Bound to loopback by default; users who
//! want visitors from the internet expose it themselves (reverse proxy, tunnel).

mod api;
mod hooks;
pub mod media;
mod widget;

use std::net::SocketAddr;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::caixa::Caixa;
use crate::error::Error;

/// Largest request body accepted (message content itself is capped at 64 KiB).
const BODY_LIMIT: usize = 256 * 1024;

pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

pub fn router(caixa: Caixa) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/widget.js", get(widget::script))
        .route("/widget/{token}/test", get(widget::test_page))
        .nest("/api/widget/v1/{token}", widget::routes(caixa.clone()))
        .route("/api/v1/inboxes/{token}/messages", post(api::receive))
        .route("/hooks/{token}", get(hooks::verify).post(hooks::receive))
        .route("/media/{id}/{sig}/{name}", get(media::serve))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(caixa)
}

pub async fn serve(caixa: Caixa, listener: tokio::net::TcpListener) {
    let shutdown = caixa.inner.shutdown.clone();
    let app = router(caixa).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!("gateway stopped: {e}");
    }
}

/// Every gateway error is JSON: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        res
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match &e {
            Error::Validation(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            Error::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            Error::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            Error::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
            _ => {
                tracing::error!("gateway: {e}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the app's log",
                )
            }
        }
    }
}
