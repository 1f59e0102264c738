//! Website live chat, sending side: replies are pushed to the visitor's open widgets through
//! the [`WidgetHub`]; a visitor who is away gets them from the history on return.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::model::{Delivery, InboxId, Message, MessageKind};

use super::Sent;

/// A message as the visitor sees it. Notes and activity never become one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WidgetMessage {
    pub id: i64,
    /// `visitor` or `agent`
    pub author: &'static str,
    pub content: String,
    pub sender_name: Option<String>,
    pub created_at: i64,
}

impl WidgetMessage {
    /// `None` for anything the visitor must not see.
    pub fn from_message(m: &Message) -> Option<WidgetMessage> {
        let author = match m.kind {
            MessageKind::Incoming => "visitor",
            MessageKind::Outgoing => "agent",
            MessageKind::Note | MessageKind::Activity => return None,
        };
        Some(WidgetMessage {
            id: m.id,
            author,
            content: m.content.clone(),
            sender_name: m.sender_name.clone(),
            created_at: m.created_at,
        })
    }
}

/// A visitor's thread: the inbox and the visitor token (the conversation's thread key). Keyed by
/// this rather than by conversation id so a widget can listen before its first message.
pub type Thread = (InboxId, String);

/// Open widget sockets by visitor thread.
#[derive(Default)]
pub struct WidgetHub {
    channels: Mutex<HashMap<Thread, broadcast::Sender<WidgetMessage>>>,
}

impl WidgetHub {
    pub fn subscribe(&self, thread: Thread) -> broadcast::Receiver<WidgetMessage> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(thread)
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Pushes to every open widget of the conversation; returns how many got it.
    pub fn publish(&self, thread: &Thread, message: WidgetMessage) -> usize {
        let map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.get(thread)
            .and_then(|tx| tx.send(message).ok())
            .unwrap_or(0)
    }
}

/// Sends an agent reply to the visitor.
pub fn send(hub: &WidgetHub, thread: &Thread, message: WidgetMessage) -> Sent {
    let receivers = hub.publish(thread, message);
    Sent {
        // Delivered: an open widget has it on screen. Sent: it waits in the history.
        delivery: if receivers > 0 {
            Delivery::Delivered
        } else {
            Delivery::Sent
        },
        source_id: None,
    }
}
