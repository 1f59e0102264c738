//! TypeScript bindings for every command and event, generated from the Rust types.
//! `cargo run --bin caixa -- --export-bindings` rewrites them; a test fails when they drift.

use specta_typescript::{BigIntExportBehavior, Typescript};
use tauri_specta::{collect_commands, collect_events, Builder};

use crate::commands;

/// Relative to the repository root.
pub const BINDINGS_PATH: &str = "ui/src/lib/bindings.ts";

pub fn specta_builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::app_info,
            commands::list_inboxes,
            commands::add_inbox,
            commands::update_inbox,
            commands::delete_inbox,
            commands::reveal_inbox_secret,
            commands::list_conversations,
            commands::get_conversation,
            commands::conversation_counts,
            commands::list_messages,
            commands::send_message,
            commands::stage_file,
            commands::set_status,
            commands::apply_action,
            commands::list_labels,
            commands::create_label,
            commands::update_label,
            commands::delete_label,
            commands::list_agents,
            commands::list_canned_responses,
            commands::create_canned_response,
            commands::update_canned_response,
            commands::delete_canned_response,
            commands::render_reply,
            commands::edit_note,
            commands::delete_note,
            commands::list_macros,
            commands::save_macro,
            commands::delete_macro,
            commands::run_macro,
            commands::list_rules,
            commands::save_rule,
            commands::reorder_rules,
            commands::delete_rule,
            commands::get_inbox_bot,
            commands::save_inbox_bot,
            commands::whatsapp_templates,
            commands::send_template,
            commands::list_contacts,
            commands::contact_details,
            commands::update_contact,
            commands::merge_contacts,
            commands::merge_suggestions,
            commands::report,
            commands::export_report,
            commands::mark_read,
            commands::retry_message,
            commands::search,
            commands::test_email_connection,
            commands::test_connection,
            commands::message_html,
            commands::trust_sender,
            commands::open_attachment,
            commands::ui_ready,
        ])
        .events(collect_events![commands::AppEvent])
}

fn language() -> Typescript {
    // Ids and Unix-millisecond times fit in a JS number (2^53).
    Typescript::default()
        .bigint(BigIntExportBehavior::Number)
        .header("// Generated from the Rust types by tauri-specta. Do not edit: run `cargo run --bin caixa -- --export-bindings`.\n/* eslint-disable */")
}

/// The bindings as text.
pub fn export_bindings() -> Result<String, String> {
    specta_builder()
        .export_str(language())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    /// Fails when the committed bindings differ from the Rust types.
    #[test]
    fn bindings_are_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(super::BINDINGS_PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let fresh = super::export_bindings().unwrap();
        assert!(
            committed == fresh,
            "{} is out of date: run `cargo run --bin caixa -- --export-bindings`",
            path.display()
        );
    }
}
