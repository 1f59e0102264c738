//! Starts the fake providers for manual demos: prints `{"telegram": "http://127.0.0.1:…", …}`
//! on stdout, the seeded demo credentials on stderr, and serves until Ctrl-C.
//!
//! Usage: `caixa-fakes [--telegram] [--twilio] [--whatsapp] [--messenger] [--line] [--x]`
//! (no flag: all of them).

use caixa_fakes::line::LineFake;
use caixa_fakes::messenger::MessengerFake;
use caixa_fakes::telegram::TelegramFake;
use caixa_fakes::twilio::TwilioFake;
use caixa_fakes::whatsapp::WhatsAppFake;
use caixa_fakes::x::XFake;
use serde_json::{json, Map, Value};

const ALL: [&str; 6] = ["telegram", "twilio", "whatsapp", "messenger", "line", "x"];

#[tokio::main]
async fn main() {
    let mut wanted = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.strip_prefix("--") {
            Some("help") | Some("h") => {
                eprintln!("usage: caixa-fakes [--telegram] [--twilio] [--whatsapp] [--messenger] [--line] [--x]");
                return;
            }
            Some(name) if ALL.contains(&name) => wanted.push(name.to_owned()),
            _ => {
                eprintln!("caixa-fakes: unknown argument {arg:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    if wanted.is_empty() {
        wanted = ALL.iter().map(|s| s.to_string()).collect();
    }

    let mut urls = Map::new();
    let mut credentials = Map::new();
    // Held until exit: dropping a fake stops its server.
    let mut running: Vec<Box<dyn std::any::Any>> = Vec::new();
    for name in &wanted {
        let (url, creds, fake): (String, Value, Box<dyn std::any::Any>) = match name.as_str() {
            "telegram" => {
                let fake = TelegramFake::start().await;
                fake.new_bot("123456:CAIXA-DEMO-TOKEN", "caixa_demo_bot");
                (
                    fake.base_url(),
                    json!({"bot_token": "123456:CAIXA-DEMO-TOKEN"}),
                    Box::new(fake),
                )
            }
            "twilio" => {
                let fake = TwilioFake::start().await;
                fake.add_account("AC0123456789abcdef0123456789abcdef", "demo-auth-token");
                (
                    fake.base_url(),
                    json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "demo-auth-token"}),
                    Box::new(fake),
                )
            }
            "whatsapp" => {
                let fake = WhatsAppFake::start().await;
                fake.add_phone_number(
                    "100000000000001",
                    "+1 555-010-0001",
                    "Caixa Demo",
                    "demo-whatsapp-token",
                );
                (
                    fake.base_url(),
                    json!({"phone_number_id": "100000000000001", "access_token": "demo-whatsapp-token"}),
                    Box::new(fake),
                )
            }
            "messenger" => {
                let fake = MessengerFake::start().await;
                let page = fake.add_page("200000000000001", "Caixa Demo", "demo-page-token");
                page.link_instagram("17841400000000001", "caixa.demo");
                (
                    fake.base_url(),
                    json!({"page_id": "200000000000001", "page_access_token": "demo-page-token",
                           "instagram_id": "17841400000000001"}),
                    Box::new(fake),
                )
            }
            "line" => {
                let fake = LineFake::start().await;
                fake.add_channel(
                    "demo-line-token",
                    "U00000000000000000000000000000001",
                    "Caixa Demo",
                );
                (
                    fake.base_url(),
                    json!({"channel_access_token": "demo-line-token"}),
                    Box::new(fake),
                )
            }
            _ => {
                let fake = XFake::start().await;
                fake.add_user_token(
                    "demo-x-token",
                    "1000000000000000001",
                    "caixa_demo",
                    "Caixa Demo",
                );
                (
                    fake.base_url(),
                    json!({"access_token": "demo-x-token"}),
                    Box::new(fake),
                )
            }
        };
        urls.insert(name.clone(), json!(url));
        credentials.insert(name.clone(), creds);
        running.push(fake);
    }
    println!("{}", Value::Object(urls));
    eprintln!("demo credentials: {}", Value::Object(credentials));
    eprintln!("serving; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    drop(running);
}
