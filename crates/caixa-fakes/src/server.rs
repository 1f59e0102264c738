//! The HTTP plumbing every fake shares: bind to loopback, record each request, apply injected
//! failures, hand the rest to the provider's own routing.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio::sync::oneshot;

use crate::failure::{Failure, FailureQueue};
use crate::recorder::{Recorded, Recorder};

/// Uploads in tests are small; the cap only keeps a runaway client from eating memory.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What a provider's fake plugs into the shared server.
pub(crate) trait Provider: Send + Sync + 'static {
    /// Answers a request that no injected failure claimed.
    fn handle(self: Arc<Self>, request: Recorded) -> impl Future<Output = Response> + Send;

    /// Renders an injected failure in the provider's error format.
    fn render_failure(&self, failure: &Failure, request: &Recorded) -> Response;

    /// Adds headers the provider puts on every response (rate-limit counters, request ids).
    fn decorate(&self, _response: &mut Response) {}

    /// Called once when the fake is dropped, so long polls can end instead of running out.
    fn stopped(&self) {}
}

struct Shared<P> {
    provider: Arc<P>,
    recorder: Arc<Recorder>,
    failures: Arc<FailureQueue>,
}

/// A running fake server; dropping it stops accepting connections and closes idle ones.
pub(crate) struct Server {
    addr: SocketAddr,
    recorder: Arc<Recorder>,
    failures: Arc<FailureQueue>,
    shutdown: Option<oneshot::Sender<()>>,
    on_stop: Box<dyn Fn() + Send + Sync>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves `provider` on the current tokio runtime.
    ///
    /// Panics when loopback cannot be bound: that is a broken test machine, not bad input.
    pub(crate) async fn start<P: Provider>(provider: Arc<P>) -> Self {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("caixa-fakes: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("caixa-fakes: bound socket has no local address");
        let recorder = Arc::new(Recorder::new());
        let failures = Arc::new(FailureQueue::new());
        let shared = Arc::new(Shared {
            provider: provider.clone(),
            recorder: recorder.clone(),
            failures: failures.clone(),
        });
        let app = Router::new().fallback(dispatch::<P>).with_state(shared);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            addr,
            recorder,
            failures,
            shutdown: Some(tx),
            on_stop: Box::new(move || provider.stopped()),
        }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.recorder.all()
    }

    pub(crate) fn clear_requests(&self) {
        self.recorder.clear();
    }

    pub(crate) async fn wait_for_request(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        self.recorder.wait_for(pred, timeout).await
    }

    pub(crate) fn fail_next(&self, path_contains: &str, failure: Failure) {
        self.failures.push(path_contains, failure);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        (self.on_stop)();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn dispatch<P: Provider>(State(shared): State<Arc<Shared<P>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // A body that cannot be read (too big, client hung up) is recorded as empty; the provider
    // then answers as it would to a request without one.
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    shared.recorder.record(recorded.clone());
    let mut response = match shared.failures.take(&recorded.path) {
        Some(failure) => shared.provider.render_failure(&failure, &recorded),
        None => shared.provider.clone().handle(recorded).await,
    };
    shared.provider.decorate(&mut response);
    response
}

/// A JSON response with the given status.
pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
    bytes(status, "application/json", value.to_string().into_bytes())
}

/// A response with the given status, content type and body.
pub(crate) fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, value);
    }
    response
}

/// Sets a header, silently skipping values that are not valid header text.
pub(crate) fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// The `Failure::Raw` response, identical for every provider.
pub(crate) fn raw(status: u16, content_type: &str, body: &[u8]) -> Response {
    bytes(status, content_type, body.to_vec())
}
