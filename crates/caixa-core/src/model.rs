//! Domain types shared by the store, the gateway, the CLI and (through specta) the UI.
//!
//! Times are Unix milliseconds (`i64`) everywhere: cheap to index and sort, and the UI formats them.

use serde::{Deserialize, Serialize};
use specta::Type;

pub type InboxId = i64;
pub type ContactId = i64;
pub type ConversationId = i64;
pub type MessageId = i64;

/// A way customers reach you. One configured instance of a kind is an [`Inbox`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Website,
    Api,
    Email,
    Telegram,
    #[serde(rename = "whatsapp")]
    WhatsApp,
    /// SMS (or WhatsApp) through a Twilio number.
    Twilio,
    Line,
    /// X (Twitter) direct messages.
    X,
    Messenger,
    Instagram,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Website => "website",
            ChannelKind::Api => "api",
            ChannelKind::Email => "email",
            ChannelKind::Telegram => "telegram",
            ChannelKind::WhatsApp => "whatsapp",
            ChannelKind::Twilio => "twilio",
            ChannelKind::Line => "line",
            ChannelKind::X => "x",
            ChannelKind::Messenger => "messenger",
            ChannelKind::Instagram => "instagram",
        }
    }

    /// How long after the customer's last message free-form replies are allowed.
    pub fn reply_window_ms(self) -> Option<i64> {
        match self {
            ChannelKind::WhatsApp => Some(24 * 3600 * 1000),
            // 24 h for any reply, then 7 days with Meta's HUMAN_AGENT tag.
            ChannelKind::Messenger | ChannelKind::Instagram => Some(7 * 24 * 3600 * 1000),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "website" => Some(ChannelKind::Website),
            "api" => Some(ChannelKind::Api),
            "email" => Some(ChannelKind::Email),
            "telegram" => Some(ChannelKind::Telegram),
            "whatsapp" => Some(ChannelKind::WhatsApp),
            "twilio" => Some(ChannelKind::Twilio),
            "line" => Some(ChannelKind::Line),
            "x" => Some(ChannelKind::X),
            "messenger" => Some(ChannelKind::Messenger),
            "instagram" => Some(ChannelKind::Instagram),
            _ => None,
        }
    }

    /// The kind's name in a sentence shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Website => "website chat",
            ChannelKind::Api => "API",
            ChannelKind::Email => "e-mail",
            ChannelKind::Telegram => "Telegram",
            ChannelKind::WhatsApp => "WhatsApp",
            ChannelKind::Twilio => "SMS (Twilio)",
            ChannelKind::Line => "LINE",
            ChannelKind::X => "X",
            ChannelKind::Messenger => "Messenger",
            ChannelKind::Instagram => "Instagram",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Pending,
    Snoozed,
    Resolved,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 4] = [
        ConversationStatus::Open,
        ConversationStatus::Pending,
        ConversationStatus::Snoozed,
        ConversationStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Snoozed => "snoozed",
            ConversationStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Priority::None,
            Priority::Low,
            Priority::Medium,
            Priority::High,
            Priority::Urgent,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// What a message is: from the customer, our reply, a private note (never leaves the app), or an
/// activity line written by the app ("resolved the conversation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Incoming,
    Outgoing,
    Note,
    Activity,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Incoming => "incoming",
            MessageKind::Outgoing => "outgoing",
            MessageKind::Note => "note",
            MessageKind::Activity => "activity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MessageKind::Incoming,
            MessageKind::Outgoing,
            MessageKind::Note,
            MessageKind::Activity,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Delivery state of an outgoing message. `Queued` is written before any network call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Queued,
    Sent,
    Delivered,
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Delivery::Queued,
            Delivery::Sent,
            Delivery::Delivered,
            Delivery::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Settings of a website live-chat inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct WebsiteSettings {
    pub website_url: String,
    pub welcome_title: String,
    pub welcome_text: String,
    /// `#rrggbb`
    pub color: String,
}

/// Settings of an API inbox ("any other app").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ApiSettings {
    /// Where agent replies are POSTed. Without one, replies stay queued until it is set.
    pub webhook_url: Option<String>,
}

/// Settings of a Telegram bot inbox. The bot token is in the OS keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct TelegramSettings {
    /// The bot's @username, as Telegram reported it when the inbox was saved.
    #[serde(default)]
    pub bot_username: Option<String>,
    /// Advanced: the Bot API server (default `https://api.telegram.org`); a self-hosted Bot
    /// API server or a test double.
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// Settings of a WhatsApp Business (Cloud API) inbox. The access token and the app secret are
/// in the OS keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct WhatsAppSettings {
    /// The Cloud API phone number ID (Meta App Dashboard → WhatsApp → API Setup).
    pub phone_number_id: String,
    /// The number as Meta reported it when the inbox was saved.
    #[serde(default)]
    pub display_phone: Option<String>,
    /// The token Meta sends when registering the webhook; generated when left empty.
    #[serde(default)]
    pub verify_token: String,
    /// The WhatsApp Business Account ID (API Setup): where the message templates offered
    /// outside the 24-hour window are listed. Without it no template can be sent.
    #[serde(default)]
    pub business_account_id: Option<String>,
    /// Advanced: the Graph API version (default `v21.0`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Advanced: the Graph API server (default `https://graph.facebook.com`).
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// Settings of a Twilio inbox (SMS, or WhatsApp through Twilio). The auth token is in the OS
/// keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct TwilioSettings {
    /// `AC` followed by 32 hex digits (Twilio Console → Account info).
    pub account_sid: String,
    /// The Twilio number customers write to: `+15550100000` (SMS) or
    /// `whatsapp:+15550100000`.
    pub number: String,
    /// Advanced: the REST API server (default `https://api.twilio.com`).
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// Settings of a LINE official account inbox (Messaging API). The channel access token and
/// the channel secret are in the OS keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct LineSettings {
    /// The bot's name, as LINE reported it when the inbox was saved.
    #[serde(default)]
    pub bot_name: Option<String>,
    /// Advanced: the Messaging API server (default `https://api.line.me`, content from
    /// `https://api-data.line.me`); when set, it serves both.
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// Settings of an X (Twitter) direct-message inbox. The OAuth 2.0 user token is in the OS
/// keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct XSettings {
    /// The account's @username and id, as X reported them when the inbox was saved.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// Seconds between polls (default 60); X's rate-limit headers can only make it longer.
    #[serde(default)]
    pub poll_seconds: Option<u32>,
    /// Advanced: the API server (default `https://api.x.com`).
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// Settings of a Messenger or Instagram inbox (a Facebook Page, and its linked Instagram
/// professional account). The Page access token is in the OS keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MessengerSettings {
    /// The Facebook Page ID.
    pub page_id: String,
    /// The Page's name, as Meta reported it when the inbox was saved.
    #[serde(default)]
    pub page_name: Option<String>,
    /// Instagram: the linked account's id, as Meta reported it (to tell its own messages
    /// apart).
    #[serde(default)]
    pub instagram_id: Option<String>,
    /// Seconds between polls (default 10).
    #[serde(default)]
    pub poll_seconds: Option<u32>,
    /// Advanced: the Graph API version (default `v21.0`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Advanced: the Graph API server (default `https://graph.facebook.com`).
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// How a mail connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum MailSecurity {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// Plain connection upgraded with STARTTLS before login (IMAP 143, SMTP 587).
    StartTls,
    /// No encryption: refused unless the host is this computer (loopback).
    Plain,
}

impl MailSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            MailSecurity::Tls => "tls",
            MailSecurity::StartTls => "start_tls",
            MailSecurity::Plain => "plain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.replace('-', "_").to_ascii_lowercase().as_str() {
            "tls" | "ssl" => Some(MailSecurity::Tls),
            "start_tls" | "starttls" => Some(MailSecurity::StartTls),
            "plain" | "none" => Some(MailSecurity::Plain),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
}

/// Settings of an e-mail inbox. The password is in the OS keychain, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct EmailSettings {
    /// The support address customers write to; replies go out from it.
    pub address: String,
    /// Shown as the sender of replies (`Acme Support <support@acme.example>`).
    pub display_name: String,
    pub imap: MailServer,
    pub smtp: MailServer,
    /// Login for both servers (often the address itself).
    pub username: String,
    /// Initial sync: only mail from the last N days; `None` = the whole mailbox.
    pub lookback_days: Option<u32>,
    /// Opening a conversation in Caixa marks its mail as read (\Seen) on the server too.
    pub mark_seen: bool,
}

/// The per-kind part of an inbox's configuration, as stored and as edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboxSettings {
    Website(WebsiteSettings),
    Api(ApiSettings),
    Email(EmailSettings),
    Telegram(TelegramSettings),
    #[serde(rename = "whatsapp")]
    WhatsApp(WhatsAppSettings),
    Twilio(TwilioSettings),
    Line(LineSettings),
    X(XSettings),
    Messenger(MessengerSettings),
    Instagram(MessengerSettings),
}

impl InboxSettings {
    pub fn kind(&self) -> ChannelKind {
        match self {
            InboxSettings::Website(_) => ChannelKind::Website,
            InboxSettings::Api(_) => ChannelKind::Api,
            InboxSettings::Email(_) => ChannelKind::Email,
            InboxSettings::Telegram(_) => ChannelKind::Telegram,
            InboxSettings::WhatsApp(_) => ChannelKind::WhatsApp,
            InboxSettings::Twilio(_) => ChannelKind::Twilio,
            InboxSettings::Line(_) => ChannelKind::Line,
            InboxSettings::X(_) => ChannelKind::X,
            InboxSettings::Messenger(_) => ChannelKind::Messenger,
            InboxSettings::Instagram(_) => ChannelKind::Instagram,
        }
    }
}

/// Input to create or edit an inbox.
// `Debug` is written by hand below so that it never shows the password.
#[derive(Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct InboxInput {
    pub name: String,
    pub settings: InboxSettings,
    /// The inbox's credential, moved to the keychain on save: the mailbox password (e-mail),
    /// the bot token (Telegram), the access token (WhatsApp), the auth token (Twilio) or the
    /// channel access token (LINE), the OAuth 2.0 user token (X) or the Page access token
    /// (Messenger, Instagram). When editing, `None` keeps the
    /// stored one.
    #[serde(default)]
    pub password: Option<String>,
    /// The secret that signs the provider's webhooks (WhatsApp: the Meta app secret; LINE: the
    /// channel secret), moved to
    /// the keychain on save. When editing, `None` keeps the stored one.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for InboxInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxInput")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Result of checking an e-mail inbox's servers before (or after) saving it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ConnectionReport {
    /// `None` when the IMAP server accepted the login and has an INBOX; else what failed.
    pub imap_error: Option<String>,
    pub smtp_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Inbox {
    pub id: InboxId,
    pub name: String,
    pub kind: ChannelKind,
    /// Public token: identifies the inbox in widget and API URLs. Not a secret.
    pub token: String,
    pub settings: InboxSettings,
    pub created_at: i64,
}

/// Live state of an inbox's connection, shown next to it in the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InboxState {
    /// Waiting for the gateway or the first connection.
    Starting,
    /// Receiving: the gateway is listening (website, API) or the provider is connected.
    Connected,
    /// Fetching mail: `done` of `total` new messages stored so far.
    Syncing { done: u32, total: u32 },
    /// Not receiving, with the reason in plain words.
    Error { reason: String },
}

/// An inbox as the UI shows it: configuration, live state and how to connect to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct InboxView {
    pub inbox: Inbox,
    pub state: InboxState,
    /// Website: the `<script>` tag to paste into the site.
    pub snippet: Option<String>,
    /// Website: a local page that already embeds the widget.
    pub test_page_url: Option<String>,
    /// API: the URL integrators POST messages to.
    pub endpoint_url: Option<String>,
    /// Why replies in this inbox cannot carry files, in words (`None`: they can). Private
    /// notes always can.
    pub files_refused: Option<String>,
}

/// Position in the conversation list (keyset pagination: newest activity first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Cursor {
    pub last_activity_at: i64,
    pub id: ConversationId,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct ConversationFilter {
    /// `None` = all statuses.
    pub status: Option<ConversationStatus>,
    pub inbox_id: Option<InboxId>,
    #[serde(default)]
    pub unread_only: bool,
    /// Only conversations with this label.
    #[serde(default)]
    pub label: Option<String>,
    /// Only conversations assigned to this agent.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only this contact's conversations.
    #[serde(default)]
    pub contact_id: Option<ContactId>,
}

/// A reusable reply, inserted in the reply box by typing `/` and its short code. The content
/// may use `{{contact.name}}`, `{{contact.first_name}}`, `{{agent.name}}` and `{{inbox.name}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct CannedResponse {
    pub id: i64,
    pub short_code: String,
    pub content: String,
}

/// One step of a macro: a conversation action, a private note or a message to the customer
/// (both may use the canned-response variables).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum MacroStep {
    Action {
        action: ConversationAction,
    },
    /// Snooze for a while from the moment the macro runs.
    SnoozeFor {
        minutes: u32,
    },
    AddNote {
        text: String,
    },
    SendMessage {
        text: String,
    },
    /// Automation rules only: runs a macro's steps (macros cannot run macros).
    RunMacro {
        macro_id: i64,
    },
}

/// An approved WhatsApp message template: the only thing WhatsApp delivers outside the
/// 24-hour customer window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct WhatsAppTemplate {
    pub name: String,
    /// e.g. `en_US`, `pt_BR`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// The body text with positional parameters `{{1}}`, `{{2}}`…
    pub body: String,
    /// How many parameters the body needs.
    pub parameters: u32,
}

/// What an automation rule listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum RuleEvent {
    /// A customer started a new conversation (its first message is stored).
    ConversationCreated,
    /// A customer's message arrived (also the first one of a new conversation).
    MessageReceived,
    /// A conversation action changed it (status, assignee, priority, labels, snooze, mute).
    ConversationUpdated,
}

/// A condition of an automation rule; a rule runs when all its conditions hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum RuleCondition {
    /// The conversation is in one of these inboxes.
    Inbox { inbox_ids: Vec<InboxId> },
    /// The conversation's channel is one of these kinds.
    ChannelKind { kinds: Vec<ChannelKind> },
    /// The customer's message contains one of these words or phrases (case-insensitive).
    /// Never holds on `conversation_updated`, which has no message.
    MessageContains { words: Vec<String> },
    /// The contact's e-mail matches a pattern; `*` matches anything (`*@acme.com`).
    ContactEmail { pattern: String },
    /// The contact's phone matches a pattern; `*` matches anything (`+55*`).
    ContactPhone { pattern: String },
    /// The conversation's status is one of these.
    Status { statuses: Vec<ConversationStatus> },
    /// The conversation carries (`present`) or lacks this label.
    Label { label: String, present: bool },
    /// Now is inside (or outside) the inbox's business hours (an inbox without hours is
    /// always inside).
    BusinessHours { inside: bool },
}

/// An automation rule: on an event, when every condition holds, its actions run in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct AutomationRule {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub event: RuleEvent,
    pub conditions: Vec<RuleCondition>,
    /// Macro steps, plus `run_macro`.
    pub actions: Vec<MacroStep>,
}

/// What the user edits to create or change a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct RuleInput {
    pub name: String,
    pub enabled: bool,
    pub event: RuleEvent,
    pub conditions: Vec<RuleCondition>,
    pub actions: Vec<MacroStep>,
}

/// Opening hours of an inbox, in its time zone. Several entries may share a day (a lunch
/// break); a day without entries is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct BusinessHours {
    /// IANA name, e.g. `America/Sao_Paulo`.
    pub time_zone: String,
    pub days: Vec<OpeningHours>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct OpeningHours {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// `HH:MM`, 24-hour.
    pub open: String,
    /// `HH:MM`, after `open`; `24:00` is the end of the day.
    pub close: String,
}

/// A canned answer the bot gives when the customer's message contains one of the keywords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct FaqAnswer {
    pub keywords: Vec<String>,
    pub answer: String,
}

/// An inbox's greeting, business hours and chatbot. With FAQ answers or an agent-bot URL the
/// bot is on: new conversations start as pending and the bot answers until it hands over.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct BotSettings {
    /// Sent when a customer starts a conversation.
    #[serde(default)]
    pub greeting: Option<String>,
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
    /// Sent (at most once a day per conversation) when a customer writes outside business hours.
    #[serde(default)]
    pub out_of_office: Option<String>,
    #[serde(default)]
    pub faq: Vec<FaqAnswer>,
    /// Words with which the customer asks for a person; empty = the defaults ("human",
    /// "agent", "person", "humano", "atendente", "pessoa").
    #[serde(default)]
    pub handover_keywords: Vec<String>,
    /// Sent when the bot hands the conversation over; `None` = say nothing.
    #[serde(default)]
    pub handover_message: Option<String>,
    /// The agent bot: each customer message is POSTed here (signed like the API channel) and
    /// its answer sent back.
    #[serde(default)]
    pub agent_bot_url: Option<String>,
    /// How long to wait for the agent bot before handing over (1–30 s; 0 = 10 s).
    #[serde(default)]
    pub agent_bot_timeout_secs: u32,
}

/// An inbox's bot settings as shown in Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct InboxBot {
    pub inbox_id: InboxId,
    pub settings: BotSettings,
    /// The bot answers and hands over (FAQ answers or an agent bot are set).
    pub active: bool,
    /// The secret that signs requests to the agent bot (`X-Caixa-Signature`), once a URL is set.
    pub agent_bot_secret: Option<String>,
}

/// A named, ordered list of steps run on a conversation with one click.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Macro {
    pub id: i64,
    pub name: String,
    pub steps: Vec<MacroStep>,
}

/// What a macro did to one conversation: one entry per step that ran; it stops at the first
/// failure, whose error is the last entry's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MacroRun {
    pub conversation_id: ConversationId,
    pub steps: Vec<ActionOutcome>,
    /// All steps ran.
    pub completed: bool,
}

/// A label conversations can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Label {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// How many conversations carry it.
    pub conversations: u32,
}

/// One change to conversations: the same from the conversation menu, a bulk selection, a
/// macro or an automation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ConversationAction {
    SetStatus {
        status: ConversationStatus,
    },
    /// Until a time (Unix ms), or until the customer replies when `until` is `None`.
    Snooze {
        until: Option<i64>,
    },
    /// `None` unassigns.
    Assign {
        agent: Option<String>,
    },
    SetPriority {
        priority: Priority,
    },
    AddLabel {
        label: String,
    },
    RemoveLabel {
        label: String,
    },
    Mute {
        muted: bool,
    },
    MarkUnread,
    /// Removes the conversation from this computer (never from the provider).
    Delete,
}

/// What one action did to one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ActionOutcome {
    pub conversation_id: ConversationId,
    /// `None` when it worked.
    pub error: Option<String>,
}

/// One row of the unified conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ConversationRow {
    pub id: ConversationId,
    pub inbox_id: InboxId,
    pub inbox_name: String,
    pub channel: ChannelKind,
    pub contact_id: ContactId,
    pub contact_name: String,
    pub status: ConversationStatus,
    pub assignee: Option<String>,
    pub priority: Priority,
    pub labels: Vec<String>,
    pub unread_count: u32,
    pub last_activity_at: i64,
    pub preview: String,
    pub preview_kind: Option<MessageKind>,
    /// Channels that only allow free-form replies for a while after the customer last wrote
    /// (WhatsApp: 24 h): when that ends (Unix ms). `None`: no such limit, or no message yet.
    pub reply_window_closes_at: Option<i64>,
    /// Snoozed until then (Unix ms); `None` while snoozed: until the customer replies.
    pub snoozed_until: Option<i64>,
    /// Incoming messages do not reopen it.
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ConversationPage {
    pub items: Vec<ConversationRow>,
    /// Pass back to get the next page; `None` at the end.
    pub next_cursor: Option<Cursor>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct StatusCounts {
    pub open: u32,
    pub pending: u32,
    pub snoozed: u32,
    pub resolved: u32,
    pub all: u32,
    pub unread: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Attachment {
    pub id: i64,
    pub file_name: String,
    pub mime_type: String,
    pub size: i64,
    /// Still on the mail server (a very large file): downloaded when first opened.
    pub on_server: bool,
}

/// A file picked for a reply, already copied into the attachment store; pass it to
/// `send_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct StagedFile {
    pub sha256: String,
    pub file_name: String,
    pub mime_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub kind: MessageKind,
    pub content: String,
    /// Who wrote it: the contact's name for incoming, the agent's for outgoing and notes.
    pub sender_name: Option<String>,
    /// Outgoing only.
    pub delivery: Option<Delivery>,
    /// Why delivery failed (or why the last attempt failed while retrying).
    pub error: Option<String>,
    pub created_at: i64,
    pub attachments: Vec<Attachment>,
    /// E-mail: the subject line.
    pub subject: Option<String>,
    /// E-mail: the message has an HTML body (fetch it with `message_html`).
    pub has_html: bool,
    /// Written by the chatbot or an automation rule, not by a person.
    pub by_bot: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The agents' notes about the person (never sent).
    pub notes: String,
    /// Custom attributes (plan, company, order number…), by name.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// What an agent edits on a contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct ContactInput {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// How a contact is known in one inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ContactChannel {
    pub inbox_id: InboxId,
    pub inbox_name: String,
    pub channel: ChannelKind,
    /// The contact's id in that channel (address, phone, user id…).
    pub handle: String,
}

/// Everything the contact panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ContactDetails {
    pub contact: Contact,
    pub channels: Vec<ContactChannel>,
    /// Newest activity first.
    pub conversations: Vec<ConversationRow>,
}

/// One row of the contacts page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ContactSummary {
    pub contact: Contact,
    pub conversation_count: u32,
    /// Channel kinds the contact wrote from.
    pub channels: Vec<ChannelKind>,
    pub last_activity_at: Option<i64>,
}

/// Two contacts that are probably the same person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MergeSuggestion {
    pub a: Contact,
    pub b: Contact,
    /// `email` or `phone`: what they share exactly.
    pub reason: String,
}

/// An HTML mail body ready for a sandboxed frame (`srcdoc`): a whole document with a strict
/// Content-Security-Policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MessageHtml {
    pub html: String,
    /// Remote images left out; non-zero means the UI may offer "Load images".
    pub blocked_images: u32,
}

/// One search result; `snippet` marks matches between `\u{2}` and `\u{3}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct SearchHit {
    pub conversation_id: ConversationId,
    /// The message shown (`None`: the contact matched).
    pub message_id: Option<MessageId>,
    pub contact_name: String,
    pub inbox_name: String,
    pub channel: ChannelKind,
    pub status: ConversationStatus,
    /// The matched text with the matches between `SNIPPET_START` and `SNIPPET_END`.
    pub snippet: String,
    pub created_at: i64,
    /// How many of the conversation's messages match (counted among the newest 5,000 matches).
    pub matches: u32,
}

/// Which period (and inbox) a report covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ReportQuery {
    /// `None`: every inbox.
    #[serde(default)]
    pub inbox_id: Option<InboxId>,
    /// Unix ms, inclusive.
    pub since: i64,
    /// Unix ms, exclusive.
    pub until: i64,
    /// The viewer's offset from UTC, for hours and days (e.g. -180 for São Paulo).
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

/// The figures of one inbox (or all) over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct ReportTotals {
    /// Conversations started in the period.
    pub opened: u32,
    /// Conversations resolved in the period (each counted once).
    pub resolved: u32,
    pub messages_in: u32,
    /// Replies written by people.
    pub messages_out: u32,
    /// Replies sent by the bot or automation rules.
    pub bot_messages: u32,
    /// From the customer's first message to the first reply by a person, for conversations
    /// started in the period (median, ms).
    pub median_first_response_ms: Option<i64>,
    /// From start to (first) resolution, for conversations resolved in the period (median, ms).
    pub median_resolution_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct InboxReport {
    pub inbox_id: InboxId,
    pub inbox_name: String,
    pub channel: ChannelKind,
    pub totals: ReportTotals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct DayReport {
    /// `YYYY-MM-DD` in the viewer's offset.
    pub day: String,
    pub opened: u32,
    pub resolved: u32,
    pub messages_in: u32,
}

/// Everything the reports page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Report {
    pub query: ReportQuery,
    pub totals: ReportTotals,
    /// Every inbox (only the chosen one when the query names one).
    pub inboxes: Vec<InboxReport>,
    /// Each day of the period, oldest first (days without activity included).
    pub days: Vec<DayReport>,
    /// Customer messages by hour of the day (0–23, viewer's offset).
    pub busiest_hours: Vec<u32>,
}

/// What to search for, and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct SearchQuery {
    /// Words as typed; the last one matches as a prefix.
    pub text: String,
    #[serde(default)]
    pub inbox_id: Option<InboxId>,
    #[serde(default)]
    pub status: Option<ConversationStatus>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only messages written at or after this time (Unix ms).
    #[serde(default)]
    pub since: Option<i64>,
    /// Only messages written before this time (Unix ms).
    #[serde(default)]
    pub until: Option<i64>,
    #[serde(default)]
    pub order: SearchOrder,
}

impl SearchQuery {
    /// Just words, everywhere.
    pub fn text(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.to_string(),
            ..SearchQuery::default()
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Conversations whose newest match is newest first.
    #[default]
    Newest,
    /// Best match first (BM25).
    Relevance,
}

pub const SNIPPET_START: char = '\u{2}';
pub const SNIPPET_END: char = '\u{3}';

/// A field-level validation message, so the UI can put it under the right input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Information the shell and CLI show about the running engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    /// Base URL of the gateway (widget, API channel), or `None` if it is not running.
    pub gateway_url: Option<String>,
    pub gateway_error: Option<String>,
    pub agent_name: String,
}

/// One change in the core. Events are coarse and carry ids: listeners refetch what they show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CoreEvent {
    /// Inboxes were added, edited or deleted.
    InboxesChanged,
    InboxStateChanged {
        inbox_id: InboxId,
        state: InboxState,
    },
    /// A conversation was created or changed (status, unread count, last activity…).
    ConversationChanged { conversation_id: ConversationId },
    /// A message was added or changed (e.g. its delivery state).
    MessageChanged {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// A conversation was deleted from this computer.
    ConversationRemoved { conversation_id: ConversationId },
    /// Labels were created, edited or deleted.
    LabelsChanged,
    /// Canned responses were created, edited or deleted.
    CannedResponsesChanged,
    /// Macros were created, edited or deleted.
    MacrosChanged,
    /// Contacts were edited or merged.
    ContactsChanged,
    /// Automation rules were created, edited, reordered or deleted.
    RulesChanged,
    /// An inbox's greeting, business hours or bot settings changed.
    BotSettingsChanged { inbox_id: InboxId },
    /// The bot handed a conversation over to a person (worth a notification).
    HandedOver { conversation_id: ConversationId },
    /// Another process (e.g. `caixa-cli`) wrote to the store, or events were dropped: refetch all.
    Resync,
}
