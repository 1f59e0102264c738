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
