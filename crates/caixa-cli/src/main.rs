//! `caixa-cli`: Caixa without a window, over the same core and the same data dir as the app.

mod bench;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use caixa_core::model::{
    ApiSettings, ConversationAction, ConversationFilter, ConversationStatus, EmailSettings,
    InboxInput, InboxSettings, LineSettings, MailSecurity, MailServer, MessengerSettings, Priority,
    SearchOrder, SearchQuery, TelegramSettings, TwilioSettings, WebsiteSettings, WhatsAppSettings,
    XSettings,
};
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, Error};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "caixa-cli",
    version,
    about = "Caixa without a window: scripting, diagnostics, tests, benchmarks"
)]
struct Cli {
    /// Data directory (default: $CAIXA_DATA_DIR, else the same per-user dir the app uses)
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage inboxes
    Inbox {
        #[command(subcommand)]
        command: InboxCommand,
    },
    /// Run the gateway (website widget, API channel) and the outbox without a window
    Gateway {
        /// Address to listen on (default: $CAIXA_GATEWAY_LISTEN, else 127.0.0.1:8787)
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Public base URL, when the gateway is reached through a proxy or tunnel
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
    },
    /// List conversations, newest activity first
    Conversations {
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long, value_name = "ID")]
        inbox: Option<i64>,
        /// Only conversations with unread messages
        #[arg(long)]
        unread: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show a conversation's messages
    Messages {
        conversation_id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Reply to the customer (queued; sent by the running app or `caixa-cli gateway`)
    Reply {
        conversation_id: i64,
        /// The text; may be empty when files are attached.
        text: String,
        /// Attach a file (repeatable; e-mail conversations and notes).
        #[arg(long = "attach", value_name = "PATH")]
        attach: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Change conversations: status, snooze, assignee, priority, labels, mute, unread, delete.
    /// Exactly one change per call; each writes an activity line in the thread.
    Act {
        /// One or more conversation ids
        #[arg(required = true)]
        conversation_ids: Vec<i64>,
        #[command(flatten)]
        change: ActArgs,
        #[arg(long)]
        json: bool,
    },
    /// Add a private note (never sent to the customer)
    Note {
        conversation_id: i64,
        text: String,
        /// Attach a file (repeatable).
        #[arg(long = "attach", value_name = "PATH")]
        attach: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over messages and contacts
    Search {
        query: String,
        #[arg(long, value_name = "ID")]
        inbox: Option<i64>,
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        assignee: Option<String>,
        /// Only messages from this day on (YYYY-MM-DD, local time)
        #[arg(long, value_name = "DATE", value_parser = day_start)]
        since: Option<i64>,
        /// Only messages before this day (YYYY-MM-DD, local time)
        #[arg(long, value_name = "DATE", value_parser = day_start)]
        until: Option<i64>,
        /// Best match first instead of newest first
        #[arg(long)]
        relevance: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Fill the store with synthetic data (for benchmarks and demos)
    Seed {
        #[arg(long, default_value_t = 1000)]
        conversations: u64,
        #[arg(long, default_value_t = 10000)]
        messages: u64,
    },
    /// Measure list, open, search and ingest on the data dir's store
    Bench {
        /// Repetitions per measurement
        #[arg(long, default_value_t = 1000)]
        iterations: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum InboxCommand {
    /// Add an inbox
    Add {
        #[command(subcommand)]
        kind: AddKind,
    },
    /// List inboxes
    List {
        #[arg(long)]
        json: bool,
    },
    /// Fetch an e-mail inbox's new mail once (no IDLE), print what was stored and how long it took
    Sync {
        inbox_id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Check an inbox's connection with its stored credential (e-mail: IMAP and SMTP;
    /// Telegram: the bot token)
    Test {
        inbox_id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AddKind {
    /// Website live chat
    Website {
        #[command(flatten)]
        common: AddCommon,
        /// The website's address (its origin may use the widget)
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "Hi there 👋")]
        welcome_title: String,
        #[arg(long, default_value = "We typically reply in a few minutes.")]
        welcome_text: String,
        #[arg(long, default_value = "#1f6feb")]
        color: String,
    },
    /// Any other app, through the HTTP API
    Api {
        #[command(flatten)]
        common: AddCommon,
        /// Where agent replies are POSTed
        #[arg(long)]
        webhook_url: Option<String>,
    },
    /// An e-mail mailbox (IMAP to receive, SMTP to reply). The password is read from stdin
    /// (--password-stdin) or $CAIXA_EMAIL_PASSWORD, never from the command line, and kept in
    /// the OS keychain.
    Email {
        #[command(flatten)]
        common: AddCommon,
        /// The support address customers write to
        #[arg(long)]
        address: String,
        /// Sender name on replies (default: the inbox name)
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        imap_host: String,
        /// Default: 993 for tls, 143 otherwise
        #[arg(long)]
        imap_port: Option<u16>,
        #[arg(long, value_enum, default_value = "tls")]
        imap_security: SecurityArg,
        #[arg(long)]
        smtp_host: String,
        /// Default: 465 for tls, 587 for starttls, 25 for plain
        #[arg(long)]
        smtp_port: Option<u16>,
        #[arg(long, value_enum, default_value = "starttls")]
        smtp_security: SecurityArg,
        /// Login for both servers (default: the address)
        #[arg(long)]
        username: Option<String>,
        /// First sync: only the last N days (default: the whole mailbox)
        #[arg(long)]
        lookback_days: Option<u32>,
        /// Do not mark mail as read on the server when a conversation is opened
        #[arg(long)]
        no_mark_seen: bool,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// A Telegram bot (long polling; no public address needed). The token from @BotFather is
    /// read from stdin (--token-stdin) or $CAIXA_TELEGRAM_TOKEN, never from the command line,
    /// checked with Telegram (getMe) and kept in the OS keychain.
    Telegram {
        #[command(flatten)]
        common: AddCommon,
        /// Read the bot token from the first line of standard input
        #[arg(long)]
        token_stdin: bool,
        /// Advanced: another Bot API server (self-hosted, or a test double)
        #[arg(long)]
        api_base_url: Option<String>,
    },
    /// SMS (or WhatsApp) through a Twilio number, polled (no public address needed). The auth
    /// token is read from stdin (--token-stdin) or $CAIXA_TWILIO_AUTH_TOKEN, never from the
    /// command line, checked with Twilio and kept in the OS keychain.
    Twilio {
        #[command(flatten)]
        common: AddCommon,
        /// AC… (Twilio Console → Account info)
        #[arg(long)]
        account_sid: String,
        /// The Twilio number customers write to: +15550100000 or whatsapp:+15550100000
        #[arg(long)]
        number: String,
        /// Read the auth token from the first line of standard input
        #[arg(long)]
        token_stdin: bool,
        /// Advanced: another REST API server (a test double)
        #[arg(long)]
        api_base_url: Option<String>,
    },
    /// A LINE official account (Messaging API; webhook through the gateway). The channel access
    /// token and the channel secret are read from stdin (--secrets-stdin: two lines) or
    /// $CAIXA_LINE_TOKEN and $CAIXA_LINE_CHANNEL_SECRET, never from the command line. Prints the
    /// webhook URL to set in the LINE Developers Console.
    Line {
        #[command(flatten)]
        common: AddCommon,
        /// Read the channel access token and the channel secret from the first two lines of stdin
        #[arg(long)]
        secrets_stdin: bool,
        /// Advanced: another Messaging API server (a test double)
        #[arg(long)]
        api_base_url: Option<String>,
    },
    /// X (Twitter) direct messages, polled. The OAuth 2.0 user token (scopes dm.read, dm.write,
    /// users.read, tweet.read) is read from stdin (--token-stdin) or $CAIXA_X_TOKEN, never from
    /// the command line, checked with X and kept in the OS keychain.
    X {
        #[command(flatten)]
        common: AddCommon,
        /// Read the access token from the first line of standard input
        #[arg(long)]
        token_stdin: bool,
        /// Seconds between polls (default 60; X's rate limits can only make it longer)
        #[arg(long)]
        poll_seconds: Option<u32>,
        /// Advanced: another API server (a test double)
        #[arg(long)]
        api_base_url: Option<String>,
    },
    /// Facebook Messenger for a Page, polled through the Graph API. The Page access token is
    /// read from stdin (--token-stdin) or $CAIXA_META_PAGE_TOKEN, never from the command line.
    Messenger {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Instagram Direct for the professional account linked to a Page (same token and flags
    /// as `messenger`).
    Instagram {
        #[command(flatten)]
        page: PageArgs,
    },
    /// WhatsApp Business through Meta's Cloud API (webhook through the gateway). The access
    /// token and the app secret are read from stdin (--secrets-stdin: two lines, token then
    /// app secret) or $CAIXA_WHATSAPP_TOKEN and $CAIXA_WHATSAPP_APP_SECRET, never from the
    /// command line; both go to the OS keychain. Prints the callback URL to register with Meta.
    Whatsapp {
        #[command(flatten)]
        common: AddCommon,
        /// The phone number ID (Meta App Dashboard → WhatsApp → API Setup)
        #[arg(long)]
        phone_number_id: String,
        /// The webhook verify token to give Meta (default: generated)
        #[arg(long)]
        verify_token: Option<String>,
        /// The WhatsApp Business Account ID (API Setup), to offer its message templates
        #[arg(long)]
        business_account_id: Option<String>,
        /// Read the access token and the app secret from the first two lines of stdin
        #[arg(long)]
        secrets_stdin: bool,
        /// Advanced: the Graph API version (default v21.0)
        #[arg(long)]
        api_version: Option<String>,
        /// Advanced: another Graph API server (a test double)
        #[arg(long)]
        api_base_url: Option<String>,
    },
}

#[derive(Args)]
struct PageArgs {
    #[command(flatten)]
    common: AddCommon,
    /// The Facebook Page ID
    #[arg(long)]
    page_id: String,
    /// Read the Page access token from the first line of standard input
    #[arg(long)]
    token_stdin: bool,
    /// Seconds between polls (default 10)
    #[arg(long)]
    poll_seconds: Option<u32>,
    /// Advanced: the Graph API version (default v21.0)
    #[arg(long)]
    api_version: Option<String>,
    /// Advanced: another Graph API server (a test double)
    #[arg(long)]
    api_base_url: Option<String>,
}

impl PageArgs {
    fn into_settings(self) -> anyhow::Result<(AddCommon, MessengerSettings, String)> {
        let token = read_secret(
            self.token_stdin,
            "token-stdin",
            "CAIXA_META_PAGE_TOKEN",
            "Page access token",
        )?;
        Ok((
            self.common,
            MessengerSettings {
                page_id: self.page_id,
                page_name: None,
                instagram_id: None,
                poll_seconds: self.poll_seconds,
                api_version: self.api_version,
                api_base_url: self.api_base_url,
            },
            token,
        ))
    }
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct ActArgs {
    /// open, pending or resolved
    #[arg(long, value_enum)]
    status: Option<ActStatus>,
    /// Snooze for this many minutes
    #[arg(long, value_name = "MINUTES")]
    snooze_minutes: Option<u32>,
    /// Snooze until the customer writes again
    #[arg(long)]
    snooze_until_reply: bool,
    /// Assign to an agent ("me" = this app's agent)
    #[arg(long, value_name = "AGENT")]
    assign: Option<String>,
    #[arg(long)]
    unassign: bool,
    /// none, low, medium, high or urgent
    #[arg(long, value_enum)]
    priority: Option<PriorityArg>,
    #[arg(long, value_name = "LABEL")]
    add_label: Option<String>,
    #[arg(long, value_name = "LABEL")]
    remove_label: Option<String>,
    #[arg(long)]
    mute: bool,
    #[arg(long)]
    unmute: bool,
    #[arg(long)]
    mark_unread: bool,
    /// Delete from this computer (never from the provider)
    #[arg(long)]
    delete: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ActStatus {
    Open,
    Pending,
    Resolved,
}

#[derive(Clone, Copy, ValueEnum)]
enum PriorityArg {
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl ActArgs {
    fn action(self, me: &str) -> ConversationAction {
        use ConversationAction as A;
        if let Some(s) = self.status {
            let status = match s {
                ActStatus::Open => ConversationStatus::Open,
                ActStatus::Pending => ConversationStatus::Pending,
                ActStatus::Resolved => ConversationStatus::Resolved,
            };
            return A::SetStatus { status };
        }
        if let Some(m) = self.snooze_minutes {
            let until = caixa_core::store::now_ms() + i64::from(m) * 60_000;
            return A::Snooze { until: Some(until) };
        }
        if self.snooze_until_reply {
            return A::Snooze { until: None };
        }
        if let Some(a) = self.assign {
            let agent = if a == "me" { me.to_string() } else { a };
            return A::Assign { agent: Some(agent) };
        }
        if self.unassign {
            return A::Assign { agent: None };
        }
        if let Some(p) = self.priority {
            let priority = match p {
                PriorityArg::None => Priority::None,
                PriorityArg::Low => Priority::Low,
                PriorityArg::Medium => Priority::Medium,
                PriorityArg::High => Priority::High,
                PriorityArg::Urgent => Priority::Urgent,
            };
            return A::SetPriority { priority };
        }
        if let Some(label) = self.add_label {
            return A::AddLabel { label };
        }
        if let Some(label) = self.remove_label {
            return A::RemoveLabel { label };
        }
        if self.mute || self.unmute {
            return A::Mute { muted: self.mute };
        }
        if self.mark_unread {
            return A::MarkUnread;
        }
        A::Delete
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SecurityArg {
    Tls,
    Starttls,
    Plain,
}

impl SecurityArg {
    fn security(self) -> MailSecurity {
        match self {
            SecurityArg::Tls => MailSecurity::Tls,
            SecurityArg::Starttls => MailSecurity::StartTls,
            SecurityArg::Plain => MailSecurity::Plain,
        }
    }
}

/// A credential and a webhook signing secret: the first two lines of stdin, or two environment
/// variables `(name, what)`.
fn two_secrets(
    from_stdin: bool,
    first: (&str, &str),
    second: (&str, &str),
) -> anyhow::Result<(String, String)> {
    if from_stdin {
        let mut lines = std::io::stdin().lines();
        let mut next = |what: &str| -> anyhow::Result<String> {
            Ok(lines
                .next()
                .transpose()
                .with_context(|| format!("cannot read the {what} from stdin"))?
                .unwrap_or_default()
                .trim()
                .to_string())
        };
        let a = next(first.1)?;
        return Ok((a, next(second.1)?));
    }
    Ok((
        read_secret(false, "secrets-stdin", first.0, first.1)?,
        read_secret(false, "secrets-stdin", second.0, second.1)?,
    ))
}

/// A credential from stdin (`flag` set) or the environment variable `var`; never from argv,
/// where other users of the machine could read it.
fn read_secret(from_stdin: bool, flag: &str, var: &str, what: &str) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => Err(Error::field(
            flag,
            format!("Give the {what} on stdin with --{flag}, or in ${var}."),
        )
        .into()),
    }
}

#[derive(Args)]
struct AddCommon {
    #[arg(long)]
    name: String,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Open,
    Pending,
    Snoozed,
    Resolved,
    All,
}

impl StatusArg {
    fn status(self) -> Option<ConversationStatus> {
        match self {
            StatusArg::All => None,
            StatusArg::Open => Some(ConversationStatus::Open),
            StatusArg::Pending => Some(ConversationStatus::Pending),
            StatusArg::Snoozed => Some(ConversationStatus::Snoozed),
            StatusArg::Resolved => Some(ConversationStatus::Resolved),
        }
    }
}

/// `YYYY-MM-DD` → the start of that day in the system's time zone (Unix ms).
fn day_start(date: &str) -> Result<i64, String> {
    let day: jiff::civil::Date = date
        .trim()
        .parse()
        .map_err(|_| format!("{date:?} is not a date; write it as YYYY-MM-DD"))?;
    let zoned = day
        .to_zoned(jiff::tz::TimeZone::system())
        .map_err(|e| format!("{date}: {e}"))?;
    Ok(zoned.timestamp().as_millisecond())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIXA_LOG")
                .unwrap_or_else(|_| "caixa_core=info,caixa_cli=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<Error>() {
                Some(Error::Validation(fields)) => {
                    eprintln!("error: invalid input");
                    for f in fields {
                        eprintln!("  --{}: {}", f.field.replace('_', "-"), f.message);
                    }
                    return ExitCode::from(2);
                }
                _ => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn open(data_dir: Option<PathBuf>, listen: Option<SocketAddr>) -> anyhow::Result<Caixa> {
    let dir = data_dir.unwrap_or_else(caixa_core::paths::default_data_dir);
    let mut cfg = Config::new(dir.clone(), Secrets::keychain());
    cfg.listen = listen;
    Caixa::open(cfg).with_context(|| format!("cannot open the store in {}", dir.display()))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inbox { command } => inbox(cli.data_dir, command).await,
        Command::Gateway { listen, public_url } => {
            let listen = match listen {
                Some(l) => l,
                None => std::env::var("CAIXA_GATEWAY_LISTEN")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| caixa_core::paths::DEFAULT_LISTEN.into())
                    .parse()
                    .context("CAIXA_GATEWAY_LISTEN is not an address like 127.0.0.1:8787")?,
            };
            let dir = cli
                .data_dir
                .unwrap_or_else(caixa_core::paths::default_data_dir);
            let mut cfg = Config::new(dir, Secrets::keychain());
            cfg.listen = Some(listen);
            cfg.public_url = public_url;
            let caixa = Caixa::open(cfg)?;
            let running = caixa.start().await?;
            let Some(addr) = running.gateway_addr else {
                anyhow::bail!(
                    "{}",
                    caixa
                        .app_info()
                        .gateway_error
                        .unwrap_or_else(|| "the gateway did not start".into())
                );
            };
            // One machine-readable line, so scripts and tests can find the address.
            println!(
                "{}",
                json!({ "listening": addr.to_string(), "url": caixa.gateway_url() })
            );
            tokio::signal::ctrl_c().await.ok();
            running.stop().await;
            Ok(())
        }
        Command::Conversations {
            status,
            inbox,
            unread,
            limit,
            json,
        } => {
            let caixa = open(cli.data_dir, None)?;
            let status = status.and_then(StatusArg::status);
            let page = caixa
                .list_conversations(
                    ConversationFilter {
                        status,
                        inbox_id: inbox,
                        unread_only: unread,
                        ..Default::default()
                    },
                    None,
                    limit,
                )
                .await?;
            if json {
                return print_json(&page.items);
            }
            for c in page.items {
                println!(
                    "{:>7}  {:<9} {:<8} {:<24} {:>3} unread  {}",
                    c.id,
                    c.status.as_str(),
                    c.channel.as_str(),
                    truncate(&c.contact_name, 24),
                    c.unread_count,
                    truncate(&c.preview, 60)
                );
            }
            Ok(())
        }
        Command::Messages {
            conversation_id,
            json,
        } => {
            let caixa = open(cli.data_dir, None)?;
            let messages = caixa.list_messages(conversation_id).await?;
            if json {
                return print_json(&messages);
            }
            for m in messages {
                let state = m.delivery.map(|d| d.as_str()).unwrap_or("");
                println!(
                    "[{}] {} {}: {} {}",
                    m.kind.as_str(),
                    m.id,
                    m.sender_name.unwrap_or_default(),
                    m.content,
                    state
                );
            }
            Ok(())
        }
        Command::Reply {
            conversation_id,
            text,
            attach,
            json,
        } => post(cli.data_dir, conversation_id, &text, attach, false, json).await,
        Command::Note {
            conversation_id,
            text,
            attach,
            json,
        } => post(cli.data_dir, conversation_id, &text, attach, true, json).await,
        Command::Act {
            conversation_ids,
            change,
            json,
        } => {
            let caixa = open(cli.data_dir, None)?;
            let action = change.action(&caixa.config().agent_name);
            let outcomes = caixa.apply(&conversation_ids, action).await?;
            let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
            if json {
                print_json(&outcomes)?;
            } else {
                for o in &outcomes {
                    match &o.error {
                        None => println!("conversation {}: done", o.conversation_id),
                        Some(e) => println!("conversation {}: {e}", o.conversation_id),
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!(
                    "{failed} of {} conversations were not changed",
                    outcomes.len()
                );
            }
            Ok(())
        }
        Command::Search {
            query,
            inbox,
            status,
            label,
            assignee,
            since,
            until,
            relevance,
            limit,
            json,
        } => {
            let caixa = open(cli.data_dir, None)?;
            let query = SearchQuery {
                text: query,
                inbox_id: inbox,
                status: status.and_then(StatusArg::status),
                label,
                assignee,
                since,
                until,
                order: if relevance {
                    SearchOrder::Relevance
                } else {
                    SearchOrder::Newest
                },
            };
            let hits = caixa.search(&query, limit).await?;
            if json {
                return print_json(&hits);
            }
            for h in hits {
                let snippet = h
                    .snippet
                    .replace(caixa_core::model::SNIPPET_START, "[")
                    .replace(caixa_core::model::SNIPPET_END, "]");
                println!(
                    "{:>7}  {:<24} {}",
                    h.conversation_id,
                    truncate(&h.contact_name, 24),
                    snippet
                );
            }
            Ok(())
        }
        Command::Seed {
            conversations,
            messages,
        } => {
            let caixa = open(cli.data_dir, None)?;
            let store = caixa.store().clone();
            let report = tokio::task::spawn_blocking(move || {
                caixa_core::seed::seed(&store, conversations, messages)
            })
            .await??;
            println!(
                "seeded {} conversations, {} messages in {:.1} s ({:.0} messages/s)",
                report.conversations,
                report.messages,
                report.seconds,
                report.messages as f64 / report.seconds
            );
            Ok(())
        }
        Command::Bench { iterations, json } => {
            let caixa = open(cli.data_dir, None)?;
            let report = bench::run(caixa.store().clone(), iterations).await?;
            if json {
                print_json(&report)
            } else {
                bench::print(&report);
                Ok(())
            }
        }
    }
}

async fn post(
    data_dir: Option<PathBuf>,
    conversation_id: i64,
    text: &str,
    attach: Vec<PathBuf>,
    private: bool,
    json: bool,
) -> anyhow::Result<()> {
    let caixa = open(data_dir, None)?;
    let mut files = Vec::with_capacity(attach.len());
    for path in attach {
        files.push(caixa.stage_file(path).await?);
    }
    let message = caixa
        .send_message(conversation_id, text, private, &files)
        .await?;
    if json {
        return print_json(&message);
    }
    if private {
        println!("note {} added", message.id);
    } else {
        println!(
            "reply {} queued; the running Caixa app or `caixa-cli gateway` sends it",
            message.id
        );
    }
    Ok(())
}

async fn inbox(data_dir: Option<PathBuf>, command: InboxCommand) -> anyhow::Result<()> {
    let caixa = open(data_dir, None)?;
    match command {
        InboxCommand::List { json } => {
            let list = caixa.list_inboxes().await?;
            if json {
                return print_json(&list);
            }
            for v in list {
                println!(
                    "{:>4}  {:<8} {:<30} token {}",
                    v.inbox.id,
                    v.inbox.kind.as_str(),
                    truncate(&v.inbox.name, 30),
                    v.inbox.token
                );
            }
            Ok(())
        }
        InboxCommand::Sync { inbox_id, json } => {
            let count = |caixa: &Caixa| {
                let store = caixa.store().clone();
                move || {
                    store.read_blocking(move |c| {
                        Ok(c.query_row(
                            "SELECT count(*) FROM messages WHERE inbox_id = ?1",
                            [inbox_id],
                            |r| r.get::<_, i64>(0),
                        )?)
                    })
                }
            };
            let before = count(&caixa)()?;
            let t0 = std::time::Instant::now();
            caixa.sync_email_inbox(inbox_id).await?;
            let seconds = t0.elapsed().as_secs_f64();
            let stored = count(&caixa)()? - before;
            if json {
                print_json(&json!({ "inbox_id": inbox_id, "stored": stored, "seconds": seconds }))?;
            } else {
                println!("stored {stored} new messages in {seconds:.2} s");
            }
            Ok(())
        }
        InboxCommand::Test { inbox_id, json } => {
            let inbox = caixa.get_inbox(inbox_id).await?;
            if !matches!(inbox.settings, InboxSettings::Email(_)) {
                let checked = caixa
                    .test_connection(
                        InboxInput {
                            name: inbox.name.clone(),
                            settings: inbox.settings.clone(),
                            password: None,
                            webhook_secret: None,
                        },
                        Some(inbox_id),
                    )
                    .await;
                let (account, error) = match &checked {
                    Ok(a) => (Some(a.clone()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                if json {
                    print_json(&json!({ "kind": inbox.kind, "account": account, "error": error }))?;
                } else {
                    match (&account, &error) {
                        (Some(a), _) => println!("{}: ok ({a})", inbox.kind.label()),
                        (_, e) => {
                            println!("{}: {}", inbox.kind.label(), e.as_deref().unwrap_or("?"))
                        }
                    }
                }
                checked?;
                return Ok(());
            }
            let InboxSettings::Email(settings) = inbox.settings else {
                anyhow::bail!("inbox {inbox_id} has no connection of its own to test");
            };
            let report = caixa
                .test_email_connection(settings, None, Some(inbox_id))
                .await?;
            if json {
                print_json(&report)?;
            } else {
                println!("IMAP: {}", report.imap_error.as_deref().unwrap_or("ok"));
                println!("SMTP: {}", report.smtp_error.as_deref().unwrap_or("ok"));
            }
            if report.imap_error.is_some() || report.smtp_error.is_some() {
                anyhow::bail!("the connection test failed");
            }
            Ok(())
        }
        InboxCommand::Add { kind } => {
            let mut password = None;
            let mut webhook_secret = None;
            let (common, settings) = match kind {
                AddKind::Website {
                    common,
                    url,
                    welcome_title,
                    welcome_text,
                    color,
                } => (
                    common,
                    InboxSettings::Website(WebsiteSettings {
                        website_url: url,
                        welcome_title,
                        welcome_text,
                        color,
                    }),
                ),
                AddKind::Api {
                    common,
                    webhook_url,
                } => (common, InboxSettings::Api(ApiSettings { webhook_url })),
                AddKind::Email {
                    common,
                    address,
                    display_name,
                    imap_host,
                    imap_port,
                    imap_security,
                    smtp_host,
                    smtp_port,
                    smtp_security,
                    username,
                    lookback_days,
                    no_mark_seen,
                    password_stdin,
                } => {
                    password = Some(read_secret(
                        password_stdin,
                        "password-stdin",
                        "CAIXA_EMAIL_PASSWORD",
                        "mailbox password",
                    )?);
                    let imap_security = imap_security.security();
                    let smtp_security = smtp_security.security();
                    let settings = EmailSettings {
                        display_name: display_name.unwrap_or_else(|| common.name.clone()),
                        username: username.unwrap_or_else(|| address.clone()),
                        address,
                        imap: MailServer {
                            host: imap_host,
                            port: imap_port.unwrap_or(match imap_security {
                                MailSecurity::Tls => 993,
                                _ => 143,
                            }),
                            security: imap_security,
                        },
                        smtp: MailServer {
                            host: smtp_host,
                            port: smtp_port.unwrap_or(match smtp_security {
                                MailSecurity::Tls => 465,
                                MailSecurity::StartTls => 587,
                                MailSecurity::Plain => 25,
                            }),
                            security: smtp_security,
                        },
                        lookback_days,
                        mark_seen: !no_mark_seen,
                    };
                    (common, InboxSettings::Email(settings))
                }
                AddKind::Telegram {
                    common,
                    token_stdin,
                    api_base_url,
                } => {
                    password = Some(read_secret(
                        token_stdin,
                        "token-stdin",
                        "CAIXA_TELEGRAM_TOKEN",
                        "bot token",
                    )?);
                    let settings = TelegramSettings {
                        bot_username: None,
                        api_base_url,
                    };
                    (common, InboxSettings::Telegram(settings))
                }
                AddKind::Twilio {
                    common,
                    account_sid,
                    number,
                    token_stdin,
                    api_base_url,
                } => {
                    password = Some(read_secret(
                        token_stdin,
                        "token-stdin",
                        "CAIXA_TWILIO_AUTH_TOKEN",
                        "auth token",
                    )?);
                    let settings = TwilioSettings {
                        account_sid,
                        number,
                        api_base_url,
                    };
                    (common, InboxSettings::Twilio(settings))
                }
                AddKind::Messenger { page } => {
                    let (common, settings, token) = page.into_settings()?;
                    password = Some(token);
                    (common, InboxSettings::Messenger(settings))
                }
                AddKind::Instagram { page } => {
                    let (common, settings, token) = page.into_settings()?;
                    password = Some(token);
                    (common, InboxSettings::Instagram(settings))
                }
                AddKind::X {
                    common,
                    token_stdin,
                    poll_seconds,
                    api_base_url,
                } => {
                    password = Some(read_secret(
                        token_stdin,
                        "token-stdin",
                        "CAIXA_X_TOKEN",
                        "access token",
                    )?);
                    let settings = XSettings {
                        username: None,
                        user_id: None,
                        poll_seconds,
                        api_base_url,
                    };
                    (common, InboxSettings::X(settings))
                }
                AddKind::Line {
                    common,
                    secrets_stdin,
                    api_base_url,
                } => {
                    let (token, secret) = two_secrets(
                        secrets_stdin,
                        ("CAIXA_LINE_TOKEN", "channel access token"),
                        ("CAIXA_LINE_CHANNEL_SECRET", "channel secret"),
                    )?;
                    password = Some(token);
                    webhook_secret = Some(secret);
                    let settings = LineSettings {
                        bot_name: None,
                        api_base_url,
                    };
                    (common, InboxSettings::Line(settings))
                }
                AddKind::Whatsapp {
                    common,
                    phone_number_id,
                    verify_token,
                    business_account_id,
                    secrets_stdin,
                    api_version,
                    api_base_url,
                } => {
                    let (token, app_secret) = two_secrets(
                        secrets_stdin,
                        ("CAIXA_WHATSAPP_TOKEN", "access token"),
                        ("CAIXA_WHATSAPP_APP_SECRET", "app secret"),
                    )?;
                    password = Some(token);
                    webhook_secret = Some(app_secret);
                    let settings = WhatsAppSettings {
                        phone_number_id,
                        display_phone: None,
                        verify_token: verify_token.unwrap_or_default(),
                        business_account_id,
                        api_version,
                        api_base_url,
                    };
                    (common, InboxSettings::WhatsApp(settings))
                }
            };
            let secret_flag = match &settings {
                InboxSettings::Telegram(_)
                | InboxSettings::Twilio(_)
                | InboxSettings::X(_)
                | InboxSettings::Messenger(_)
                | InboxSettings::Instagram(_) => "token-stdin",
                InboxSettings::WhatsApp(_) | InboxSettings::Line(_) => "secrets-stdin",
                _ => "password-stdin",
            };
            let view = caixa
                .add_inbox(InboxInput {
                    password,
                    name: common.name,
                    settings,
                    webhook_secret,
                })
                .await
                // The CLI names the flag, not the field.
                .map_err(|e| match e {
                    Error::Validation(mut f) => {
                        for field in &mut f {
                            if field.field == "website_url" {
                                field.field = "url".into();
                            }
                            if field.field == "password" {
                                field.field = secret_flag.into();
                            }
                            if field.field == "webhook_secret" {
                                field.field = "secrets-stdin".into();
                            }
                            field.field = field.field.replace('_', "-");
                        }
                        Error::Validation(f)
                    }
                    other => other,
                })?;
            let secret = match view.inbox.kind {
                caixa_core::model::ChannelKind::Api => {
                    Some(caixa.inbox_secret(view.inbox.id).await?)
                }
                _ => None,
            };
            if common.json {
                let mut out = json!({
                    "id": view.inbox.id,
                    "kind": view.inbox.kind,
                    "name": view.inbox.name,
                    "token": view.inbox.token,
                });
                if let Some(secret) = &secret {
                    out["secret"] = json!(secret);
                }
                if let Some(url) = &view.endpoint_url {
                    out["endpoint_url"] = json!(url);
                }
                if let Some(snippet) = &view.snippet {
                    out["snippet"] = json!(snippet);
                }
                if let Some(url) = &view.test_page_url {
                    out["test_page_url"] = json!(url);
                }
                if let InboxSettings::Telegram(t) = &view.inbox.settings {
                    out["bot_username"] = json!(t.bot_username);
                }
                if let InboxSettings::Line(l) = &view.inbox.settings {
                    out["bot_name"] = json!(l.bot_name);
                    out["webhook_url"] = json!(view.endpoint_url);
                }
                if let InboxSettings::WhatsApp(w) = &view.inbox.settings {
                    out["display_phone"] = json!(w.display_phone);
                    out["callback_url"] = json!(view.endpoint_url);
                    out["verify_token"] = json!(w.verify_token);
                }
                return print_json(&out);
            }
            println!("inbox {} added; token {}", view.inbox.id, view.inbox.token);
            if let Some(secret) = secret {
                println!("signing secret: {secret}");
            }
            if let Some(s) = view.snippet {
                println!("paste into your website:\n{s}");
            }
            Ok(())
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.pop();
        out.push('…');
    }
    out.replace('\n', " ")
}
