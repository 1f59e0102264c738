//! `caixa-cli bench`: latency of the queries the app runs, on the data dir's real store.
//! Ingest is measured into a temporary inbox in the same store, removed afterwards.

use std::time::{Duration, Instant};

use caixa_core::inbox_config::new_token;
use caixa_core::ingest::{ingest, Incoming};
use caixa_core::model::{
    ApiSettings, ConversationFilter, ConversationStatus, Cursor, InboxSettings, SearchOrder,
    SearchQuery,
};
use caixa_core::store::contacts::ContactInfo;
use caixa_core::store::{conversations, inboxes, messages, now_ms, search, Store};
use rand::Rng;
use serde::Serialize;

#[derive(Serialize)]
pub struct Report {
    pub conversations: i64,
    pub messages: i64,
    pub measurements: Vec<Measurement>,
    pub bulk_ingest_messages_per_sec: f64,
}

#[derive(Serialize)]
pub struct Measurement {
    pub name: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub runs: usize,
}

fn measure(
    name: &str,
    runs: u32,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Measurement> {
    // Warm the page cache and statement cache first, as a running app would have.
    for _ in 0..runs.min(20) {
        f()?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    Ok(Measurement {
        name: name.to_string(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        runs: times.len(),
    })
}

const WORDS: &[&str] = &[
    "order", "refund", "delivery", "entrega", "password", "invoice", "late", "pay",
];

pub async fn run(store: Store, iterations: u32) -> anyhow::Result<Report> {
    tokio::task::spawn_blocking(move || run_blocking(&store, iterations)).await?
}

fn run_blocking(store: &Store, n: u32) -> anyhow::Result<Report> {
    let (conv_count, msg_count, max_conv, first_inbox, newest) = store.read_blocking(|c| {
        Ok(c.query_row(
            "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages),
                    (SELECT coalesce(max(id), 0) FROM conversations),
                    (SELECT coalesce(min(id), 0) FROM inboxes),
                    (SELECT coalesce(max(last_activity_at), 0) FROM conversations)",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )?)
    })?;
    if conv_count == 0 {
        anyhow::bail!("the store is empty; run `caixa-cli seed --conversations 100000 --messages 1000000` first");
    }
    let mut out = Vec::new();
    let filters: Vec<(&str, ConversationFilter)> = vec![
        ("list all", ConversationFilter::default()),
        (
            "list open",
            ConversationFilter {
                status: Some(ConversationStatus::Open),
                ..Default::default()
            },
        ),
        (
            "list pending",
            ConversationFilter {
                status: Some(ConversationStatus::Pending),
                ..Default::default()
            },
        ),
        (
            "list resolved",
            ConversationFilter {
                status: Some(ConversationStatus::Resolved),
                ..Default::default()
            },
        ),
        (
            "list inbox",
            ConversationFilter {
                inbox_id: Some(first_inbox),
                ..Default::default()
            },
        ),
        (
            "list inbox+open",
            ConversationFilter {
                inbox_id: Some(first_inbox),
                status: Some(ConversationStatus::Open),
                ..Default::default()
            },
        ),
        (
            "list unread",
            ConversationFilter {
                unread_only: true,
                ..Default::default()
            },
        ),
    ];
    let mut rng = rand::rng();
    for (name, filter) in &filters {
        out.push(measure(&format!("{name} (first 50)"), n, || {
            store.read_blocking(|c| conversations::list(c, filter, None, 50))?;
            Ok(())
        })?);
        out.push(measure(
            &format!("{name} (page at random depth)"),
            n,
            || {
                let cursor = Cursor {
                    last_activity_at: rng.random_range(0..=newest),
                    id: i64::MAX,
                };
                store.read_blocking(|c| conversations::list(c, filter, Some(cursor), 50))?;
                Ok(())
            },
        )?);
    }
    out.push(measure("open conversation (row + thread)", n, || {
        let id = rng.random_range(1..=max_conv.max(1));
        store.read_blocking(|c| {
            if conversations::get(c, id).is_ok() {
                messages::list(c, id, 1000)?;
            }
            Ok(())
        })?;
        Ok(())
    })?);
    // What a person types, keystroke by keystroke, is a growing prefix query.
    for word in ["o", "or", "order", "entrega ref", "zzzznotfound"] {
        let q = SearchQuery::text(word);
        out.push(measure(
            &format!("search '{word}' (50 conversations + snippets)"),
            n.min(300),
            || {
                store.read_blocking(|c| search::search(c, &q, 50))?;
                Ok(())
            },
        )?);
    }
    let relevance = SearchQuery {
        order: SearchOrder::Relevance,
        ..SearchQuery::text("order")
    };
    out.push(measure("search 'order' by relevance", n.min(100), || {
        store.read_blocking(|c| search::search(c, &relevance, 50))?;
        Ok(())
    })?);
    let filtered = SearchQuery {
        status: Some(ConversationStatus::Open),
        since: Some(now_ms() - 30 * 86_400_000),
        ..SearchQuery::text("order")
    };
    out.push(measure(
        "search 'order', open, last 30 days",
        n.min(300),
        || {
            store.read_blocking(|c| search::search(c, &filtered, 50))?;
            Ok(())
        },
    )?);
    out.push(measure("search random word", n.min(300), || {
        let q = SearchQuery::text(WORDS[rng.random_range(0..WORDS.len())]);
        store.read_blocking(|c| search::search(c, &q, 50))?;
        Ok(())
    })?);

    // Ingest goes into a throwaway inbox so the measured store is left as it was.
    let now = now_ms();
    let inbox = store.write_blocking(|tx| {
        inboxes::insert(
            tx,
            "bench (temporary)",
            &new_token(),
            &InboxSettings::Api(ApiSettings { webhook_url: None }),
            None,
            now,
        )
    })?;
    let mut i = 0u64;
    let single = measure("ingest one message (own transaction)", n.min(2000), || {
        i += 1;
        let key = format!("bench-{}", i % 100);
        let content = format!("bench message {i} about my order delivery");
        store.write_blocking(|tx| {
            ingest(
                tx,
                &Incoming {
                    inbox_id: inbox,
                    contact_key: &key,
                    contact: ContactInfo {
                        name: "Bench",
                        email: None,
                        phone: None,
                    },
                    thread_key: &key,
                    source_id: None,
                    content: &content,
                    created_at: now_ms(),
                    files: &[],
                },
            )
        })?;
        Ok(())
    })?;
    out.push(single);
    let total = 50_000u64;
    let batch = 10_000u64;
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        store.write_blocking(|tx| {
            for k in done..done + batch {
                let key = format!("bulk-{}", k % 5_000);
                let source = format!("bulk-msg-{k}");
                let content = format!("bulk message {k}: where is my order, the delivery is late");
                ingest(
                    tx,
                    &Incoming {
                        inbox_id: inbox,
                        contact_key: &key,
                        contact: ContactInfo {
                            name: "Bulk",
                            email: None,
                            phone: None,
                        },
                        thread_key: &key,
                        source_id: Some(&source),
                        content: &content,
                        created_at: now,
                        files: &[],
                    },
                )?;
            }
            Ok(())
        })?;
        done += batch;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    store.write_blocking(|tx| inboxes::delete(tx, inbox).map(|_| ()))?;

    Ok(Report {
        conversations: conv_count,
        messages: msg_count,
        measurements: out,
        bulk_ingest_messages_per_sec: rate,
    })
}

pub fn print(r: &Report) {
    println!(
        "store: {} conversations, {} messages",
        r.conversations, r.messages
    );
    println!(
        "{:<52} {:>10} {:>10} {:>6}",
        "measurement", "p50 ms", "p99 ms", "runs"
    );
    for m in &r.measurements {
        println!(
            "{:<52} {:>10.4} {:>10.4} {:>6}",
            m.name, m.p50_ms, m.p99_ms, m.runs
        );
    }
    println!(
        "bulk ingest (10k per transaction, FTS on): {:.0} messages/s",
        r.bulk_ingest_messages_per_sec
    );
}
