//! A bare Tauri window that reports when its first frame is painted, for scripts/measure-startup.sh.
//! Prints `bare: ui-ready <ms since main() started>` to stderr, like Caixa's `caixa: ui-ready <ms>`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

#[tauri::command]
fn ui_ready() {
    let ms = STARTED.get().map(|t| t.elapsed().as_millis()).unwrap_or(0);
    eprintln!("bare: ui-ready {ms}");
}

fn main() {
    STARTED.get_or_init(Instant::now);
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!())
        .expect("error while running the bare window");
}
