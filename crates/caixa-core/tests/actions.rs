//! Conversation actions through `Caixa::apply`: activity lines, events, labels and the label
//! filter, mute vs. reopening, snooze until a reply or a time (also across a restart), mark as
//! unread, delete, bulk selections, and refused bad input.

use std::time::Duration;

use caixa_core::caixa::IncomingOwned;
use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, Running};

async fn start(dir: &tempfile::TempDir) -> (Caixa, Running) {
    let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
    cfg.agent_name = "Ana".into();
    let caixa = Caixa::open(cfg).unwrap();
    let running = caixa.start().await.unwrap();
    (caixa, running)
}

async fn customer_writes(caixa: &Caixa, inbox: InboxId, who: &str, text: &str) -> ConversationId {
    caixa
        .ingest(IncomingOwned {
            inbox_id: inbox,
            contact_key: who.into(),
            contact_name: who.into(),
            contact_email: None,
            contact_phone: None,
            thread_key: who.into(),
            source_id: None,
            content: text.into(),
            created_at: caixa_core::store::now_ms(),
            files: Vec::new(),
        })
        .await
        .unwrap()
        .conversation_id
}

async fn api_inbox(caixa: &Caixa) -> InboxId {
    caixa
        .add_inbox(InboxInput {
            name: "Shop".into(),
            settings: InboxSettings::Api(ApiSettings { webhook_url: None }),
            password: None,
            webhook_secret: None,
        })
        .await
        .unwrap()
        .inbox
        .id
}

async fn activity(caixa: &Caixa, id: ConversationId) -> Vec<String> {
    caixa
        .list_messages(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == MessageKind::Activity)
        .map(|m| m.content)
        .collect()
}

async fn ok(caixa: &Caixa, ids: &[ConversationId], action: ConversationAction) {
    for o in caixa.apply(ids, action).await.unwrap() {
        assert_eq!(o.error, None, "conversation {}", o.conversation_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_leaves_a_trace_and_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let inbox = api_inbox(&caixa).await;
    let id = customer_writes(&caixa, inbox, "rita", "my order is late").await;
    let mut events = caixa.events().subscribe();

    ok(
        &caixa,
        &[id],
        ConversationAction::Assign {
            agent: Some("Ana".into()),
        },
    )
    .await;
    ok(
        &caixa,
        &[id],
        ConversationAction::Assign {
            agent: Some("Bruno".into()),
        },
    )
    .await;
    ok(
        &caixa,
        &[id],
        ConversationAction::SetPriority {
            priority: Priority::Urgent,
        },
    )
    .await;
    ok(
        &caixa,
        &[id],
        ConversationAction::AddLabel {
            label: "billing".into(),
        },
    )
    .await;
    // Repeating an action that changes nothing writes nothing.
    ok(
        &caixa,
        &[id],
        ConversationAction::AddLabel {
            label: "billing".into(),
        },
    )
    .await;
    ok(
        &caixa,
        &[id],
        ConversationAction::SetStatus {
            status: ConversationStatus::Pending,
        },
    )
    .await;
    let row = caixa.get_conversation(id).await.unwrap();
    assert_eq!(row.assignee.as_deref(), Some("Bruno"));
    assert_eq!(row.priority, Priority::Urgent);
    assert_eq!(row.labels, ["billing"]);
    assert_eq!(row.status, ConversationStatus::Pending);
    assert_eq!(
        activity(&caixa, id).await,
        [
            "Ana took the conversation",
            "Ana assigned the conversation to Bruno",
            "Ana set the priority to urgent",
            "Ana added the label billing",
            "Ana set the status to pending",
        ]
    );
    let mut changed = 0;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(100), events.recv()).await {
        if e == (CoreEvent::ConversationChanged {
            conversation_id: id,
        }) {
            changed += 1;
        }
    }
    assert_eq!(changed, 6, "one event per action");

    // Labels: listed with their count, filter the list, removable.
    let labels = caixa.list_labels().await.unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(
        (labels[0].name.as_str(), labels[0].conversations),
        ("billing", 1)
    );
    let other = customer_writes(&caixa, inbox, "joao", "hello").await;
    let filtered = caixa
        .list_conversations(
            ConversationFilter {
                label: Some("billing".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        filtered.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [id]
    );
    let by_agent = caixa
        .list_conversations(
            ConversationFilter {
                assignee: Some("Bruno".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(by_agent.items.len(), 1);
    assert_eq!(caixa.list_agents().await.unwrap(), ["Ana", "Bruno"]);
    ok(
        &caixa,
        &[id],
        ConversationAction::RemoveLabel {
            label: "billing".into(),
        },
    )
    .await;
    assert!(caixa.get_conversation(id).await.unwrap().labels.is_empty());

    // Mute: an incoming message no longer reopens a resolved conversation.
    ok(&caixa, &[id], ConversationAction::Mute { muted: true }).await;
    ok(
        &caixa,
        &[id],
        ConversationAction::SetStatus {
            status: ConversationStatus::Resolved,
        },
    )
    .await;
    customer_writes(&caixa, inbox, "rita", "thanks").await;
    assert_eq!(
        caixa.get_conversation(id).await.unwrap().status,
        ConversationStatus::Resolved
    );
    ok(&caixa, &[id], ConversationAction::Mute { muted: false }).await;
    customer_writes(&caixa, inbox, "rita", "one more thing").await;
    assert_eq!(
        caixa.get_conversation(id).await.unwrap().status,
        ConversationStatus::Open
    );

    // Snooze until the customer replies.
    ok(&caixa, &[id], ConversationAction::Snooze { until: None }).await;
    let row = caixa.get_conversation(id).await.unwrap();
    assert_eq!(
        (row.status, row.snoozed_until),
        (ConversationStatus::Snoozed, None)
    );
    customer_writes(&caixa, inbox, "rita", "hello?").await;
    assert_eq!(
        caixa.get_conversation(id).await.unwrap().status,
        ConversationStatus::Open
    );

    // Mark as unread; bulk resolve with one conversation that no longer exists.
    caixa.mark_read(id).await.unwrap();
    ok(&caixa, &[id], ConversationAction::MarkUnread).await;
    assert_eq!(caixa.get_conversation(id).await.unwrap().unread_count, 1);
    let outcomes = caixa
        .apply(
            &[id, 999_999, other],
            ConversationAction::SetStatus {
                status: ConversationStatus::Resolved,
            },
        )
        .await
        .unwrap();
    assert_eq!(outcomes[0].error, None);
    assert!(
        outcomes[1]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not found"),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[2].error, None);
    assert_eq!(
        caixa.get_conversation(other).await.unwrap().status,
        ConversationStatus::Resolved
    );

    // Delete removes local data and says so.
    let mut events = caixa.events().subscribe();
    ok(&caixa, &[other], ConversationAction::Delete).await;
    assert!(caixa.get_conversation(other).await.is_err());
    assert_eq!(
        events.recv().await.unwrap(),
        CoreEvent::ConversationRemoved {
            conversation_id: other
        }
    );

    // Bad input is refused with a clear message, and nothing changes.
    let err = caixa
        .apply(&[id], ConversationAction::Snooze { until: Some(1_000) })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("future"), "{err}");
    let err = caixa
        .apply(&[id], ConversationAction::AddLabel { label: "  ".into() })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    let err = caixa.create_label("vip", "blue").await.unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snoozes_wake_on_time_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, running) = start(&dir).await;
    let inbox = api_inbox(&caixa).await;
    let soon = customer_writes(&caixa, inbox, "a", "first").await;
    let later = customer_writes(&caixa, inbox, "b", "second").await;
    let now = caixa_core::store::now_ms();
    ok(
        &caixa,
        &[soon],
        ConversationAction::Snooze {
            until: Some(now + 400),
        },
    )
    .await;
    ok(
        &caixa,
        &[later],
        ConversationAction::Snooze {
            until: Some(now + 1500),
        },
    )
    .await;
    let row = caixa.get_conversation(soon).await.unwrap();
    assert_eq!(row.snoozed_until, Some(now + 400));

    // While running: woken at its time.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while caixa.get_conversation(soon).await.unwrap().status != ConversationStatus::Open {
        assert!(tokio::time::Instant::now() < deadline, "not woken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(caixa_core::store::now_ms() >= now + 400, "woken early");
    assert!(activity(&caixa, soon)
        .await
        .last()
        .unwrap()
        .contains("snooze ended"));
    assert_eq!(
        caixa.get_conversation(later).await.unwrap().status,
        ConversationStatus::Snoozed
    );

    // Closed across its wake-up time: woken at the next start.
    running.stop().await;
    drop(caixa);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (caixa, _running) = start(&dir).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while caixa.get_conversation(later).await.unwrap().status != ConversationStatus::Open {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not woken after restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canned_responses_fill_variables_and_refuse_typos() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let inbox = api_inbox(&caixa).await;
    let id = customer_writes(&caixa, inbox, "Maria Souza", "oi").await;

    let hello = caixa
        .create_canned_response(
            "/Hello",
            "Olá {{contact.first_name}}! Aqui é {{agent.name}}, da {{inbox.name}}.",
        )
        .await
        .unwrap();
    assert_eq!(hello.short_code, "hello");
    let text = caixa.render_reply(id, &hello.content).await.unwrap();
    assert_eq!(text, "Olá Maria! Aqui é Ana, da Shop.");
    assert_eq!(
        caixa.render_reply(id, "{{contact.name}}").await.unwrap(),
        "Maria Souza"
    );

    // Duplicate codes, bad codes and unknown variables are refused; nothing changes.
    let err = caixa
        .create_canned_response("hello", "again")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("/hello is already in use"),
        "{err}"
    );
    let err = caixa
        .create_canned_response("two words", "x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("letters, digits"), "{err}");
    let err = caixa
        .update_canned_response(hello.id, "hello", "Hi {{contact.frist_name}}")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("contact.frist_name"), "{err}");
    let list = caixa.list_canned_responses().await.unwrap();
    assert_eq!(list, std::slice::from_ref(&hello));

    let edited = caixa
        .update_canned_response(hello.id, "hi", "Hi {{contact.first_name}}")
        .await
        .unwrap();
    assert_eq!(edited.short_code, "hi");
    caixa.delete_canned_response(hello.id).await.unwrap();
    assert!(caixa.list_canned_responses().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_edited_and_deleted_by_their_author_only() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let inbox = api_inbox(&caixa).await;
    let id = customer_writes(&caixa, inbox, "rita", "hi").await;
    let note = caixa
        .send_message(id, "VIP: check the contract", true, &[])
        .await
        .unwrap();
    let edited = caixa.edit_note(note.id, "VIP since 2020").await.unwrap();
    assert_eq!(edited.content, "VIP since 2020");
    assert_eq!(
        caixa.get_conversation(id).await.unwrap().preview,
        "VIP since 2020",
        "the list preview follows the edit"
    );
    let hits = caixa.search(&SearchQuery::text("2020"), 10).await.unwrap();
    assert_eq!(hits.len(), 1, "the search index follows the edit");
    assert!(caixa
        .search(&SearchQuery::text("contract"), 10)
        .await
        .unwrap()
        .is_empty());

    // Not a note, or someone else's: refused.
    let customer = caixa.list_messages(id).await.unwrap()[0].clone();
    let err = caixa.edit_note(customer.id, "x").await.unwrap_err();
    assert!(err.to_string().contains("Only private notes"), "{err}");
    caixa
        .store()
        .write(move |tx| {
            tx.execute(
                "UPDATE messages SET sender_name = 'Bruno' WHERE id = ?1",
                [note.id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let err = caixa.delete_note(note.id).await.unwrap_err();
    assert!(err.to_string().contains("author"), "{err}");
    caixa
        .store()
        .write(move |tx| {
            tx.execute(
                "UPDATE messages SET sender_name = 'Ana' WHERE id = ?1",
                [note.id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    caixa.delete_note(note.id).await.unwrap();
    assert_eq!(caixa.get_conversation(id).await.unwrap().preview, "hi");
    assert!(caixa
        .list_messages(id)
        .await
        .unwrap()
        .iter()
        .all(|m| m.id != note.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macros_run_in_order_stop_at_a_failure_and_refuse_bad_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let inbox = api_inbox(&caixa).await;
    let id = customer_writes(&caixa, inbox, "Maria Souza", "meu pedido?").await;

    let escalate = caixa
        .save_macro(
            None,
            "Escalate",
            vec![
                MacroStep::Action {
                    action: ConversationAction::SetPriority {
                        priority: Priority::Urgent,
                    },
                },
                MacroStep::Action {
                    action: ConversationAction::AddLabel {
                        label: "escalated".into(),
                    },
                },
                MacroStep::AddNote {
                    text: "Escalated by {{agent.name}} for {{contact.first_name}}".into(),
                },
                MacroStep::SendMessage {
                    text: "Olá {{contact.first_name}}, um especialista vai responder.".into(),
                },
                MacroStep::SnoozeFor { minutes: 60 },
            ],
        )
        .await
        .unwrap();
    let runs = caixa.run_macro(escalate.id, &[id]).await.unwrap();
    assert!(runs[0].completed, "{runs:?}");
    assert_eq!(runs[0].steps.len(), 5);
    let row = caixa.get_conversation(id).await.unwrap();
    assert_eq!(row.priority, Priority::Urgent);
    assert_eq!(row.labels, ["escalated"]);
    assert_eq!(row.status, ConversationStatus::Snoozed);
    let msgs = caixa.list_messages(id).await.unwrap();
    let note = msgs.iter().find(|m| m.kind == MessageKind::Note).unwrap();
    assert_eq!(note.content, "Escalated by Ana for Maria");
    let reply = msgs
        .iter()
        .find(|m| m.kind == MessageKind::Outgoing)
        .unwrap();
    assert_eq!(reply.content, "Olá Maria, um especialista vai responder.");

    // A step that fails stops the run there and says why; earlier steps stay applied.
    let bad = caixa
        .save_macro(
            None,
            "Assign then send",
            vec![
                MacroStep::Action {
                    action: ConversationAction::Assign {
                        agent: Some("Bruno".into()),
                    },
                },
                MacroStep::SendMessage {
                    text: "x".repeat(70 * 1024),
                },
                MacroStep::Action {
                    action: ConversationAction::SetStatus {
                        status: ConversationStatus::Resolved,
                    },
                },
            ],
        )
        .await;
    // Too long a message is refused already when saving, naming the step.
    let err = bad.unwrap_err();
    assert!(err.to_string().contains("Step 2"), "{err}");
    let partial = caixa
        .save_macro(
            None,
            "Assign then label",
            vec![
                MacroStep::Action {
                    action: ConversationAction::Assign {
                        agent: Some("Bruno".into()),
                    },
                },
                MacroStep::Action {
                    action: ConversationAction::SetStatus {
                        status: ConversationStatus::Resolved,
                    },
                },
            ],
        )
        .await
        .unwrap();
    let runs = caixa.run_macro(partial.id, &[id, 424_242]).await.unwrap();
    assert!(runs[0].completed);
    assert!(!runs[1].completed);
    assert_eq!(runs[1].steps.len(), 1, "stopped at the first failing step");
    assert!(runs[1].steps[0]
        .error
        .as_deref()
        .unwrap()
        .contains("not found"));

    // Bad definitions are refused with the step named.
    for (steps, needle) in [
        (vec![], "at least one step"),
        (
            vec![MacroStep::Action {
                action: ConversationAction::Delete,
            }],
            "Step 1: deleting",
        ),
        (
            vec![MacroStep::AddNote {
                text: "hi {{contact.nam}}".into(),
            }],
            "contact.nam",
        ),
        (vec![MacroStep::SnoozeFor { minutes: 0 }], "Step 1"),
    ] {
        let err = caixa.save_macro(None, "bad", steps).await.unwrap_err();
        assert!(err.to_string().contains(needle), "{err} / {needle}");
    }
    let err = caixa
        .save_macro(None, "Escalate", vec![MacroStep::SnoozeFor { minutes: 5 }])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already has this name"), "{err}");
    assert_eq!(caixa.list_macros().await.unwrap().len(), 2);
    caixa.delete_macro(partial.id).await.unwrap();
    assert_eq!(caixa.list_macros().await.unwrap().len(), 1);
}
