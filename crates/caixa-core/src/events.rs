//! The core's event bus: a bounded broadcast of [`CoreEvent`]s. A listener that falls behind
//! receives [`CoreEvent::Resync`] instead of an error, and refetches what it shows.

use tokio::sync::broadcast;

use crate::model::CoreEvent;

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<CoreEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        EventBus { tx }
    }

    pub fn emit(&self, event: CoreEvent) {
        tracing::trace!(?event, "event");
        // No listener is fine: nobody is looking.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
        }
    }
}

pub struct Subscription {
    rx: broadcast::Receiver<CoreEvent>,
}

impl Subscription {
    /// The next event, or `None` when the bus is gone.
    pub async fn recv(&mut self) -> Option<CoreEvent> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(dropped = n, "event listener lagged; asking it to resync");
                Some(CoreEvent::Resync)
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}
