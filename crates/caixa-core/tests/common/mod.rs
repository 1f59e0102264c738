//! Helpers shared by the core's integration tests (each test file includes this module).

use std::future::Future;
use std::time::Duration;

/// Polls `check` every 20 ms until it yields a value; fails the test after `within`, naming
/// `what` was awaited. For state reached through the engine's own tasks (workers, outbox),
/// which tests cannot await directly.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Gives the engine's gateway a free loopback port and makes that its public address, as a
/// reverse proxy would: providers that fetch reply files by link (Twilio, LINE, Instagram)
/// reach it there. Returns the public base URL.
#[allow(dead_code)] // every test crate includes this module; not all send files by link
pub fn public_gateway(cfg: &mut caixa_core::Config) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.listen = Some(([127, 0, 0, 1], port).into());
    let url = format!("http://127.0.0.1:{port}");
    cfg.public_url = Some(url.clone());
    url
}
