//! Automation: rules and the per-inbox chatbot, run in the core by one worker, in order.
//!
//! Customer messages and conversation actions queue a [`Trigger`]; the worker evaluates the
//! rules listening to it ([`rules`]) and then the inbox's bot ([`bot`]). What an automation
//! does runs inside a [`Chain`] (a task-local), so the actions it takes know who did them (the
//! activity line says "Rule VIP …" or "Bot …", messages are marked as by the bot) and the
//! triggers they cause carry the chain on. The loop guard lives there: a rule fires at most
//! once per chain and chains stop at [`MAX_DEPTH`], so rules that undo each other end.

mod agent_bot;
mod bot;
pub mod hours;
mod rules;

use std::sync::Mutex;

use tokio::sync::{mpsc, watch};

use crate::caixa::Caixa;
use crate::model::{ConversationId, MessageId, RuleEvent};

/// How many automation steps may follow from one customer message or agent action.
pub const MAX_DEPTH: u8 = 5;

/// Something happened that rules and the bot may react to.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub event: RuleEvent,
    pub conversation_id: ConversationId,
    /// The customer's message (`conversation_created`, `message_received`).
    pub message_id: Option<MessageId>,
    /// `message_received` for the message that created the conversation.
    pub first: bool,
    pub chain: Chain,
}

/// Who is acting and what already fired, for everything one trigger sets off.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chain {
    pub depth: u8,
    /// Rules that already ran in this chain.
    pub fired: Vec<i64>,
    /// `None`: the local agent (not automation).
    pub actor: Option<String>,
}

tokio::task_local! {
    static CHAIN: Chain;
}

impl Chain {
    /// The chain of the running task (a plain default for an agent's own actions).
    pub fn current() -> Chain {
        CHAIN.try_with(Clone::clone).unwrap_or_default()
    }

    /// Who is acting, when it is automation.
    pub fn actor() -> Option<String> {
        CHAIN.try_with(|c| c.actor.clone()).ok().flatten()
    }

    fn child(&self, actor: String, rule: Option<i64>) -> Chain {
        let mut fired = self.fired.clone();
        fired.extend(rule);
        Chain {
            depth: self.depth + 1,
            fired,
            actor: Some(actor),
        }
    }

    /// Runs `f` as this chain's actor.
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        CHAIN.scope(self, f).await
    }
}

/// The queue between the places that cause triggers and the one worker that runs them.
pub(crate) struct Queue {
    tx: mpsc::UnboundedSender<Trigger>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Trigger>>>,
    /// Triggers queued and not yet finished (tests wait for 0).
    pending: watch::Sender<usize>,
}

impl Default for Queue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Queue {
            tx,
            rx: Mutex::new(Some(rx)),
            pending: watch::Sender::new(0),
        }
    }
}

impl Caixa {
    /// Who acts now, and whether it is automation: a rule or the bot inside an automation
    /// chain, else the local agent.
    pub(crate) fn acting(&self) -> (String, bool) {
        match Chain::actor() {
            Some(actor) => (actor, true),
            None => (self.config().agent_name.clone(), false),
        }
    }

    /// Queues a trigger for the automation worker (only while the engine runs: the CLI's
    /// one-shot commands and a first sync of old mail do not set off automation).
    pub(crate) fn trigger(
        &self,
        event: RuleEvent,
        conversation_id: ConversationId,
        message_id: Option<MessageId>,
        first: bool,
    ) {
        if !self.is_started() {
            return;
        }
        let q = &self.inner.automation;
        q.pending.send_modify(|n| *n += 1);
        let t = Trigger {
            event,
            conversation_id,
            message_id,
            first,
            chain: Chain::current(),
        };
        if q.tx.send(t).is_err() {
            q.pending.send_modify(|n| *n -= 1);
        }
    }

    /// Queues the triggers of a customer message just stored.
    pub(crate) fn trigger_incoming(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
        new_conversation: bool,
    ) {
        if new_conversation {
            self.trigger(
                RuleEvent::ConversationCreated,
                conversation_id,
                Some(message_id),
                true,
            );
        }
        self.trigger(
            RuleEvent::MessageReceived,
            conversation_id,
            Some(message_id),
            new_conversation,
        );
    }

    /// Waits until every queued trigger was handled, including those it caused.
    pub async fn settle_automation(&self) {
        let mut rx = self.inner.automation.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// The automation worker: handles triggers one at a time, in the order they came.
pub(crate) async fn run(caixa: Caixa) {
    let Some(mut rx) = caixa
        .inner
        .automation
        .rx
        .lock()
        .ok()
        .and_then(|mut r| r.take())
    else {
        return;
    };
    let shutdown = caixa.inner.shutdown.clone();
    loop {
        let t = tokio::select! {
            _ = shutdown.cancelled() => return,
            t = rx.recv() => match t { Some(t) => t, None => return },
        };
        if let Err(e) = rules::run(&caixa, &t).await {
            tracing::warn!(conversation = t.conversation_id, "automation rules: {e}");
        }
        if let Err(e) = bot::run(&caixa, &t).await {
            tracing::warn!(conversation = t.conversation_id, "chatbot: {e}");
        }
        caixa.inner.automation.pending.send_modify(|n| *n -= 1);
    }
}
