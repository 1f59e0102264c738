//! Automation rules: saved in order, checked on save, evaluated by the automation worker.

use wildmatch::WildMatch;

use super::{Trigger, MAX_DEPTH};
use crate::caixa::Caixa;
use crate::error::{Error, Result};
use crate::macros::check_step_list;
use crate::model::*;
use crate::store::{bots, contacts, conversations, messages, now_ms, rules};

const MAX_CONDITIONS: usize = 20;

impl Caixa {
    /// Every rule, in the order they run.
    pub async fn list_rules(&self) -> Result<Vec<AutomationRule>> {
        self.store().read(rules::list).await
    }

    /// Creates (`id` = `None`, run last) or replaces a rule, after checking it.
    pub async fn save_rule(&self, id: Option<i64>, input: RuleInput) -> Result<AutomationRule> {
        let input = RuleInput {
            name: input.name.trim().to_string(),
            ..input
        };
        let macro_ids: Vec<i64> = self
            .list_macros()
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        check_rule(&input, &macro_ids)?;
        let now = now_ms();
        let id = self
            .store()
            .write(move |tx| rules::save(tx, id, &input, now))
            .await?;
        self.events().emit(CoreEvent::RulesChanged);
        self.store().read(move |c| rules::get(c, id)).await
    }

    /// Sets the order rules run in; `ids` lists every rule once.
    pub async fn reorder_rules(&self, ids: Vec<i64>) -> Result<Vec<AutomationRule>> {
        self.store()
            .write(move |tx| rules::reorder(tx, &ids))
            .await?;
        self.events().emit(CoreEvent::RulesChanged);
        self.list_rules().await
    }

    pub async fn delete_rule(&self, id: i64) -> Result<()> {
        self.store().write(move |tx| rules::delete(tx, id)).await?;
        self.events().emit(CoreEvent::RulesChanged);
        Ok(())
    }
}

/// Refuses a rule that could not run as written.
fn check_rule(rule: &RuleInput, macro_ids: &[i64]) -> Result<()> {
    if rule.name.is_empty() || rule.name.chars().count() > 100 {
        return Err(Error::field(
            "name",
            "Give the rule a name (at most 100 characters).",
        ));
    }
    if rule.conditions.len() > MAX_CONDITIONS {
        return Err(Error::field(
            "conditions",
            format!("A rule has at most {MAX_CONDITIONS} conditions."),
        ));
    }
    for (i, c) in rule.conditions.iter().enumerate() {
        if let Some(p) = condition_problem(c, rule.event) {
            return Err(Error::field(
                "conditions",
                format!("Condition {}: {p}.", i + 1),
            ));
        }
    }
    check_step_list("actions", &rule.actions, |step| match step {
        MacroStep::RunMacro { macro_id } if !macro_ids.contains(macro_id) => {
            Some("that macro does not exist (any more)".into())
        }
        _ => None,
    })
}

fn condition_problem(c: &RuleCondition, event: RuleEvent) -> Option<String> {
    let blank = |s: &str| s.trim().is_empty();
    match c {
        RuleCondition::Inbox { inbox_ids } if inbox_ids.is_empty() => {
            Some("choose at least one inbox".into())
        }
        RuleCondition::ChannelKind { kinds } if kinds.is_empty() => {
            Some("choose at least one channel".into())
        }
        RuleCondition::Status { statuses } if statuses.is_empty() => {
            Some("choose at least one status".into())
        }
        RuleCondition::MessageContains { .. } if event == RuleEvent::ConversationUpdated => Some(
            "“message contains” needs a message: use it with “message received” or “conversation created”".into(),
        ),
        RuleCondition::MessageContains { words }
            if words.is_empty() || words.iter().any(|w| blank(w)) =>
        {
            Some("write the words to look for (none may be empty)".into())
        }
        RuleCondition::ContactEmail { pattern } | RuleCondition::ContactPhone { pattern }
            if blank(pattern) =>
        {
            Some("write a pattern, e.g. *@example.com or +55*".into())
        }
        RuleCondition::Label { label, .. } if blank(label) => Some("choose a label".into()),
        _ => None,
    }
}

/// What conditions are judged on, read fresh for each rule (an earlier rule may have changed
/// the conversation).
struct Facts {
    conversation: ConversationRow,
    email: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    business_hours: Option<BusinessHours>,
}

async fn facts(caixa: &Caixa, t: &Trigger) -> Result<Option<Facts>> {
    let (conversation_id, message_id) = (t.conversation_id, t.message_id);
    caixa
        .store()
        .read(move |c| {
            let conversation = match conversations::get(c, conversation_id) {
                Ok(row) => row,
                Err(Error::NotFound(_)) => return Ok(None), // deleted meanwhile
                Err(e) => return Err(e),
            };
            let contact = contacts::get(c, conversation.contact_id)?;
            let message = match message_id {
                Some(id) => Some(messages::get(c, id)?.content),
                None => None,
            };
            let business_hours = bots::get(c, conversation.inbox_id)?.business_hours;
            Ok(Some(Facts {
                conversation,
                email: contact.email,
                phone: contact.phone,
                message,
                business_hours,
            }))
        })
        .await
}

fn holds(c: &RuleCondition, f: &Facts, now: i64) -> bool {
    let matches = |pattern: &str, value: &Option<String>| {
        value.as_deref().is_some_and(|v| {
            WildMatch::new(&pattern.trim().to_lowercase()).matches(&v.trim().to_lowercase())
        })
    };
    match c {
        RuleCondition::Inbox { inbox_ids } => inbox_ids.contains(&f.conversation.inbox_id),
        RuleCondition::ChannelKind { kinds } => kinds.contains(&f.conversation.channel),
        RuleCondition::MessageContains { words } => f.message.as_deref().is_some_and(|m| {
            let m = m.to_lowercase();
            words.iter().any(|w| m.contains(&w.trim().to_lowercase()))
        }),
        RuleCondition::ContactEmail { pattern } => matches(pattern, &f.email),
        RuleCondition::ContactPhone { pattern } => matches(pattern, &f.phone),
        RuleCondition::Status { statuses } => statuses.contains(&f.conversation.status),
        RuleCondition::Label { label, present } => {
            let has = f
                .conversation
                .labels
                .iter()
                .any(|l| l.eq_ignore_ascii_case(label.trim()));
            has == *present
        }
        RuleCondition::BusinessHours { inside } => {
            let open = f
                .business_hours
                .as_ref()
                .is_none_or(|h| super::hours::is_open(h, now));
            open == *inside
        }
    }
}

/// Runs the enabled rules listening to the trigger's event, in order.
pub(super) async fn run(caixa: &Caixa, t: &Trigger) -> Result<()> {
    let event = t.event;
    let list = caixa
        .store()
        .read(move |c| rules::for_event(c, event))
        .await?;
    if list.is_empty() {
        return Ok(());
    }
    if t.chain.depth >= MAX_DEPTH {
        tracing::warn!(
            conversation = t.conversation_id,
            "automation stopped: {MAX_DEPTH} rules in a row set each other off"
        );
        return Ok(());
    }
    for rule in list {
        if t.chain.fired.contains(&rule.id) {
            tracing::debug!(rule = rule.id, "loop guard: rule already ran in this chain");
            continue;
        }
        let Some(f) = facts(caixa, t).await? else {
            return Ok(());
        };
        let now = now_ms();
        if !rule.conditions.iter().all(|c| holds(c, &f, now)) {
            continue;
        }
        let actor = format!("Rule “{}”", rule.name);
        let chain = t.chain.child(actor.clone(), Some(rule.id));
        tracing::info!(
            rule = rule.id,
            conversation = t.conversation_id,
            "automation rule runs"
        );
        let conversation_id = t.conversation_id;
        chain
            .scope(async {
                if let Err(e) = caixa.run_steps(conversation_id, &rule.actions).await {
                    // In the thread, not only in a log: the agent must know it half ran. Written
                    // as the rule, like its other lines.
                    let text = format!("{actor} stopped: {e}");
                    caixa.add_activity(conversation_id, &text).await?;
                }
                Ok::<(), crate::Error>(())
            })
            .await?;
    }
    Ok(())
}
