//! Automation rules: events, every condition, macro steps and `run_macro`, the order rules
//! run in, the loop guard, a failing step that stops a rule and says so in the thread, and
//! refused bad definitions.

use std::time::Duration;

use caixa_core::caixa::IncomingOwned;
use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, Error, Running};

async fn start(dir: &tempfile::TempDir) -> (Caixa, Running) {
    let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
    cfg.agent_name = "Ana".into();
    let caixa = Caixa::open(cfg).unwrap();
    let running = caixa.start().await.unwrap();
    (caixa, running)
}

async fn api_inbox(caixa: &Caixa, name: &str) -> InboxId {
    caixa
        .add_inbox(InboxInput {
            name: name.into(),
            settings: InboxSettings::Api(ApiSettings { webhook_url: None }),
            password: None,
            webhook_secret: None,
        })
        .await
        .unwrap()
        .inbox
        .id
}

async fn writes(
    caixa: &Caixa,
    inbox: InboxId,
    who: &str,
    email: Option<&str>,
    text: &str,
) -> ConversationId {
    let id = caixa
        .ingest(IncomingOwned {
            inbox_id: inbox,
            contact_key: who.into(),
            contact_name: who.into(),
            contact_email: email.map(Into::into),
            contact_phone: None,
            thread_key: who.into(),
            source_id: None,
            content: text.into(),
            created_at: caixa_core::store::now_ms(),
            files: Vec::new(),
        })
        .await
        .unwrap()
        .conversation_id;
    settle(caixa).await;
    id
}

/// Everything automation set off is done (bounded: a runaway loop fails the test).
async fn settle(caixa: &Caixa) {
    tokio::time::timeout(Duration::from_secs(10), caixa.settle_automation())
        .await
        .expect("automation settled");
}

async fn thread(caixa: &Caixa, id: ConversationId, kind: MessageKind) -> Vec<Message> {
    caixa
        .list_messages(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == kind)
        .collect()
}

fn rule(
    name: &str,
    event: RuleEvent,
    conditions: Vec<RuleCondition>,
    actions: Vec<MacroStep>,
) -> RuleInput {
    RuleInput {
        name: name.into(),
        enabled: true,
        event,
        conditions,
        actions,
    }
}

fn act(action: ConversationAction) -> MacroStep {
    MacroStep::Action { action }
}

fn label(l: &str) -> ConversationAction {
    ConversationAction::AddLabel { label: l.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_runs_when_all_its_conditions_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let shop = api_inbox(&caixa, "Shop").await;
    let other = api_inbox(&caixa, "Other").await;
    caixa
        .save_rule(
            None,
            rule(
                "VIP refunds",
                RuleEvent::MessageReceived,
                vec![
                    RuleCondition::Inbox {
                        inbox_ids: vec![shop],
                    },
                    RuleCondition::ChannelKind {
                        kinds: vec![ChannelKind::Api],
                    },
                    RuleCondition::MessageContains {
                        words: vec!["refund".into(), "reembolso".into()],
                    },
                    RuleCondition::ContactEmail {
                        pattern: "*@VIP.example".into(),
                    },
                    RuleCondition::Status {
                        statuses: vec![ConversationStatus::Open],
                    },
                    RuleCondition::Label {
                        label: "spam".into(),
                        present: false,
                    },
                ],
                vec![
                    act(label("refund")),
                    act(ConversationAction::SetPriority {
                        priority: Priority::High,
                    }),
                    act(ConversationAction::Assign {
                        agent: Some("Bia".into()),
                    }),
                    MacroStep::AddNote {
                        text: "{{contact.name}} is a VIP asking for a refund".into(),
                    },
                ],
            ),
        )
        .await
        .unwrap();

    let hit = writes(
        &caixa,
        shop,
        "rita",
        Some("rita@vip.example"),
        "I want a REFUND please",
    )
    .await;
    let row = caixa.get_conversation(hit).await.unwrap();
    assert_eq!(row.labels, vec!["refund".to_string()]);
    assert_eq!(row.priority, Priority::High);
    assert_eq!(row.assignee.as_deref(), Some("Bia"));
    let notes = thread(&caixa, hit, MessageKind::Note).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].content, "rita is a VIP asking for a refund");
    assert!(notes[0].by_bot);
    assert_eq!(notes[0].sender_name.as_deref(), Some("Rule “VIP refunds”"));
    let activity: Vec<String> = thread(&caixa, hit, MessageKind::Activity)
        .await
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert!(
        activity.contains(&"Rule “VIP refunds” added the label refund".to_string()),
        "{activity:?}"
    );

    // Each condition that fails keeps the rule off.
    let misses = [
        writes(
            &caixa,
            shop,
            "joao",
            Some("joao@other.example"),
            "refund now",
        )
        .await,
        writes(
            &caixa,
            shop,
            "lia",
            Some("lia@vip.example"),
            "where is my parcel?",
        )
        .await,
        writes(&caixa, other, "rui", Some("rui@vip.example"), "refund").await,
    ];
    for id in misses {
        let row = caixa.get_conversation(id).await.unwrap();
        assert!(row.labels.is_empty(), "{row:?}");
        assert_eq!(row.priority, Priority::None);
        assert!(thread(&caixa, id, MessageKind::Note).await.is_empty());
    }

    // The label condition: a conversation carrying "spam" is left alone.
    let spam = writes(&caixa, shop, "bot", Some("x@vip.example"), "hello").await;
    caixa.apply(&[spam], label("spam")).await.unwrap();
    writes(&caixa, shop, "bot", Some("x@vip.example"), "refund").await;
    assert_eq!(
        caixa.get_conversation(spam).await.unwrap().labels,
        vec!["spam".to_string()]
    );

    // A disabled rule does nothing.
    let r = caixa.list_rules().await.unwrap().remove(0);
    caixa
        .save_rule(
            Some(r.id),
            RuleInput {
                name: r.name,
                enabled: false,
                event: r.event,
                conditions: r.conditions,
                actions: r.actions,
            },
        )
        .await
        .unwrap();
    let off = writes(&caixa, shop, "eva", Some("eva@vip.example"), "refund").await;
    assert!(caixa.get_conversation(off).await.unwrap().labels.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_fires_once_and_messages_by_rules_are_marked() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let shop = api_inbox(&caixa, "Shop").await;
    caixa
        .save_rule(
            None,
            rule(
                "Welcome",
                RuleEvent::ConversationCreated,
                vec![],
                vec![MacroStep::SendMessage {
                    text: "Thanks {{contact.first_name}}, we got it.".into(),
                }],
            ),
        )
        .await
        .unwrap();
    let id = writes(&caixa, shop, "Rita Lopes", None, "hello").await;
    writes(&caixa, shop, "Rita Lopes", None, "are you there?").await;
    let out = thread(&caixa, id, MessageKind::Outgoing).await;
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].content, "Thanks Rita, we got it.");
    assert!(out[0].by_bot);
    assert_eq!(out[0].sender_name.as_deref(), Some("Rule “Welcome”"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_that_set_each_other_off_stop() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let shop = api_inbox(&caixa, "Shop").await;
    let updated = |name: &str, when: &str, remove: &str, add: &str| {
        rule(
            name,
            RuleEvent::ConversationUpdated,
            vec![RuleCondition::Label {
                label: when.into(),
                present: true,
            }],
            vec![
                act(ConversationAction::RemoveLabel {
                    label: remove.into(),
                }),
                act(label(add)),
            ],
        )
    };
    caixa
        .save_rule(None, updated("a to b", "a", "a", "b"))
        .await
        .unwrap();
    caixa
        .save_rule(None, updated("b to a", "b", "b", "a"))
        .await
        .unwrap();
    // A rule that changes what it listens to: it must not feed itself.
    caixa
        .save_rule(
            None,
            rule(
                "Escalate on any change",
                RuleEvent::ConversationUpdated,
                vec![],
                vec![act(ConversationAction::SetPriority {
                    priority: Priority::Urgent,
                })],
            ),
        )
        .await
        .unwrap();
    let id = writes(&caixa, shop, "rita", None, "hi").await;
    caixa.apply(&[id], label("a")).await.unwrap();
    settle(&caixa).await;

    let activity: Vec<String> = thread(&caixa, id, MessageKind::Activity)
        .await
        .into_iter()
        .map(|m| m.content)
        .collect();
    let by_rules = activity.iter().filter(|a| a.starts_with("Rule")).count();
    assert!((3..=12).contains(&by_rules), "{activity:#?}");
    let escalations = activity
        .iter()
        .filter(|a| a.contains("set the priority to urgent"))
        .count();
    assert_eq!(escalations, 1, "{activity:#?}");
    let row = caixa.get_conversation(id).await.unwrap();
    assert_eq!(row.priority, Priority::Urgent);
    assert_eq!(
        row.labels.len(),
        1,
        "exactly one of a/b remains: {:?}",
        row.labels
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_run_in_order_and_a_failing_step_stops_its_rule_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let shop = api_inbox(&caixa, "Shop").await;
    let resolve = caixa
        .save_macro(
            None,
            "Resolve",
            vec![act(ConversationAction::SetStatus {
                status: ConversationStatus::Resolved,
            })],
        )
        .await
        .unwrap();
    let doomed = caixa
        .save_macro(None, "Doomed", vec![act(label("never"))])
        .await
        .unwrap();
    let first = caixa
        .save_rule(
            None,
            rule(
                "Tag",
                RuleEvent::MessageReceived,
                vec![RuleCondition::Status {
                    statuses: vec![ConversationStatus::Open],
                }],
                vec![
                    act(label("seen")),
                    MacroStep::RunMacro {
                        macro_id: doomed.id,
                    },
                    act(label("after")),
                ],
            ),
        )
        .await
        .unwrap();
    let second = caixa
        .save_rule(
            None,
            rule(
                "Close thanks",
                RuleEvent::MessageReceived,
                vec![RuleCondition::MessageContains {
                    words: vec!["thanks".into()],
                }],
                vec![MacroStep::RunMacro {
                    macro_id: resolve.id,
                }],
            ),
        )
        .await
        .unwrap();
    caixa.delete_macro(doomed.id).await.unwrap();

    let id = writes(&caixa, shop, "rita", None, "thanks, all good").await;
    let row = caixa.get_conversation(id).await.unwrap();
    assert_eq!(
        row.labels,
        vec!["seen".to_string()],
        "stopped before “after”"
    );
    assert_eq!(
        row.status,
        ConversationStatus::Resolved,
        "the next rule still ran"
    );
    let activity: Vec<String> = thread(&caixa, id, MessageKind::Activity)
        .await
        .into_iter()
        .map(|m| m.content)
        .collect();
    let stop = activity
        .iter()
        .find(|a| a.starts_with("Rule “Tag” stopped"))
        .unwrap_or_else(|| panic!("{activity:#?}"));
    assert!(stop.contains("step 2") && stop.contains("macro"), "{stop}");
    let line = thread(&caixa, id, MessageKind::Activity)
        .await
        .into_iter()
        .find(|m| m.content.starts_with("Rule “Tag” stopped"))
        .unwrap();
    assert_eq!(
        line.sender_name.as_deref(),
        Some("Rule “Tag”"),
        "written as the rule"
    );
    assert!(line.by_bot);

    // Reordered: "Close thanks" runs first, resolves, and "Tag" (open only) no longer holds.
    let order = caixa
        .reorder_rules(vec![second.id, first.id])
        .await
        .unwrap();
    assert_eq!(
        order.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    let id = writes(&caixa, shop, "joao", None, "thanks!").await;
    let row = caixa.get_conversation(id).await.unwrap();
    assert_eq!(row.status, ConversationStatus::Resolved);
    assert!(row.labels.is_empty(), "{:?}", row.labels);
    assert!(
        caixa.reorder_rules(vec![second.id]).await.is_err(),
        "must list every rule"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_hours_condition_uses_the_inbox_hours() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let closed = api_inbox(&caixa, "Closed").await;
    let always = api_inbox(&caixa, "Always").await;
    let unset = api_inbox(&caixa, "No hours").await;
    let hours = |days: Vec<OpeningHours>| BotSettings {
        business_hours: Some(BusinessHours {
            time_zone: "Europe/Lisbon".into(),
            days,
        }),
        ..BotSettings::default()
    };
    caixa.save_inbox_bot(closed, hours(vec![])).await.unwrap();
    let all_week = (1..=7)
        .map(|weekday| OpeningHours {
            weekday,
            open: "00:00".into(),
            close: "24:00".into(),
        })
        .collect();
    caixa.save_inbox_bot(always, hours(all_week)).await.unwrap();
    caixa
        .save_rule(
            None,
            rule(
                "After hours",
                RuleEvent::MessageReceived,
                vec![RuleCondition::BusinessHours { inside: false }],
                vec![act(label("after-hours"))],
            ),
        )
        .await
        .unwrap();
    let c = writes(&caixa, closed, "a", None, "hi").await;
    let a = writes(&caixa, always, "b", None, "hi").await;
    let u = writes(&caixa, unset, "c", None, "hi").await;
    assert_eq!(
        caixa.get_conversation(c).await.unwrap().labels,
        vec!["after-hours".to_string()]
    );
    assert!(caixa.get_conversation(a).await.unwrap().labels.is_empty());
    assert!(caixa.get_conversation(u).await.unwrap().labels.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let ok_action = vec![act(label("x"))];
    let cases: Vec<(RuleInput, &str, &str)> = vec![
        (
            rule("  ", RuleEvent::MessageReceived, vec![], ok_action.clone()),
            "name",
            "name",
        ),
        (
            rule("r", RuleEvent::MessageReceived, vec![], vec![]),
            "actions",
            "at least one step",
        ),
        (
            rule(
                "r",
                RuleEvent::ConversationUpdated,
                vec![RuleCondition::MessageContains {
                    words: vec!["x".into()],
                }],
                ok_action.clone(),
            ),
            "conditions",
            "needs a message",
        ),
        (
            rule(
                "r",
                RuleEvent::MessageReceived,
                vec![RuleCondition::ContactEmail {
                    pattern: " ".into(),
                }],
                ok_action.clone(),
            ),
            "conditions",
            "Condition 1",
        ),
        (
            rule(
                "r",
                RuleEvent::MessageReceived,
                vec![RuleCondition::Inbox { inbox_ids: vec![] }],
                ok_action.clone(),
            ),
            "conditions",
            "inbox",
        ),
        (
            rule(
                "r",
                RuleEvent::MessageReceived,
                vec![],
                vec![MacroStep::RunMacro { macro_id: 999 }],
            ),
            "actions",
            "Step 1: that macro does not exist",
        ),
        (
            rule(
                "r",
                RuleEvent::MessageReceived,
                vec![],
                vec![act(ConversationAction::Delete)],
            ),
            "actions",
            "Step 1: deleting",
        ),
        (
            rule(
                "r",
                RuleEvent::MessageReceived,
                vec![],
                vec![MacroStep::SendMessage {
                    text: "hi {{contact.nme}}".into(),
                }],
            ),
            "actions",
            "contact.nme",
        ),
    ];
    for (input, field, needle) in cases {
        match caixa.save_rule(None, input.clone()).await {
            Err(Error::Validation(f)) => {
                assert_eq!(f[0].field, field, "{input:?}");
                assert!(f[0].message.contains(needle), "{} / {needle}", f[0].message);
            }
            other => panic!("{input:?} was not refused: {other:?}"),
        }
    }
    assert!(
        caixa.list_rules().await.unwrap().is_empty(),
        "nothing half-saved"
    );
    caixa
        .save_rule(
            None,
            rule("Tag", RuleEvent::MessageReceived, vec![], ok_action.clone()),
        )
        .await
        .unwrap();
    let err = caixa
        .save_rule(
            None,
            rule("Tag", RuleEvent::MessageReceived, vec![], ok_action),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already has this name"), "{err}");
    // Macros never run macros.
    let err = caixa
        .save_macro(None, "m", vec![MacroStep::RunMacro { macro_id: 1 }])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot run another macro"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snooze_ending_is_an_update_rules_see() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let shop = api_inbox(&caixa, "Shop").await;
    caixa
        .save_rule(
            None,
            rule(
                "Back from snooze",
                RuleEvent::ConversationUpdated,
                vec![RuleCondition::Status {
                    statuses: vec![ConversationStatus::Open],
                }],
                vec![act(label("woke"))],
            ),
        )
        .await
        .unwrap();
    let id = writes(&caixa, shop, "rita", None, "call me tomorrow").await;
    let until = caixa_core::store::now_ms() + 300;
    caixa
        .apply(&[id], ConversationAction::Snooze { until: Some(until) })
        .await
        .unwrap();
    settle(&caixa).await;
    assert!(
        caixa.get_conversation(id).await.unwrap().labels.is_empty(),
        "snoozed: not open"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        settle(&caixa).await;
        let row = caixa.get_conversation(id).await.unwrap();
        if row.labels == ["woke"] {
            assert_eq!(row.status, ConversationStatus::Open);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
