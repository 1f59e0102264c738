//! Macros: named, ordered steps (conversation actions, notes, messages) run on one or more
//! conversations with one click. A run stops at the first failing step of a conversation and
//! says which one and why; the steps before it stay applied (each wrote its activity line).

use crate::actions;
use crate::caixa::{check_content, Caixa};
use crate::canned::unknown_variables;
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::{macros, now_ms};

const MAX_STEPS: usize = 50;

impl Caixa {
    pub async fn list_macros(&self) -> Result<Vec<Macro>> {
        self.store().read(macros::list).await
    }

    /// Creates (`id` = `None`) or replaces a macro, after checking every step.
    pub async fn save_macro(
        &self,
        id: Option<i64>,
        name: &str,
        steps: Vec<MacroStep>,
    ) -> Result<Macro> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::field(
                "name",
                "Give the macro a name (at most 100 characters).",
            ));
        }
        check_steps(&steps)?;
        let now = now_ms();
        let id = self
            .store()
            .write(move |tx| macros::save(tx, id, &name, &steps, now))
            .await?;
        self.events().emit(CoreEvent::MacrosChanged);
        self.store().read(move |c| macros::get(c, id)).await
    }

    pub async fn delete_macro(&self, id: i64) -> Result<()> {
        self.store().write(move |tx| macros::delete(tx, id)).await?;
        self.events().emit(CoreEvent::MacrosChanged);
        Ok(())
    }

    /// Runs a macro on each conversation, step by step.
    pub async fn run_macro(
        &self,
        id: i64,
        conversation_ids: &[ConversationId],
    ) -> Result<Vec<MacroRun>> {
        let m = self.store().read(move |c| macros::get(c, id)).await?;
        let mut runs = Vec::with_capacity(conversation_ids.len());
        for &conversation_id in conversation_ids {
            let mut steps = Vec::with_capacity(m.steps.len());
            for step in &m.steps {
                let error = self
                    .run_step(conversation_id, step)
                    .await
                    .err()
                    .map(|e| e.to_string());
                let failed = error.is_some();
                steps.push(ActionOutcome {
                    conversation_id,
                    error,
                });
                if failed {
                    break;
                }
            }
            let completed = steps.len() == m.steps.len() && steps.iter().all(|s| s.error.is_none());
            runs.push(MacroRun {
                conversation_id,
                steps,
                completed,
            });
        }
        Ok(runs)
    }

    /// Runs steps in order, stopping at the first failure (its error names the step).
    pub(crate) async fn run_steps(
        &self,
        conversation_id: ConversationId,
        steps: &[MacroStep],
    ) -> Result<()> {
        for (i, step) in steps.iter().enumerate() {
            self.run_step(conversation_id, step)
                .await
                .map_err(|e| Error::Conflict(format!("step {} failed: {e}", i + 1)))?;
        }
        Ok(())
    }

    async fn run_step(&self, conversation_id: ConversationId, step: &MacroStep) -> Result<()> {
        match step {
            MacroStep::Action { action } => self.apply_one(conversation_id, action).await,
            MacroStep::SnoozeFor { minutes } => {
                let until = now_ms() + i64::from(*minutes) * 60_000;
                self.apply_one(
                    conversation_id,
                    &ConversationAction::Snooze { until: Some(until) },
                )
                .await?;
                self.inner.snooze_wake.notify_one();
                Ok(())
            }
            MacroStep::AddNote { text } | MacroStep::SendMessage { text } => {
                let private = matches!(step, MacroStep::AddNote { .. });
                let text = self.render_reply(conversation_id, text).await?;
                self.send_message(conversation_id, &text, private, &[])
                    .await
                    .map(|_| ())
            }
            MacroStep::RunMacro { macro_id } => {
                let id = *macro_id;
                let m = self.store().read(move |c| macros::get(c, id)).await?;
                // Saved macros never hold `run_macro`, so this recursion is one level deep.
                Box::pin(self.run_steps(conversation_id, &m.steps)).await
            }
        }
    }
}

/// Refuses a macro that could not run as written, naming the step (1-based).
fn check_steps(steps: &[MacroStep]) -> Result<()> {
    check_step_list("steps", steps, |step| match step {
        MacroStep::RunMacro { .. } => Some("a macro cannot run another macro".into()),
        _ => None,
    })
}

/// Checks a list of steps (macro or automation rule); `special` judges the steps only some
/// lists allow (`run_macro`) before the common checks.
pub(crate) fn check_step_list(
    field: &str,
    steps: &[MacroStep],
    special: impl Fn(&MacroStep) -> Option<String>,
) -> Result<()> {
    if steps.is_empty() {
        return Err(Error::field(field, "Add at least one step."));
    }
    if steps.len() > MAX_STEPS {
        return Err(Error::field(field, format!("At most {MAX_STEPS} steps.")));
    }
    for (i, step) in steps.iter().enumerate() {
        if let Some(p) = special(step).or_else(|| check_step(step)) {
            return Err(Error::field(field, format!("Step {}: {p}.", i + 1)));
        }
    }
    Ok(())
}

fn check_step(step: &MacroStep) -> Option<String> {
    match step {
        MacroStep::Action {
            action: ConversationAction::Delete,
        } => Some("deleting a conversation cannot be automated".to_string()),
        MacroStep::Action {
            action: ConversationAction::Snooze { until: Some(_) },
        } => Some("snooze for a while (minutes), not until a fixed time".to_string()),
        MacroStep::Action { action } => actions::check(action).err().map(|e| e.to_string()),
        MacroStep::SnoozeFor { minutes } if *minutes == 0 || *minutes > 60 * 24 * 365 => {
            Some("snooze for between 1 minute and a year".to_string())
        }
        MacroStep::SnoozeFor { .. } | MacroStep::RunMacro { .. } => None,
        MacroStep::AddNote { text } | MacroStep::SendMessage { text } => {
            match check_content(text) {
                Err(e) => Some(e.to_string()),
                Ok(_) => {
                    let unknown = unknown_variables(text);
                    (!unknown.is_empty())
                        .then(|| format!("unknown variable {{{{{}}}}}", unknown.join("}}, {{")))
                }
            }
        }
    }
}
