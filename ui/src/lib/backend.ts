// The only door to the core. Components and stores talk to a `Backend`; the generated
// bindings (and therefore `@tauri-apps/*`) are imported here and nowhere else, so the
// bindings can be regenerated, and the UI run in a plain browser against a mock.
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { open as openDialog, save as saveDialog } from '@tauri-apps/plugin-dialog';
import { openUrl } from '@tauri-apps/plugin-opener';
import { commands, events } from './bindings';
import type {
  ActionOutcome,
  AppInfo,
  AutomationRule,
  BotSettings,
  CannedResponse,
  Contact,
  ContactDetails,
  ContactInput,
  ContactSummary,
  ConversationAction,
  ErrorPayload as CommandError,
  ConversationFilter,
  ConversationPage,
  ConversationRow,
  ConnectionReport,
  CoreEvent,
  Cursor,
  EmailSettings,
  ErrorCode,
  FieldError,
  InboxBot,
  InboxInput,
  InboxView,
  Label,
  Macro,
  MacroRun,
  MacroStep,
  MergeSuggestion,
  Message,
  MessageHtml,
  Report,
  ReportQuery,
  Result,
  RuleInput,
  SearchHit,
  SearchQuery,
  StagedFile,
  StatusCounts,
  WhatsAppTemplate,
} from './bindings';

export type {
  ActionOutcome,
  ApiSettings,
  AppInfo,
  Attachment,
  AutomationRule,
  BotSettings,
  BusinessHours,
  CannedResponse,
  ChannelKind,
  ConnectionReport,
  Contact,
  ContactChannel,
  ContactDetails,
  ContactInput,
  ContactSummary,
  ErrorPayload as CommandError,
  ConversationAction,
  ConversationFilter,
  ConversationPage,
  ConversationRow,
  ConversationStatus,
  CoreEvent,
  Cursor,
  DayReport,
  Delivery,
  EmailSettings,
  ErrorCode,
  FaqAnswer,
  FieldError,
  Inbox,
  InboxBot,
  InboxInput,
  InboxReport,
  InboxSettings,
  InboxState,
  InboxView,
  Label,
  LineSettings,
  Macro,
  MacroRun,
  MacroStep,
  MailSecurity,
  MailServer,
  MergeSuggestion,
  Message,
  MessageHtml,
  MessageKind,
  MessengerSettings,
  OpeningHours,
  Priority,
  Report,
  ReportQuery,
  ReportTotals,
  RuleCondition,
  RuleEvent,
  RuleInput,
  SearchHit,
  SearchOrder,
  SearchQuery,
  StagedFile,
  StatusCounts,
  TelegramSettings,
  TwilioSettings,
  WebsiteSettings,
  WhatsAppSettings,
  WhatsAppTemplate,
  XSettings,
} from './bindings';

/** A failed command, carrying the core's error code and per-field messages. */
export class BackendError extends Error {
  readonly code: ErrorCode;
  readonly fields: FieldError[];

  constructor(code: ErrorCode, message: string, fields: FieldError[] = []) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
    this.fields = fields;
  }
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  listInboxes(): Promise<InboxView[]>;
  addInbox(input: InboxInput): Promise<InboxView>;
  updateInbox(id: number, input: InboxInput): Promise<InboxView>;
  deleteInbox(id: number): Promise<void>;
  revealInboxSecret(id: number): Promise<string>;
  listConversations(filter: ConversationFilter, cursor: Cursor | null, limit: number): Promise<ConversationPage>;
  getConversation(id: number): Promise<ConversationRow>;
  conversationCounts(inboxId: number | null): Promise<StatusCounts>;
  listMessages(conversationId: number): Promise<Message[]>;
  /** Sends a reply or private note with the files staged for it; `content` may be empty when
   * `files` is not. Private notes always carry files; replies only where the inbox's
   * `InboxView.files_refused` is null (else a validation error on field "attachments" with that
   * reason; a channel may also refuse some file types or counts). A reply after
   * the conversation's `reply_window_closes_at` (WhatsApp: 24 h after the customer last wrote;
   * Messenger and Instagram: 7 days) is a validation error on field "content". */
  sendMessage(conversationId: number, content: string, priv: boolean, files: StagedFile[]): Promise<Message>;
  /** Changes a private note's text. Only notes (`kind === "note"`) the local agent wrote
   * (`sender_name === AppInfo.agent_name`) can be changed: else a validation error on field
   * "message" ("Only the note's author can change it."); empty or too long text is one on
   * "content". Emits `message_changed`. */
  editNote(messageId: number, content: string): Promise<Message>;
  /** Deletes a private note; same author rule as `editNote`. Emits `message_changed` (the note is
   * gone from the refetched thread). */
  deleteNote(messageId: number): Promise<void>;
  /** Copies a local file (absolute path) into the attachment store, ready for `sendMessage`. */
  stageFile(path: string): Promise<StagedFile>;
  /** The system's open-file dialog; resolves to the picked absolute paths (none if cancelled). */
  pickFiles(): Promise<string[]>;
  /** The system's save-file dialog, proposing `defaultName` (a file name) and offering files of
   * `filter`; resolves to the chosen absolute path (null if cancelled). */
  pickSavePath(defaultName: string, filter: { name: string; extensions: string[] }): Promise<string | null>;
  /** Files dragged onto the window: `cb` gets the dropped paths, `onHover` whether a drag of
   * files is over the window. Resolves to an unsubscribe function. */
  onFilesDropped(cb: (paths: string[]) => void, onHover?: (hovering: boolean) => void): Promise<() => void>;
  /** Applies one action to one or more conversations (the conversation header and bulk
   * selections). Each conversation is done on its own: the outcome says, per conversation,
   * whether it worked (`error` null) or why not. Invalid input (a snooze time not in the
   * future, an empty label or agent name) rejects the whole call with a validation error.
   * Every change writes an activity line in the thread and emits `conversation_changed`
   * (`conversation_removed` for `delete`, plus `labels_changed` when labels changed). */
  applyAction(conversationIds: number[], action: ConversationAction): Promise<ActionOutcome[]>;
  listLabels(): Promise<Label[]>;
  /** Creates a label (`color` is "#rrggbb"), or returns the existing one with that name. */
  createLabel(name: string, color: string): Promise<Label>;
  /** Renames or recolours a label everywhere it is used. */
  updateLabel(id: number, name: string, color: string): Promise<Label>;
  /** Deletes a label and takes it off every conversation. */
  deleteLabel(id: number): Promise<void>;
  /** The local agent ("me") first, then everyone conversations are assigned to. */
  listAgents(): Promise<string[]>;
  /** Canned responses, by short code. */
  listCannedResponses(): Promise<CannedResponse[]>;
  /** `shortCode`: 1–32 of a-z 0-9 - _ (stored lowercase, without a leading "/"); `content` may
   * use the variables in `CANNED_VARIABLES`. Validation errors on "short_code" (format, or
   * "/x is already in use.") and "content" (empty, too long, an unknown variable). Emits
   * `canned_responses_changed`. */
  createCannedResponse(shortCode: string, content: string): Promise<CannedResponse>;
  /** Same rules as `createCannedResponse`. */
  updateCannedResponse(id: number, shortCode: string, content: string): Promise<CannedResponse>;
  deleteCannedResponse(id: number): Promise<void>;
  /** Macros, by name. */
  listMacros(): Promise<Macro[]>;
  /** Creates (`id` null) or replaces a macro. Steps: any `ConversationAction` except `delete` and a
   * `snooze` with a fixed `until`; `snooze_for` (minutes from when it runs); `add_note` and
   * `send_message`, whose text may use the variables in `CANNED_VARIABLES`. Validation errors on
   * "name" and "steps" ("Step 2: unknown variable {{contact.nam}}."). Emits `macros_changed`. */
  saveMacro(id: number | null, name: string, steps: MacroStep[]): Promise<Macro>;
  deleteMacro(id: number): Promise<void>;
  /** Runs a macro on conversations: per conversation, one outcome per step that ran; it stops at
   * the first failure (the last outcome's `error`), and `completed` says whether all ran. */
  runMacro(id: number, conversationIds: number[]): Promise<MacroRun[]>;
  /** Every automation rule, in the order they run. */
  listRules(): Promise<AutomationRule[]>;
  /** Creates (`id` null; it runs last) or replaces a rule. Validation errors on "name", "conditions"
   * ("Condition 2: choose at least one inbox.") and "actions" ("Step 1: …", like a macro's steps;
   * `run_macro` is allowed here, and must name an existing macro). Emits `rules_changed`. */
  saveRule(id: number | null, rule: RuleInput): Promise<AutomationRule>;
  /** Sets the order rules run in; `ids` lists every rule once. Emits `rules_changed`. */
  reorderRules(ids: number[]): Promise<AutomationRule[]>;
  deleteRule(id: number): Promise<void>;
  /** An inbox's greeting, business hours and chatbot. */
  getInboxBot(inboxId: number): Promise<InboxBot>;
  /** Validation errors on "greeting", "out_of_office" (also: needs business hours),
   * "handover_message", "business_hours", "faq" ("Answer 2: …"), "agent_bot_url" and
   * "agent_bot_timeout_secs". Saving an agent-bot URL the first time creates the signing secret.
   * Emits `bot_settings_changed`. */
  saveInboxBot(inboxId: number, settings: BotSettings): Promise<InboxBot>;
  /** Contacts whose name, e-mail or phone contains `query` (all when it is empty), most recently
   * active first (contacts without conversations last); `limit` 1–500, `offset` for paging. */
  listContacts(query: string, limit: number, offset: number): Promise<ContactSummary[]>;
  /** A contact, the inboxes they are known in (with their handle there) and their conversations,
   * newest activity first. */
  contactDetails(id: number): Promise<ContactDetails>;
  /** Saves an agent's edit (trimmed; empty e-mail and phone become null). Validation errors on
   * "name" (empty or over 200 characters), "email", "phone" (digits, + - ( ) . and spaces; 5–20
   * digits), "notes" (64 KiB) and "attributes" (at most 50, each a name up to 60 characters and a
   * value up to 1,000). Emits `conversation_changed` for the contact's conversations (their rows
   * carry the name) and `contacts_changed`. */
  updateContact(id: number, input: ContactInput): Promise<Contact>;
  /** Moves every conversation and channel of `other` into `keep`, takes the details `keep` lacks
   * (name, e-mail, phone, attributes) from `other`, joins the notes and deletes `other`. The same id
   * twice is a validation error on "other". Emits like `updateContact`. */
  mergeContacts(keep: number, other: number): Promise<ContactDetails>;
  /** Pairs of contacts sharing an e-mail (any case) or a phone (its digits) exactly. */
  mergeSuggestions(): Promise<MergeSuggestion[]>;
  /** Figures for a period (`since` inclusive, `until` exclusive, Unix ms), overall and per inbox
   * (every inbox, or only `inbox_id`), by day and by hour of the day in `utc_offset_minutes`.
   * Validation errors on "until" (the period must end after it starts, and last at most two
   * years). */
  report(query: ReportQuery): Promise<Report>;
  /** Writes the report of `query` as CSV to `path` (an absolute path, e.g. from `pickSavePath`);
   * same validation as `report`. */
  exportReport(query: ReportQuery, path: string): Promise<void>;
  /** `text` with its variables (`{{contact.first_name}}`…) filled in for this conversation. */
  renderReply(conversationId: number, text: string): Promise<string>;
  markRead(conversationId: number): Promise<void>;
  retryMessage(messageId: number): Promise<void>;
  /** Full-text search over message text (notes included), e-mail subjects and contacts, within
   * the query's filters (`inbox_id`, `status`, `label`, `assignee`; `since` inclusive and `until`
   * exclusive, Unix ms, on when the message was written). One hit per conversation, at most
   * `limit` (1–200): conversations whose contact matched first, then newest match first
   * (`order` "newest", the default) or best match first ("relevance"). `matches` counts the
   * conversation's matching messages; `snippet` wraps each match in \u0002…\u0003. Empty
   * text finds nothing. */
  search(query: SearchQuery, limit: number): Promise<SearchHit[]>;
  /** The approved message templates of a WhatsApp inbox's business account. Fails (with the
   * reason in words) when the inbox has no WhatsApp Business Account ID, or Meta refuses. */
  whatsappTemplates(inboxId: number): Promise<WhatsAppTemplate[]>;
  /** Sends an approved WhatsApp template (the only thing WhatsApp delivers once the 24-hour window
   * has closed) with its `{{n}}` parameters filled in; stored like a reply whose text is the filled
   * body, and delivered through the outbox. Validation errors on "template" (not a WhatsApp
   * conversation, no such approved template) and "parameters" (wrong count, or an empty one). */
  sendTemplate(conversationId: number, name: string, language: string, parameters: string[]): Promise<Message>;
  /** Checks an e-mail inbox's IMAP and SMTP servers with `password`, or (when it is null) the
   * stored password of `inboxId`. */
  testEmailConnection(settings: EmailSettings, password: string | null, inboxId: number | null): Promise<ConnectionReport>;
  /** Checks a channel's credential with its provider (Telegram, WhatsApp, Twilio, LINE, X,
   * Messenger, Instagram): `input` is what the form would save, its `password` the kind's credential
   * (bot token, access token, auth token, channel access token, OAuth 2.0 user token, Page access
   * token) or, when it is null or empty, the stored one of `inboxId`. Resolves to what the provider
   * says about the account: Telegram "@acme_support_bot" (with the "@"), WhatsApp
   * "+1 555-010-0000 (Acme)", Twilio the number, LINE the bot's display name, X "@username",
   * Messenger and Instagram the Page's name. A refused credential is a validation error on field
   * "password" (with the provider's reason), bad settings on their own fields ("phone_number_id",
   * "account_sid", "number", "page_id", "poll_seconds", "api_version", "api_base_url"…). */
  testConnection(input: InboxInput, inboxId: number | null): Promise<string>;
  /** An e-mail's HTML body as a complete document for `<iframe sandbox srcdoc>`. */
  messageHtml(messageId: number, loadRemote: boolean): Promise<MessageHtml>;
  /** Always load remote images from this message's sender. */
  trustSender(messageId: number): Promise<void>;
  /** Opens an attachment with the system's default app for its type. */
  openAttachment(attachmentId: number): Promise<void>;
  uiReady(): Promise<void>;
  /** Opens a web address in the system's browser. */
  openExternal(url: string): Promise<void>;
  /** Subscribes to core events; resolves to an unsubscribe function. */
  onEvent(cb: (event: CoreEvent) => void): Promise<() => void>;
}

const ERROR_CODES: readonly ErrorCode[] = ['validation', 'not_found', 'conflict', 'unavailable', 'internal'];

/** Normalises whatever a failed command produced (a CommandError, or a bare string when the
 * IPC layer itself fails, e.g. an argument that does not deserialize) into a BackendError. */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (raw && typeof raw === 'object' && 'message' in raw) {
    const e = raw as Partial<CommandError>;
    const code = ERROR_CODES.includes(e.code as ErrorCode) ? (e.code as ErrorCode) : 'internal';
    const fields = Array.isArray(e.fields) ? e.fields : [];
    return new BackendError(code, String(e.message ?? ''), fields);
  }
  if (raw instanceof Error) return new BackendError('internal', raw.message);
  return new BackendError('internal', typeof raw === 'string' ? raw : 'Unknown error');
}

async function unwrap<T>(call: Promise<Result<T, CommandError>>): Promise<T> {
  let result: Result<T, CommandError>;
  try {
    result = await call;
  } catch (e) {
    throw toBackendError(e);
  }
  if (result.status === 'error') throw toBackendError(result.error);
  return result.data;
}

export function createTauriBackend(): Backend {
  return {
    appInfo: () => unwrap(commands.appInfo()),
    listInboxes: () => unwrap(commands.listInboxes()),
    addInbox: (input) => unwrap(commands.addInbox(input)),
    updateInbox: (id, input) => unwrap(commands.updateInbox(id, input)),
    deleteInbox: async (id) => {
      await unwrap(commands.deleteInbox(id));
    },
    revealInboxSecret: (id) => unwrap(commands.revealInboxSecret(id)),
    listConversations: (filter, cursor, limit) => unwrap(commands.listConversations(filter, cursor, limit)),
    getConversation: (id) => unwrap(commands.getConversation(id)),
    conversationCounts: (inboxId) => unwrap(commands.conversationCounts(inboxId)),
    listMessages: (conversationId) => unwrap(commands.listMessages(conversationId)),
    sendMessage: (conversationId, content, priv, files) =>
      unwrap(commands.sendMessage(conversationId, content, priv, files)),
    editNote: (messageId, content) => unwrap(commands.editNote(messageId, content)),
    deleteNote: async (messageId) => {
      await unwrap(commands.deleteNote(messageId));
    },
    stageFile: (path) => unwrap(commands.stageFile(path)),
    pickFiles: async () => {
      let picked: string[] | string | null;
      try {
        picked = await openDialog({ multiple: true, directory: false });
      } catch (e) {
        throw toBackendError(e);
      }
      if (!picked) return [];
      return Array.isArray(picked) ? picked : [picked];
    },
    pickSavePath: async (defaultName, filter) => {
      try {
        return await saveDialog({ defaultPath: defaultName, filters: [filter] });
      } catch (e) {
        throw toBackendError(e);
      }
    },
    onFilesDropped: async (cb, onHover) => {
      const unlisten = await getCurrentWebview().onDragDropEvent((event) => {
        const p = event.payload;
        switch (p.type) {
          case 'enter':
            // Only a drag that carries files is a drop target.
            if (p.paths.length) onHover?.(true);
            break;
          case 'leave':
            onHover?.(false);
            break;
          case 'drop':
            onHover?.(false);
            if (p.paths.length) cb(p.paths);
            break;
        }
      });
      return unlisten;
    },
    applyAction: (conversationIds, action) => unwrap(commands.applyAction(conversationIds, action)),
    listLabels: () => unwrap(commands.listLabels()),
    createLabel: (name, color) => unwrap(commands.createLabel(name, color)),
    updateLabel: (id, name, color) => unwrap(commands.updateLabel(id, name, color)),
    deleteLabel: async (id) => {
      await unwrap(commands.deleteLabel(id));
    },
    listAgents: () => unwrap(commands.listAgents()),
    listCannedResponses: () => unwrap(commands.listCannedResponses()),
    createCannedResponse: (shortCode, content) => unwrap(commands.createCannedResponse(shortCode, content)),
    updateCannedResponse: (id, shortCode, content) => unwrap(commands.updateCannedResponse(id, shortCode, content)),
    deleteCannedResponse: async (id) => {
      await unwrap(commands.deleteCannedResponse(id));
    },
    listMacros: () => unwrap(commands.listMacros()),
    saveMacro: (id, name, steps) => unwrap(commands.saveMacro(id, name, steps)),
    deleteMacro: async (id) => {
      await unwrap(commands.deleteMacro(id));
    },
    runMacro: (id, conversationIds) => unwrap(commands.runMacro(id, conversationIds)),
    listRules: () => unwrap(commands.listRules()),
    saveRule: (id, rule) => unwrap(commands.saveRule(id, rule)),
    reorderRules: (ids) => unwrap(commands.reorderRules(ids)),
    deleteRule: async (id) => {
      await unwrap(commands.deleteRule(id));
    },
    getInboxBot: (inboxId) => unwrap(commands.getInboxBot(inboxId)),
    saveInboxBot: (inboxId, settings) => unwrap(commands.saveInboxBot(inboxId, settings)),
    listContacts: (query, limit, offset) => unwrap(commands.listContacts(query, limit, offset)),
    contactDetails: (id) => unwrap(commands.contactDetails(id)),
    updateContact: (id, input) => unwrap(commands.updateContact(id, input)),
    mergeContacts: (keep, other) => unwrap(commands.mergeContacts(keep, other)),
    mergeSuggestions: () => unwrap(commands.mergeSuggestions()),
    report: (query) => unwrap(commands.report(query)),
    exportReport: async (query, path) => {
      await unwrap(commands.exportReport(query, path));
    },
    renderReply: (conversationId, text) => unwrap(commands.renderReply(conversationId, text)),
    markRead: async (conversationId) => {
      await unwrap(commands.markRead(conversationId));
    },
    retryMessage: async (messageId) => {
      await unwrap(commands.retryMessage(messageId));
    },
    search: async (query, limit) => {
      // The core finds nothing without words: spare the round trip.
      const text = query.text.trim();
      if (!text) return [];
      return unwrap(commands.search({ ...NO_SEARCH_FILTERS, ...query, text }, Math.min(200, Math.max(1, Math.round(limit)))));
    },
    whatsappTemplates: (inboxId) => unwrap(commands.whatsappTemplates(inboxId)),
    sendTemplate: (conversationId, name, language, parameters) =>
      unwrap(commands.sendTemplate(conversationId, name, language, parameters)),
    testEmailConnection: (settings, password, inboxId) => unwrap(commands.testEmailConnection(settings, password, inboxId)),
    testConnection: (input, inboxId) => unwrap(commands.testConnection(input, inboxId)),
    messageHtml: (messageId, loadRemote) => unwrap(commands.messageHtml(messageId, loadRemote)),
    trustSender: async (messageId) => {
      await unwrap(commands.trustSender(messageId));
    },
    openAttachment: async (attachmentId) => {
      await unwrap(commands.openAttachment(attachmentId));
    },
    uiReady: async () => {
      await unwrap(commands.uiReady());
    },
    openExternal: (url) => openUrl(url),
    onEvent: async (cb) => {
      const unlisten = await events.appEvent.listen((e) => cb(e.payload));
      return unlisten;
    },
  };
}

/** The filters and order of a search: everything in a `SearchQuery` but its text. */
export type SearchFilters = Required<Omit<SearchQuery, 'text'>>;

/** No filter, newest first: what a plain search asks for. */
export const NO_SEARCH_FILTERS: Readonly<SearchFilters> = {
  inbox_id: null,
  status: null,
  label: null,
  assignee: null,
  since: null,
  until: null,
  order: 'newest',
};

/** Whether any filter narrows the search (the order is not a filter). */
export function searchFiltered(f: SearchFilters): boolean {
  return f.inbox_id !== null || f.status !== null || f.label !== null || f.assignee !== null || f.since !== null || f.until !== null;
}

/** `body` with each `{{n}}` replaced by the n-th parameter, as the core fills a WhatsApp
 * template; a blank parameter leaves its placeholder. */
export function fillTemplate(body: string, parameters: readonly string[]): string {
  return body.replace(/\{\{(\d+)\}\}/g, (m, n: string) => parameters[Number(n) - 1]?.trim() || m);
}

/** The variables a reply (and a canned response) may use, as the core names them. */
export const CANNED_VARIABLES = ['contact.name', 'contact.first_name', 'agent.name', 'inbox.name'] as const;
export type CannedVariable = (typeof CANNED_VARIABLES)[number];

/** The words with which a customer asks for a person when an inbox sets none of its own. */
export const DEFAULT_HANDOVER_WORDS = ['human', 'agent', 'person', 'humano', 'atendente', 'pessoa'] as const;
/** How long the core waits for an agent bot when the timeout is 0, and the most it allows. */
export const AGENT_BOT_TIMEOUT_DEFAULT = 10;
export const AGENT_BOT_TIMEOUT_MAX = 30;

export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** The real backend inside Tauri; an in-memory mock (loaded on demand, so it stays out of the
 * app's main chunk) when the UI runs in a plain browser for development. */
export async function createBackend(): Promise<Backend> {
  if (isTauri()) return createTauriBackend();
  return createMockBackend();
}

export async function createMockBackend(): Promise<Backend> {
  const { createMockBackend: create } = await import('./mock-backend');
  return create();
}
