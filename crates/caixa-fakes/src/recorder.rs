//! What every fake remembers about the requests it received, and a way to wait for one.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// One HTTP request exactly as a fake received it (also kept when the fake rejected it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Upper-case HTTP method, e.g. `POST`.
    pub method: String,
    /// The path as sent on the wire (still percent-encoded), e.g. `/bot1:AA/sendMessage`.
    pub path: String,
    /// The raw query string without `?` (empty when there is none).
    pub query: String,
    /// Header names are lower-case (HTTP/1 names are case-insensitive); values lossily decoded.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body parsed as `application/x-www-form-urlencoded`, in order, repeated keys kept.
    pub fn body_form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The query string decoded into pairs, in order, repeated keys kept.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for assertions and debugging.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The request log shared by a fake's server task and its test-side handle.
pub(crate) struct Recorder {
    log: Mutex<Vec<Recorded>>,
    // Bumped on every new request so waiters wake without polling.
    changed: watch::Sender<u64>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            log: Mutex::new(Vec::new()),
            changed: watch::Sender::new(0),
        }
    }

    pub(crate) fn record(&self, request: Recorded) {
        lock(&self.log).push(request);
        self.changed.send_modify(|n| *n += 1);
    }

    pub(crate) fn all(&self) -> Vec<Recorded> {
        lock(&self.log).clone()
    }

    pub(crate) fn clear(&self) {
        lock(&self.log).clear();
    }

    /// The first recorded request (already received or arriving before `timeout`) that
    /// satisfies `pred`. Looking at past requests too means a test cannot miss a request that
    /// arrived before it started waiting.
    pub(crate) async fn wait_for(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribing before the first look means no request can slip between look and wait.
        let mut rx = self.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if let Some(found) = lock(&self.log).iter().find(|r| pred(r)) {
                return Some(found.clone());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return None,
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning: a panicking test thread must not take the fake down too.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
