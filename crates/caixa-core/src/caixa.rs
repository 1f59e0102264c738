//! [`Caixa`]: the one API every shell (Tauri app, CLI, tests) uses. It owns the store, the event
//! bus and the secrets, and runs the gateway, the outbox worker and the external-change watcher.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::channels::email::{self as email_channel, tls::TlsSetup, MailError};
use crate::channels::website::WidgetHub;
use crate::channels::workers::Command;
use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::inbox_config;
use crate::ingest::{self, Incoming, Ingested};
use crate::model::*;
use crate::secrets::Secrets;
use crate::store::{self, attachments, conversations, email, inboxes, messages, now_ms, Store};

/// Longest message accepted from any side (customer or agent).
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// First retry after this; doubles each attempt (with jitter).
    pub base: Duration,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            max_attempts: 6,
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Where the gateway listens when started; `None` runs without one.
    pub listen: Option<SocketAddr>,
    /// Base URL visitors and integrators use when the gateway is exposed (proxy, tunnel).
    pub public_url: Option<String>,
    pub secrets: Secrets,
    pub agent_name: String,
    pub retry: RetryPolicy,
    /// PEM files of extra trusted certificate authorities for mail servers (self-hosted
    /// servers, the test servers). From `CAIXA_EXTRA_CA_CERTS` (paths separated by `:`).
    pub extra_ca_files: Vec<PathBuf>,
}

impl Config {
    pub fn new(data_dir: PathBuf, secrets: Secrets) -> Self {
        Config {
            data_dir,
            listen: None,
            public_url: None,
            secrets,
            agent_name: default_agent_name(),
            retry: RetryPolicy::default(),
            extra_ca_files: std::env::var_os("CAIXA_EXTRA_CA_CERTS")
                .map(|v| {
                    std::env::split_paths(&v)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

fn default_agent_name() -> String {
    std::env::var("CAIXA_AGENT_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "Agent".into())
}

#[derive(Clone, Debug, PartialEq)]
enum GatewayState {
    NotStarted,
    Running(SocketAddr),
    Failed(String),
}

#[derive(Clone)]
pub struct Caixa {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) cfg: Config,
    pub(crate) store: Store,
    pub(crate) bus: EventBus,
    pub(crate) hub: WidgetHub,
    pub(crate) outbox_wake: Notify,
    /// Wakes the snooze waker when a snooze is set (its next wake-up may be sooner).
    pub(crate) snooze_wake: Notify,
    pub(crate) http: reqwest::Client,
    gateway: RwLock<GatewayState>,
    pub(crate) shutdown: CancellationToken,
    /// Live state of inboxes that keep their own connection (e-mail).
    inbox_states: RwLock<HashMap<InboxId, InboxState>>,
    pub(crate) workers: crate::channels::workers::Workers,
    pub(crate) automation: crate::automation::Queue,
    /// Signs public links to reply files (see `gateway::media`).
    pub(crate) media_key: tokio::sync::OnceCell<String>,
    tls: OnceLock<std::result::Result<TlsSetup, String>>,
    started: AtomicBool,
}

/// The background tasks of a started engine.
pub struct Running {
    pub gateway_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: CancellationToken,
}

impl Running {
    /// Stops every task and waits (bounded) for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
        }
    }
}

impl Caixa {
    pub fn open(cfg: Config) -> Result<Caixa> {
        let store = Store::open(&cfg.data_dir.join(crate::paths::DB_FILE))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("Caixa/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
        Ok(Caixa {
            inner: Arc::new(Inner {
                cfg,
                store,
                bus: EventBus::new(),
                hub: WidgetHub::default(),
                outbox_wake: Notify::new(),
                snooze_wake: Notify::new(),
                http,
                gateway: RwLock::new(GatewayState::NotStarted),
                shutdown: CancellationToken::new(),
                inbox_states: RwLock::new(HashMap::new()),
                workers: crate::channels::workers::Workers::default(),
                automation: crate::automation::Queue::default(),
                media_key: tokio::sync::OnceCell::new(),
                tls: OnceLock::new(),
                started: AtomicBool::new(false),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.bus
    }

    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// Starts the gateway (if configured), the outbox worker and the watcher for writes made
    /// by other processes. A gateway that cannot bind is reported on every inbox, not fatal.
    pub async fn start(&self) -> Result<Running> {
        let mut tasks = Vec::new();
        let mut gateway_addr = None;
        if let Some(listen) = self.inner.cfg.listen {
            match crate::gateway::bind(listen).await {
                Ok(listener) => {
                    let addr = listener.local_addr()?;
                    gateway_addr = Some(addr);
                    self.set_gateway(GatewayState::Running(addr));
                    tracing::info!(%addr, "gateway listening");
                    tasks.push(tokio::spawn(crate::gateway::serve(self.clone(), listener)));
                }
                Err(e) => {
                    let reason = format!("the gateway cannot listen on {listen}: {e}");
                    tracing::error!("{reason}");
                    self.set_gateway(GatewayState::Failed(reason));
                }
            }
        }
        tasks.push(tokio::spawn(crate::outbox::run(self.clone())));
        tasks.push(tokio::spawn(crate::actions::run_snooze_waker(self.clone())));
        tasks.push(tokio::spawn(crate::automation::run(self.clone())));
        tasks.push(tokio::spawn(watch_external_writes(self.clone())));
        self.inner.started.store(true, Ordering::SeqCst);
        self.reconcile_workers().await;
        Ok(Running {
            gateway_addr,
            tasks,
            shutdown: self.inner.shutdown.clone(),
        })
    }

    /// Starts, restarts or stops e-mail workers to match the stored inboxes.
    async fn reconcile_workers(&self) {
        if !self.inner.started.load(Ordering::SeqCst) || self.inner.shutdown.is_cancelled() {
            return;
        }
        match self
            .inner
            .store
            .read(crate::channels::workers::inboxes_to_run)
            .await
        {
            Ok(wanted) => self
                .inner
                .workers
                .reconcile(self, wanted, &self.inner.shutdown),
            Err(e) => tracing::error!("cannot list e-mail inboxes: {e}"),
        }
    }

    /// The background tasks run (`start` was called).
    pub(crate) fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// The TLS client setup for mail servers (built once).
    pub(crate) fn tls(&self) -> std::result::Result<TlsSetup, MailError> {
        self.inner
            .tls
            .get_or_init(|| {
                TlsSetup::new(&self.inner.cfg.extra_ca_files).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(MailError::Protocol)
    }

    pub(crate) fn wake_outbox(&self) {
        self.inner.outbox_wake.notify_one();
    }

    /// Records and announces the live state of an inbox with its own connection.
    pub(crate) fn set_inbox_state(&self, inbox_id: InboxId, state: InboxState) {
        let changed = match self.inner.inbox_states.write() {
            Ok(mut m) => m.insert(inbox_id, state.clone()).as_ref() != Some(&state),
            Err(_) => false,
        };
        if changed {
            self.inner
                .bus
                .emit(CoreEvent::InboxStateChanged { inbox_id, state });
        }
    }

    fn set_gateway(&self, state: GatewayState) {
        if let Ok(mut g) = self.inner.gateway.write() {
            *g = state;
        }
        if let Ok(list) = self.inner.store.read_blocking(inboxes::list) {
            for inbox in list {
                self.inner.bus.emit(CoreEvent::InboxStateChanged {
                    inbox_id: inbox.id,
                    state: self.inbox_state(&inbox),
                });
            }
        }
    }

    fn gateway_state(&self) -> GatewayState {
        self.inner
            .gateway
            .read()
            .map(|g| g.clone())
            .unwrap_or(GatewayState::NotStarted)
    }

    /// The URL visitors and integrators reach the gateway at.
    pub fn gateway_url(&self) -> String {
        if let Some(url) = &self.inner.cfg.public_url {
            return url.trim_end_matches('/').to_string();
        }
        match self.gateway_state() {
            GatewayState::Running(addr) => format!("http://{addr}"),
            _ => format!(
                "http://{}",
                self.inner
                    .cfg
                    .listen
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| crate::paths::DEFAULT_LISTEN.into())
            ),
        }
    }

    pub fn app_info(&self) -> AppInfo {
        let (gateway_url, gateway_error) = match self.gateway_state() {
            GatewayState::Running(_) => (Some(self.gateway_url()), None),
            GatewayState::Failed(reason) => (None, Some(reason)),
            GatewayState::NotStarted => (None, None),
        };
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            data_dir: self.inner.cfg.data_dir.display().to_string(),
            gateway_url,
            gateway_error,
            agent_name: self.inner.cfg.agent_name.clone(),
        }
    }

    // ---- inboxes -------------------------------------------------------------------------

    fn inbox_state(&self, inbox: &Inbox) -> InboxState {
        if matches!(
            inbox.kind,
            ChannelKind::Email
                | ChannelKind::Telegram
                | ChannelKind::Twilio
                | ChannelKind::X
                | ChannelKind::Messenger
                | ChannelKind::Instagram
        ) {
            return self
                .inner
                .inbox_states
                .read()
                .ok()
                .and_then(|m| m.get(&inbox.id).cloned())
                .unwrap_or(InboxState::Starting);
        }
        // Website and API inboxes receive through the gateway, so they share its state.
        match self.gateway_state() {
            GatewayState::Running(_) => InboxState::Connected,
            GatewayState::NotStarted => InboxState::Starting,
            GatewayState::Failed(reason) => InboxState::Error { reason },
        }
    }

    pub fn inbox_view(&self, inbox: Inbox) -> InboxView {
        let base = self.gateway_url();
        let (snippet, test_page_url, endpoint_url) = match inbox.kind {
            ChannelKind::Website => (
                Some(format!(
                    "<script src=\"{base}/widget.js\" data-caixa-token=\"{}\" async></script>",
                    inbox.token
                )),
                Some(format!("{base}/widget/{}/test", inbox.token)),
                None,
            ),
            ChannelKind::Api => (
                None,
                None,
                Some(format!("{base}/api/v1/inboxes/{}/messages", inbox.token)),
            ),
            ChannelKind::Email
            | ChannelKind::Telegram
            | ChannelKind::Twilio
            | ChannelKind::X
            | ChannelKind::Messenger
            | ChannelKind::Instagram => (None, None, None),
            ChannelKind::WhatsApp | ChannelKind::Line => {
                (None, None, Some(format!("{base}/hooks/{}", inbox.token)))
            }
        };
        InboxView {
            state: self.inbox_state(&inbox),
            files_refused: self.files_refused(inbox.kind),
            inbox,
            snippet,
            test_page_url,
            endpoint_url,
        }
    }

    pub async fn list_inboxes(&self) -> Result<Vec<InboxView>> {
        let list = self.inner.store.read(inboxes::list).await?;
        Ok(list.into_iter().map(|i| self.inbox_view(i)).collect())
    }

    pub async fn get_inbox(&self, id: InboxId) -> Result<Inbox> {
        self.inner.store.read(move |c| inboxes::get(c, id)).await
    }

    pub async fn inbox_by_token(&self, token: &str) -> Result<Option<Inbox>> {
        let token = token.to_string();
        self.inner
            .store
            .read(move |c| inboxes::by_token(c, &token))
            .await
    }

    /// Creates an inbox. API inboxes get a signing secret, stored in the keychain first so a
    /// keychain failure leaves nothing half-created.
    pub async fn add_inbox(&self, input: InboxInput) -> Result<InboxView> {
        let mut input = inbox_config::validate(&input)?;
        let token = input.password.clone().unwrap_or_default();
        self.check_credentials(&mut input.settings, &token).await?;
        let webhook_secret = match webhook_secret_ask(input.settings.kind()) {
            Some(ask) => match input.webhook_secret.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                _ => return Err(Error::field("webhook_secret", ask)),
            },
            None => None,
        };
        let token = inbox_config::new_token();
        let secret = match input.settings.kind() {
            ChannelKind::Api => Some(inbox_config::new_secret()),
            ChannelKind::Website => None,
            kind => match input.password.as_deref() {
                // A mailbox password may start or end with a space; tokens never do.
                Some(p) if kind == ChannelKind::Email && !p.is_empty() => Some(p.to_string()),
                Some(p) if !p.trim().is_empty() => Some(p.trim().to_string()),
                _ => {
                    let ask = match kind {
                        ChannelKind::Telegram => "Paste the bot token from @BotFather.",
                        ChannelKind::WhatsApp => "Paste the access token.",
                        ChannelKind::Twilio => "Paste the auth token from the Twilio Console.",
                        ChannelKind::Line => "Paste the channel access token.",
                        ChannelKind::X => "Paste the OAuth 2.0 user access token.",
                        ChannelKind::Messenger | ChannelKind::Instagram => {
                            "Paste the Page access token."
                        }
                        _ => "Enter the mailbox password.",
                    };
                    return Err(Error::field("password", ask));
                }
            },
        };
        let secret_ref = match secret {
            Some(secret) => {
                let reference = format!("inbox/{token}/secret");
                self.inner.cfg.secrets.set(&reference, &secret).await?;
                Some(reference)
            }
            None => None,
        };
        if let Some(w) = &webhook_secret {
            self.inner
                .cfg
                .secrets
                .set(&webhook_secret_ref(&token), w)
                .await?;
        }
        let now = now_ms();
        let stored = {
            let (input, token, secret_ref) = (input.clone(), token.clone(), secret_ref.clone());
            self.inner
                .store
                .write(move |tx| {
                    let id = inboxes::insert(
                        tx,
                        &input.name,
                        &token,
                        &input.settings,
                        secret_ref.as_deref(),
                        now,
                    )?;
                    inboxes::get(tx, id)
                })
                .await
        };
        let inbox = match stored {
            Ok(inbox) => inbox,
            Err(e) => {
                if let Some(r) = &secret_ref {
                    let _ = self.inner.cfg.secrets.delete(r).await;
                }
                if webhook_secret.is_some() {
                    let _ = self
                        .inner
                        .cfg
                        .secrets
                        .delete(&webhook_secret_ref(&token))
                        .await;
                }
                return Err(e);
            }
        };
        tracing::info!(inbox = inbox.id, kind = inbox.kind.as_str(), "inbox added");
        self.inner.bus.emit(CoreEvent::InboxesChanged);
        self.reconcile_workers().await;
        Ok(self.inbox_view(inbox))
    }

    pub async fn update_inbox(&self, id: InboxId, input: InboxInput) -> Result<InboxView> {
        let mut input = inbox_config::validate(&input)?;
        if credential_checked(input.settings.kind()) {
            let token = match input.password.as_deref().filter(|p| !p.is_empty()) {
                Some(t) => t.to_string(),
                None => self.inbox_secret(id).await?,
            };
            self.check_credentials(&mut input.settings, &token).await?;
        }
        if webhook_secret_ask(input.settings.kind()).is_some() {
            if let Some(secret) = input.webhook_secret.as_deref().map(str::trim) {
                if !secret.is_empty() {
                    let inbox_token = self.get_inbox(id).await?.token;
                    self.inner
                        .cfg
                        .secrets
                        .set(&webhook_secret_ref(&inbox_token), secret)
                        .await?;
                }
            }
        }
        if let Some(password) = input.password.as_deref().filter(|p| !p.is_empty()) {
            if matches!(
                input.settings.kind(),
                ChannelKind::Email
                    | ChannelKind::Telegram
                    | ChannelKind::WhatsApp
                    | ChannelKind::Twilio
                    | ChannelKind::Line
                    | ChannelKind::X
                    | ChannelKind::Messenger
                    | ChannelKind::Instagram
            ) {
                let reference = self
                    .inner
                    .store
                    .read(move |c| inboxes::secret_ref(c, id))
                    .await?
                    .ok_or_else(|| Error::Conflict("this inbox has no password slot".into()))?;
                self.inner.cfg.secrets.set(&reference, password).await?;
            }
        }
        let inbox = self
            .inner
            .store
            .write(move |tx| {
                let old = inboxes::get(tx, id)?;
                if old.kind != input.settings.kind() {
                    return Err(Error::field(
                        "kind",
                        "The channel of an existing inbox cannot change.",
                    ));
                }
                inboxes::update(tx, id, &input.name, &input.settings)?;
                inboxes::get(tx, id)
            })
            .await?;
        self.inner.bus.emit(CoreEvent::InboxesChanged);
        // Conversation rows show the inbox name.
        self.inner.bus.emit(CoreEvent::Resync);
        // A new password or token with the same settings: reconnect now.
        self.inner.workers.send(id, Command::SyncNow);
        self.reconcile_workers().await;
        Ok(self.inbox_view(inbox))
    }

    /// Deletes the inbox and its conversations from this computer, and its secret.
    pub async fn delete_inbox(&self, id: InboxId) -> Result<()> {
        let inbox_token = self.get_inbox(id).await?.token;
        let secret_ref = self
            .inner
            .store
            .write(move |tx| inboxes::delete(tx, id))
            .await?;
        if let Some(r) = secret_ref {
            if let Err(e) = self.inner.cfg.secrets.delete(&r).await {
                tracing::warn!("could not remove the inbox secret from the keychain: {e}");
            }
        }
        // Only some kinds have one; deleting a missing entry is harmless.
        let _ = self
            .inner
            .cfg
            .secrets
            .delete(&webhook_secret_ref(&inbox_token))
            .await;
        self.forget_agent_bot_secret(&inbox_token).await;
        self.inner.bus.emit(CoreEvent::InboxesChanged);
        self.inner.bus.emit(CoreEvent::Resync);
        self.reconcile_workers().await;
        Ok(())
    }

    /// Checks a provider credential before saving and fills in what the provider reports
    /// (bot name, phone number). Kinds without a provider account pass.
    async fn check_credentials(&self, settings: &mut InboxSettings, token: &str) -> Result<()> {
        match settings {
            InboxSettings::Telegram(t) => {
                t.bot_username = Some(self.check_telegram_token(t, token).await?);
            }
            InboxSettings::WhatsApp(w) => {
                w.display_phone = Some(self.check_whatsapp(w, token).await?);
            }
            InboxSettings::Twilio(t) => {
                self.check_twilio(t, token).await?;
            }
            InboxSettings::Line(l) => {
                l.bot_name = Some(self.check_line(l, token).await?);
            }
            InboxSettings::Messenger(m) | InboxSettings::Instagram(m) => {
                if token.trim().is_empty() {
                    return Err(Error::field(
                        "password",
                        "Paste a Page access token with the pages_messaging permission.",
                    ));
                }
                m.page_name = Some(
                    crate::channels::messenger::check(&self.inner.http, m, token.trim())
                        .await
                        .map_err(|reason| Error::field("password", reason))?,
                );
            }
            InboxSettings::X(x) => {
                if token.trim().is_empty() {
                    return Err(Error::field(
                        "password",
                        "Paste an OAuth 2.0 user access token with the dm.read and dm.write scopes.",
                    ));
                }
                let (id, username) = crate::channels::x::check(&self.inner.http, x, token.trim())
                    .await
                    .map_err(|reason| Error::field("password", reason))?;
                x.user_id = Some(id);
                x.username = Some(username);
            }
            InboxSettings::Website(_) | InboxSettings::Api(_) | InboxSettings::Email(_) => {}
        }
        Ok(())
    }

    /// Asks LINE about the channel access token (`/v2/bot/info`): the bot's name, or the
    /// reason on the token field.
    pub async fn check_line(&self, settings: &LineSettings, token: &str) -> Result<String> {
        if token.trim().is_empty() {
            return Err(Error::field(
                "password",
                "Paste the channel access token (LINE Developers Console → Messaging API).",
            ));
        }
        crate::channels::line::check(&self.inner.http, settings, token.trim())
            .await
            .map_err(|reason| Error::field("password", reason))
    }

    /// Asks Telegram who the token belongs to (`getMe`): the bot's username, or the reason in
    /// plain words on the token field.
    pub async fn check_telegram_token(
        &self,
        settings: &TelegramSettings,
        token: &str,
    ) -> Result<String> {
        if token.trim().is_empty() {
            return Err(Error::field(
                "password",
                "Paste the bot token from @BotFather.",
            ));
        }
        crate::channels::telegram::check(&self.inner.http, settings, token.trim())
            .await
            .map_err(|reason| Error::field("password", reason))
    }

    /// Asks Meta about the WhatsApp number (`GET /{phone-number-id}`): how it is displayed, or
    /// the reason on the access token field.
    pub async fn check_whatsapp(&self, settings: &WhatsAppSettings, token: &str) -> Result<String> {
        if token.trim().is_empty() {
            return Err(Error::field(
                "password",
                "Paste the access token (a system user token of your Meta business).",
            ));
        }
        crate::channels::whatsapp::check(&self.inner.http, settings, token.trim())
            .await
            .map_err(|reason| Error::field("password", reason))
    }

    /// Checks Twilio credentials (a one-message list request): the reason on the token field
    /// if Twilio refuses.
    pub async fn check_twilio(&self, settings: &TwilioSettings, token: &str) -> Result<String> {
        if token.trim().is_empty() {
            return Err(Error::field(
                "password",
                "Paste the auth token from the Twilio Console.",
            ));
        }
        crate::channels::twilio::check(&self.inner.http, settings, token.trim())
            .await
            .map_err(|reason| Error::field("password", reason))
    }

    /// The secret that signs an inbox's webhooks (WhatsApp: the Meta app secret).
    pub async fn inbox_webhook_secret(&self, id: InboxId) -> Result<String> {
        let token = self.get_inbox(id).await?.token;
        self.inner
            .cfg
            .secrets
            .get(&webhook_secret_ref(&token))
            .await
    }

    pub async fn inbox_secret(&self, id: InboxId) -> Result<String> {
        let reference = self
            .inner
            .store
            .read(move |c| inboxes::secret_ref(c, id))
            .await?
            .ok_or_else(|| Error::Conflict("this inbox has no secret".into()))?;
        self.inner.cfg.secrets.get(&reference).await
    }

    // ---- conversations and messages ------------------------------------------------------

    pub async fn list_conversations(
        &self,
        filter: ConversationFilter,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<ConversationPage> {
        self.inner
            .store
            .read(move |c| conversations::list(c, &filter, cursor, limit))
            .await
    }

    pub async fn get_conversation(&self, id: ConversationId) -> Result<ConversationRow> {
        self.inner
            .store
            .read(move |c| conversations::get(c, id))
            .await
    }

    pub async fn conversation_counts(&self, inbox_id: Option<InboxId>) -> Result<StatusCounts> {
        self.inner
            .store
            .read(move |c| conversations::counts(c, inbox_id))
            .await
    }

    pub async fn list_messages(&self, conversation_id: ConversationId) -> Result<Vec<Message>> {
        self.inner
            .store
            .read(move |c| {
                conversations::source(c, conversation_id)?;
                messages::list(c, conversation_id, 1000)
            })
            .await
    }

    pub async fn get_message(&self, id: MessageId) -> Result<Message> {
        self.inner.store.read(move |c| messages::get(c, id)).await
    }

    /// Stores an agent's reply (queued for the outbox) or private note (never sent anywhere),
    /// with files staged by [`Caixa::stage_file`].
    pub async fn send_message(
        &self,
        conversation_id: ConversationId,
        content: &str,
        private: bool,
        files: &[StagedFile],
    ) -> Result<Message> {
        let files = self
            .check_reply_files(conversation_id, files, private)
            .await?;
        if !private {
            let row = self.get_conversation(conversation_id).await?;
            if let Some(closes) = row.reply_window_closes_at {
                if closes < now_ms() {
                    let window = match row.channel.reply_window_ms() {
                        Some(ms) if ms >= 48 * 3600 * 1000 => format!("{} days", ms / 86_400_000),
                        Some(ms) => format!("{} hours", ms / 3_600_000),
                        None => "a while".to_string(),
                    };
                    let only = if row.channel == ChannelKind::WhatsApp {
                        " WhatsApp only delivers an approved message template now: send one with the template button."
                    } else {
                        ""
                    };
                    return Err(Error::field(
                        "content",
                        format!(
                            "The customer last wrote more than {window} ago, so {} no longer accepts a reply here.{only} Write a private note, or wait for the customer to write again.",
                            row.channel.label()
                        ),
                    ));
                }
            }
        }
        let content = if files.is_empty() || !content.trim().is_empty() {
            check_content(content)?
        } else {
            String::new()
        };
        self.store_reply(conversation_id, content, private, files, None)
            .await
    }

    /// Stores a checked reply or note (with its files, and the template it is sent as) and
    /// wakes the outbox.
    pub(crate) async fn store_reply(
        &self,
        conversation_id: ConversationId,
        content: String,
        private: bool,
        files: Vec<StagedFile>,
        template: Option<messages::TemplateRef>,
    ) -> Result<Message> {
        let preview = if content.is_empty() {
            files
                .iter()
                .map(|f| format!("📎 {}", f.file_name))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            content.clone()
        };
        let kind = if private {
            MessageKind::Note
        } else {
            MessageKind::Outgoing
        };
        let (agent, by_bot) = self.acting();
        let now = now_ms();
        let message = self
            .inner
            .store
            .write(move |tx| {
                let (inbox_id, _) = conversations::source(tx, conversation_id)?;
                let id = messages::insert(
                    tx,
                    &messages::NewMessage {
                        conversation_id,
                        inbox_id,
                        source_id: None,
                        kind,
                        content: &content,
                        sender_name: Some(&agent),
                        delivery: (!private).then_some(Delivery::Queued),
                        created_at: now,
                        by_bot,
                    },
                )?
                .ok_or_else(|| Error::Internal("message not stored".into()))?;
                for f in &files {
                    attachments::insert(
                        tx,
                        id,
                        &attachments::NewAttachment {
                            file_name: &f.file_name,
                            mime_type: &f.mime_type,
                            size: f.size,
                            sha256: &f.sha256,
                            content_id: None,
                            remote: None,
                        },
                    )?;
                }
                if let Some(t) = &template {
                    messages::set_template(tx, id, t)?;
                }
                conversations::touch(tx, conversation_id, kind, &preview, now, false)?;
                messages::get(tx, id)
            })
            .await?;
        self.inner.bus.emit(CoreEvent::MessageChanged {
            conversation_id,
            message_id: message.id,
        });
        self.inner
            .bus
            .emit(CoreEvent::ConversationChanged { conversation_id });
        if !private {
            self.inner.outbox_wake.notify_one();
        }
        Ok(message)
    }

    /// Changes the status (writing an activity line in the thread); see [`Caixa::apply`].
    pub async fn set_status(
        &self,
        conversation_id: ConversationId,
        status: ConversationStatus,
    ) -> Result<ConversationRow> {
        self.apply_one(conversation_id, &ConversationAction::SetStatus { status })
            .await?;
        self.get_conversation(conversation_id).await
    }

    pub async fn mark_read(&self, conversation_id: ConversationId) -> Result<()> {
        let changed = self
            .inner
            .store
            .write(move |tx| conversations::mark_read(tx, conversation_id))
            .await?;
        if changed {
            self.inner
                .bus
                .emit(CoreEvent::ConversationChanged { conversation_id });
            self.mark_seen_on_server(conversation_id).await?;
        }
        Ok(())
    }

    /// E-mail inboxes with "mark as read on the server" set `\Seen` on the customer's mail.
    async fn mark_seen_on_server(&self, conversation_id: ConversationId) -> Result<()> {
        let (inbox_id, _) = self
            .inner
            .store
            .read(move |c| conversations::source(c, conversation_id))
            .await?;
        let inbox = self.get_inbox(inbox_id).await?;
        if let InboxSettings::Email(s) = &inbox.settings {
            if s.mark_seen {
                let copies = self
                    .inner
                    .store
                    .read(move |c| email::server_copies(c, conversation_id))
                    .await?;
                if !copies.is_empty() {
                    self.inner.workers.send(inbox_id, Command::MarkSeen(copies));
                }
            }
        }
        Ok(())
    }

    /// Fetches an e-mail inbox's new mail now, once, and returns when it is stored.
    pub async fn sync_email_inbox(&self, inbox_id: InboxId) -> Result<()> {
        email_channel::worker::sync_once(self, inbox_id)
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// Checks an e-mail inbox's IMAP and SMTP servers. The password is the one given, else
    /// the stored one of `inbox_id`.
    pub async fn test_email_connection(
        &self,
        settings: EmailSettings,
        password: Option<String>,
        inbox_id: Option<InboxId>,
    ) -> Result<ConnectionReport> {
        let password = match (password.filter(|p| !p.is_empty()), inbox_id) {
            (Some(p), _) => p,
            (None, Some(id)) => self.inbox_secret(id).await?,
            (None, None) => return Err(Error::field("password", "Enter the mailbox password.")),
        };
        let checked = inbox_config::validate(&InboxInput {
            name: "test".into(),
            settings: InboxSettings::Email(settings),
            password: None,
            webhook_secret: None,
        })?;
        let InboxSettings::Email(settings) = checked.settings else {
            return Err(Error::Internal("validated settings changed kind".into()));
        };
        let tls = self.tls().map_err(|e| Error::Internal(e.to_string()))?;
        Ok(email_channel::test_connection(&tls, &settings, &password).await)
    }

    /// Checks an inbox's provider credential before (or after) saving: what the provider says
    /// about the account (bot name, phone number…), or the reason on the right field. Without a
    /// credential in `input`, the stored one of `inbox_id` is used. E-mail has its own check
    /// (`test_email_connection`, two servers).
    pub async fn test_connection(
        &self,
        input: InboxInput,
        inbox_id: Option<InboxId>,
    ) -> Result<String> {
        let mut input = inbox_config::validate(&input)?;
        if !credential_checked(input.settings.kind()) {
            return Err(Error::field(
                "kind",
                "This kind of inbox has no provider account to check.",
            ));
        }
        let token = match (
            input.password.clone().filter(|t| !t.trim().is_empty()),
            inbox_id,
        ) {
            (Some(t), _) => t,
            (None, Some(id)) => self.inbox_secret(id).await?,
            (None, None) => String::new(),
        };
        self.check_credentials(&mut input.settings, &token).await?;
        Ok(match &input.settings {
            InboxSettings::Telegram(t) => t.bot_username.clone().map(|u| format!("@{u}")),
            InboxSettings::WhatsApp(w) => w.display_phone.clone(),
            InboxSettings::Twilio(t) => Some(t.number.clone()),
            InboxSettings::Line(l) => l.bot_name.clone(),
            InboxSettings::X(x) => x.username.clone().map(|u| format!("@{u}")),
            InboxSettings::Messenger(m) | InboxSettings::Instagram(m) => m.page_name.clone(),
            _ => None,
        }
        .unwrap_or_default())
    }

    /// The HTML body of an e-mail, as a sandboxable document. Remote images stay blocked
    /// unless `load_remote` or the sender is trusted.
    pub async fn message_html(
        &self,
        message_id: MessageId,
        load_remote: bool,
    ) -> Result<MessageHtml> {
        let data_dir = self.inner.cfg.data_dir.clone();
        self.inner
            .store
            .read(move |c| {
                let (html, from, inbox_id) =
                    email::html_of(c, message_id)?.ok_or(Error::NotFound("HTML body"))?;
                let trusted = match &from {
                    Some(a) => email::is_trusted_sender(c, inbox_id, a)?,
                    None => false,
                };
                let mut inline = Vec::new();
                for (cid, mime, sha) in attachments::inline_parts(c, message_id)? {
                    if let Ok(bytes) = std::fs::read(attachments::path_of(&data_dir, &sha)) {
                        use base64::Engine;
                        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                        inline.push((cid, format!("data:{mime};base64,{b64}")));
                    }
                }
                let (html, blocked_images) =
                    email_channel::html::display_document(&html, &inline, load_remote || trusted);
                Ok(MessageHtml {
                    html,
                    blocked_images,
                })
            })
            .await
    }

    /// Always load remote images from this message's sender.
    pub async fn trust_sender(&self, message_id: MessageId) -> Result<()> {
        self.inner
            .store
            .write(move |tx| {
                let (_, from, inbox_id) =
                    email::html_of(tx, message_id)?.ok_or(Error::NotFound("HTML body"))?;
                let from = from.ok_or(Error::NotFound("sender address"))?;
                email::trust_sender(tx, inbox_id, &from)
            })
            .await
    }

    /// Puts a failed reply back in the outbox.
    pub async fn retry_message(&self, message_id: MessageId) -> Result<()> {
        let now = now_ms();
        let conversation_id = self
            .inner
            .store
            .write(move |tx| messages::requeue(tx, message_id, now))
            .await?;
        self.inner.bus.emit(CoreEvent::MessageChanged {
            conversation_id,
            message_id,
        });
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    pub async fn search(&self, query: &SearchQuery, limit: u32) -> Result<Vec<SearchHit>> {
        let query = query.clone();
        self.inner
            .store
            .read(move |c| store::search::search(c, &query, limit))
            .await
    }

    /// Stores a customer's message and tells everyone. Returns what was stored (nothing new if
    /// it was a duplicate).
    pub async fn ingest(&self, incoming: IncomingOwned) -> Result<Ingested> {
        let mut out = self.ingest_batch(vec![incoming], None).await?;
        Ok(out.remove(0))
    }

    /// Stores several customer messages and, if given, the channel's cursor
    /// (`(inbox, name, value)`) in one transaction, then tells everyone.
    pub async fn ingest_batch(
        &self,
        batch: Vec<IncomingOwned>,
        cursor: Option<(InboxId, &'static str, String)>,
    ) -> Result<Vec<Ingested>> {
        for m in &batch {
            check_content(&m.content)?;
        }
        let stored = self
            .inner
            .store
            .write(move |tx| {
                let out = batch
                    .iter()
                    .map(|m| ingest::ingest(tx, &m.borrow()))
                    .collect::<Result<Vec<_>>>()?;
                if let Some((inbox_id, name, value)) = &cursor {
                    store::cursors::set(tx, *inbox_id, name, value)?;
                }
                Ok(out)
            })
            .await?;
        for out in &stored {
            if let Some(message_id) = out.message_id {
                self.inner.bus.emit(CoreEvent::MessageChanged {
                    conversation_id: out.conversation_id,
                    message_id,
                });
                self.inner.bus.emit(CoreEvent::ConversationChanged {
                    conversation_id: out.conversation_id,
                });
                self.trigger_incoming(out.conversation_id, message_id, out.new_conversation);
            }
        }
        Ok(stored)
    }
}

/// Kinds whose credential is checked with the provider when saved.
fn credential_checked(kind: ChannelKind) -> bool {
    matches!(
        kind,
        ChannelKind::Telegram
            | ChannelKind::WhatsApp
            | ChannelKind::Twilio
            | ChannelKind::Line
            | ChannelKind::X
            | ChannelKind::Messenger
            | ChannelKind::Instagram
    )
}

/// Kinds whose webhooks are signed with a secret the user pastes, and how to ask for it.
fn webhook_secret_ask(kind: ChannelKind) -> Option<&'static str> {
    match kind {
        ChannelKind::WhatsApp => Some(
            "Paste the app secret (Meta App Dashboard → App settings → Basic): it checks that webhooks come from Meta.",
        ),
        ChannelKind::Line => Some(
            "Paste the channel secret (LINE Developers Console → Basic settings): it checks that webhooks come from LINE.",
        ),
        _ => None,
    }
}

/// Where the secret that signs an inbox's webhooks lives in the keychain.
fn webhook_secret_ref(inbox_token: &str) -> String {
    format!("inbox/{inbox_token}/webhook-secret")
}

/// Owned form of [`Incoming`], to move into the writer thread.
#[derive(Debug, Clone)]
pub struct IncomingOwned {
    pub inbox_id: InboxId,
    pub contact_key: String,
    pub contact_name: String,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub thread_key: String,
    pub source_id: Option<String>,
    pub content: String,
    pub created_at: i64,
    pub files: Vec<ingest::IncomingFile>,
}

impl IncomingOwned {
    fn borrow(&self) -> Incoming<'_> {
        Incoming {
            inbox_id: self.inbox_id,
            contact_key: &self.contact_key,
            contact: store::contacts::ContactInfo {
                name: &self.contact_name,
                email: self.contact_email.as_deref(),
                phone: self.contact_phone.as_deref(),
            },
            thread_key: &self.thread_key,
            source_id: self.source_id.as_deref(),
            content: &self.content,
            created_at: self.created_at,
            files: &self.files,
        }
    }
}

/// Message text must have something in it and stay under [`MAX_CONTENT_BYTES`].
pub fn check_content(content: &str) -> Result<String> {
    if content.trim().is_empty() {
        return Err(Error::field("content", "The message is empty."));
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(Error::field(
            "content",
            format!(
                "The message is longer than {} KiB.",
                MAX_CONTENT_BYTES / 1024
            ),
        ));
    }
    Ok(content.to_string())
}

/// Another process (the CLI) may write to the same store. SQLite's `data_version` tells when;
/// then the UI resyncs and the outbox looks for new work.
async fn watch_external_writes(caixa: Caixa) {
    let mut last = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = caixa.inner.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let store = caixa.inner.store.clone();
        let Ok(Ok(version)) = tokio::task::spawn_blocking(move || store.data_version()).await
        else {
            continue;
        };
        if last.is_some_and(|l| l != version) {
            tracing::debug!("store changed by another process");
            caixa.inner.bus.emit(CoreEvent::Resync);
            caixa.inner.outbox_wake.notify_one();
            // `caixa-cli inbox add email` next to the running app: start its worker here.
            caixa.reconcile_workers().await;
        }
        last = Some(version);
    }
}
