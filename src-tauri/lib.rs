//! The Tauri shell: typed commands over `caixa_core::Caixa`, and a forwarder from the core's
//! event bus to the webview. No product logic lives here.

mod bindings;
mod commands;

use std::sync::OnceLock;
use std::time::Instant;

use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config};
use tauri::Manager;
use tauri_specta::Event;

pub use bindings::{export_bindings, specta_builder, BINDINGS_PATH};

/// When the process started, to report launch → first painted list.
pub(crate) static STARTED: OnceLock<Instant> = OnceLock::new();

fn config() -> Result<Config, String> {
    let mut cfg = Config::new(caixa_core::paths::default_data_dir(), Secrets::keychain());
    let listen = std::env::var("CAIXA_GATEWAY_LISTEN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| caixa_core::paths::DEFAULT_LISTEN.into());
    cfg.listen = Some(listen.parse().map_err(|_| {
        format!("CAIXA_GATEWAY_LISTEN={listen} is not an address like 127.0.0.1:8787")
    })?);
    cfg.public_url = std::env::var("CAIXA_PUBLIC_URL")
        .ok()
        .filter(|s| !s.is_empty());
    Ok(cfg)
}

pub fn run() {
    STARTED.get_or_init(Instant::now);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIXA_LOG")
                .unwrap_or_else(|_| "caixa_core=info,caixa_app=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let caixa = match config().and_then(|cfg| Caixa::open(cfg).map_err(|e| e.to_string())) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("caixa: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let builder = specta_builder();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let handle = app.handle().clone();
            let running = tauri::async_runtime::block_on(caixa.start())?;
            if let Some(addr) = running.gateway_addr {
                tracing::info!("gateway at http://{addr}");
            }
            // Forward every core event to the webview as one typed event.
            let mut events = caixa.events().subscribe();
            tauri::async_runtime::spawn(async move {
                while let Some(event) = events.recv().await {
                    if let Err(e) = commands::AppEvent(event).emit(&handle) {
                        tracing::warn!("cannot forward an event to the window: {e}");
                    }
                }
            });
            app.manage(caixa);
            app.manage(running);
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("caixa: the window failed: {e}");
        std::process::exit(1);
    }
}
