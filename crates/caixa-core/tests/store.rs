//! Store tests on a real SQLite file: migrations from empty, idempotent ingest, ordering,
//! filters, keyset pagination and FTS.

use caixa_core::ingest::{ingest, Incoming};
use caixa_core::model::*;
use caixa_core::store::contacts::ContactInfo;
use caixa_core::store::{conversations, inboxes, messages, search, Store};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("caixa.sqlite3")).unwrap();
    (dir, store)
}

fn api_inbox(store: &Store, name: &str) -> InboxId {
    store
        .write_blocking(|tx| {
            inboxes::insert(
                tx,
                name,
                &format!("tok-{name}"),
                &InboxSettings::Api(ApiSettings { webhook_url: None }),
                None,
                0,
            )
        })
        .unwrap()
}

fn incoming(
    store: &Store,
    inbox: InboxId,
    who: &str,
    source: Option<&str>,
    text: &str,
    at: i64,
) -> caixa_core::ingest::Ingested {
    store
        .write_blocking(|tx| {
            ingest(
                tx,
                &Incoming {
                    inbox_id: inbox,
                    contact_key: who,
                    contact: ContactInfo {
                        name: who,
                        email: None,
                        phone: None,
                    },
                    thread_key: who,
                    source_id: source,
                    content: text,
                    created_at: at,
                    files: &[],
                },
            )
        })
        .unwrap()
}

fn list(
    store: &Store,
    filter: ConversationFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> ConversationPage {
    store
        .read_blocking(|c| conversations::list(c, &filter, cursor, limit))
        .unwrap()
}

#[test]
fn migrates_from_empty_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caixa.sqlite3");
    {
        let store = Store::open(&path).unwrap();
        api_inbox(&store, "a");
    }
    // Reopening runs no migration twice and keeps the data.
    let store = Store::open(&path).unwrap();
    let all = store.read_blocking(inboxes::list).unwrap();
    assert_eq!(all.len(), 1);
    let (mode, strict): (String, i64) = store
        .read_blocking(|c| {
            Ok((
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                c.query_row(
                    "SELECT strict FROM pragma_table_list WHERE name = 'messages'",
                    [],
                    |r| r.get(0),
                )?,
            ))
        })
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(strict, 1);
}

#[test]
fn ingest_is_idempotent_by_source_id() {
    let (_d, store) = open();
    let inbox = api_inbox(&store, "a");
    let first = incoming(&store, inbox, "ana", Some("m1"), "hello", 1000);
    assert!(first.new_conversation);
    assert!(first.message_id.is_some());
    let again = incoming(&store, inbox, "ana", Some("m1"), "hello", 1000);
    assert_eq!(again.conversation_id, first.conversation_id);
    assert_eq!(
        again.message_id, None,
        "a repeated source_id stores nothing"
    );
    let row = store
        .read_blocking(|c| conversations::get(c, first.conversation_id))
        .unwrap();
    assert_eq!(row.unread_count, 1, "the duplicate did not count as unread");
    let msgs = store
        .read_blocking(|c| messages::list(c, first.conversation_id, 100))
        .unwrap();
    assert_eq!(msgs.len(), 1);
    // The same source id in another inbox is a different message.
    let other = api_inbox(&store, "b");
    assert!(incoming(&store, other, "ana", Some("m1"), "hello", 1000)
        .message_id
        .is_some());
}

#[test]
fn list_is_newest_activity_first_with_keyset_pages() {
    let (_d, store) = open();
    let inbox = api_inbox(&store, "a");
    for i in 0..25 {
        incoming(&store, inbox, &format!("c{i:02}"), None, "hi", 1000 + i);
    }
    // Activity on an old conversation moves it to the top.
    incoming(&store, inbox, "c03", None, "again", 5000);
    let page1 = list(&store, ConversationFilter::default(), None, 10);
    assert_eq!(page1.items.len(), 10);
    assert_eq!(page1.items[0].contact_name, "c03");
    assert_eq!(page1.items[0].preview, "again");
    assert_eq!(page1.items[1].contact_name, "c24");
    let mut seen: Vec<i64> = page1.items.iter().map(|c| c.id).collect();
    let mut cursor = page1.next_cursor;
    while let Some(cur) = cursor {
        let page = list(&store, ConversationFilter::default(), Some(cur), 10);
        seen.extend(page.items.iter().map(|c| c.id));
        cursor = page.next_cursor;
    }
    assert_eq!(seen.len(), 25);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 25, "no conversation twice across pages");
}

#[test]
fn filters_by_status_inbox_and_unread() {
    let (_d, store) = open();
    let a = api_inbox(&store, "a");
    let b = api_inbox(&store, "b");
    let x = incoming(&store, a, "x", None, "hi", 1);
    let y = incoming(&store, b, "y", None, "hi", 2);
    let z = incoming(&store, b, "z", None, "hi", 3);
    store
        .write_blocking(|tx| {
            conversations::set_status(tx, y.conversation_id, ConversationStatus::Resolved)?;
            conversations::mark_read(tx, z.conversation_id)?;
            Ok(())
        })
        .unwrap();
    let ids = |f: ConversationFilter| -> Vec<i64> {
        list(&store, f, None, 50)
            .items
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(
        ids(ConversationFilter {
            status: Some(ConversationStatus::Open),
            ..Default::default()
        }),
        [z.conversation_id, x.conversation_id]
    );
    assert_eq!(
        ids(ConversationFilter {
            status: Some(ConversationStatus::Resolved),
            ..Default::default()
        }),
        [y.conversation_id]
    );
    assert_eq!(
        ids(ConversationFilter {
            inbox_id: Some(b),
            ..Default::default()
        }),
        [z.conversation_id, y.conversation_id]
    );
    assert_eq!(
        ids(ConversationFilter {
            unread_only: true,
            ..Default::default()
        }),
        [y.conversation_id, x.conversation_id]
    );
    assert_eq!(
        ids(ConversationFilter {
            inbox_id: Some(b),
            status: Some(ConversationStatus::Open),
            ..Default::default()
        }),
        [z.conversation_id]
    );
    let counts = store
        .read_blocking(|c| conversations::counts(c, None))
        .unwrap();
    assert_eq!(
        (counts.open, counts.resolved, counts.all, counts.unread),
        (2, 1, 3, 2)
    );
    // A customer writing again reopens a resolved conversation.
    incoming(&store, b, "y", None, "still broken", 10);
    let row = store
        .read_blocking(|c| conversations::get(c, y.conversation_id))
        .unwrap();
    assert_eq!(row.status, ConversationStatus::Open);
}

#[test]
fn full_text_search_finds_messages_and_contacts() {
    let (_d, store) = open();
    let a = api_inbox(&store, "a");
    let one = incoming(
        &store,
        a,
        "Müller",
        None,
        "Where is my order? Entrega atrasada.",
        1,
    );
    let two = incoming(&store, a, "Zoe", None, "refund please", 2);
    let hits = store
        .read_blocking(|c| search::search(c, &SearchQuery::text("entrega"), 50))
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].conversation_id, one.conversation_id);
    assert!(
        hits[0].snippet.contains("\u{2}Entrega\u{3}"),
        "{:?}",
        hits[0].snippet
    );
    // Prefix while typing, diacritics folded, contact names.
    assert_eq!(
        store
            .read_blocking(|c| search::search(c, &SearchQuery::text("ref"), 50))
            .unwrap()[0]
            .conversation_id,
        two.conversation_id
    );
    assert_eq!(
        store
            .read_blocking(|c| search::search(c, &SearchQuery::text("muller"), 50))
            .unwrap()[0]
            .conversation_id,
        one.conversation_id
    );
    // FTS syntax in user input is just text, never an error.
    assert!(store
        .read_blocking(|c| search::search(c, &SearchQuery::text("\"AND OR ("), 50))
        .unwrap()
        .is_empty());
    assert!(store
        .read_blocking(|c| search::search(c, &SearchQuery::text(""), 50))
        .unwrap()
        .is_empty());
}

#[test]
fn search_filters_groups_subjects_and_relevance() {
    let (_d, store) = open();
    let a = api_inbox(&store, "a");
    let b = api_inbox(&store, "b");
    let ana = incoming(&store, a, "ana", None, "invoice for the order", 10);
    incoming(&store, a, "ana", None, "second invoice question", 20);
    incoming(&store, a, "ana", None, "third: invoice invoice invoice", 30);
    let rui = incoming(&store, b, "rui", None, "invoice missing", 40);
    let bia = incoming(&store, b, "bia", None, "hello", 50);
    // An e-mail subject is searchable even when the body does not say it.
    store
        .write_blocking(|tx| {
            tx.execute(
                "INSERT INTO email_messages (message_id, inbox_id, rfc_message_id, subject)
                 VALUES (?1, ?2, 'x@y', 'Boleto vencido')",
                rusqlite::params![bia.message_id.unwrap(), b],
            )?;
            Ok(())
        })
        .unwrap();
    let run = |q: SearchQuery| store.read_blocking(|c| search::search(c, &q, 50)).unwrap();
    let ids = |hits: &[SearchHit]| hits.iter().map(|h| h.conversation_id).collect::<Vec<_>>();

    // Grouped by conversation, newest first, with the number of matching messages.
    let hits = run(SearchQuery::text("invoice"));
    assert_eq!(ids(&hits), [rui.conversation_id, ana.conversation_id]);
    assert_eq!((hits[0].matches, hits[1].matches), (1, 3));
    assert!(
        hits[1].snippet.starts_with("third"),
        "{:?}",
        hits[1].snippet
    );

    // Filters: inbox, status, label, assignee, time range.
    assert_eq!(
        ids(&run(SearchQuery {
            inbox_id: Some(a),
            ..SearchQuery::text("invoice")
        })),
        [ana.conversation_id]
    );
    store
        .write_blocking(|tx| {
            conversations::set_status(tx, rui.conversation_id, ConversationStatus::Resolved)?;
            conversations::assign(tx, ana.conversation_id, Some("Ana"))?;
            caixa_core::store::labels::add_to(tx, rui.conversation_id, "billing")?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        ids(&run(SearchQuery {
            status: Some(ConversationStatus::Resolved),
            ..SearchQuery::text("invoice")
        })),
        [rui.conversation_id]
    );
    assert_eq!(
        ids(&run(SearchQuery {
            label: Some("billing".into()),
            ..SearchQuery::text("invoice")
        })),
        [rui.conversation_id]
    );
    assert_eq!(
        ids(&run(SearchQuery {
            assignee: Some("Ana".into()),
            ..SearchQuery::text("invoice")
        })),
        [ana.conversation_id]
    );
    let early = run(SearchQuery {
        until: Some(25),
        ..SearchQuery::text("invoice")
    });
    assert_eq!(ids(&early), [ana.conversation_id]);
    assert_eq!(early[0].matches, 2, "only the two messages before 25 count");
    assert!(run(SearchQuery {
        since: Some(41),
        ..SearchQuery::text("invoice")
    })
    .is_empty());

    // Relevance: the message that says it three times ranks first.
    let best = run(SearchQuery {
        order: SearchOrder::Relevance,
        ..SearchQuery::text("invoice")
    });
    assert_eq!(best[0].conversation_id, ana.conversation_id);
    assert!(
        best[0].snippet.starts_with("third"),
        "{:?}",
        best[0].snippet
    );

    let subject = run(SearchQuery::text("boleto"));
    assert_eq!(ids(&subject), [bia.conversation_id]);
    assert!(
        subject[0].snippet.contains("\u{2}Boleto\u{3}"),
        "{:?}",
        subject[0].snippet
    );
    assert_eq!(subject[0].status, ConversationStatus::Open);
}

#[test]
fn deleting_an_inbox_removes_its_conversations_only() {
    let (_d, store) = open();
    let a = api_inbox(&store, "a");
    let b = api_inbox(&store, "b");
    incoming(&store, a, "x", None, "findme alpha", 1);
    let keep = incoming(&store, b, "y", None, "findme beta", 2);
    store.write_blocking(|tx| inboxes::delete(tx, a)).unwrap();
    let page = list(&store, ConversationFilter::default(), None, 50);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, keep.conversation_id);
    let hits = store
        .read_blocking(|c| search::search(c, &SearchQuery::text("findme"), 50))
        .unwrap();
    assert_eq!(hits.len(), 1, "FTS rows of deleted messages are gone too");
}

#[test]
fn readers_do_not_wait_for_a_long_write() {
    let (_d, store) = open();
    let a = api_inbox(&store, "a");
    incoming(&store, a, "x", None, "hi", 1);
    let (tx_started, rx_started) = std::sync::mpsc::channel();
    let (tx_release, rx_release) = std::sync::mpsc::channel::<()>();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .write_blocking(|tx| {
                    tx.execute("UPDATE conversations SET preview = 'changing'", [])?;
                    tx_started.send(()).unwrap();
                    rx_release.recv().unwrap();
                    Ok(())
                })
                .unwrap()
        })
    };
    rx_started.recv().unwrap();
    // The write transaction is open and holds the write lock; a read still completes and sees
    // the last committed state.
    let page = list(&store, ConversationFilter::default(), None, 10);
    assert_eq!(page.items[0].preview, "hi");
    tx_release.send(()).unwrap();
    writer.join().unwrap();
    assert_eq!(
        list(&store, ConversationFilter::default(), None, 10).items[0].preview,
        "changing"
    );
}
