//! Tauri commands: each one calls the core and turns its error into `{code, message, fields}`.

use caixa_core::model::*;
use caixa_core::{Caixa, ErrorPayload};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

fn err(e: caixa_core::Error) -> ErrorPayload {
    ErrorPayload::from(&e)
}

/// Every core change, forwarded to the webview (`events.appEvent`).
#[derive(Debug, Clone, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct AppEvent(pub CoreEvent);

#[tauri::command]
#[specta::specta]
pub async fn app_info(caixa: State<'_, Caixa>) -> Res<AppInfo> {
    Ok(caixa.app_info())
}

#[tauri::command]
#[specta::specta]
pub async fn list_inboxes(caixa: State<'_, Caixa>) -> Res<Vec<InboxView>> {
    caixa.list_inboxes().await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn add_inbox(caixa: State<'_, Caixa>, input: InboxInput) -> Res<InboxView> {
    caixa.add_inbox(input).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn update_inbox(
    caixa: State<'_, Caixa>,
    id: InboxId,
    input: InboxInput,
) -> Res<InboxView> {
    caixa.update_inbox(id, input).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_inbox(caixa: State<'_, Caixa>, id: InboxId) -> Res<()> {
    caixa.delete_inbox(id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn reveal_inbox_secret(caixa: State<'_, Caixa>, id: InboxId) -> Res<String> {
    caixa.inbox_secret(id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn list_conversations(
    caixa: State<'_, Caixa>,
    filter: ConversationFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> Res<ConversationPage> {
    caixa
        .list_conversations(filter, cursor, limit)
        .await
        .map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn get_conversation(caixa: State<'_, Caixa>, id: ConversationId) -> Res<ConversationRow> {
    caixa.get_conversation(id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn conversation_counts(
    caixa: State<'_, Caixa>,
    inbox_id: Option<InboxId>,
) -> Res<StatusCounts> {
    caixa.conversation_counts(inbox_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn list_messages(
    caixa: State<'_, Caixa>,
    conversation_id: ConversationId,
) -> Res<Vec<Message>> {
    caixa.list_messages(conversation_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn send_message(
    caixa: State<'_, Caixa>,
    conversation_id: ConversationId,
    content: String,
    is_private: bool,
    files: Vec<StagedFile>,
) -> Res<Message> {
    caixa
        .send_message(conversation_id, &content, is_private, &files)
        .await
        .map_err(err)
}

/// Copies a file picked for a reply (file dialog or drag and drop) into the attachment store.
#[tauri::command]
#[specta::specta]
pub async fn stage_file(caixa: State<'_, Caixa>, path: String) -> Res<StagedFile> {
    caixa.stage_file(path.into()).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn set_status(
    caixa: State<'_, Caixa>,
    conversation_id: ConversationId,
    status: ConversationStatus,
) -> Res<ConversationRow> {
    caixa.set_status(conversation_id, status).await.map_err(err)
}

/// Applies one action to one or more conversations (the conversation menu and bulk
/// selections); says per conversation whether it worked.
#[tauri::command]
#[specta::specta]
pub async fn apply_action(
    caixa: State<'_, Caixa>,
    conversation_ids: Vec<ConversationId>,
    action: ConversationAction,
) -> Res<Vec<ActionOutcome>> {
    caixa.apply(&conversation_ids, action).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn list_labels(caixa: State<'_, Caixa>) -> Res<Vec<Label>> {
    caixa.list_labels().await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn create_label(caixa: State<'_, Caixa>, name: String, color: String) -> Res<Label> {
    caixa.create_label(&name, &color).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn update_label(
    caixa: State<'_, Caixa>,
    id: i64,
    name: String,
    color: String,
) -> Res<Label> {
    caixa.update_label(id, &name, &color).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_label(caixa: State<'_, Caixa>, id: i64) -> Res<()> {
    caixa.delete_label(id).await.map_err(err)
}

/// The local agent first, then everyone conversations are assigned to.
#[tauri::command]
#[specta::specta]
pub async fn list_agents(caixa: State<'_, Caixa>) -> Res<Vec<String>> {
    caixa.list_agents().await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn list_canned_responses(caixa: State<'_, Caixa>) -> Res<Vec<CannedResponse>> {
    caixa.list_canned_responses().await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn create_canned_response(
    caixa: State<'_, Caixa>,
    short_code: String,
    content: String,
) -> Res<CannedResponse> {
    caixa
        .create_canned_response(&short_code, &content)
        .await
        .map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn update_canned_response(
    caixa: State<'_, Caixa>,
    id: i64,
    short_code: String,
    content: String,
) -> Res<CannedResponse> {
    caixa
        .update_canned_response(id, &short_code, &content)
        .await
        .map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_canned_response(caixa: State<'_, Caixa>, id: i64) -> Res<()> {
    caixa.delete_canned_response(id).await.map_err(err)
}

/// A reply text with its variables (`{{contact.first_name}}`…) filled in for a conversation.
#[tauri::command]
#[specta::specta]
pub async fn render_reply(
    caixa: State<'_, Caixa>,
    conversation_id: ConversationId,
    text: String,
) -> Res<String> {
    caixa
        .render_reply(conversation_id, &text)
        .await
        .map_err(err)
}

/// Edits a private note (its author only).
#[tauri::command]
#[specta::specta]
pub async fn edit_note(
    caixa: State<'_, Caixa>,
    message_id: MessageId,
    content: String,
) -> Res<Message> {
    caixa.edit_note(message_id, &content).await.map_err(err)
}

/// Deletes a private note (its author only).
#[tauri::command]
#[specta::specta]
pub async fn delete_note(caixa: State<'_, Caixa>, message_id: MessageId) -> Res<()> {
    caixa.delete_note(message_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn list_macros(caixa: State<'_, Caixa>) -> Res<Vec<Macro>> {
    caixa.list_macros().await.map_err(err)
}

/// Creates (`id` null) or replaces a macro; every step is checked first.
#[tauri::command]
#[specta::specta]
pub async fn save_macro(
    caixa: State<'_, Caixa>,
    id: Option<i64>,
    name: String,
    steps: Vec<MacroStep>,
) -> Res<Macro> {
    caixa.save_macro(id, &name, steps).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_macro(caixa: State<'_, Caixa>, id: i64) -> Res<()> {
    caixa.delete_macro(id).await.map_err(err)
}

/// Runs a macro on conversations; per conversation, what each step did.
#[tauri::command]
#[specta::specta]
pub async fn run_macro(
    caixa: State<'_, Caixa>,
    id: i64,
    conversation_ids: Vec<ConversationId>,
) -> Res<Vec<MacroRun>> {
    caixa.run_macro(id, &conversation_ids).await.map_err(err)
}

/// Every automation rule, in the order they run.
#[tauri::command]
#[specta::specta]
pub async fn list_rules(caixa: State<'_, Caixa>) -> Res<Vec<AutomationRule>> {
    caixa.list_rules().await.map_err(err)
}

/// Creates (`id` null, runs last) or replaces an automation rule, after checking it.
#[tauri::command]
#[specta::specta]
pub async fn save_rule(
    caixa: State<'_, Caixa>,
    id: Option<i64>,
    rule: RuleInput,
) -> Res<AutomationRule> {
    caixa.save_rule(id, rule).await.map_err(err)
}

/// Sets the order rules run in (`ids` lists every rule once).
#[tauri::command]
#[specta::specta]
pub async fn reorder_rules(caixa: State<'_, Caixa>, ids: Vec<i64>) -> Res<Vec<AutomationRule>> {
    caixa.reorder_rules(ids).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_rule(caixa: State<'_, Caixa>, id: i64) -> Res<()> {
    caixa.delete_rule(id).await.map_err(err)
}

/// An inbox's greeting, business hours and chatbot.
#[tauri::command]
#[specta::specta]
pub async fn get_inbox_bot(caixa: State<'_, Caixa>, inbox_id: InboxId) -> Res<InboxBot> {
    caixa.inbox_bot(inbox_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn save_inbox_bot(
    caixa: State<'_, Caixa>,
    inbox_id: InboxId,
    settings: BotSettings,
) -> Res<InboxBot> {
    caixa.save_inbox_bot(inbox_id, settings).await.map_err(err)
}

/// The approved message templates of a WhatsApp inbox.
#[tauri::command]
#[specta::specta]
pub async fn whatsapp_templates(
    caixa: State<'_, Caixa>,
    inbox_id: InboxId,
) -> Res<Vec<WhatsAppTemplate>> {
    caixa.whatsapp_templates(inbox_id).await.map_err(err)
}

/// Sends an approved WhatsApp template with its parameters (works after the 24-hour window).
#[tauri::command]
#[specta::specta]
pub async fn send_template(
    caixa: State<'_, Caixa>,
    conversation_id: ConversationId,
    name: String,
    language: String,
    parameters: Vec<String>,
) -> Res<Message> {
    caixa
        .send_template(conversation_id, &name, &language, parameters)
        .await
        .map_err(err)
}

/// Contacts matching a text (name, e-mail, phone; all when empty), most recently active first.
#[tauri::command]
#[specta::specta]
pub async fn list_contacts(
    caixa: State<'_, Caixa>,
    query: String,
    limit: u32,
    offset: u32,
) -> Res<Vec<ContactSummary>> {
    caixa
        .list_contacts(&query, limit, offset)
        .await
        .map_err(err)
}

/// A contact with their channels and conversations.
#[tauri::command]
#[specta::specta]
pub async fn contact_details(caixa: State<'_, Caixa>, id: ContactId) -> Res<ContactDetails> {
    caixa.contact_details(id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn update_contact(
    caixa: State<'_, Caixa>,
    id: ContactId,
    input: ContactInput,
) -> Res<Contact> {
    caixa.update_contact(id, input).await.map_err(err)
}

/// Moves everything of `other` into `keep` and removes `other`.
#[tauri::command]
#[specta::specta]
pub async fn merge_contacts(
    caixa: State<'_, Caixa>,
    keep: ContactId,
    other: ContactId,
) -> Res<ContactDetails> {
    caixa.merge_contacts(keep, other).await.map_err(err)
}

/// Pairs of contacts sharing an e-mail or phone exactly.
#[tauri::command]
#[specta::specta]
pub async fn merge_suggestions(caixa: State<'_, Caixa>) -> Res<Vec<MergeSuggestion>> {
    caixa.merge_suggestions().await.map_err(err)
}

/// Figures for a period, overall and per inbox, by day and by hour.
#[tauri::command]
#[specta::specta]
pub async fn report(caixa: State<'_, Caixa>, query: ReportQuery) -> Res<Report> {
    caixa.report(query).await.map_err(err)
}

/// Writes the report as CSV to a file the user chose.
#[tauri::command]
#[specta::specta]
pub async fn export_report(caixa: State<'_, Caixa>, query: ReportQuery, path: String) -> Res<()> {
    caixa
        .export_report(query, std::path::PathBuf::from(path))
        .await
        .map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn mark_read(caixa: State<'_, Caixa>, conversation_id: ConversationId) -> Res<()> {
    caixa.mark_read(conversation_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn retry_message(caixa: State<'_, Caixa>, message_id: MessageId) -> Res<()> {
    caixa.retry_message(message_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn search(
    caixa: State<'_, Caixa>,
    query: SearchQuery,
    limit: u32,
) -> Res<Vec<SearchHit>> {
    caixa.search(&query, limit).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn test_email_connection(
    caixa: State<'_, Caixa>,
    settings: EmailSettings,
    password: Option<String>,
    inbox_id: Option<InboxId>,
) -> Res<ConnectionReport> {
    caixa
        .test_email_connection(settings, password, inbox_id)
        .await
        .map_err(err)
}

/// Checks a channel's provider credential (Telegram, WhatsApp, Twilio, LINE) with the
/// provider; returns what it says about the account (e.g. `@acme_bot`, a phone number).
#[tauri::command]
#[specta::specta]
pub async fn test_connection(
    caixa: State<'_, Caixa>,
    input: InboxInput,
    inbox_id: Option<InboxId>,
) -> Res<String> {
    caixa.test_connection(input, inbox_id).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn message_html(
    caixa: State<'_, Caixa>,
    message_id: MessageId,
    load_remote: bool,
) -> Res<MessageHtml> {
    caixa
        .message_html(message_id, load_remote)
        .await
        .map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn trust_sender(caixa: State<'_, Caixa>, message_id: MessageId) -> Res<()> {
    caixa.trust_sender(message_id).await.map_err(err)
}

/// Opens an attachment with the system's default app for its type.
#[tauri::command]
#[specta::specta]
pub async fn open_attachment(
    app: tauri::AppHandle,
    caixa: State<'_, Caixa>,
    attachment_id: i64,
) -> Res<()> {
    use tauri_plugin_opener::OpenerExt;
    let path = caixa.attachment_file(attachment_id).await.map_err(err)?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| {
            err(caixa_core::Error::Internal(format!(
                "cannot open the file: {e}"
            )))
        })
}

/// The UI painted its first list: logged for the start-up measurement.
#[tauri::command]
#[specta::specta]
pub fn ui_ready() -> Res<()> {
    let ms = crate::STARTED
        .get()
        .map(|t| t.elapsed().as_secs_f64() * 1e3)
        .unwrap_or(0.0);
    eprintln!("caixa: ui-ready {ms:.0}");
    Ok(())
}
