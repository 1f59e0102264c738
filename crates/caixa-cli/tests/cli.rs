//! `caixa-cli` end to end as a separate process: JSON output, bad input, and a CLI gateway
//! working on the same data dir as other CLI invocations at the same time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caixa-cli"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("CAIXA_AGENT_NAME", "Ana")
        .output()
        .expect("caixa-cli runs")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The OS keychain is needed for API inboxes. Where none runs (outside scripts/test-env.sh)
/// those tests skip themselves, unless CAIXA_REQUIRE_KEYCHAIN is set (as CI does).
fn keychain_available(dir: &Path) -> bool {
    let out = cli(dir, &["inbox", "add", "api", "--name", "probe", "--json"]);
    if out.status.success() {
        return true;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keychain"), "unexpected failure: {err}");
    assert!(
        std::env::var("CAIXA_REQUIRE_KEYCHAIN").is_err(),
        "no keychain but CAIXA_REQUIRE_KEYCHAIN is set: {err}"
    );
    eprintln!("skipping: {err}");
    false
}

struct Gateway {
    child: Child,
    url: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gateway(dir: &Path) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_caixa-cli"))
        .arg("--data-dir")
        .arg(dir)
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("gateway said {line:?}: {e}"));
    Gateway {
        child,
        url: v["url"].as_str().unwrap().to_string(),
    }
}

#[test]
fn inbox_add_list_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let added = json(
        dir.path(),
        &[
            "inbox",
            "add",
            "website",
            "--name",
            "Acme",
            "--url",
            "https://acme.example",
            "--json",
        ],
    );
    assert!(added["id"].as_i64().unwrap() > 0);
    assert_eq!(added["token"].as_str().unwrap().len(), 24);
    assert!(added["snippet"]
        .as_str()
        .unwrap()
        .contains(added["token"].as_str().unwrap()));
    assert!(added.get("secret").is_none());

    let list = json(dir.path(), &["inbox", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["inbox"]["name"], "Acme");

    // Bad settings: exit 2, one message per flag, nothing stored.
    let out = cli(
        dir.path(),
        &[
            "inbox",
            "add",
            "website",
            "--name",
            " ",
            "--url",
            "ftp://nope",
            "--color",
            "red",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--name:") && err.contains("--url:") && err.contains("--color:"),
        "{err}"
    );
    assert_eq!(
        json(dir.path(), &["inbox", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Unknown conversation: a clear error, not a panic.
    let out = cli(dir.path(), &["reply", "999", "hello"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("conversation not found"));
    let out = cli(dir.path(), &["messages", "999", "--json"]);
    assert!(!out.status.success());
}

#[test]
fn seeded_store_lists_searches_and_takes_notes() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &["seed", "--conversations", "50", "--messages", "400"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let convs = json(dir.path(), &["conversations", "--limit", "10", "--json"]);
    let convs = convs.as_array().unwrap();
    assert_eq!(convs.len(), 10);
    let times: Vec<i64> = convs
        .iter()
        .map(|c| c["last_activity_at"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let open = json(
        dir.path(),
        &[
            "conversations",
            "--status",
            "open",
            "--limit",
            "500",
            "--json",
        ],
    );
    assert!(open
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "open"));

    let id = convs[0]["id"].as_i64().unwrap().to_string();
    let note = json(
        dir.path(),
        &["note", &id, "VIP customer, zebrafish", "--json"],
    );
    assert_eq!(note["kind"], "note");
    let reply = json(dir.path(), &["reply", &id, "On its way", "--json"]);
    assert_eq!(reply["delivery"], "queued");
    let msgs = json(dir.path(), &["messages", &id, "--json"]);
    let last_two: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(last_two, ["outgoing", "note"]);
    let hits = json(dir.path(), &["search", "zebrafish", "--json"]);
    assert_eq!(hits[0]["conversation_id"].as_i64().unwrap().to_string(), id);
    // Filters: the note's conversation is open; none of it matches as resolved or before 2000.
    let open = json(
        dir.path(),
        &["search", "zebrafish", "--status", "open", "--json"],
    );
    assert_eq!(open.as_array().map(Vec::len), Some(1));
    let resolved = json(
        dir.path(),
        &["search", "zebrafish", "--status", "resolved", "--json"],
    );
    assert_eq!(resolved.as_array().map(Vec::len), Some(0));
    let old = json(
        dir.path(),
        &["search", "zebrafish", "--until", "2000-01-01", "--json"],
    );
    assert_eq!(old.as_array().map(Vec::len), Some(0));
    let bad = cli(dir.path(), &["search", "x", "--since", "2026-13-01"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn api_roundtrip_through_a_cli_gateway_on_a_shared_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    if !keychain_available(dir.path()) {
        return;
    }
    let gw = gateway(dir.path());
    // Added by another process after the gateway started: it is served at once.
    let inbox = json(
        dir.path(),
        &["inbox", "add", "api", "--name", "Shop", "--json"],
    );
    let endpoint = inbox["endpoint_url"]
        .as_str()
        .unwrap()
        .replace("http://127.0.0.1:8787", &gw.url);
    let secret = inbox["secret"].as_str().unwrap();
    let body = br#"{"contact":{"identifier":"c-1","name":"Carla"},"content":"Is my refund done?"}"#;
    let ts = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
    .to_string();
    let sig = caixa_core::signature::sign(secret, &ts, body);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async { reqwest_post(&endpoint, &ts, &sig, body).await });
    assert_eq!(status, 201);
    let convs = json(dir.path(), &["conversations", "--json"]);
    assert_eq!(convs[0]["contact_name"], "Carla");
    assert_eq!(convs[0]["preview"], "Is my refund done?");
    // A reply queued by one CLI process is picked up by the gateway process's outbox; with no
    // webhook configured it fails with a reason instead of vanishing.
    let id = convs[0]["id"].as_i64().unwrap().to_string();
    let reply = json(dir.path(), &["reply", &id, "Yes, yesterday", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let msgs = json(dir.path(), &["messages", &id, "--json"]);
        let m = msgs
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == reply["id"])
            .unwrap()
            .clone();
        if m["delivery"] == "failed" {
            assert!(
                m["error"].as_str().unwrap().contains("no webhook URL"),
                "{m}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never processed the reply: {m}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn reqwest_post(url: &str, ts: &str, sig: &str, body: &[u8]) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("X-Caixa-Timestamp", ts)
        .header("X-Caixa-Signature", sig)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
