//! Conversation actions: status, snooze, assignment, priority, labels, mute, unread, delete.
//! Every action goes through [`Caixa::apply`] (one conversation or a bulk selection), writes an
//! activity line in the thread in the same transaction, and emits one event per conversation.
//! Snoozed conversations wake on time through [`run_snooze_waker`], also after a restart.

use std::time::Duration;

use crate::caixa::Caixa;
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::{conversations, labels, messages, now_ms};

/// Longest wait between checks for due snoozes (a clock change or a missed wake-up heals).
const WAKER_MAX_SLEEP: Duration = Duration::from_secs(60);

impl Caixa {
    /// Applies one action to each conversation, each in its own transaction: one failing (e.g.
    /// deleted meanwhile) does not stop the others. Returns what happened to each.
    pub async fn apply(
        &self,
        conversation_ids: &[ConversationId],
        action: ConversationAction,
    ) -> Result<Vec<ActionOutcome>> {
        check(&action)?;
        let mut out = Vec::with_capacity(conversation_ids.len());
        for &id in conversation_ids {
            let error = self
                .apply_one(id, &action)
                .await
                .err()
                .map(|e| e.to_string());
            out.push(ActionOutcome {
                conversation_id: id,
                error,
            });
        }
        if matches!(action, ConversationAction::Snooze { .. }) {
            self.inner.snooze_wake.notify_one();
        }
        Ok(out)
    }

    pub(crate) async fn apply_one(
        &self,
        id: ConversationId,
        action: &ConversationAction,
    ) -> Result<()> {
        let (agent, by_bot) = self.acting();
        let updated = !matches!(
            action,
            ConversationAction::MarkUnread | ConversationAction::Delete
        );
        let action = action.clone();
        let now = now_ms();
        let (activity, removed, labels_changed) = self
            .store()
            .write(move |tx| {
                let (inbox_id, _) = conversations::source(tx, id)?;
                let text = match &action {
                    ConversationAction::SetStatus { status } => {
                        conversations::set_status(tx, id, *status)?.map(|old| {
                            match (old, *status) {
                                (_, ConversationStatus::Resolved) => {
                                    format!("{agent} resolved the conversation")
                                }
                                (
                                    ConversationStatus::Resolved | ConversationStatus::Snoozed,
                                    ConversationStatus::Open,
                                ) => format!("{agent} reopened the conversation"),
                                (_, s) => format!("{agent} set the status to {}", s.as_str()),
                            }
                        })
                    }
                    ConversationAction::Snooze { until } => {
                        conversations::snooze(tx, id, *until)?;
                        Some(match until {
                            Some(t) => {
                                format!("{agent} snoozed the conversation until {}", utc_text(*t))
                            }
                            None => format!(
                                "{agent} snoozed the conversation until the customer replies"
                            ),
                        })
                    }
                    ConversationAction::Assign { agent: to } => {
                        let old = conversations::assign(tx, id, to.as_deref())?;
                        (old != *to).then(|| match to {
                            Some(a) if *a == agent => format!("{agent} took the conversation"),
                            Some(a) => format!("{agent} assigned the conversation to {a}"),
                            None => format!("{agent} unassigned the conversation"),
                        })
                    }
                    ConversationAction::SetPriority { priority } => {
                        let before = conversations::get(tx, id)?.priority;
                        conversations::set_priority(tx, id, *priority)?;
                        (before != *priority).then(|| match priority {
                            Priority::None => format!("{agent} removed the priority"),
                            p => format!("{agent} set the priority to {}", p.as_str()),
                        })
                    }
                    ConversationAction::AddLabel { label } => labels::add_to(tx, id, label)?
                        .then(|| format!("{agent} added the label {label}")),
                    ConversationAction::RemoveLabel { label } => {
                        labels::remove_from(tx, id, label)?
                            .then(|| format!("{agent} removed the label {label}"))
                    }
                    ConversationAction::Mute { muted } => {
                        let before = conversations::get(tx, id)?.muted;
                        conversations::set_muted(tx, id, *muted)?;
                        (before != *muted).then(|| {
                            if *muted {
                                format!("{agent} muted the conversation")
                            } else {
                                format!("{agent} unmuted the conversation")
                            }
                        })
                    }
                    ConversationAction::MarkUnread => {
                        conversations::mark_unread(tx, id)?;
                        Some(format!("{agent} marked the conversation as unread"))
                    }
                    ConversationAction::Delete => {
                        conversations::delete(tx, id)?;
                        return Ok((None, true, false));
                    }
                };
                let labels_changed = matches!(action, ConversationAction::AddLabel { .. });
                let Some(text) = text else {
                    return Ok((None, false, false));
                };
                let message = messages::insert(
                    tx,
                    &messages::NewMessage {
                        conversation_id: id,
                        inbox_id,
                        source_id: None,
                        kind: MessageKind::Activity,
                        content: &text,
                        sender_name: Some(&agent),
                        delivery: None,
                        created_at: now,
                        by_bot,
                    },
                )?;
                Ok((message, false, labels_changed))
            })
            .await?;
        let bus = self.events();
        if removed {
            bus.emit(CoreEvent::ConversationRemoved {
                conversation_id: id,
            });
            return Ok(());
        }
        if let Some(message_id) = activity {
            bus.emit(CoreEvent::MessageChanged {
                conversation_id: id,
                message_id,
            });
        }
        bus.emit(CoreEvent::ConversationChanged {
            conversation_id: id,
        });
        if labels_changed {
            bus.emit(CoreEvent::LabelsChanged);
        }
        if updated && activity.is_some() {
            self.trigger(RuleEvent::ConversationUpdated, id, None, false);
        }
        Ok(())
    }

    /// Writes an activity line in the thread (as the acting automation, if any).
    pub(crate) async fn add_activity(
        &self,
        conversation_id: ConversationId,
        text: &str,
    ) -> Result<()> {
        let (agent, by_bot) = self.acting();
        let text = text.to_string();
        let now = now_ms();
        let message_id = self
            .store()
            .write(move |tx| {
                let (inbox_id, _) = conversations::source(tx, conversation_id)?;
                messages::insert(
                    tx,
                    &messages::NewMessage {
                        conversation_id,
                        inbox_id,
                        source_id: None,
                        kind: MessageKind::Activity,
                        content: &text,
                        sender_name: Some(&agent),
                        delivery: None,
                        created_at: now,
                        by_bot,
                    },
                )
            })
            .await?;
        if let Some(message_id) = message_id {
            self.events().emit(CoreEvent::MessageChanged {
                conversation_id,
                message_id,
            });
        }
        Ok(())
    }

    /// Edits a private note; only its author may.
    pub async fn edit_note(&self, message_id: MessageId, content: &str) -> Result<Message> {
        let content = crate::caixa::check_content(content)?;
        let note = self.own_note(message_id).await?;
        let conversation_id = note.conversation_id;
        let edited = self
            .store()
            .write(move |tx| {
                messages::update_note(tx, message_id, &content)?;
                conversations::refresh_preview(tx, conversation_id)?;
                messages::get(tx, message_id)
            })
            .await?;
        self.events().emit(CoreEvent::MessageChanged {
            conversation_id,
            message_id,
        });
        self.events()
            .emit(CoreEvent::ConversationChanged { conversation_id });
        Ok(edited)
    }

    /// Deletes a private note; only its author may.
    pub async fn delete_note(&self, message_id: MessageId) -> Result<()> {
        let note = self.own_note(message_id).await?;
        let conversation_id = note.conversation_id;
        self.store()
            .write(move |tx| {
                messages::delete_note(tx, message_id)?;
                conversations::refresh_preview(tx, conversation_id)
            })
            .await?;
        self.events().emit(CoreEvent::MessageChanged {
            conversation_id,
            message_id,
        });
        self.events()
            .emit(CoreEvent::ConversationChanged { conversation_id });
        Ok(())
    }

    async fn own_note(&self, message_id: MessageId) -> Result<Message> {
        let m = self.get_message(message_id).await?;
        if m.kind != MessageKind::Note {
            return Err(Error::field(
                "message",
                "Only private notes can be edited or deleted.",
            ));
        }
        if m.sender_name.as_deref() != Some(self.config().agent_name.as_str()) {
            return Err(Error::field(
                "message",
                "Only the note's author can change it.",
            ));
        }
        Ok(m)
    }

    pub async fn list_labels(&self) -> Result<Vec<Label>> {
        self.store().read(labels::list).await
    }

    /// Creates a label (or returns the existing one with that name).
    pub async fn create_label(&self, name: &str, color: &str) -> Result<Label> {
        let (name, color) = (check_label(name)?, check_color(color)?);
        let id = self
            .store()
            .write(move |tx| labels::ensure(tx, &name, Some(&color)))
            .await?;
        self.events().emit(CoreEvent::LabelsChanged);
        self.label(id).await
    }

    pub async fn update_label(&self, id: i64, name: &str, color: &str) -> Result<Label> {
        let (name, color) = (check_label(name)?, check_color(color)?);
        self.store()
            .write(move |tx| labels::update(tx, id, &name, &color))
            .await?;
        self.events().emit(CoreEvent::LabelsChanged);
        // Rows show label names.
        self.events().emit(CoreEvent::Resync);
        self.label(id).await
    }

    /// Deletes a label and takes it off every conversation.
    pub async fn delete_label(&self, id: i64) -> Result<()> {
        let touched = self.store().write(move |tx| labels::delete(tx, id)).await?;
        self.events().emit(CoreEvent::LabelsChanged);
        for conversation_id in touched {
            self.events()
                .emit(CoreEvent::ConversationChanged { conversation_id });
        }
        Ok(())
    }

    async fn label(&self, id: i64) -> Result<Label> {
        self.list_labels()
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or(Error::NotFound("label"))
    }

    /// Agents this app knows: the local user first, then everyone conversations are assigned
    /// to.
    pub async fn list_agents(&self) -> Result<Vec<String>> {
        let me = self.config().agent_name.clone();
        let mut others: Vec<String> = self
            .store()
            .read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT DISTINCT assignee FROM conversations WHERE assignee IS NOT NULL
                     ORDER BY assignee COLLATE NOCASE",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
            })
            .await?;
        others.retain(|a| *a != me);
        others.insert(0, me);
        Ok(others)
    }
}

pub(crate) fn check(action: &ConversationAction) -> Result<()> {
    match action {
        ConversationAction::Snooze { until: Some(t) } if *t <= now_ms() => Err(Error::field(
            "until",
            "Pick a time in the future to snooze until.",
        )),
        ConversationAction::Assign { agent: Some(a) } if a.trim().is_empty() => {
            Err(Error::field("agent", "Name the agent to assign to."))
        }
        ConversationAction::AddLabel { label } | ConversationAction::RemoveLabel { label } => {
            check_label(label).map(|_| ())
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_label(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::field("name", "Give the label a name."));
    }
    if name.chars().count() > 50 {
        return Err(Error::field("name", "Use at most 50 characters."));
    }
    Ok(name.to_string())
}

fn check_color(color: &str) -> Result<String> {
    let c = color.trim().to_lowercase();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(Error::field("color", "Pick a colour like #1f6feb."));
    }
    Ok(c)
}

/// `2026-11-30 09:00 UTC`: activity lines are stored text, read by every agent.
fn utc_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Reopens snoozed conversations when their time comes (and at start, those whose time passed
/// while the app was closed).
pub async fn run_snooze_waker(caixa: Caixa) {
    let shutdown = caixa.inner.shutdown.clone();
    loop {
        let now = now_ms();
        let woken = caixa
            .store()
            .write(move |tx| {
                let ids = conversations::wake_due(tx, now)?;
                for id in &ids {
                    let (inbox_id, _) = conversations::source(tx, *id)?;
                    messages::insert(
                        tx,
                        &messages::NewMessage {
                            conversation_id: *id,
                            inbox_id,
                            source_id: None,
                            kind: MessageKind::Activity,
                            content: "The snooze ended; the conversation is open again",
                            sender_name: None,
                            delivery: None,
                            created_at: now,
                            by_bot: false,
                        },
                    )?;
                }
                Ok(ids)
            })
            .await;
        match woken {
            Ok(ids) => {
                for conversation_id in ids {
                    caixa
                        .events()
                        .emit(CoreEvent::ConversationChanged { conversation_id });
                    // Waking up is a status change like any other: rules may act on it.
                    caixa.trigger(RuleEvent::ConversationUpdated, conversation_id, None, false);
                }
            }
            Err(e) => tracing::error!("snooze: cannot wake conversations: {e}"),
        }
        let next = caixa
            .store()
            .read(conversations::next_wake_at)
            .await
            .ok()
            .flatten();
        let sleep = next
            .map(|t| Duration::from_millis((t - now_ms()).max(0) as u64))
            .unwrap_or(WAKER_MAX_SLEEP)
            .min(WAKER_MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(sleep) => {}
            _ = caixa.inner.snooze_wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::utc_text;

    #[test]
    fn activity_times() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(1_796_029_200_000), "2026-11-30 09:00 UTC");
    }
}
