//! An e-mail conversation end to end in the REAL app window, against real mail servers
//! (Dovecot + Postfix from scripts/mail-servers.sh): add the inbox through the form (with
//! "Test connection"), a customer's HTML mail arrives by IDLE and is painted in the list, its
//! HTML shows only in a sandboxed frame with the remote image blocked and no script run, the
//! agent replies from the reply box and the customer's mailbox receives it threaded.
//!
//! Run it like the walkthrough (scripts/test.sh does):
//!   scripts/test-env.sh cargo test --features tauri/custom-protocol --test e2e_email \
//!     -- --ignored --nocapture --test-threads=1

#[path = "../crates/caixa-core/tests/mail_servers/mod.rs"]
mod mail_servers;
mod support;

use std::time::{Duration, Instant};

use fantoccini::Client;
use mail_servers::MailServers;
use serde_json::json;
use support::*;

const STARTUP: Duration = Duration::from_secs(60);
const UI: Duration = Duration::from_secs(15);
/// IDLE delivers in about a second; this only bounds a stuck run. Timings are printed.
const DELIVERY: Duration = Duration::from_secs(20);
const WHOLE: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, D-Bus, tauri-driver, WebKitWebDriver, mail servers and the built app: run via scripts/test.sh"]
async fn email_conversation_in_the_window() {
    require_display().unwrap();
    let app_bin = app_binary().unwrap();
    let servers = MailServers::start();
    let data = TempDir::new("caixa-e2e-mail-data");
    let xdg = TempDir::new("caixa-e2e-mail-xdg");
    let envs = app_envs(
        data.path(),
        xdg.path(),
        &format!("127.0.0.1:{}", free_port()),
        vec![("CAIXA_EXTRA_CA_CERTS", servers.ca_cert().into())],
    );
    let mut driver = AppDriver::start(&envs).await.unwrap();
    let mut app: Option<Client> = None;
    let outcome = tokio::time::timeout(WHOLE, run(&mut app, &mut driver, &app_bin, &servers))
        .await
        .unwrap_or_else(|_| Err(format!("did not finish within {WHOLE:?}").into()));
    if let Some(c) = &app {
        let name = if outcome.is_ok() {
            "email-final"
        } else {
            "email-failure"
        };
        screenshot(c, name).await;
        if outcome.is_err() {
            save_source(c, "email-failure").await;
        }
    }
    if let Some(c) = app.take() {
        close_session(c, "app").await;
    }
    drop(driver);
    if let Err(e) = outcome {
        panic!(
            "E2E e-mail test failed: {e}\n(artifacts: {})",
            artifacts_dir().display()
        );
    }
}

/// The customer's mail client: Python's smtplib over implicit TLS, trusting the test CA.
fn customer_sends(servers: &MailServers, raw: &str) -> TestResult {
    let script = r#"
import smtplib, ssl, sys
port, ca, user, pw, to = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP_SSL("127.0.0.1", int(port), context=ctx) as s:
    s.login(user, pw)
    s.sendmail(user, [to], sys.stdin.buffer.read())
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(servers.port("SMTPS_PORT").to_string())
        .arg(servers.ca_cert())
        .arg(servers.s("CUSTOMER_USER"))
        .arg(servers.s("CUSTOMER_PASS"))
        .arg(servers.s("SUPPORT_USER"))
        .stdin(std::process::Stdio::piped())
        .spawn()?;
    use std::io::Write;
    child.stdin.take().unwrap().write_all(raw.as_bytes())?;
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("customer's SMTP send failed: {status}").into());
    }
    Ok(())
}

async fn select(app: &Client, id: &str, value: &str) -> TestResult {
    app.execute(
        r#"const el = document.querySelector(`[data-testid="${arguments[0]}"]`);
           el.value = arguments[1]; el.dispatchEvent(new Event('change', {bubbles: true}));"#,
        vec![json!(id), json!(value)],
    )
    .await?;
    Ok(())
}

async fn run(
    slot: &mut Option<Client>,
    driver: &mut AppDriver,
    app_bin: &std::path::Path,
    servers: &MailServers,
) -> TestResult {
    *slot = Some(driver.session(app_bin).await?);
    let app = slot.as_ref().unwrap();
    wait_visible(app, &testid("empty-state"), STARTUP).await?;

    // Add the inbox through the form, test the connection first.
    click(app, &testid("empty-add-inbox"), UI).await?;
    click(app, &testid("channel-email"), UI).await?;
    type_into(app, &testid("field-name"), "Support mail", UI).await?;
    type_into(
        app,
        &testid("field-address"),
        &servers.s("SUPPORT_USER"),
        UI,
    )
    .await?;
    type_into(app, &testid("field-imap_host"), "localhost", UI).await?;
    select(app, "field-imap_security", "tls").await?;
    type_into(
        app,
        &testid("field-imap_port"),
        &servers.port("IMAPS_PORT").to_string(),
        UI,
    )
    .await?;
    type_into(app, &testid("field-smtp_host"), "localhost", UI).await?;
    select(app, "field-smtp_security", "start_tls").await?;
    type_into(
        app,
        &testid("field-smtp_port"),
        &servers.port("SMTP_PORT").to_string(),
        UI,
    )
    .await?;
    type_into(app, &testid("field-password"), "wrong-password", UI).await?;
    click(app, &testid("test-connection"), UI).await?;
    let refused = wait_js(
        app,
        "the connection test to refuse the wrong password",
        UI,
        r#"const i = document.querySelector('[data-testid="test-imap-result"]');
           return i && i.dataset.ok === 'false' ? i.textContent : null;"#,
        vec![],
    )
    .await?;
    log(format!("wrong password → {refused}"));
    if !refused
        .as_str()
        .unwrap_or_default()
        .contains("refused the login")
    {
        return Err(format!("unexpected test-connection message: {refused}").into());
    }
    type_into(
        app,
        &testid("field-password"),
        &servers.s("SUPPORT_PASS"),
        UI,
    )
    .await?;
    click(app, &testid("test-connection"), UI).await?;
    wait_js(
        app,
        "both servers OK",
        UI,
        r#"const i = document.querySelector('[data-testid="test-imap-result"]');
           const s = document.querySelector('[data-testid="test-smtp-result"]');
           return i && s && i.dataset.ok === 'true' && s.dataset.ok === 'true';"#,
        vec![],
    )
    .await?;
    click(app, &testid("save-inbox"), UI).await?;
    wait_js(
        app,
        "the inbox to connect",
        Duration::from_secs(30),
        r#"return [...document.querySelectorAll('[data-testid="inbox-state"]')]
             .some(e => e.dataset.state === 'connected');"#,
        vec![],
    )
    .await?;
    screenshot(app, "email-inbox-connected").await;

    // The customer writes an HTML mail with a script, a handler and a tracking pixel.
    click(app, &testid("nav-inbox"), UI).await?;
    let subject = format!("Pedido {} não chegou", unique("n"));
    let raw = format!(
        "From: Maria Silva <{from}>\r\nTo: {to}\r\nSubject: =?UTF-8?Q?{subj}?=\r\n\
Message-ID: <e2e-{n}@customer.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Meu pedido ainda não chegou.\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<p>Meu pedido <b>ainda não chegou</b>.</p><script>parent.document.title='pwned'</script>\
<img src=\"https://tracker.example/p.gif\" onerror=\"parent.document.title='pwned'\">\r\n--b--\r\n",
        from = servers.s("CUSTOMER_USER"),
        to = servers.s("SUPPORT_USER"),
        subj = quoted_printable_word(&subject),
        n = unique("m"),
    );
    let t0 = Instant::now();
    customer_sends(servers, &raw)?;
    wait_js(
        app,
        "the mail painted in the conversation list",
        DELIVERY,
        r#"const row = document.querySelector('[data-testid="conversation-row"]');
           const p = row && row.querySelector('[data-testid="conversation-preview"]');
           return p && p.textContent.includes(arguments[0]);"#,
        vec![json!(subject)],
    )
    .await?;
    log(format!(
        "customer's mail → painted in the list: {} ms (includes ~50 ms polling and Dovecot's ~0.5 s IDLE notice)",
        t0.elapsed().as_millis()
    ));

    // Open it: subject shown, HTML only in a sandboxed frame, the pixel blocked.
    click(app, &testid("conversation-row"), UI).await?;
    wait_js(
        app,
        "the subject in the thread",
        UI,
        r#"const s = document.querySelector('[data-testid="message-subject"]');
           return s && s.textContent.includes(arguments[0]);"#,
        vec![json!(subject)],
    )
    .await?;
    click(app, &testid("show-html"), UI).await?;
    let frame = wait_js(
        app,
        "the sandboxed HTML frame",
        UI,
        r#"const f = document.querySelector('[data-testid="message-html"]');
           if (!f || !f.hasAttribute('sandbox')) return null;
           return {sandbox: f.getAttribute('sandbox'), doc: f.getAttribute('srcdoc') || ''};"#,
        vec![],
    )
    .await?;
    let sandbox = frame["sandbox"].as_str().unwrap_or("?");
    let doc = frame["doc"].as_str().unwrap_or_default();
    if sandbox.contains("allow-scripts") || sandbox.contains("allow-same-origin") {
        return Err(format!("the HTML frame is not locked down: sandbox=\"{sandbox}\"").into());
    }
    for bad in ["<script", "onerror", "tracker.example"] {
        if doc.contains(bad) {
            return Err(format!("`{bad}` reached the HTML frame").into());
        }
    }
    if !doc.contains("ainda não chegou") {
        return Err("the HTML body is missing from the frame".into());
    }
    wait_visible(app, &testid("load-images"), UI).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let title = app.execute("return document.title", vec![]).await?;
    if title.as_str() == Some("pwned") {
        return Err("a script from the mail ran in the app".into());
    }
    screenshot(app, "email-thread-html").await;

    // Reply from the reply box; the customer's mailbox receives it, threaded.
    type_into(
        app,
        &testid("reply-input"),
        "Olá Maria, o pedido sai hoje.",
        UI,
    )
    .await?;
    click(app, &testid("send-reply"), UI).await?;
    wait_js(
        app,
        "the reply marked sent",
        DELIVERY,
        r#"return [...document.querySelectorAll('[data-testid="message"][data-kind="outgoing"]')]
             .some(m => m.dataset.delivery === 'sent');"#,
        vec![],
    )
    .await?;
    let customer = servers.s("CUSTOMER_USER");
    let delivered = wait_for(
        "the reply in the customer's INBOX",
        DELIVERY,
        Duration::from_millis(100),
        async || {
            Ok(servers
                .maildir(&customer, "")
                .into_iter()
                .map(|m| String::from_utf8_lossy(&m).into_owned())
                .find(|m| m.contains("o pedido sai hoje")))
        },
    )
    .await?;
    if !delivered.contains("In-Reply-To: <e2e-") || !delivered.contains("References: <e2e-") {
        return Err(format!("the reply is not threaded:\n{delivered}").into());
    }
    log("reply delivered to the customer, threaded");
    Ok(())
}

/// RFC 2047 Q-encoding of a UTF-8 subject (enough for the test's text).
fn quoted_printable_word(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "_".to_string(),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("={b:02X}"),
        })
        .collect()
}
