//! Webhook → stored, p50/p95: a WhatsApp inbox on the local fake Graph API receives N signed
//! text webhooks through the real gateway; each POST answers only after the message is in
//! the store, so its round trip is the figure. Run:
//!   cargo run --release -p caixa-core --example bench_webhook -- [N]

use std::time::{Duration, Instant};

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config};
use caixa_fakes::whatsapp::{self as wa, WhatsAppFake};

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let fake = WhatsAppFake::start().await;
    let number = fake.add_phone_number("106540352242922", "+1 555-010-0000", "Acme", "token");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
    cfg.listen = Some("127.0.0.1:0".parse().unwrap());
    let caixa = Caixa::open(cfg).unwrap();
    let _running = caixa.start().await.unwrap();
    let view = caixa
        .add_inbox(InboxInput {
            name: "bench".into(),
            settings: InboxSettings::WhatsApp(WhatsAppSettings {
                phone_number_id: "106540352242922".into(),
                business_account_id: None,
                display_phone: None,
                verify_token: String::new(),
                api_version: None,
                api_base_url: Some(fake.base_url()),
            }),
            password: Some("token".into()),
            webhook_secret: Some("secret".into()),
        })
        .await
        .unwrap();
    let url = view.endpoint_url.unwrap();
    let http = reqwest::Client::new();
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        // A new customer every 10 messages: both new and existing conversations are measured.
        let from = format!("55119{:08}", i / 10);
        let body =
            serde_json::to_vec(&number.webhook_text(&from, "Bench", &format!("m {i}"))).unwrap();
        let sig = wa::sign("secret", &body);
        let t0 = Instant::now();
        let res = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sig)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        samples.push(t0.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "webhook → stored over {n}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(p(0.5)),
        ms(p(0.95)),
        ms(samples[samples.len() - 1])
    );
}
