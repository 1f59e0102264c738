// In-memory stand-in for the core, used only by `npm run dev` in a plain browser (no Tauri).
// It behaves like the core where the UI can tell: keyset pages, live events, delivery states,
// validation errors. URL switches: ?mock=empty (first run), ?mock=big (100k conversations).
// Telegram bot tokens: "bad" is refused by "Telegram", "webhook" / "conflict" save but the inbox
// then shows the matching polling error. WhatsApp access tokens: "bad" is refused by "Meta"; phone
// number ID "404" does not exist; saving needs the app secret. Twilio auth tokens, LINE channel
// access tokens, X user access tokens and the Page access tokens of Messenger and Instagram: "bad" is
// refused by the provider; a LINE inbox needs its channel secret to save. Conversation actions
// (snooze, assign, priority, labels, mute, unread, delete) behave like the core's: each writes an
// activity line, a timed snooze wakes by itself, and a customer message does not reopen a muted
// conversation. Conversations with a contact called Nuno refuse every action, to see a bulk failure.
// Canned responses (/hello, /refund, /shipping) are checked and rendered like the core's.
// Macros ("Close as solved", "Escalate") run step by step with the same logic as applyAction and
// sendMessage, stopping at the first failure (a Nuno conversation fails at once; a message with
// "offline" in it fails at that step).
// Automation rules and each inbox's bot settings are checked like the core's and kept in memory;
// rules are not evaluated. The website inbox has a bot (a greeting and FAQ answers): a pending
// conversation there gets bot answers, and its customer asks for a person 15 s after start, so the
// hand-over notice shows. Saving an agent-bot URL creates a fake signing secret.
// WhatsApp inboxes with a Business Account ID (the seeded one has one) offer two approved message
// templates, one with 2 parameters; without the ID listing them fails as the core's does.
// Search honours its filters and order; threads never opened are searched by their preview only.
// Contacts are derived from the conversations (one each, with a channel identity per inbox). Rafael
// Nunes (WhatsApp) and the SMS texter share a phone, and two Carla Souzas an e-mail, so the contacts
// page suggests merging them; edits and merges are checked and applied like the core's.
import { AGENT_BOT_TIMEOUT_MAX, BackendError, CANNED_VARIABLES, DEFAULT_HANDOVER_WORDS, fillTemplate } from './backend';
import type {
  ActionOutcome,
  AutomationRule,
  Backend,
  BotSettings,
  CannedResponse,
  Contact,
  ContactChannel,
  ContactDetails,
  ContactInput,
  ContactSummary,
  ConversationAction,
  ConversationFilter,
  ConversationRow,
  CoreEvent,
  ChannelKind,
  DayReport,
  EmailSettings,
  InboxBot,
  InboxInput,
  InboxView,
  Label,
  LineSettings,
  Macro,
  MacroRun,
  MacroStep,
  MailServer,
  MergeSuggestion,
  Message,
  MessageKind,
  MessengerSettings,
  Report,
  ReportQuery,
  ReportTotals,
  RuleCondition,
  RuleInput,
  SearchHit,
  StagedFile,
  StatusCounts,
  TelegramSettings,
  TwilioSettings,
  WhatsAppSettings,
  WhatsAppTemplate,
  XSettings,
} from './backend';

const FIRST = ['Ana', 'Bruno', 'Carla', 'Diego', 'Elena', 'Felipe', 'Gabriela', 'Hugo', 'Isabela', 'João', 'Karen', 'Lucas', 'Marina', 'Nuno', 'Olivia', 'Pedro', 'Rafaela', 'Sofia', 'Tiago', 'Vitória'];
const LAST = ['Silva', 'Souza', 'Costa', 'Oliveira', 'Pereira', 'Almeida', 'Ferreira', 'Ribeiro', 'Carvalho', 'Gomes', 'Martins', 'Rocha'];
const INCOMING = [
  'Hi! My order #4821 has not arrived yet, can you check?',
  'Is there a way to change the delivery address?',
  'The payment went through twice, please refund one.',
  'Do you ship to Portugal?',
  'Thanks, that solved it!',
  'I cannot log in to my account since yesterday.',
  'What are your opening hours on Saturday?',
  'Can I get an invoice with my company details?',
];
const OUTGOING = [
  'Hi! Let me look into that for you.',
  'I have just refunded the duplicate charge.',
  'Yes, we ship to all of Europe.',
  'Could you send me the email address on the account?',
];
const NOTES = ['Customer is a VIP, prioritise.', 'Checked with logistics: parcel is in Lisbon.'];
const SUBJECTS = ['Invoice for order #4821', 'Where is my parcel?', 'Refund request', 'Change of delivery address', 'Question about your opening hours'];
const QUOTED = [
  'On Mon, 3 Mar 2025 at 10:12, Acme Support <support@acme.example> wrote:',
  '> Hi,',
  '> Thanks for writing to us. Could you send us your order number?',
  '>',
  '> Best regards,',
  '> Acme Support',
].join('\n');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The core's cap on what one message carries. */
const MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024;
const MIME: Record<string, string> = {
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  txt: 'text/plain',
  csv: 'text/csv',
  zip: 'application/zip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
/** What the mock file dialog "picks". */
const PICKED = ['/home/agent/Documents/invoice-4821.pdf', '/home/agent/Pictures/parcel photo.jpg'];

/** The username "Telegram" reports for any token it accepts. */
const BOT_USERNAME = 'acme_support_bot';
const BAD_TOKEN = 'Telegram did not accept the bot token (401 Unauthorized); check it in @BotFather';
/** How "Meta" displays any WhatsApp number it accepts. */
const WHATSAPP_NUMBER = '+1 555-010-0000 (Acme)';
/** The Twilio number and account of the seeded SMS inbox. */
const TWILIO_NUMBER = '+15550100000';
const TWILIO_SID = 'AC0123456789abcdef0123456789abcdef';
/** The name "LINE" reports for any bot whose channel access token it accepts. */
const LINE_BOT_NAME = 'Acme Support';
/** The account "X" reports for any user access token it accepts. */
const X_USERNAME = 'acme_support';
const X_USER_ID = '1456789012345678901';
/** The Page "Meta" reports for any Page access token it accepts, and its linked Instagram account. */
const PAGE_NAME = 'Acme Store';
const PAGE_ID = '104512345678901';
const INSTAGRAM_ID = '17841400000000001';
/** What the core calls each channel in its messages ("Replies in … conversations"). */
const CHANNEL_LABEL: Record<ChannelKind, string> = {
  website: 'website chat',
  api: 'API',
  email: 'e-mail',
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  twilio: 'SMS (Twilio)',
  line: 'LINE',
  x: 'X',
  messenger: 'Messenger',
  instagram: 'Instagram',
};
/** How long after the customer last wrote replies are allowed: WhatsApp free-form ones for 24 h;
 * Messenger and Instagram for 7 days (plain for 24 h, then with Meta's HUMAN_AGENT tag). */
const REPLY_WINDOW: Partial<Record<ChannelKind, number>> = {
  whatsapp: 24 * 3600_000,
  messenger: 7 * 24 * 3600_000,
  instagram: 7 * 24 * 3600_000,
};

/** Why replies cannot carry files, as the core says it when Caixa runs without CAIXA_PUBLIC_URL
 * (null: they can). Website and API replies carry none; Twilio, LINE and Instagram fetch files
 * from a public link to the gateway, which a desktop app without one cannot give. */
function filesRefused(kind: ChannelKind): string | null {
  if (kind === 'website' || kind === 'api') return `Replies in ${CHANNEL_LABEL[kind]} conversations cannot carry files yet.`;
  if (kind === 'twilio' || kind === 'line' || kind === 'instagram')
    return `${CHANNEL_LABEL[kind]} fetches files from a public address, and Caixa has none: start it with CAIXA_PUBLIC_URL set to the address where its gateway is reachable (reverse proxy or tunnel).`;
  return null;
}

/** The approved templates "Meta" lists for any WhatsApp Business Account. */
const WHATSAPP_TEMPLATES: readonly WhatsAppTemplate[] = [
  {
    name: 'order_update',
    language: 'en_US',
    category: 'UTILITY',
    body: 'Hi {{1}}, there is news about your order {{2}}. Reply to this message to continue the conversation.',
    parameters: 2,
  },
  {
    name: 'ainda_precisa_de_ajuda',
    language: 'pt_BR',
    category: 'MARKETING',
    body: 'Olá! Ainda podemos ajudar com alguma coisa? Responda a esta mensagem para continuar a conversa.',
    parameters: 0,
  },
];

/** What the mock's local agent is called (the core's `agent_name`). */
const ME = 'You';
/** Teammates some seeded conversations are assigned to. */
const TEAM = ['Ana Costa', 'Bruno Lima'];
/** Seeded labels. */
const SEED_LABELS: [string, string][] = [
  ['billing', '#cf222e'],
  ['shipping', '#1f6feb'],
  ['vip', '#8250df'],
  ['returns', '#bf8700'],
];

/** Seeded canned responses (short code, content). */
const SEED_CANNED: [string, string][] = [
  ['hello', 'Hi {{contact.first_name}}, {{agent.name}} here — how can I help?'],
  [
    'refund',
    'Olá {{contact.first_name}}! I have just refunded your payment. It can take 5 to 10 business days to show on your card statement.\n\nAnything else, just reply here.\n{{agent.name}} · {{inbox.name}}',
  ],
  [
    'shipping',
    'Hi {{contact.name}}, orders ship within 2 business days from São Paulo and arrive in 3 to 7 business days. You get a tracking link by e-mail as soon as it leaves.',
  ],
];
/** Seeded macros (name, steps). */
const SEED_MACROS: [string, MacroStep[]][] = [
  [
    'Close as solved',
    [
      { step: 'send_message', text: 'Obrigado, {{contact.first_name}}!' },
      { step: 'action', action: { action: 'set_status', status: 'resolved' } },
    ],
  ],
  [
    'Escalate',
    [
      { step: 'action', action: { action: 'set_priority', priority: 'urgent' } },
      { step: 'action', action: { action: 'add_label', label: 'escalated' } },
      { step: 'add_note', text: 'Escalated by {{agent.name}}' },
    ],
  ],
];
/** The seeded automation rule: refund requests get the billing label. */
const SEED_RULE: RuleInput = {
  name: 'Tag refund requests',
  enabled: true,
  event: 'message_received',
  conditions: [{ when: 'message_contains', words: ['refund', 'reembolso'] }],
  actions: [{ step: 'action', action: { action: 'add_label', label: 'billing' } }],
};
/** The website inbox's bot: a greeting, office hours and two FAQ answers (so it is on). */
const SEED_BOT: BotSettings = {
  greeting: 'Hi {{contact.first_name}}! Thanks for writing to {{inbox.name}}.',
  business_hours: {
    time_zone: 'America/Sao_Paulo',
    days: [1, 2, 3, 4, 5].flatMap((weekday) => [
      { weekday, open: '09:00', close: '12:00' },
      { weekday, open: '13:00', close: '18:00' },
    ]),
  },
  out_of_office: 'We are closed right now; we answer from 9:00 to 18:00, Monday to Friday.',
  faq: [
    { keywords: ['opening hours', 'open'], answer: 'We are open Monday to Friday, 9:00 to 18:00 (São Paulo time).' },
    { keywords: ['shipping', 'delivery', 'parcel'], answer: 'Orders ship within 2 business days and arrive in 3 to 7.' },
  ],
  handover_keywords: [],
  handover_message: 'One moment, {{contact.first_name}}: a person will answer you shortly.',
  agent_bot_url: null,
  agent_bot_timeout_secs: 0,
};
const NO_BOT: BotSettings = {
  greeting: null,
  business_hours: null,
  out_of_office: null,
  faq: [],
  handover_keywords: [],
  handover_message: null,
  agent_bot_url: null,
  agent_bot_timeout_secs: 0,
};
/** The core's cap on message text (and canned responses), in UTF-8 bytes. */
const MAX_CONTENT_BYTES = 64 * 1024;

/** The core's `fill`: replaces each `{{ name }}` the lookup knows; anything else stays as written. */
function fillVariables(text: string, lookup: (name: string) => string | null): string {
  let out = '';
  let rest = text;
  for (;;) {
    const start = rest.indexOf('{{');
    if (start < 0) break;
    const len = rest.slice(start).indexOf('}}');
    if (len < 0) break;
    const name = rest.slice(start + 2, start + len).trim();
    out += rest.slice(0, start);
    out += lookup(name) ?? rest.slice(start, start + len + 2);
    rest = rest.slice(start + len + 2);
  }
  return out + rest;
}

const hash = (s: string) => [...s].reduce((a, ch) => (a * 33 + ch.charCodeAt(0)) >>> 0, 5381);

/** A stable fake digest, so staging the same path twice gives the same file. */
function fakeSha256(s: string): string {
  const r = rng(hash(s));
  let out = '';
  while (out.length < 64) out += Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
  return out;
}

export function createMockBackend(): Backend {
  const mode = new URLSearchParams(location.search).get('mock');
  const listeners = new Set<(e: CoreEvent) => void>();
  const emit = (e: CoreEvent) => setTimeout(() => listeners.forEach((l) => l(e)), 10);

  const inboxes = new Map<number, InboxView>();
  const secrets = new Map<number, string>();
  /** What the core keeps in the keychain: mailbox passwords, Telegram bot tokens, WhatsApp access
   * tokens, Twilio auth tokens, LINE channel access tokens. */
  const passwords = new Map<number, string>();
  /** Also in the keychain: WhatsApp app secrets and LINE channel secrets (they sign the webhooks). */
  const webhookSecrets = new Map<number, string>();
  /** `<inbox id>:<sender>` pairs whose remote images always load. */
  const trusted = new Set<string>();
  const convs = new Map<number, ConversationRow>();
  const messages = new Map<number, Message[]>();
  /** Labels by id (`conversations` is counted when listed). */
  const labels = new Map<number, { id: number; name: string; color: string }>();
  let nextLabelId = 1;
  /** Canned responses by id. */
  const canned = new Map<number, CannedResponse>();
  let nextCannedId = 1;
  /** Macros by id. */
  const macros = new Map<number, Macro>();
  let nextMacroId = 1;
  /** Automation rules, in the order they run. */
  let rules: AutomationRule[] = [];
  let nextRuleId = 1;
  /** Each inbox's bot settings (none: `NO_BOT`), and the agent-bot signing secrets (the core
   * keeps those in the keychain). */
  const bots = new Map<number, BotSettings>();
  const botSecrets = new Map<number, string>();
  /** Contacts by id (every conversation's `contact_id` is one), and where each is known: one
   * identity (inbox and handle there) per inbox they wrote to. */
  const contacts = new Map<number, Contact>();
  const identities = new Map<number, { inbox_id: number; handle: string }[]>();
  /** Pending wake-ups of timed snoozes. */
  const snoozeTimers = new Map<number, ReturnType<typeof setTimeout>>();
  let nextInboxId = 1;
  let nextMsgId = 1;
  const now = Date.now();

  function view(id: number, input: InboxInput, createdAt: number, token: string): InboxView {
    const base = 'http://127.0.0.1:7311';
    const website = input.settings.kind === 'website';
    return {
      inbox: { id, name: input.name, kind: input.settings.kind, token, settings: input.settings, created_at: createdAt },
      state: inboxes.get(id)?.state ?? { state: 'starting' },
      snippet: website
        ? `<script>\n  window.caixaSettings = { token: "${token}" };\n</script>\n<script src="${base}/widget.js" async defer></script>`
        : null,
      test_page_url: website ? `${base}/test/${token}` : null,
      endpoint_url:
        input.settings.kind === 'api'
          ? `${base}/api/v1/inboxes/${token}/messages`
          : input.settings.kind === 'whatsapp' || input.settings.kind === 'line'
            ? `${base}/hooks/${token}`
            : null,
      files_refused: filesRefused(input.settings.kind),
    };
  }

  const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

  function serverErrors(prefix: 'imap' | 'smtp', server: MailServer): { field: string; message: string }[] {
    const out: { field: string; message: string }[] = [];
    const host = server.host.trim();
    if (!host) out.push({ field: `${prefix}_host`, message: `Enter the server name, like ${prefix}.example.com.` });
    else if (/[^A-Za-z0-9.:[\]-]/.test(host)) out.push({ field: `${prefix}_host`, message: 'A server name has only letters, digits, dots and dashes.' });
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535)
      out.push({ field: `${prefix}_port`, message: 'Enter the port number (1–65535).' });
    if (server.security === 'plain' && host && !LOOPBACK.test(host))
      out.push({ field: `${prefix}_security`, message: 'Unencrypted connections are only allowed to this computer; choose TLS or STARTTLS.' });
    return out;
  }

  function emailErrors(e: EmailSettings): { field: string; message: string }[] {
    const out: { field: string; message: string }[] = [];
    if (!/^[^\s@<>,]+@([^\s@<>,]+\.[^\s@<>,]+|localhost)$/i.test(e.address.trim()))
      out.push({ field: 'address', message: 'Enter an e-mail address like support@acme.com.' });
    out.push(...serverErrors('imap', e.imap), ...serverErrors('smtp', e.smtp));
    return out;
  }

  /** What "Telegram" says about a bot token and server (`getMe`). */
  function telegramErrors(settings: TelegramSettings, token: string | null): { field: string; message: string }[] {
    const out: { field: string; message: string }[] = [];
    const server = settings.api_base_url?.trim();
    if (server && !/^https?:\/\/[^\s/]+/.test(server))
      out.push({ field: 'api_base_url', message: 'Enter the Bot API server as an http(s) address, like https://api.telegram.org.' });
    else if (!token) out.push({ field: 'password', message: 'Enter the bot token from @BotFather.' });
    else if (token === 'bad') out.push({ field: 'password', message: BAD_TOKEN });
    return out;
  }

  /** What the core checks itself, then what "Meta" says about the access token and number. */
  function whatsappErrors(settings: WhatsAppSettings, token: string | null): { field: string; message: string }[] {
    const out: { field: string; message: string }[] = [];
    if (!/^\d+$/.test(settings.phone_number_id.trim()))
      out.push({ field: 'phone_number_id', message: "Enter the phone number ID (digits) from Meta's WhatsApp API Setup page." });
    const version = settings.api_version?.trim();
    if (version && !/^v\d+(\.\d+)*$/.test(version)) out.push({ field: 'api_version', message: 'Use a Graph API version like v21.0.' });
    const server = settings.api_base_url?.trim();
    if (server && !/^https?:\/\/[^\s/]+/.test(server))
      out.push({ field: 'api_base_url', message: 'Enter an http(s) address, like https://graph.facebook.com.' });
    if (out.length) return out;
    if (!token) out.push({ field: 'password', message: 'Paste the access token (a system user token of your Meta business).' });
    else if (token === 'bad')
      out.push({ field: 'password', message: 'WhatsApp refused: Error validating access token: Session has expired. [code 190]' });
    else if (settings.phone_number_id.trim() === '404')
      out.push({ field: 'password', message: "WhatsApp refused: Unsupported get request. Object with ID '404' does not exist. [code 100]" });
    return out;
  }

  /** What the core checks itself, then what "Twilio" says about the account and auth token. */
  function twilioErrors(settings: TwilioSettings, token: string | null): { field: string; message: string }[] {
    const out: { field: string; message: string }[] = [];
    if (!/^AC[0-9a-f]{32}$/i.test(settings.account_sid.trim()))
      out.push({ field: 'account_sid', message: 'Enter the Account SID from the Twilio Console (AC followed by 32 characters).' });
    if (!/^(whatsapp:)?\+\d{6,15}$/.test(twilioNumber(settings.number)))
      out.push({ field: 'number', message: 'Enter the Twilio number in international format, like +5511999990000 (or whatsapp:+5511999990000).' });
    const server = settings.api_base_url?.trim();
    if (server && !/^https?:\/\/[^\s/]+/.test(server))
      out.push({ field: 'api_base_url', message: 'Enter an http(s) address, like https://api.twilio.com.' });
    if (out.length) return out;
    if (!token) out.push({ field: 'password', message: 'Paste the auth token from the Twilio Console.' });
    else if (token === 'bad')
      out.push({ field: 'password', message: 'Twilio refused the Account SID or auth token (401 Unauthorized: Authenticate). [code 20003]' });
    return out;
  }

  /** The number as the core stores it: without spaces, dashes or brackets. */
  const twilioNumber = (n: string) => n.trim().replace(/[\s()-]/g, '');

  /** What "LINE" says about a channel access token and server (`/v2/bot/info`). */
  function lineErrors(settings: LineSettings, token: string | null): { field: string; message: string }[] {
    const out: { field: string; message: string }[] = [];
    const server = settings.api_base_url?.trim();
    if (server && !/^https?:\/\/[^\s/]+/.test(server))
      out.push({ field: 'api_base_url', message: 'Enter an http(s) address, like https://api.line.me.' });
    else if (!token) out.push({ field: 'password', message: 'Paste the channel access token (LINE Developers Console → Messaging API).' });
    else if (token === 'bad')
      out.push({ field: 'password', message: 'LINE refused the channel access token (401 Unauthorized): Authentication failed. Issue a new one in the LINE Developers Console.' });
    return out;
  }

  /** Seconds between polls: empty for the default, else 1–3600. */
  function pollErrors(seconds: number | null | undefined): { field: string; message: string }[] {
    if (seconds === null || seconds === undefined) return [];
    return Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600 ? [] : [{ field: 'poll_seconds', message: 'Poll between every 1 and 3600 seconds.' }];
  }

  /** What the core checks itself, then what "X" says about the user access token (`/2/users/me`). */
  function xErrors(settings: XSettings, token: string | null): { field: string; message: string }[] {
    const out = pollErrors(settings.poll_seconds);
    const server = settings.api_base_url?.trim();
    if (server && !/^https?:\/\/[^\s/]+/.test(server)) out.push({ field: 'api_base_url', message: 'Enter an http(s) address, like https://api.x.com.' });
    if (out.length) return out;
    if (!token) out.push({ field: 'password', message: 'Paste the OAuth 2.0 user access token.' });
    else if (token === 'bad')
      out.push({ field: 'password', message: 'X refused the access token (401 Unauthorized). Sign in again to get a new one with the dm.read, dm.write, users.read and tweet.read scopes.' });
    return out;
  }

  /** What the core checks itself, then what "Meta" says about the Page and its access token. */
  function messengerErrors(settings: MessengerSettings, token: string | null): { field: string; message: string }[] {
    const out = pollErrors(settings.poll_seconds);
    if (!/^\d+$/.test(settings.page_id.trim()))
      out.push({ field: 'page_id', message: 'Enter the Facebook Page ID (digits; Page settings → About → Page transparency).' });
    const version = settings.api_version?.trim();
    if (version && !/^v\d+(\.\d+)*$/.test(version)) out.push({ field: 'api_version', message: 'Use a Graph API version like v21.0.' });
    const server = settings.api_base_url?.trim();
    if (server && !/^https?:\/\/[^\s/]+/.test(server))
      out.push({ field: 'api_base_url', message: 'Enter an http(s) address, like https://graph.facebook.com.' });
    if (out.length) return out;
    if (!token) out.push({ field: 'password', message: 'Paste the Page access token.' });
    else if (token === 'bad')
      out.push({ field: 'password', message: 'Meta refused the Page access token: Error validating access token: Session has expired. [code 190]' });
    return out;
  }

  /** The credential a check or save uses: the typed one, else the stored one of the inbox. */
  const credential = (typed: string | null | undefined, id: number | null): string | null =>
    typed?.trim() || (id === null ? null : (passwords.get(id) ?? null));

  /** What the provider says about a credential, or its errors (before the inbox is saved). */
  function credentialErrors(input: InboxInput, id: number | null): { field: string; message: string }[] {
    const token = credential(input.password, id);
    switch (input.settings.kind) {
      case 'telegram':
        return telegramErrors(input.settings, token);
      case 'whatsapp':
        return whatsappErrors(input.settings, token);
      case 'twilio':
        return twilioErrors(input.settings, token);
      case 'line':
        return lineErrors(input.settings, token);
      case 'x':
        return xErrors(input.settings, token);
      case 'messenger':
      case 'instagram':
        return messengerErrors(input.settings, token);
      default:
        return [];
    }
  }

  /** Saving asks the provider what to show: Telegram the bot's name, Meta the number or the Page's
   * name, X the account; an empty WhatsApp verify token is generated. */
  function withBot(input: InboxInput): InboxInput {
    if (input.settings.kind === 'x') return { ...input, settings: { ...input.settings, username: X_USERNAME, user_id: X_USER_ID } };
    if (input.settings.kind === 'messenger' || input.settings.kind === 'instagram')
      return {
        ...input,
        settings: {
          ...input.settings,
          page_id: input.settings.page_id.trim(),
          page_name: PAGE_NAME,
          instagram_id: input.settings.kind === 'instagram' ? INSTAGRAM_ID : null,
        },
      };
    if (input.settings.kind === 'telegram') return { ...input, settings: { ...input.settings, bot_username: BOT_USERNAME } };
    if (input.settings.kind === 'line') return { ...input, settings: { ...input.settings, bot_name: LINE_BOT_NAME } };
    if (input.settings.kind === 'twilio')
      return { ...input, settings: { ...input.settings, account_sid: input.settings.account_sid.trim(), number: twilioNumber(input.settings.number) } };
    if (input.settings.kind === 'whatsapp') {
      const verify = input.settings.verify_token?.trim() || Math.random().toString(36).slice(2, 14) + Math.random().toString(36).slice(2, 14);
      const account = input.settings.business_account_id?.trim() || null;
      return { ...input, settings: { ...input.settings, display_phone: WHATSAPP_NUMBER, verify_token: verify, business_account_id: account } };
    }
    return input;
  }

  function validate(input: InboxInput, adding: boolean, id: number | null = null) {
    const fields: { field: string; message: string }[] = [];
    if (!input.name.trim()) fields.push({ field: 'name', message: 'Name is required' });
    if (input.settings.kind === 'website' && !/^https?:\/\/[^\s.]+\.\S+$/.test(input.settings.website_url))
      fields.push({ field: 'website_url', message: 'Must be an http(s) URL, e.g. https://example.com' });
    if (input.settings.kind === 'api' && input.settings.webhook_url && !/^https?:\/\//.test(input.settings.webhook_url))
      fields.push({ field: 'webhook_url', message: 'Must be an http(s) URL' });
    if (input.settings.kind === 'email') {
      fields.push(...emailErrors(input.settings));
      if (adding && !input.password) fields.push({ field: 'password', message: 'Enter the mailbox password.' });
    }
    fields.push(...credentialErrors(input, adding ? null : id));
    const secret = input.webhook_secret?.trim() || (adding || id === null ? null : (webhookSecrets.get(id) ?? null));
    if (input.settings.kind === 'whatsapp' && !secret)
      fields.push({ field: 'webhook_secret', message: 'Paste the app secret (Meta App Dashboard → App settings → Basic): it checks that webhooks come from Meta.' });
    if (input.settings.kind === 'line' && !secret)
      fields.push({ field: 'webhook_secret', message: 'Paste the channel secret (LINE Developers Console → Basic settings): it checks that webhooks come from LINE.' });
    if (fields.length) throw new BackendError('validation', 'Please fix the highlighted fields', fields);
  }

  function setState(id: number, state: InboxView['state']) {
    const v = inboxes.get(id);
    if (!v) return;
    inboxes.set(id, { ...v, state });
    emit({ type: 'inbox_state_changed', inbox_id: id, state });
  }

  function connectLater(id: number) {
    setTimeout(() => {
      const v = inboxes.get(id);
      if (!v) return;
      if (v.inbox.kind === 'email') return syncMail(id);
      if (v.inbox.kind === 'telegram') return pollTelegram(id);
      setState(
        id,
        v.inbox.name.toLowerCase().includes('broken')
          ? { state: 'error', reason: 'Gateway port 7311 is already in use' }
          : { state: 'connected' },
      );
    }, 1500);
  }

  /** An e-mail inbox logs in, then fetches a few messages, reporting progress. */
  function syncMail(id: number) {
    if (passwords.get(id) === 'wrong') {
      setState(id, { state: 'error', reason: 'The IMAP server rejected the user name or password.' });
      return;
    }
    const total = 12;
    let done = 0;
    const step = () => {
      if (!inboxes.has(id)) return;
      if (done >= total) return setState(id, { state: 'connected' });
      setState(id, { state: 'syncing', done, total });
      done += 3;
      setTimeout(step, 600);
    };
    step();
  }

  /** A Telegram inbox long-polls; only one program may do that per bot. */
  function pollTelegram(id: number) {
    const token = passwords.get(id);
    setState(
      id,
      token === 'webhook'
        ? { state: 'error', reason: 'A webhook is set for this bot, so Telegram does not hand its messages to Caixa. Remove the webhook (deleteWebhook) and Caixa connects again.' }
        : token === 'conflict'
          ? { state: 'error', reason: "Another program is receiving this bot's messages (409 Conflict). Stop it, or give Caixa its own bot." }
          : { state: 'connected' },
    );
  }

  function addInboxSync(input: InboxInput, createdAt: number): InboxView {
    const id = nextInboxId++;
    const token = Math.random().toString(36).slice(2, 14);
    const v = view(id, input, createdAt, token);
    inboxes.set(id, v);
    if (input.settings.kind === 'api')
      secrets.set(id, 'whsec_' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2));
    if (input.settings.kind !== 'website' && input.settings.kind !== 'api' && input.password) passwords.set(id, input.password);
    if ((input.settings.kind === 'whatsapp' || input.settings.kind === 'line') && input.webhook_secret)
      webhookSecrets.set(id, input.webhook_secret.trim());
    connectLater(id);
    return v;
  }

  let nextAttachmentId = 1;

  function makeThread(c: ConversationRow): Message[] {
    const r = rng(c.id);
    const out: Message[] = [];
    const email = c.channel === 'email';
    const telegram = c.channel === 'telegram';
    const subject = SUBJECTS[Math.floor(r() * SUBJECTS.length)];
    const n = 2 + Math.floor(r() * 8);
    let t = c.last_activity_at - n * 7 * 60_000;
    for (let i = 0; i < n; i++) {
      t += Math.floor(r() * 7 * 60_000);
      const kind: MessageKind = i === n - 1 ? (c.preview_kind ?? 'incoming') : i % 2 === 0 ? 'incoming' : r() < 0.15 ? 'note' : 'outgoing';
      const content =
        i === n - 1
          ? c.preview
          : kind === 'incoming'
            ? INCOMING[Math.floor(r() * INCOMING.length)]
            : kind === 'note'
              ? NOTES[Math.floor(r() * NOTES.length)]
              : OUTGOING[Math.floor(r() * OUTGOING.length)];
      const mail = email && kind !== 'note';
      const attach = kind === 'incoming' && r() < (email || telegram ? 0.3 : 0.1);
      out.push({
        id: nextMsgId++,
        conversation_id: c.id,
        kind,
        // E-mail replies carry the conversation so far as quoted history.
        content: mail && kind === 'incoming' && i > 0 ? `${content}\n\n${QUOTED}` : content,
        sender_name: kind === 'incoming' ? c.contact_name : 'You',
        delivery: kind === 'outgoing' ? (r() < 0.1 ? 'failed' : 'delivered') : null,
        error: null,
        created_at: i === n - 1 ? c.last_activity_at : t,
        attachments: !attach
          ? []
          : telegram
            ? // Telegram photos arrive as the biggest size, named after the message.
              [{ id: nextAttachmentId++, file_name: `photo-${4000 + i}.jpg`, mime_type: 'image/jpeg', size: 182_344, on_server: false }]
            : [
                { id: nextAttachmentId++, file_name: 'receipt.pdf', mime_type: 'application/pdf', size: 48213, on_server: false },
                ...(email
                  ? [
                      { id: nextAttachmentId++, file_name: 'photo of the parcel.jpg', mime_type: 'image/jpeg', size: 1_834_221, on_server: false },
                      // Too large to fetch during sync: downloaded when first opened.
                      { id: nextAttachmentId++, file_name: 'unboxing video.mp4', mime_type: 'video/mp4', size: 48_500_112, on_server: r() < 0.8 },
                    ]
                  : []),
              ],
        subject: mail ? (i === 0 ? subject : `Re: ${subject}`) : null,
        has_html: mail && kind === 'incoming' && r() < 0.7,
        by_bot: false,
      });
      const last = out[out.length - 1];
      if (last.delivery === 'failed')
        last.error = email
          ? 'The SMTP server refused the recipient address.'
          : telegram
            ? 'Telegram refused the message (403 Forbidden): the customer blocked the bot.'
            : 'Visitor disconnected before the message was delivered';
    }
    if (c.status === 'resolved') {
      out.push({ id: nextMsgId++, conversation_id: c.id, kind: 'activity', content: 'You resolved the conversation', sender_name: null, delivery: null, error: null, created_at: c.last_activity_at, attachments: [], subject: null, has_html: false, by_bot: false });
    }
    return out;
  }

  function findMessage(id: number): Message | undefined {
    for (const list of messages.values()) {
      const m = list.find((x) => x.id === id);
      if (m) return m;
    }
    return undefined;
  }

  function htmlMessage(id: number): { m: Message; c: ConversationRow } {
    const m = findMessage(id);
    const c = m && convs.get(m.conversation_id);
    if (!m || !c || !m.has_html) throw new BackendError('not_found', 'HTML body not found');
    return { m, c };
  }

  const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const BANNER =
    'data:image/svg+xml,' +
    encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="480" height="80"><rect width="480" height="80" fill="#1f6feb"/><text x="20" y="50" font-family="sans-serif" font-size="28" fill="#fff">Newsletter banner</text></svg>');

  /** A sandboxable document like the core's: strict CSP, remote images removed unless allowed. */
  function htmlDocument(m: Message, remote: boolean): string {
    const text = m.content.split(/\n\n(?=On .* wrote:)/)[0];
    const paragraphs = text
      .split(/\n{2,}/)
      .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
      .join('');
    // The mock "remote" image is a data: URL so development needs no network.
    const img = remote ? `<img src="${BANNER}" alt="Newsletter banner" width="480" height="80">` : '';
    return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"><style>body{margin:12px;font:14px/1.5 system-ui,sans-serif;color:#1c2128;background:#fff}blockquote{margin:0;padding-left:10px;border-left:3px solid #ccc;color:#555}</style></head><body>${img}<p style="color:#8250df"><b>${escapeHtml(m.subject ?? '')}</b></p>${paragraphs}<blockquote>Earlier messages…</blockquote></body></html>`;
  }

  function thread(id: number): Message[] {
    let m = messages.get(id);
    if (!m) {
      const c = convs.get(id);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      m = makeThread(c);
      messages.set(id, m);
    }
    return m;
  }

  if (mode !== 'empty') {
    const web = addInboxSync(
      { name: 'Acme website', settings: { kind: 'website', website_url: 'https://acme.example', welcome_title: 'Hi there 👋', welcome_text: 'We typically reply in a few minutes.', color: '#1f6feb' }, password: null, webhook_secret: null },
      now - 90 * 86400_000,
    );
    const api = addInboxSync({ name: 'Shop integration', settings: { kind: 'api', webhook_url: 'https://shop.example/hooks/caixa' }, password: null, webhook_secret: null }, now - 60 * 86400_000);
    const mail = addInboxSync(
      {
        name: 'Support mailbox',
        settings: {
          kind: 'email',
          address: 'support@acme.example',
          display_name: 'Acme Support',
          imap: { host: 'imap.acme.example', port: 993, security: 'tls' },
          smtp: { host: 'smtp.acme.example', port: 587, security: 'start_tls' },
          username: 'support@acme.example',
          lookback_days: 30,
          mark_seen: true,
        },
        password: 'secret',
        webhook_secret: null,
      },
      now - 30 * 86400_000,
    );
    const telegram = addInboxSync(
      { name: 'Telegram bot', settings: { kind: 'telegram', bot_username: BOT_USERNAME, api_base_url: null }, password: '123456789:AAE-mock-token', webhook_secret: null },
      now - 14 * 86400_000,
    );
    const whatsapp = addInboxSync(
      {
        name: 'WhatsApp Business',
        settings: {
          kind: 'whatsapp',
          phone_number_id: '106540352242922',
          display_phone: WHATSAPP_NUMBER,
          verify_token: 'k3v9x2m7q4w8z1p5',
          business_account_id: '102290129340398',
          api_version: null,
          api_base_url: null,
        },
        password: 'EAAG-mock-token',
        webhook_secret: 'mock-app-secret',
      },
      now - 7 * 86400_000,
    );
    const total = mode === 'big' ? 100_000 : 2_000;
    const r = rng(42);
    let t = now - 30_000;
    for (let id = total; id >= 1; id--) {
      const roll = r();
      const inbox = roll < 0.45 ? web : roll < 0.7 ? mail : roll < 0.85 ? api : telegram;
      const kindRoll = r();
      const preview_kind: MessageKind = kindRoll < 0.6 ? 'incoming' : kindRoll < 0.9 ? 'outgoing' : 'note';
      const statusRoll = r();
      const pool = preview_kind === 'incoming' ? INCOMING : preview_kind === 'note' ? NOTES : OUTGOING;
      convs.set(id, {
        id,
        inbox_id: inbox.inbox.id,
        inbox_name: inbox.inbox.name,
        channel: inbox.inbox.kind,
        contact_id: id,
        contact_name: `${FIRST[Math.floor(r() * FIRST.length)]} ${LAST[Math.floor(r() * LAST.length)]}`,
        status: statusRoll < 0.55 ? 'open' : statusRoll < 0.7 ? 'pending' : 'resolved',
        assignee: null,
        priority: 'none',
        labels: [],
        unread_count: preview_kind === 'incoming' && id > total - 40 && r() < 0.5 ? 1 + Math.floor(r() * 3) : 0,
        last_activity_at: t,
        preview: pool[Math.floor(r() * pool.length)],
        preview_kind,
        reply_window_closes_at: null,
        snoozed_until: null,
        muted: false,
      });
      t -= Math.floor(r() * (mode === 'big' ? 60_000 : 40 * 60_000));
    }

    // The newest conversation: a Telegram customer sends a photo, then shares a location
    // (the core turns a location into text with an OpenStreetMap link).
    const id = total + 1;
    const at = now - 15_000;
    const [lat, lon] = ['-23.561414', '-46.655881'];
    const location = `📍 Location: ${lat}, ${lon} https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}`;
    const base = { conversation_id: id, error: null, subject: null, has_html: false, by_bot: false } as const;
    convs.set(id, {
      id,
      inbox_id: telegram.inbox.id,
      inbox_name: telegram.inbox.name,
      channel: 'telegram',
      contact_id: id,
      contact_name: 'Marina Rocha',
      status: 'open',
      assignee: null,
      priority: 'none',
      labels: [],
      unread_count: 2,
      last_activity_at: at,
      preview: location,
      preview_kind: 'incoming',
      reply_window_closes_at: null,
      snoozed_until: null,
      muted: false,
    });
    messages.set(id, [
      { ...base, id: nextMsgId++, kind: 'incoming', content: 'Hi! The parcel arrived but the box is crushed 😕', sender_name: 'Marina Rocha', delivery: null, created_at: at - 6 * 60_000, attachments: [] },
      { ...base, id: nextMsgId++, kind: 'outgoing', content: 'Oh no, sorry about that! Could you send us a photo?', sender_name: 'You', delivery: 'delivered', created_at: at - 5 * 60_000, attachments: [] },
      { ...base, id: nextMsgId++, kind: 'incoming', content: '📷 Photo', sender_name: 'Marina Rocha', delivery: null, created_at: at - 3 * 60_000, attachments: [{ id: nextAttachmentId++, file_name: 'photo-1042.jpg', mime_type: 'image/jpeg', size: 214_533, on_server: false }] },
      { ...base, id: nextMsgId++, kind: 'outgoing', content: 'Thanks! We will send a new one today. Where should it go?', sender_name: 'You', delivery: 'delivered', created_at: at - 2 * 60_000, attachments: [] },
      { ...base, id: nextMsgId++, kind: 'incoming', content: location, sender_name: 'Marina Rocha', delivery: null, created_at: at, attachments: [] },
    ]);

    // Two WhatsApp customers: one wrote 20 h 40 min ago (the reply window closes in 3 h 20 min),
    // one 30 h ago (closed: only private notes until they write again).
    const HOUR = 3600_000;
    const seed = (inbox: InboxView, cid: number, name: string, lastIncoming: number | null, msgs: [MessageKind, string, number][]) => {
      const last = msgs[msgs.length - 1];
      convs.set(cid, {
        id: cid,
        inbox_id: inbox.inbox.id,
        inbox_name: inbox.inbox.name,
        channel: inbox.inbox.kind,
        contact_id: cid,
        contact_name: name,
        status: 'open',
        assignee: null,
        priority: 'none',
        labels: [],
        unread_count: last[0] === 'incoming' ? 1 : 0,
        last_activity_at: last[2],
        preview: last[1],
        preview_kind: last[0],
        reply_window_closes_at: lastIncoming === null ? null : windowClosesAt(inbox.inbox.kind, lastIncoming),
        snoozed_until: null,
        muted: false,
      });
      messages.set(
        cid,
        msgs.map(([kind, content, createdAt]) => ({
          id: nextMsgId++,
          conversation_id: cid,
          kind,
          content,
          sender_name: kind === 'incoming' ? name : 'You',
          delivery: kind === 'outgoing' ? 'delivered' : null,
          error: null,
          created_at: createdAt,
          attachments: [],
          subject: null,
          has_html: false,
          by_bot: false,
        })),
      );
    };
    const open = now - 20 * HOUR - 40 * 60_000;
    seed(whatsapp, total + 2, 'Rafael Nunes', open, [
      ['incoming', 'Olá! Do you have the blue sneakers in size 42?', open - 10 * 60_000],
      ['outgoing', 'Hi Rafael! Let me check the stock for you.', open - 5 * 60_000],
      ['incoming', 'Great, thanks. I can pick them up tomorrow.', open],
    ]);
    const closed = now - 30 * HOUR;
    seed(whatsapp, total + 3, 'Beatriz Lima', closed, [
      ['incoming', 'My order came with the wrong colour 😞', closed - 40 * 60_000],
      ['outgoing', 'Sorry about that! We will send the right one. Could you confirm your address?', closed - 30 * 60_000],
      ['incoming', 'Rua das Flores 120, São Paulo', closed],
      ['note', 'Exchange requested in the shop system.', closed + 20 * 60_000],
    ]);
    // A teammate's note: only its author can edit or delete it.
    messages.get(total + 3)!.splice(3, 0, {
      id: nextMsgId++,
      conversation_id: total + 3,
      kind: 'note',
      content: 'VIP customer: send the exchange by express, no charge.',
      sender_name: TEAM[0],
      delivery: null,
      error: null,
      created_at: closed + 10 * 60_000,
      attachments: [],
      subject: null,
      has_html: false,
      by_bot: false,
    });

    // An SMS customer texting the Twilio number, and a LINE user writing to the official account
    // (the mock has no public address, so neither channel's replies can carry files).
    const sms = addInboxSync(
      { name: 'SMS (Twilio)', settings: { kind: 'twilio', account_sid: TWILIO_SID, number: TWILIO_NUMBER, api_base_url: null }, password: 'mock-auth-token', webhook_secret: null },
      now - 5 * 86400_000,
    );
    const line = addInboxSync(
      { name: 'LINE official account', settings: { kind: 'line', bot_name: LINE_BOT_NAME, api_base_url: null }, password: 'mock-channel-access-token', webhook_secret: 'mock-channel-secret' },
      now - 3 * 86400_000,
    );
    const texted = now - 25 * 60_000;
    seed(sms, total + 4, '+1 555-010-0199', null, [
      ['incoming', 'Hi, is my order 4821 shipping today?', texted - 12 * 60_000],
      ['outgoing', 'Hi! Yes, it leaves our warehouse this afternoon.', texted - 8 * 60_000],
      ['incoming', 'Great, can I still add a second charger?', texted],
    ]);
    const lined = now - 50 * 60_000;
    seed(line, total + 5, 'Yuki Tanaka', null, [
      ['incoming', 'こんにちは! Do you ship to Osaka?', lined - 15 * 60_000],
      ['outgoing', 'Hello Yuki! Yes, delivery to Osaka takes 3–5 days.', lined - 10 * 60_000],
      ['incoming', 'Thank you! I will order tonight 🙏', lined],
    ]);

    // X, Messenger and Instagram customers (polled; Instagram replies carry no files here, as
    // Instagram fetches them from a public address). The Messenger
    // customer last wrote almost 7 days ago: Meta stops taking replies in 2 h 45 min.
    const x = addInboxSync(
      { name: 'X direct messages', settings: { kind: 'x', username: X_USERNAME, user_id: X_USER_ID, poll_seconds: null, api_base_url: null }, password: 'mock-x-user-token', webhook_secret: null },
      now - 2 * 86400_000,
    );
    const page = { page_id: PAGE_ID, page_name: PAGE_NAME, poll_seconds: null, api_version: null, api_base_url: null };
    const messenger = addInboxSync(
      { name: 'Facebook Messenger', settings: { kind: 'messenger', ...page, instagram_id: null }, password: 'EAAG-mock-page-token', webhook_secret: null },
      now - 10 * 86400_000,
    );
    const instagram = addInboxSync(
      { name: 'Instagram Direct', settings: { kind: 'instagram', ...page, instagram_id: INSTAGRAM_ID }, password: 'EAAG-mock-page-token', webhook_secret: null },
      now - 10 * 86400_000,
    );
    const tweeted = now - 70 * 60_000;
    seed(x, total + 6, 'Lucas Martins (@lucasm)', null, [
      ['incoming', 'Hey! Saw your post about the sale, does it include the headphones?', tweeted - 20 * 60_000],
      ['outgoing', 'Hi Lucas! Yes, all headphones are 20% off until Sunday.', tweeted - 15 * 60_000],
      ['incoming', 'Nice, ordering now 🎧', tweeted],
    ]);
    const paged = now - 7 * 24 * HOUR + 2 * HOUR + 45 * 60_000;
    seed(messenger, total + 7, 'Carla Souza', paged, [
      ['incoming', 'Hi, I returned the jacket last week. When will I get the refund?', paged - 30 * 60_000],
      ['outgoing', 'Hi Carla! Let me check with our returns team.', paged - 20 * 60_000],
      ['incoming', 'Thanks, I will wait for your answer.', paged],
      ['note', 'Returns team says the parcel has not arrived yet.', paged + 2 * 86400_000],
    ]);
    const dm = now - 30 * HOUR;
    seed(instagram, total + 8, 'Sofia Almeida (@sofi.alm)', dm, [
      ['incoming', 'Oi! Is the green dress from your last post still available in M?', dm - 5 * 60_000],
      ['outgoing', 'Hi Sofia! Yes, we have it in M. Want us to reserve one?', dm - 2 * 60_000],
      ['incoming', 'Yes please! 💚', dm],
    ]);

    for (const [code, content] of SEED_CANNED) canned.set(nextCannedId, { id: nextCannedId++, short_code: code, content });
    for (const [name, steps] of SEED_MACROS) macros.set(nextMacroId, { id: nextMacroId++, name, steps: structuredClone(steps) });
    rules.push({ id: nextRuleId++, ...structuredClone(SEED_RULE) });
    bots.set(web.inbox.id, structuredClone(SEED_BOT));

    // A website visitor the bot greeted and answered; still pending (the bot has it).
    const visited = now - 4 * 60_000;
    seed(web, total + 9, 'Helena Duarte', null, [
      ['incoming', 'Hello! Do you deliver to Curitiba?', visited - 2 * 60_000],
      ['outgoing', 'Hi Helena! Thanks for writing to Acme website.', visited - 2 * 60_000 + 1500],
      ['outgoing', 'Orders ship within 2 business days and arrive in 3 to 7.', visited - 2 * 60_000 + 3000],
      ['incoming', 'Great. And what are your opening hours?', visited],
      ['outgoing', 'We are open Monday to Friday, 9:00 to 18:00 (São Paulo time).', visited + 1500],
    ]);
    const helena = convs.get(total + 9)!;
    helena.status = 'pending';
    for (const m of thread(helena.id)) if (m.kind === 'outgoing') Object.assign(m, { by_bot: true, sender_name: 'Bot' });
    // Then she asks for a person: the bot hands her over (the notice shows).
    setTimeout(() => customerWrites(helena, 'Can I talk to a person, please?'), 15_000);

    // Labels, priorities and assignments on some of the newest conversations.
    for (const [name, color] of SEED_LABELS) labels.set(nextLabelId, { id: nextLabelId++, name, color });
    const tags = rng(7);
    // (`order` is defined further down.)
    const newest = [...convs.values()].sort((a, b) => b.last_activity_at - a.last_activity_at || b.id - a.id).slice(0, 60);
    for (const c of newest) {
      const roll = tags();
      if (roll < 0.35) c.labels.push(SEED_LABELS[Math.floor(tags() * SEED_LABELS.length)][0]);
      if (roll < 0.1) c.labels.push('vip');
      c.labels = [...new Set(c.labels)].sort();
      const who = tags();
      c.assignee = who < 0.2 ? ME : who < 0.35 ? TEAM[Math.floor(tags() * TEAM.length)] : null;
      const p = tags();
      c.priority = p < 0.06 ? 'urgent' : p < 0.15 ? 'high' : p < 0.22 ? 'medium' : p < 0.27 ? 'low' : 'none';
    }
    const beatriz = convs.get(total + 3)!;
    beatriz.labels = ['returns', 'vip'];
    beatriz.priority = 'high';
    beatriz.assignee = TEAM[0];
    // One snoozed until tomorrow morning, one muted and resolved (new messages leave it resolved).
    const later = new Date(now + 86400_000);
    later.setHours(9, 0, 0, 0);
    const snoozed = newest.find((c) => c.status === 'pending')!;
    snoozed.status = 'snoozed';
    snoozed.snoozed_until = later.getTime();
    armSnooze(snoozed.id, later.getTime());
    const muted = newest.find((c) => c.status === 'resolved')!;
    muted.muted = true;

    // Contacts: one per conversation, then a few with details an agent added. Rafael's WhatsApp
    // number is the one the SMS texter uses, and a customer who e-mailed is the Carla Souza of
    // Messenger: both pairs show up as merge suggestions.
    for (const c of convs.values()) contactFor(c);
    const contact = (cid: number) => contacts.get(convs.get(cid)!.contact_id)!;
    contact(total + 2).phone = '+1 (555) 010-0199';
    identities.get(convs.get(total + 2)!.contact_id)![0].handle = '15550100199';
    Object.assign(contact(total + 3), {
      phone: '+55 11 98765-4321',
      notes: 'Prefers WhatsApp. Exchanges go by express, no charge.',
      attributes: { city: 'São Paulo', plan: 'Gold' },
    });
    Object.assign(contact(total + 1), { email: 'marina.rocha@example.com', attributes: { order: '#4821' } });
    Object.assign(contact(total + 7), { email: 'carla.souza@example.com', notes: 'Returned a jacket; refund pending.' });
    const mailed = [...convs.values()].sort((a, b) => b.last_activity_at - a.last_activity_at).find((c) => c.channel === 'email' && c.id <= total);
    if (mailed) {
      mailed.contact_name = 'Carla Souza';
      Object.assign(contact(mailed.id), { name: 'Carla Souza', email: 'Carla.Souza@example.com', attributes: { company: 'Souza & Filhos' } });
      identities.get(mailed.contact_id)![0].handle = 'Carla.Souza@example.com';
    }
  }

  /** The contact of a conversation, made from it (with the conversation's inbox as their one
   * channel) the first time it is asked for. */
  function contactFor(c: ConversationRow): Contact {
    let contact = contacts.get(c.contact_id);
    if (contact) return contact;
    const slug = c.contact_name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/\s*\(.*\)\s*/g, '')
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '.');
    const r = rng(c.contact_id * 7919);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
    // Names repeat among the generated customers; their addresses do not.
    const email = c.channel === 'email' ? `${slug || 'customer'}.${c.contact_id}@example.com` : null;
    const phone =
      c.channel === 'twilio' && /^\+?[\d\s()-]+$/.test(c.contact_name)
        ? c.contact_name
        : c.channel === 'whatsapp' || c.channel === 'twilio'
          ? `+55 11 9${digits(4)}-${digits(4)}`
          : null;
    contact = { id: c.contact_id, name: c.contact_name, email, phone, notes: '', attributes: {} };
    contacts.set(contact.id, contact);
    const handle: Record<ChannelKind, () => string> = {
      website: () => `visitor-${c.contact_id.toString(36)}`,
      api: () => `shop-customer-${c.contact_id}`,
      email: () => email ?? `${slug}@example.com`,
      telegram: () => String(100_000_000 + Math.floor(r() * 899_999_999)),
      whatsapp: () => (phone ?? '').replace(/\D/g, ''),
      twilio: () => (phone ?? '').replace(/[^\d+]/g, ''),
      line: () => `U${fakeSha256(String(c.contact_id)).slice(0, 32)}`,
      x: () => String(1_400_000_000_000_000_000 + Math.floor(r() * 1e15)),
      messenger: () => `7${digits(15)}`,
      instagram: () => `17${digits(15)}`,
    };
    identities.set(contact.id, [{ inbox_id: c.inbox_id, handle: handle[c.channel]() }]);
    return contact;
  }

  /** Each contact's conversations, newest first (conversations made later get their contact here). */
  function conversationsByContact(): Map<number, ConversationRow[]> {
    const out = new Map<number, ConversationRow[]>();
    for (const c of convs.values()) {
      contactFor(c);
      const list = out.get(c.contact_id);
      if (list) list.push(c);
      else out.set(c.contact_id, [c]);
    }
    for (const list of out.values()) list.sort(order);
    return out;
  }

  function getContact(id: number): Contact {
    for (const c of convs.values()) if (c.contact_id === id) contactFor(c);
    const contact = contacts.get(id);
    if (!contact) throw new BackendError('not_found', 'Contact not found');
    return contact;
  }

  function contactDetailsSync(id: number): ContactDetails {
    const contact = getContact(id);
    const channels: ContactChannel[] = (identities.get(id) ?? []).flatMap(({ inbox_id, handle }) => {
      const v = inboxes.get(inbox_id);
      return v ? [{ inbox_id, inbox_name: v.inbox.name, channel: v.inbox.kind, handle }] : [];
    });
    const conversations = [...convs.values()].filter((c) => c.contact_id === id).sort(order).slice(0, 500);
    return copy({ contact, channels, conversations });
  }

  /** Trims and checks an edit like the core; errors name the field. */
  function checkContact(input: ContactInput): Omit<Contact, 'id'> {
    const name = input.name.trim();
    if (!name || [...name].length > 200) throw validation('name', 'Give the contact a name (at most 200 characters).');
    const email = input.email?.trim() || null;
    if (email !== null) {
      const at = email.indexOf('@');
      const user = at < 0 ? '' : email.slice(0, at);
      const domain = at < 0 ? '' : email.slice(at + 1);
      if (!user || !domain.includes('.') || domain.startsWith('.') || /\s/.test(email))
        throw validation('email', 'This is not an e-mail address (name@example.com).');
    }
    const phone = input.phone?.trim() || null;
    if (phone !== null) {
      const digits = phone.replace(/\D/g, '').length;
      if (!/^[\d+ ().-]+$/.test(phone) || digits < 5 || digits > 20) throw validation('phone', 'Write the phone with digits, e.g. +55 11 98765-4321.');
    }
    const notes = input.notes ?? '';
    if (new TextEncoder().encode(notes).length > 64 * 1024) throw validation('notes', 'Notes are limited to 64 KiB.');
    const entries = Object.entries(input.attributes ?? {});
    if (entries.length > 50) throw validation('attributes', 'At most 50 attributes.');
    const attributes: Record<string, string> = {};
    for (const [k, v = ''] of entries) {
      const key = k.trim();
      if (!key || [...key].length > 60 || [...v].length > 1000)
        throw validation('attributes', 'Each attribute needs a name (up to 60 characters) and a value up to 1,000.');
      attributes[key] = v.trim();
    }
    return { name, email, phone, notes, attributes: Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  }

  /** Rows carry the contact's name: refresh them, then the contact views. */
  function announceContact(id: number) {
    for (const c of convs.values()) if (c.contact_id === id) emit({ type: 'conversation_changed', conversation_id: c.id });
    emit({ type: 'contacts_changed' });
  }

  /** When replies stop being allowed after a customer message at `at`; null on channels without a limit. */
  function windowClosesAt(kind: ChannelKind, at: number): number | null {
    const window = REPLY_WINDOW[kind];
    return window === undefined ? null : at + window;
  }

  const matches = (c: ConversationRow, f: ConversationFilter) =>
    (f.status === null || c.status === f.status) &&
    (f.inbox_id === null || c.inbox_id === f.inbox_id) &&
    (!f.unread_only || c.unread_count > 0) &&
    (f.label == null || c.labels.includes(f.label)) &&
    (f.assignee == null || c.assignee === f.assignee);
  const order = (a: ConversationRow, b: ConversationRow) => b.last_activity_at - a.last_activity_at || b.id - a.id;

  function touch(c: ConversationRow, msg: Message) {
    c.last_activity_at = msg.created_at;
    // Each customer message reopens the reply window (WhatsApp, Messenger, Instagram).
    if (msg.kind === 'incoming' && REPLY_WINDOW[c.channel] !== undefined) c.reply_window_closes_at = windowClosesAt(c.channel, msg.created_at);
    if (msg.kind !== 'activity') {
      c.preview = msg.content || msg.attachments.map((a) => a.file_name).join(', ');
      c.preview_kind = msg.kind;
    }
    emit({ type: 'conversation_changed', conversation_id: c.id });
    emit({ type: 'message_changed', conversation_id: c.id, message_id: msg.id });
  }

  function validation(field: string, message: string): BackendError {
    return new BackendError('validation', message, [{ field, message }]);
  }

  /** The core's check of a message's text. */
  function checkContent(content: string): string {
    if (!content.trim()) throw validation('content', 'The message is empty.');
    if (new TextEncoder().encode(content).length > MAX_CONTENT_BYTES)
      throw validation('content', `The message is longer than ${MAX_CONTENT_BYTES / 1024} KiB.`);
    return content;
  }

  /** A private note the local agent wrote (the only ones that can be edited or deleted). */
  function ownNote(messageId: number): Message {
    const m = findMessage(messageId);
    if (!m) throw new BackendError('not_found', 'Message not found');
    if (m.kind !== 'note') throw validation('message', 'Only private notes can be edited or deleted.');
    if (m.sender_name !== ME) throw validation('message', "Only the note's author can change it.");
    return m;
  }

  function checkLabelName(name: string): string {
    const n = name.trim();
    if (!n) throw validation('name', 'Give the label a name.');
    if ([...n].length > 50) throw validation('name', 'Use at most 50 characters.');
    return n;
  }

  function checkColor(color: string): string {
    const c = color.trim().toLowerCase();
    if (!/^#[0-9a-f]{6}$/.test(c)) throw validation('color', 'Pick a colour like #1f6feb.');
    return c;
  }

  const labelByName = (name: string) => [...labels.values()].find((l) => l.name === name);

  function listLabelsSync(): Label[] {
    const counts = new Map<string, number>();
    for (const c of convs.values()) for (const l of c.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    return [...labels.values()]
      .map((l) => ({ ...l, conversations: counts.get(l.name) ?? 0 }))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
  }

  /** The core's checks of a canned response: the normalised code and the content. */
  function checkCanned(shortCode: string, content: string, id: number | null): [string, string] {
    const code = shortCode.trim().replace(/^\/+/, '').toLowerCase();
    if (!/^[a-z0-9_-]{1,32}$/.test(code))
      throw validation('short_code', 'Use 1 to 32 letters, digits, - or _ (typed after / in the reply box).');
    if (!content.trim()) throw validation('content', 'The message is empty.');
    if (new TextEncoder().encode(content).length > MAX_CONTENT_BYTES)
      throw validation('content', `The message is longer than ${MAX_CONTENT_BYTES / 1024} KiB.`);
    const unknown: string[] = [];
    fillVariables(content, (name) => {
      if (!(CANNED_VARIABLES as readonly string[]).includes(name)) unknown.push(name);
      return null;
    });
    if (unknown.length) {
      const list = (names: readonly string[]) => names.map((v) => `{{${v}}}`).join(', ');
      throw validation('content', `Unknown variable ${list(unknown)}: use ${list(CANNED_VARIABLES)}.`);
    }
    if ([...canned.values()].some((r) => r.short_code === code && r.id !== id)) throw validation('short_code', `/${code} is already in use.`);
    return [code, content];
  }

  /** Variables `text` uses that the core does not know. */
  function unknownVariables(text: string): string[] {
    const unknown: string[] = [];
    fillVariables(text, (name) => {
      if (!(CANNED_VARIABLES as readonly string[]).includes(name)) unknown.push(name);
      return null;
    });
    return unknown;
  }

  /** The core's checks of a macro: the trimmed name and the steps. */
  function checkMacro(name: string, steps: MacroStep[], id: number | null): string {
    const n = name.trim();
    if (!n) throw validation('name', 'Give the macro a name.');
    if ([...n].length > 100) throw validation('name', 'Use at most 100 characters.');
    if ([...macros.values()].some((m) => m.name.toLowerCase() === n.toLowerCase() && m.id !== id)) throw validation('name', 'Another macro already has this name.');
    checkSteps('steps', steps, () => 'a macro cannot run another macro');
    return n;
  }

  /** The core's checks of a macro's steps or a rule's actions (`field`); `runMacro` says what is
   * wrong with a `run_macro` step, if anything. */
  function checkSteps(field: string, steps: MacroStep[], runMacro: (macroId: number) => string | null) {
    if (!steps.length) throw validation(field, 'Add at least one step.');
    if (steps.length > 20) throw validation(field, 'Use at most 20 steps.');
    steps.forEach((s, i) => {
      const at = `Step ${i + 1}: `;
      switch (s.step) {
        case 'action':
          if (s.action.action === 'delete') throw validation(field, `${at}deleting a conversation cannot be automated.`);
          if (s.action.action === 'snooze' && s.action.until !== null) throw validation(field, `${at}snooze for a while instead of until a fixed time.`);
          if (s.action.action === 'assign' && s.action.agent !== null && !s.action.agent.trim()) throw validation(field, `${at}name the agent to assign to.`);
          if ((s.action.action === 'add_label' || s.action.action === 'remove_label') && !s.action.label.trim())
            throw validation(field, `${at}name the label.`);
          break;
        case 'snooze_for':
          if (!Number.isInteger(s.minutes) || s.minutes < 1 || s.minutes > 525_600) throw validation(field, `${at}snooze for 1 minute to 1 year.`);
          break;
        case 'add_note':
        case 'send_message': {
          if (!s.text.trim()) throw validation(field, `${at}the text is empty.`);
          const unknown = unknownVariables(s.text);
          if (unknown.length) throw validation(field, `${at}unknown variable {{${unknown[0]}}}.`);
          break;
        }
        case 'run_macro': {
          const problem = runMacro(s.macro_id);
          if (problem) throw validation(field, `${at}${problem}.`);
          break;
        }
      }
    });
  }

  /** What the core finds wrong with a rule's condition, if anything. */
  function conditionProblem(c: RuleCondition, event: RuleInput['event']): string | null {
    const blank = (s: string) => !s.trim();
    switch (c.when) {
      case 'inbox':
        return c.inbox_ids.length ? null : 'choose at least one inbox';
      case 'channel_kind':
        return c.kinds.length ? null : 'choose at least one channel';
      case 'status':
        return c.statuses.length ? null : 'choose at least one status';
      case 'message_contains':
        if (event === 'conversation_updated')
          return '“message contains” needs a message: use it with “message received” or “conversation created”';
        return c.words.length && !c.words.some(blank) ? null : 'write the words to look for (none may be empty)';
      case 'contact_email':
      case 'contact_phone':
        return blank(c.pattern) ? 'write a pattern, e.g. *@example.com or +55*' : null;
      case 'label':
        return blank(c.label) ? 'choose a label' : null;
      case 'business_hours':
        return null;
    }
  }

  /** The core's checks of a rule; resolves to it with its name trimmed. */
  function checkRule(rule: RuleInput): RuleInput {
    const name = rule.name.trim();
    if (!name || [...name].length > 100) throw validation('name', 'Give the rule a name (at most 100 characters).');
    if (rule.conditions.length > 20) throw validation('conditions', 'A rule has at most 20 conditions.');
    rule.conditions.forEach((c, i) => {
      const problem = conditionProblem(c, rule.event);
      if (problem) throw validation('conditions', `Condition ${i + 1}: ${problem}.`);
    });
    checkSteps('actions', rule.actions, (id) => (macros.has(id) ? null : 'that macro does not exist (any more)'));
    return { ...copy(rule), name };
  }

  /** "refund, Reembolso " → ["refund", "reembolso"], as the core stores keywords. */
  const normalWords = (list: readonly string[]) => list.map((w) => w.trim().toLowerCase()).filter(Boolean);

  const HHMM = /^(\d{2}):(\d{2})$/;
  const minutesOf = (hhmm: string) => {
    const m = HHMM.exec(hhmm);
    if (!m) return null;
    const [h, min] = [Number(m[1]), Number(m[2])];
    return (h < 24 && min < 60) || (h === 24 && min === 0) ? h * 60 + min : null;
  };

  function knownTimeZone(zone: string): boolean {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }

  /** The core's checks of an inbox's bot settings; resolves to them trimmed and normalised. */
  function checkBot(input: BotSettings): BotSettings {
    const text = (field: string, value: string | null | undefined): string | null => {
      if (!value?.trim()) return null;
      if (new TextEncoder().encode(value).length > MAX_CONTENT_BYTES) throw validation(field, `The message is longer than ${MAX_CONTENT_BYTES / 1024} KiB.`);
      const unknown = unknownVariables(value);
      if (unknown.length) throw validation(field, `Unknown variable ${unknown.map((v) => `{{${v}}}`).join(', ')}.`);
      return value;
    };
    const s: BotSettings = { ...NO_BOT, ...copy(input) };
    s.greeting = text('greeting', s.greeting);
    s.out_of_office = text('out_of_office', s.out_of_office);
    s.handover_message = text('handover_message', s.handover_message);
    if (s.business_hours) {
      const h = s.business_hours;
      h.time_zone = h.time_zone.trim();
      if (!knownTimeZone(h.time_zone)) throw validation('business_hours', `“${h.time_zone}” is not a known time zone (e.g. America/Sao_Paulo).`);
      for (const d of h.days) {
        if (!Number.isInteger(d.weekday) || d.weekday < 1 || d.weekday > 7) throw validation('business_hours', 'Days go from 1 (Monday) to 7 (Sunday).');
        const [open, close] = [minutesOf(d.open), minutesOf(d.close)];
        if (open === null || close === null) throw validation('business_hours', `Write times as HH:MM, e.g. 09:00 and 18:00 (got ${d.open} – ${d.close}).`);
        if (open >= close) throw validation('business_hours', `${d.open} must be before ${d.close}.`);
      }
    }
    if (s.out_of_office && !s.business_hours) throw validation('out_of_office', 'Set business hours first: the out-of-office reply is sent outside them.');
    const faq = s.faq ?? [];
    if (faq.length > 200) throw validation('faq', 'At most 200 answers.');
    faq.forEach((f, i) => {
      f.keywords = normalWords(f.keywords);
      if (!f.keywords.length) throw validation('faq', `Answer ${i + 1}: give at least one keyword.`);
      const answer = text('faq', f.answer);
      if (answer === null) throw validation('faq', `Answer ${i + 1}: write the answer.`);
    });
    s.handover_keywords = normalWords(s.handover_keywords ?? []);
    const url = s.agent_bot_url?.trim() || null;
    if (url) {
      let ok: boolean;
      try {
        ok = ['http:', 'https:'].includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw validation('agent_bot_url', 'Give the agent bot’s full address, e.g. https://bot.example.com/caixa.');
    }
    s.agent_bot_url = url;
    const secs = s.agent_bot_timeout_secs ?? 0;
    if (!Number.isInteger(secs) || secs < 0) throw validation('agent_bot_timeout_secs', 'Give the timeout in whole seconds.');
    if (secs > AGENT_BOT_TIMEOUT_MAX) throw validation('agent_bot_timeout_secs', `Wait at most ${AGENT_BOT_TIMEOUT_MAX} seconds for the agent bot.`);
    return s;
  }

  const botOf = (inboxId: number): BotSettings => bots.get(inboxId) ?? NO_BOT;
  const botActive = (s: BotSettings) => (s.faq?.length ?? 0) > 0 || !!s.agent_bot_url;

  function inboxBot(inboxId: number): InboxBot {
    const settings = botOf(inboxId);
    return {
      inbox_id: inboxId,
      settings: copy(settings),
      active: botActive(settings),
      agent_bot_secret: settings.agent_bot_url ? (botSecrets.get(inboxId) ?? null) : null,
    };
  }

  const listMacrosSync = () => [...macros.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));

  const listCannedSync = () => [...canned.values()].sort((a, b) => (a.short_code < b.short_code ? -1 : a.short_code > b.short_code ? 1 : 0));

  /** Refuses the whole call, like the core, before touching any conversation. */
  function checkAction(action: ConversationAction) {
    if (action.action === 'snooze' && action.until !== null && action.until <= Date.now())
      throw validation('until', 'Pick a time in the future to snooze until.');
    if (action.action === 'assign' && action.agent !== null && !action.agent.trim()) throw validation('agent', 'Name the agent to assign to.');
    if (action.action === 'add_label' || action.action === 'remove_label') checkLabelName(action.label);
  }

  function clearSnoozeTimer(id: number) {
    const timer = snoozeTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    snoozeTimers.delete(id);
  }

  /** Wakes a timed snooze when its time comes (re-arming when it is further than a timer reaches). */
  function armSnooze(id: number, until: number) {
    clearSnoozeTimer(id);
    const wait = Math.min(until - Date.now(), 2 ** 31 - 1);
    snoozeTimers.set(
      id,
      setTimeout(() => {
        snoozeTimers.delete(id);
        const c = convs.get(id);
        if (!c || c.status !== 'snoozed' || c.snoozed_until !== until) return;
        if (Date.now() < until) return armSnooze(id, until);
        c.status = 'open';
        c.snoozed_until = null;
        activity(c, 'The snooze ended; the conversation is open again', null);
      }, Math.max(0, wait)),
    );
  }

  function activity(c: ConversationRow, content: string, sender: string | null = ME, byBot = false) {
    const msg: Message = { id: nextMsgId++, conversation_id: c.id, kind: 'activity', content, sender_name: sender, delivery: null, error: null, created_at: Date.now(), attachments: [], subject: null, has_html: false, by_bot: byBot };
    thread(c.id).push(msg);
    touch(c, msg);
  }

  /** `2026-11-30 09:00 UTC`, as the core writes snooze times in activity lines. */
  const utcText = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

  function applyOne(id: number, action: ConversationAction) {
    const c = convs.get(id);
    if (!c) throw new Error('Conversation not found');
    if (c.contact_name.startsWith('Nuno ')) throw new Error('The store is busy, try again');
    let text: string | null = null;
    switch (action.action) {
      case 'set_status': {
        const old = c.status;
        if (old === action.status) break;
        c.status = action.status;
        c.snoozed_until = null;
        clearSnoozeTimer(id);
        text =
          action.status === 'resolved'
            ? `${ME} resolved the conversation`
            : action.status === 'open' && (old === 'resolved' || old === 'snoozed')
              ? `${ME} reopened the conversation`
              : `${ME} set the status to ${action.status}`;
        break;
      }
      case 'snooze':
        c.status = 'snoozed';
        c.snoozed_until = action.until;
        if (action.until === null) clearSnoozeTimer(id);
        else armSnooze(id, action.until);
        text = `${ME} snoozed the conversation until ${action.until === null ? 'the customer replies' : utcText(action.until)}`;
        break;
      case 'assign': {
        const to = action.agent?.trim() || null;
        if (c.assignee === to) break;
        c.assignee = to;
        text = to === null ? `${ME} unassigned the conversation` : to === ME ? `${ME} took the conversation` : `${ME} assigned the conversation to ${to}`;
        break;
      }
      case 'set_priority':
        if (c.priority === action.priority) break;
        c.priority = action.priority;
        text = action.priority === 'none' ? `${ME} removed the priority` : `${ME} set the priority to ${action.priority}`;
        break;
      case 'add_label': {
        const name = action.label.trim();
        if (!labelByName(name)) labels.set(nextLabelId, { id: nextLabelId++, name, color: '#888888' });
        if (c.labels.includes(name)) break;
        c.labels = [...c.labels, name].sort();
        text = `${ME} added the label ${name}`;
        emit({ type: 'labels_changed' });
        break;
      }
      case 'remove_label': {
        const name = action.label.trim();
        if (!c.labels.includes(name)) break;
        c.labels = c.labels.filter((l) => l !== name);
        text = `${ME} removed the label ${name}`;
        break;
      }
      case 'mute':
        if (c.muted === action.muted) break;
        c.muted = action.muted;
        text = action.muted ? `${ME} muted the conversation` : `${ME} unmuted the conversation`;
        break;
      case 'mark_unread':
        c.unread_count = Math.max(c.unread_count, 1);
        text = `${ME} marked the conversation as unread`;
        break;
      case 'delete':
        convs.delete(id);
        messages.delete(id);
        clearSnoozeTimer(id);
        emit({ type: 'conversation_removed', conversation_id: id });
        return;
    }
    if (text) activity(c, text);
  }

  /** A customer message arrives; while the conversation is pending in an inbox whose bot is on,
   * the bot answers (FAQ) or hands over (asked for a person, or no answer fits). */
  function customerWrites(c: ConversationRow, content: string) {
    if (!convs.has(c.id)) return;
    const msg: Message = { id: nextMsgId++, conversation_id: c.id, kind: 'incoming', content, sender_name: c.contact_name, delivery: null, error: null, created_at: Date.now(), attachments: [], subject: c.channel === 'email' ? 'Re: your message' : null, has_html: false, by_bot: false };
    thread(c.id).push(msg);
    c.unread_count += 1;
    // A customer message reopens a resolved or snoozed conversation, unless it is muted.
    if (!c.muted && (c.status === 'resolved' || c.status === 'snoozed')) {
      c.status = 'open';
      c.snoozed_until = null;
      clearSnoozeTimer(c.id);
    }
    touch(c, msg);
    const bot = botOf(c.inbox_id);
    if (c.status !== 'pending' || !botActive(bot)) return;
    const text = content.toLowerCase();
    const words = bot.handover_keywords?.length ? bot.handover_keywords : [...DEFAULT_HANDOVER_WORDS];
    // (There is no agent bot to ask here: one that is set never answers, so the bot hands over.)
    const faq = words.some((w) => text.includes(w)) || bot.agent_bot_url ? undefined : bot.faq?.find((f) => f.keywords.some((k) => text.includes(k)));
    setTimeout(() => {
      if (!convs.has(c.id)) return;
      if (faq) return botSays(c, faq.answer);
      if (bot.handover_message) botSays(c, bot.handover_message);
      c.status = 'open';
      activity(c, 'The bot handed the conversation over to a person', null, true);
      emit({ type: 'handed_over', conversation_id: c.id });
    }, 1200);
  }

  /** An answer from the bot (variables filled in), delivered like a reply. */
  function botSays(c: ConversationRow, text: string) {
    const first = c.contact_name.trim().split(/\s+/)[0] || c.contact_name;
    const content = fillVariables(text, (name) =>
      name === 'contact.name' ? c.contact_name : name === 'contact.first_name' ? first : name === 'agent.name' ? ME : name === 'inbox.name' ? c.inbox_name : null,
    );
    const msg: Message = { id: nextMsgId++, conversation_id: c.id, kind: 'outgoing', content, sender_name: 'Bot', delivery: 'queued', error: null, created_at: Date.now(), attachments: [], subject: null, has_html: false, by_bot: true };
    thread(c.id).push(msg);
    touch(c, msg);
    deliver(msg);
  }

  // A customer writes now and then, so live updates can be seen in development.
  if (mode !== 'empty') {
    setInterval(() => {
      const ids = [...convs.keys()];
      if (!ids.length) return;
      const c = convs.get(ids[Math.floor(Math.random() * Math.min(ids.length, 50))])!;
      customerWrites(c, INCOMING[Math.floor(Math.random() * INCOMING.length)]);
    }, 20_000);
  }

  function deliver(msg: Message) {
    const steps: [number, Message['delivery']][] = msg.content.toLowerCase().includes('fail')
      ? [[900, 'failed']]
      : [
          [700, 'sent'],
          [1800, 'delivered'],
        ];
    for (const [ms, d] of steps)
      setTimeout(() => {
        msg.delivery = d;
        const channel = convs.get(msg.conversation_id)?.channel;
        msg.error =
          d !== 'failed'
            ? null
            : channel === 'email'
              ? 'The SMTP server refused the message: mailbox unavailable'
              : channel === 'telegram'
                ? 'Telegram refused the message (403 Forbidden): the customer blocked the bot.'
                : channel === 'whatsapp'
                  ? 'WhatsApp could not deliver it: Message undeliverable. [code 131026]'
                  : channel === 'twilio'
                    ? 'Twilio could not deliver it: Unknown destination handset. [code 30005]'
                    : channel === 'line'
                      ? 'LINE refused the message (400 Bad Request): the customer has blocked the account.'
                      : channel === 'x'
                        ? 'X refused the message (403 Forbidden): the customer does not accept direct messages from this account.'
                        : channel === 'messenger' || channel === 'instagram'
                          ? 'Meta refused the message: This person isn’t available right now. [code 551]'
                          : 'Widget visitor is offline (gave up after 3 attempts)';
        emit({ type: 'message_changed', conversation_id: msg.conversation_id, message_id: msg.id });
      }, ms);
  }

  const copy = <T>(v: T): T => structuredClone(v);

  /** About 100 characters of `text` around its first match, each match between \u0002 and \u0003
   * (as the core's FTS snippets). */
  function snippet(text: string, pattern: RegExp): string {
    const flat = text.replace(/\s+/g, ' ').trim();
    pattern.lastIndex = 0;
    const first = pattern.exec(flat)?.index ?? 0;
    const start = Math.max(0, first - 30);
    const end = Math.min(flat.length, start + 100);
    const part = flat.slice(start, end).replace(pattern, (m) => `\u0002${m}\u0003`);
    return (start > 0 ? '…' : '') + part + (end < flat.length ? '…' : '');
  }

  /** Runs one macro step on one conversation, as the core does; throws why it failed. */
  async function runStep(id: number, s: MacroStep) {
    switch (s.step) {
      case 'action':
        applyOne(id, s.action);
        break;
      case 'snooze_for':
        applyOne(id, { action: 'snooze', until: Date.now() + s.minutes * 60_000 });
        break;
      case 'add_note':
      case 'send_message':
        if (convs.get(id)?.contact_name.startsWith('Nuno ')) throw new Error('The store is busy, try again');
        await api.sendMessage(id, await api.renderReply(id, s.text), s.step === 'add_note', []);
        break;
    }
  }

  // Reports. A conversation's figures come from its thread when it has been loaded (opened,
  // replied to, resolved here), else from a sketch drawn from its id (the same every time): it
  // starts a few minutes to a few days before its last activity, a person (or, in an inbox with
  // a bot, first the bot) answers after a minute to a couple of hours, and a resolved one was
  // resolved at its last activity.
  const REPORT_DAY = 86400_000;
  /** The core's longest period: two years. */
  const REPORT_MAX = 2 * 366 * REPORT_DAY;
  type ReportSketch = { started: number; resolvedAt: number | null; firstResponse: number | null; msgs: { at: number; by: 'in' | 'out' | 'bot' }[] };

  function reportSketch(c: ConversationRow): ReportSketch {
    const cached = messages.get(c.id);
    let msgs: ReportSketch['msgs'];
    let resolvedAt: number | null = null;
    let started: number;
    if (cached) {
      msgs = cached
        .filter((m) => m.kind === 'incoming' || m.kind === 'outgoing')
        .map((m) => ({ at: m.created_at, by: m.kind === 'incoming' ? 'in' : m.by_bot ? 'bot' : 'out' }));
      started = cached.length ? Math.min(...cached.map((m) => m.created_at)) : c.last_activity_at;
      resolvedAt = cached.find((m) => m.kind === 'activity' && m.content.endsWith('resolved the conversation'))?.created_at ?? null;
    } else {
      const r = rng(Math.imul(c.id, 2654435761) ^ 0x5bd1e995);
      const end = c.last_activity_at;
      const span = Math.round(r() < 0.25 ? 3600_000 + r() * 3 * REPORT_DAY : 5 * 60_000 + r() * 3 * 3600_000);
      started = end - span;
      const firstGap = Math.min(span, Math.round(60_000 + r() * r() * 2 * 3600_000));
      msgs = [{ at: started, by: 'in' }];
      if (botActive(botOf(c.inbox_id)) && r() < 0.6) msgs.push({ at: started + 2_000, by: 'bot' });
      msgs.push({ at: started + firstGap, by: 'out' });
      const more = Math.floor(r() * 5);
      for (let i = 0; i < more; i++) msgs.push({ at: started + firstGap + Math.round(r() * (span - firstGap)), by: r() < 0.55 ? 'in' : 'out' });
      if (c.preview_kind === 'incoming' || c.preview_kind === 'outgoing') msgs.push({ at: end, by: c.preview_kind === 'incoming' ? 'in' : 'out' });
      msgs.sort((a, b) => a.at - b.at);
      if (c.status === 'resolved') resolvedAt = end;
    }
    const firstIn = msgs.find((m) => m.by === 'in');
    const firstOut = firstIn && msgs.find((m) => m.by === 'out' && m.at >= firstIn.at);
    return { started, resolvedAt, firstResponse: firstIn && firstOut ? firstOut.at - firstIn.at : null, msgs };
  }

  function median(values: number[]): number | null {
    if (!values.length) return null;
    const v = [...values].sort((a, b) => a - b);
    const mid = v.length >> 1;
    return v.length % 2 ? v[mid] : Math.round((v[mid - 1] + v[mid]) / 2);
  }

  /** Like the core's checks of a report's query. */
  function checkReport(q: ReportQuery) {
    if (!Number.isFinite(q.since) || !Number.isFinite(q.until) || q.until <= q.since) throw validation('until', 'The period must end after it starts.');
    if (q.until - q.since > REPORT_MAX) throw validation('until', 'A report covers at most two years.');
    if (q.inbox_id != null && !inboxes.has(q.inbox_id)) throw new BackendError('not_found', 'Inbox not found');
  }

  function reportSync(q: ReportQuery): Report {
    checkReport(q);
    const inboxId = q.inbox_id ?? null;
    const offsetMinutes = q.utc_offset_minutes ?? 0;
    const shift = offsetMinutes * 60_000;
    const dayOf = (ms: number) => new Date(ms + shift).toISOString().slice(0, 10);
    const hourOf = (ms: number) => new Date(ms + shift).getUTCHours();
    const within = (ms: number) => ms >= q.since && ms < q.until;

    const days = new Map<string, DayReport>();
    const last = dayOf(q.until - 1);
    for (let at = Date.parse(`${dayOf(q.since)}T00:00:00Z`); ; at += REPORT_DAY) {
      const day = new Date(at).toISOString().slice(0, 10);
      days.set(day, { day, opened: 0, resolved: 0, messages_in: 0 });
      if (day >= last) break;
    }
    const hours = Array.from({ length: 24 }, () => 0);

    type Tally = Omit<ReportTotals, 'median_first_response_ms' | 'median_resolution_ms'> & { firsts: number[]; resolutions: number[] };
    const tally = (): Tally => ({ opened: 0, resolved: 0, messages_in: 0, messages_out: 0, bot_messages: 0, firsts: [], resolutions: [] });
    const chosen = [...inboxes.values()].filter((v) => inboxId === null || v.inbox.id === inboxId).sort((a, b) => a.inbox.id - b.inbox.id);
    const per = new Map(chosen.map((v) => [v.inbox.id, tally()]));
    for (const c of convs.values()) {
      const t = per.get(c.inbox_id);
      // Nothing of a conversation happens after its last activity.
      if (!t || c.last_activity_at < q.since) continue;
      const s = reportSketch(c);
      if (within(s.started)) {
        t.opened++;
        days.get(dayOf(s.started))!.opened++;
        if (s.firstResponse !== null) t.firsts.push(s.firstResponse);
      }
      if (s.resolvedAt !== null && within(s.resolvedAt)) {
        t.resolved++;
        days.get(dayOf(s.resolvedAt))!.resolved++;
        t.resolutions.push(s.resolvedAt - s.started);
      }
      for (const m of s.msgs) {
        if (!within(m.at)) continue;
        if (m.by === 'in') {
          t.messages_in++;
          days.get(dayOf(m.at))!.messages_in++;
          hours[hourOf(m.at)]++;
        } else if (m.by === 'out') t.messages_out++;
        else t.bot_messages++;
      }
    }
    const totalsOf = (t: Tally): ReportTotals => ({
      opened: t.opened,
      resolved: t.resolved,
      messages_in: t.messages_in,
      messages_out: t.messages_out,
      bot_messages: t.bot_messages,
      median_first_response_ms: median(t.firsts),
      median_resolution_ms: median(t.resolutions),
    });
    const all = tally();
    for (const t of per.values()) {
      for (const k of ['opened', 'resolved', 'messages_in', 'messages_out', 'bot_messages'] as const) all[k] += t[k];
      all.firsts.push(...t.firsts);
      all.resolutions.push(...t.resolutions);
    }
    return {
      query: { inbox_id: inboxId, since: q.since, until: q.until, utc_offset_minutes: offsetMinutes },
      totals: totalsOf(all),
      inboxes: chosen.map((v) => ({ inbox_id: v.inbox.id, inbox_name: v.inbox.name, channel: v.inbox.kind, totals: totalsOf(per.get(v.inbox.id)!) })),
      days: [...days.values()],
      busiest_hours: hours,
    };
  }

  /** A report as CSV, roughly as the core writes it. */
  function reportCsv(r: Report): string {
    const cell = (v: string | number | null) => (v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const row = (...v: (string | number | null)[]) => v.map(cell).join(',');
    const totals = (t: ReportTotals) => [t.opened, t.resolved, t.messages_in, t.messages_out, t.bot_messages, t.median_first_response_ms, t.median_resolution_ms];
    return [
      row('inbox', 'channel', 'opened', 'resolved', 'messages_in', 'messages_out', 'bot_messages', 'median_first_response_ms', 'median_resolution_ms'),
      ...r.inboxes.map((i) => row(i.inbox_name, i.channel, ...totals(i.totals))),
      row('All inboxes', '', ...totals(r.totals)),
      '',
      row('day', 'opened', 'resolved', 'messages_in'),
      ...r.days.map((d) => row(d.day, d.opened, d.resolved, d.messages_in)),
      '',
      row('hour', 'messages_in'),
      ...r.busiest_hours.map((n, h) => row(h, n)),
    ].join('\n');
  }

  const api: Backend = {
    async appInfo() {
      return { version: '0.1.0-dev', data_dir: '~/.local/share/app.caixa.desktop', gateway_url: 'http://127.0.0.1:7311', gateway_error: mode === 'empty' ? 'Could not bind 127.0.0.1:7311: address in use' : null, agent_name: ME };
    },
    async listInboxes() {
      await sleep(30);
      return copy([...inboxes.values()]);
    },
    async addInbox(input) {
      await sleep(150);
      validate(input, true);
      const v = addInboxSync(withBot(input), Date.now());
      emit({ type: 'inboxes_changed' });
      return copy(v);
    },
    async updateInbox(id, input) {
      await sleep(150);
      const old = inboxes.get(id);
      if (!old) throw new BackendError('not_found', 'Inbox not found');
      if (input.settings.kind !== old.inbox.kind) throw new BackendError('conflict', 'The channel of an inbox cannot change');
      validate(input, false, id);
      const v = view(id, withBot(input), old.inbox.created_at, old.inbox.token);
      inboxes.set(id, v);
      if (input.settings.kind === 'email' || input.settings.kind === 'telegram') {
        if (input.password) passwords.set(id, input.password);
        connectLater(id);
      }
      const kind = input.settings.kind;
      if (kind === 'whatsapp' || kind === 'line' || kind === 'twilio' || kind === 'x' || kind === 'messenger' || kind === 'instagram') {
        if (input.password) passwords.set(id, input.password.trim());
        if (input.webhook_secret) webhookSecrets.set(id, input.webhook_secret.trim());
      }
      for (const c of convs.values()) if (c.inbox_id === id) c.inbox_name = input.name;
      emit({ type: 'inboxes_changed' });
      return copy(v);
    },
    async deleteInbox(id) {
      await sleep(150);
      if (!inboxes.delete(id)) throw new BackendError('not_found', 'Inbox not found');
      passwords.delete(id);
      webhookSecrets.delete(id);
      bots.delete(id);
      botSecrets.delete(id);
      // Rules keep naming it, as in the core (the condition simply no longer holds).
      for (const [cid, c] of convs) if (c.inbox_id === id) convs.delete(cid);
      emit({ type: 'inboxes_changed' });
      emit({ type: 'resync' });
    },
    async revealInboxSecret(id) {
      const s = secrets.get(id);
      if (!s) throw new BackendError('not_found', 'Inbox not found');
      return s;
    },
    async listConversations(filter, cursor, limit) {
      await sleep(40);
      // A real store walks an index; a sorted scan is fine for a mock.
      const all = [...convs.values()].filter((c) => matches(c, filter)).sort(order);
      const start = cursor
        ? all.findIndex((c) => c.last_activity_at < cursor.last_activity_at || (c.last_activity_at === cursor.last_activity_at && c.id < cursor.id))
        : 0;
      const items = start < 0 ? [] : all.slice(start, start + limit);
      const last = items[items.length - 1];
      const more = start >= 0 && start + limit < all.length;
      return { items: copy(items), next_cursor: more && last ? { last_activity_at: last.last_activity_at, id: last.id } : null };
    },
    async getConversation(id) {
      const c = convs.get(id);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      return copy(c);
    },
    async conversationCounts(inboxId) {
      const counts: StatusCounts = { open: 0, pending: 0, snoozed: 0, resolved: 0, all: 0, unread: 0 };
      for (const c of convs.values()) {
        if (inboxId !== null && c.inbox_id !== inboxId) continue;
        counts[c.status] += 1;
        counts.all += 1;
        if (c.unread_count > 0) counts.unread += 1;
      }
      return counts;
    },
    async listMessages(conversationId) {
      await sleep(30);
      return copy(thread(conversationId));
    },
    async sendMessage(conversationId, content, priv, files) {
      await sleep(80);
      const c = convs.get(conversationId);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      if (!content.trim() && !files.length) throw new BackendError('validation', 'Message is empty');
      if (!priv && c.reply_window_closes_at !== null && c.reply_window_closes_at < Date.now()) {
        // Worded like the core's.
        const window = c.channel === 'whatsapp' ? '24 hours' : '7 days';
        const only = c.channel === 'whatsapp' ? ' WhatsApp only delivers an approved message template now: send one with the template button.' : '';
        const message = `The customer last wrote more than ${window} ago, so ${CHANNEL_LABEL[c.channel]} no longer accepts a reply here.${only} Write a private note, or wait for the customer to write again.`;
        throw new BackendError('validation', message, [{ field: 'content', message }]);
      }
      const refused = inboxes.get(c.inbox_id)?.files_refused ?? filesRefused(c.channel);
      if (files.length && !priv && refused) throw new BackendError('validation', refused, [{ field: 'attachments', message: refused }]);
      if (files.reduce((n, f) => n + f.size, 0) > MAX_ATTACHMENTS_BYTES) {
        const message = 'The files add up to more than 25 MB, the most one message can carry.';
        throw new BackendError('validation', message, [{ field: 'attachments', message }]);
      }
      if (content.toLowerCase().includes('offline')) throw new BackendError('unavailable', 'The store is busy; your text is still here, try again.');
      const subject = c.channel === 'email' && !priv ? (thread(conversationId).findLast((m) => m.subject !== null)?.subject ?? null) : null;
      const msg: Message = { id: nextMsgId++, conversation_id: conversationId, kind: priv ? 'note' : 'outgoing', content, sender_name: 'You', delivery: priv ? null : 'queued', error: null, created_at: Date.now(), attachments: files.map((f) => ({ id: nextAttachmentId++, file_name: f.file_name, mime_type: f.mime_type, size: f.size, on_server: false })), subject: subject && !subject.startsWith('Re: ') ? `Re: ${subject}` : subject, has_html: false, by_bot: false };
      thread(conversationId).push(msg);
      touch(c, msg);
      if (!priv) deliver(msg);
      return copy(msg);
    },
    async editNote(messageId, content) {
      await sleep(60);
      const text = checkContent(content);
      const m = ownNote(messageId);
      m.content = text;
      emit({ type: 'message_changed', conversation_id: m.conversation_id, message_id: m.id });
      return copy(m);
    },
    async deleteNote(messageId) {
      await sleep(60);
      const m = ownNote(messageId);
      const list = thread(m.conversation_id);
      list.splice(list.indexOf(m), 1);
      emit({ type: 'message_changed', conversation_id: m.conversation_id, message_id: m.id });
    },
    async stageFile(path) {
      await sleep(120);
      const name = path.split(/[\\/]/).filter(Boolean).pop() ?? '';
      // Mock switches: a name containing "huge" is over the cap, one without a dot a folder.
      if (!name || !name.includes('.')) {
        const message = `${name || path} is not a file.`;
        throw new BackendError('validation', message, [{ field: 'attachments', message }]);
      }
      const r = rng(hash(path) ^ 0x5f3759df);
      const size = name.toLowerCase().includes('huge') ? 31_457_280 : 2_000 + Math.floor(r() * 3_000_000);
      if (size > MAX_ATTACHMENTS_BYTES) {
        const message = `${name} is larger than 25 MB, the most one message can carry.`;
        throw new BackendError('validation', message, [{ field: 'attachments', message }]);
      }
      const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
      const staged: StagedFile = { sha256: fakeSha256(path), file_name: name, mime_type: MIME[ext] ?? 'application/octet-stream', size };
      return staged;
    },
    async pickFiles() {
      await sleep(200);
      return [...PICKED];
    },
    async pickSavePath(defaultName) {
      // No system dialog in a browser: say so, and "save" into the Documents folder.
      console.info('[mock] save dialog skipped; saving as', defaultName);
      await sleep(100);
      return `/home/agent/Documents/${defaultName}`;
    },
    async onFilesDropped() {
      // A plain browser hands pages no file paths, so nothing is ever dropped here.
      return () => {};
    },
    async applyAction(conversationIds, action) {
      await sleep(60);
      checkAction(action);
      const out: ActionOutcome[] = [];
      for (const id of conversationIds) {
        let error: string | null = null;
        try {
          applyOne(id, action);
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        out.push({ conversation_id: id, error });
      }
      return out;
    },
    async listLabels() {
      await sleep(20);
      return listLabelsSync();
    },
    async createLabel(name, color) {
      await sleep(60);
      const n = checkLabelName(name);
      const col = checkColor(color);
      const existing = labelByName(n);
      if (!existing) labels.set(nextLabelId, { id: nextLabelId++, name: n, color: col });
      emit({ type: 'labels_changed' });
      return listLabelsSync().find((l) => l.name === n)!;
    },
    async updateLabel(id, name, color) {
      await sleep(60);
      const n = checkLabelName(name);
      const col = checkColor(color);
      const l = labels.get(id);
      if (!l) throw new BackendError('not_found', 'Label not found');
      const taken = labelByName(n);
      if (taken && taken.id !== id) {
        const message = 'Another label already has this name.';
        throw new BackendError('validation', message, [{ field: 'name', message }]);
      }
      const old = l.name;
      l.name = n;
      l.color = col;
      if (old !== n) for (const c of convs.values()) if (c.labels.includes(old)) c.labels = c.labels.map((x) => (x === old ? n : x)).sort();
      emit({ type: 'labels_changed' });
      // Rows show label names.
      emit({ type: 'resync' });
      return listLabelsSync().find((x) => x.id === id)!;
    },
    async deleteLabel(id) {
      await sleep(60);
      const l = labels.get(id);
      if (!l) throw new BackendError('not_found', 'Label not found');
      labels.delete(id);
      emit({ type: 'labels_changed' });
      for (const c of convs.values())
        if (c.labels.includes(l.name)) {
          c.labels = c.labels.filter((x) => x !== l.name);
          emit({ type: 'conversation_changed', conversation_id: c.id });
        }
    },
    async listAgents() {
      await sleep(20);
      const others = new Set<string>();
      for (const c of convs.values()) if (c.assignee && c.assignee !== ME) others.add(c.assignee);
      return [ME, ...[...others].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }))];
    },
    async listCannedResponses() {
      await sleep(20);
      return copy(listCannedSync());
    },
    async createCannedResponse(shortCode, content) {
      await sleep(60);
      const [code, text] = checkCanned(shortCode, content, null);
      const r: CannedResponse = { id: nextCannedId++, short_code: code, content: text };
      canned.set(r.id, r);
      emit({ type: 'canned_responses_changed' });
      return copy(r);
    },
    async updateCannedResponse(id, shortCode, content) {
      await sleep(60);
      const [code, text] = checkCanned(shortCode, content, id);
      const r = canned.get(id);
      if (!r) throw new BackendError('not_found', 'canned response not found');
      r.short_code = code;
      r.content = text;
      emit({ type: 'canned_responses_changed' });
      return copy(r);
    },
    async deleteCannedResponse(id) {
      await sleep(60);
      if (!canned.delete(id)) throw new BackendError('not_found', 'canned response not found');
      emit({ type: 'canned_responses_changed' });
    },
    async listMacros() {
      await sleep(20);
      return copy(listMacrosSync());
    },
    async saveMacro(id, name, steps) {
      await sleep(60);
      const n = checkMacro(name, steps, id);
      if (id !== null && !macros.has(id)) throw new BackendError('not_found', 'Macro not found');
      const m: Macro = { id: id ?? nextMacroId++, name: n, steps: copy(steps) };
      macros.set(m.id, m);
      emit({ type: 'macros_changed' });
      return copy(m);
    },
    async deleteMacro(id) {
      await sleep(60);
      if (!macros.delete(id)) throw new BackendError('not_found', 'Macro not found');
      emit({ type: 'macros_changed' });
    },
    async runMacro(id, conversationIds) {
      await sleep(60);
      const m = macros.get(id);
      if (!m) throw new BackendError('not_found', 'Macro not found');
      const runs: MacroRun[] = [];
      for (const cid of conversationIds) {
        const run: MacroRun = { conversation_id: cid, steps: [], completed: true };
        for (const s of m.steps) {
          let error: string | null = null;
          try {
            await runStep(cid, s);
          } catch (e) {
            error = e instanceof Error ? e.message : String(e);
          }
          run.steps.push({ conversation_id: cid, error });
          if (error !== null) {
            run.completed = false;
            break;
          }
        }
        runs.push(run);
      }
      return runs;
    },
    async listRules() {
      await sleep(20);
      return copy(rules);
    },
    async saveRule(id, rule) {
      await sleep(60);
      const checked = checkRule(rule);
      const i = id === null ? -1 : rules.findIndex((r) => r.id === id);
      if (id !== null && i < 0) throw new BackendError('not_found', 'Automation rule not found');
      const saved: AutomationRule = { id: id ?? nextRuleId++, ...checked };
      rules = i < 0 ? [...rules, saved] : rules.map((r) => (r.id === id ? saved : r));
      emit({ type: 'rules_changed' });
      return copy(saved);
    },
    async reorderRules(ids) {
      await sleep(40);
      const known = rules.map((r) => r.id).sort((a, b) => a - b);
      const wanted = [...ids].sort((a, b) => a - b);
      if (known.length !== wanted.length || known.some((id, i) => id !== wanted[i]))
        throw validation('ids', 'The new order must list every rule exactly once (reload and try again).');
      rules = ids.map((id) => rules.find((r) => r.id === id)!);
      emit({ type: 'rules_changed' });
      return copy(rules);
    },
    async deleteRule(id) {
      await sleep(60);
      if (!rules.some((r) => r.id === id)) throw new BackendError('not_found', 'Automation rule not found');
      rules = rules.filter((r) => r.id !== id);
      emit({ type: 'rules_changed' });
    },
    async getInboxBot(inboxId) {
      await sleep(30);
      if (!inboxes.has(inboxId)) throw new BackendError('not_found', 'Inbox not found');
      return inboxBot(inboxId);
    },
    async saveInboxBot(inboxId, settings) {
      await sleep(80);
      if (!inboxes.has(inboxId)) throw new BackendError('not_found', 'Inbox not found');
      const checked = checkBot(settings);
      if (checked.agent_bot_url && !botSecrets.has(inboxId)) botSecrets.set(inboxId, fakeSha256(`agent-bot:${inboxId}:${Date.now()}:${Math.random()}`));
      bots.set(inboxId, checked);
      emit({ type: 'bot_settings_changed', inbox_id: inboxId });
      return inboxBot(inboxId);
    },
    async renderReply(conversationId, text) {
      await sleep(30);
      const c = convs.get(conversationId);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      const first = c.contact_name.trim().split(/\s+/)[0] || c.contact_name;
      return fillVariables(text, (name) => {
        switch (name) {
          case 'contact.name':
            return c.contact_name;
          case 'contact.first_name':
            return first;
          case 'agent.name':
            return ME;
          case 'inbox.name':
            return c.inbox_name;
          default:
            return null;
        }
      });
    },
    async markRead(conversationId) {
      const c = convs.get(conversationId);
      if (c && c.unread_count > 0) {
        c.unread_count = 0;
        emit({ type: 'conversation_changed', conversation_id: conversationId });
      }
    },
    async retryMessage(messageId) {
      const m = findMessage(messageId);
      if (!m) throw new BackendError('not_found', 'Message not found');
      m.delivery = 'queued';
      m.error = null;
      m.content = m.content.replace(/fail/gi, 'f\u200bail');
      emit({ type: 'message_changed', conversation_id: m.conversation_id, message_id: m.id });
      deliver(m);
    },
    async testEmailConnection(settings, password, inboxId) {
      await sleep(900);
      const pw = password || (inboxId !== null ? passwords.get(inboxId) : undefined);
      if (!pw) {
        if (inboxId !== null && !inboxes.has(inboxId)) throw new BackendError('not_found', 'Inbox not found');
        throw new BackendError('validation', 'Please fix the highlighted fields', [{ field: 'password', message: 'Enter the mailbox password.' }]);
      }
      const fields = emailErrors(settings);
      if (fields.length) throw new BackendError('validation', 'Please fix the highlighted fields', fields);
      // Mock switches: password "wrong" fails both logins; a host containing "down" does not answer.
      const check = (s: MailServer, what: string) =>
        s.host.includes('down')
          ? `Could not connect to ${s.host}:${s.port}: connection refused.`
          : pw === 'wrong'
            ? `The ${what} server rejected the user name or password.`
            : null;
      return { imap_error: check(settings.imap, 'IMAP'), smtp_error: check(settings.smtp, 'SMTP') };
    },
    async testConnection(input, inboxId) {
      await sleep(700);
      if (inboxId !== null && !inboxes.has(inboxId)) throw new BackendError('not_found', 'Inbox not found');
      const fields: { field: string; message: string }[] = [];
      if (!input.name.trim()) fields.push({ field: 'name', message: 'Give the inbox a name.' });
      const kind = input.settings.kind;
      if (kind === 'website' || kind === 'api' || kind === 'email')
        fields.push({ field: 'kind', message: 'This kind of inbox has no provider account to check.' });
      fields.push(...credentialErrors(input, inboxId));
      if (fields.length) throw new BackendError('validation', 'Please fix the highlighted fields', fields);
      switch (input.settings.kind) {
        case 'telegram':
          return `@${BOT_USERNAME}`;
        case 'whatsapp':
          return WHATSAPP_NUMBER;
        case 'twilio':
          return twilioNumber(input.settings.number);
        case 'x':
          return `@${X_USERNAME}`;
        case 'messenger':
        case 'instagram':
          return PAGE_NAME;
        default:
          return LINE_BOT_NAME;
      }
    },
    async messageHtml(messageId, loadRemote) {
      await sleep(60);
      const { m, c } = htmlMessage(messageId);
      const remote = loadRemote || trusted.has(`${c.inbox_id}:${m.sender_name}`);
      return { html: htmlDocument(m, remote), blocked_images: remote ? 0 : 1 };
    },
    async trustSender(messageId) {
      const { m, c } = htmlMessage(messageId);
      trusted.add(`${c.inbox_id}:${m.sender_name}`);
    },
    async openAttachment(attachmentId) {
      await sleep(60);
      for (const list of messages.values())
        for (const m of list) {
          const a = m.attachments.find((x) => x.id === attachmentId);
          if (!a) continue;
          if (a.on_server) {
            // Fetched from the mail server first, like the core does for very large files.
            await sleep(2500);
            a.on_server = false;
            emit({ type: 'message_changed', conversation_id: m.conversation_id, message_id: m.id });
          }
          if (a.file_name.endsWith('.jpg')) throw new BackendError('internal', 'cannot open the file: no application is set up for image/jpeg');
          console.info('[mock] open attachment', a.file_name);
          return;
        }
      throw new BackendError('not_found', 'Attachment not found');
    },
    async search(query, limit) {
      await sleep(60);
      // Like the core's: every word must match, the last one as a prefix (here: anywhere).
      const words = query.text.toLowerCase().split(/\s+/).filter(Boolean);
      if (!words.length) return [];
      const pattern = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gi');
      const has = (text: string) => {
        const l = text.toLowerCase();
        return words.every((w) => l.includes(w));
      };
      /** How well a text matches: more matches in a shorter text rank higher (BM25, roughly). */
      const score = (text: string) => (text.match(pattern)?.length ?? 0) / Math.sqrt(text.length + 20);
      const inRange = (at: number) => (query.since == null || at >= query.since) && (query.until == null || at < query.until);
      const relevance = query.order === 'relevance';
      type Found = { c: ConversationRow; contact: boolean; shown: { id: number | null; text: string; at: number }; matches: number; rank: number };
      const found: Found[] = [];
      for (const c of convs.values()) {
        if (query.inbox_id != null && c.inbox_id !== query.inbox_id) continue;
        if (query.status != null && c.status !== query.status) continue;
        if (query.label != null && !c.labels.includes(query.label)) continue;
        if (query.assignee != null && c.assignee !== query.assignee) continue;
        // Threads never opened are not generated: their preview stands in for the last message.
        const list = messages.get(c.id);
        const candidates = list
          ? list.filter((m) => m.kind !== 'activity').map((m) => ({ id: m.id as number | null, text: m.subject ? `${m.subject}\n${m.content}` : m.content, at: m.created_at }))
          : [{ id: null, text: c.preview, at: c.last_activity_at }];
        const matching = candidates.filter((m) => inRange(m.at) && has(m.text));
        const contact = has(c.contact_name) && inRange(c.last_activity_at);
        if (!contact && !matching.length) continue;
        const best = relevance
          ? matching.reduce<(typeof matching)[number] | null>((a, m) => (a === null || score(m.text) > score(a.text) ? m : a), null)
          : matching.reduce<(typeof matching)[number] | null>((a, m) => (a === null || m.at > a.at ? m : a), null);
        found.push({
          c,
          contact,
          shown: contact ? { id: null, text: c.contact_name, at: c.last_activity_at } : best!,
          matches: matching.length,
          rank: best ? score(best.text) : 0,
        });
      }
      // Contacts first, then newest match first or best match first.
      found.sort(
        (a, b) =>
          Number(b.contact) - Number(a.contact) ||
          (relevance && !a.contact ? b.rank - a.rank : 0) ||
          b.shown.at - a.shown.at ||
          b.c.id - a.c.id,
      );
      return found.slice(0, Math.min(200, Math.max(1, limit))).map(
        ({ c, shown, matches }): SearchHit => ({
          conversation_id: c.id,
          message_id: shown.id,
          contact_name: c.contact_name,
          inbox_name: c.inbox_name,
          channel: c.channel,
          status: c.status,
          snippet: snippet(shown.text, pattern),
          created_at: shown.at,
          matches,
        }),
      );
    },
    async listContacts(query, limit, offset) {
      await sleep(40);
      const q = query.trim().replace(/[%_]/g, '').toLowerCase();
      const has = (v: string | null) => v !== null && v.toLowerCase().includes(q);
      const byContact = conversationsByContact();
      const rows: ContactSummary[] = [];
      for (const contact of contacts.values()) {
        if (q && !has(contact.name) && !has(contact.email) && !has(contact.phone)) continue;
        const list = byContact.get(contact.id) ?? [];
        rows.push({
          contact,
          conversation_count: list.length,
          channels: [...new Set(list.map((c) => c.channel))],
          last_activity_at: list.length ? list[0].last_activity_at : null,
        });
      }
      // Most recently active first, contacts without conversations last, then newest id.
      rows.sort((a, b) => {
        if (a.last_activity_at !== b.last_activity_at) {
          if (a.last_activity_at === null) return 1;
          if (b.last_activity_at === null) return -1;
          return b.last_activity_at - a.last_activity_at;
        }
        return b.contact.id - a.contact.id;
      });
      const start = Math.max(0, offset);
      return copy(rows.slice(start, start + Math.min(500, Math.max(1, limit))));
    },
    async contactDetails(id) {
      await sleep(40);
      return contactDetailsSync(id);
    },
    async updateContact(id, input) {
      await sleep(80);
      const contact = getContact(id);
      Object.assign(contact, checkContact(input));
      for (const c of convs.values()) if (c.contact_id === id) c.contact_name = contact.name;
      announceContact(id);
      return copy(contact);
    },
    async mergeContacts(keep, other) {
      await sleep(120);
      if (keep === other) throw validation('other', 'Choose two different contacts.');
      const k = getContact(keep);
      const o = getContact(other);
      const notes = !o.notes.trim() ? k.notes : !k.notes.trim() ? o.notes : `${k.notes.trimEnd()}\n\n${o.notes.trim()}`;
      Object.assign(k, {
        name: k.name.trim() ? k.name : o.name,
        email: k.email ?? o.email,
        phone: k.phone ?? o.phone,
        notes,
        attributes: { ...o.attributes, ...k.attributes },
      });
      identities.set(keep, [...(identities.get(keep) ?? []), ...(identities.get(other) ?? [])]);
      identities.delete(other);
      contacts.delete(other);
      for (const c of convs.values()) {
        if (c.contact_id === other) c.contact_id = keep;
        if (c.contact_id === keep) c.contact_name = k.name;
      }
      announceContact(keep);
      return contactDetailsSync(keep);
    },
    async mergeSuggestions() {
      await sleep(40);
      conversationsByContact();
      const out: MergeSuggestion[] = [];
      const pairs = (key: (c: Contact) => string | null, reason: 'email' | 'phone') => {
        const groups = new Map<string, Contact[]>();
        for (const c of [...contacts.values()].sort((a, b) => a.id - b.id)) {
          const k = key(c);
          if (!k) continue;
          const g = groups.get(k);
          if (g) g.push(c);
          else groups.set(k, [c]);
        }
        for (const g of groups.values()) for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) out.push({ a: g[i], b: g[j], reason });
      };
      pairs((c) => c.email?.toLowerCase() ?? null, 'email');
      pairs((c) => c.phone?.replace(/\D/g, '') || null, 'phone');
      return copy(out.slice(0, 200));
    },
    async report(query) {
      await sleep(120);
      return copy(reportSync(query));
    },
    async exportReport(query, path) {
      await sleep(150);
      const report = reportSync(query);
      if (!path.trim()) throw validation('path', 'Choose where to save the report.');
      // Nothing is written from a browser: log what the file would hold.
      console.info(`[mock] export_report to ${path} (not written):
${reportCsv(report)}`);
    },
    async whatsappTemplates(inboxId) {
      await sleep(400);
      const v = inboxes.get(inboxId);
      if (!v) throw new BackendError('not_found', 'Inbox not found');
      if (v.inbox.settings.kind !== 'whatsapp') throw new BackendError('conflict', 'message templates exist only for WhatsApp inboxes');
      if (!v.inbox.settings.business_account_id?.trim())
        throw new BackendError(
          'unavailable',
          'Set the WhatsApp Business Account ID in the inbox settings (Meta App Dashboard → WhatsApp → API Setup) to use message templates.',
        );
      return copy([...WHATSAPP_TEMPLATES]);
    },
    async sendTemplate(conversationId, name, language, parameters) {
      await sleep(150);
      const c = convs.get(conversationId);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      if (c.channel !== 'whatsapp') throw validation('template', 'Templates can only be sent in WhatsApp conversations.');
      const template = (await api.whatsappTemplates(c.inbox_id)).find((x) => x.name === name && x.language === language);
      if (!template) throw validation('template', `There is no approved template “${name}” in ${language}.`);
      const values = parameters.map((p) => p.trim());
      if (values.length !== template.parameters || values.some((p) => p === ''))
        throw validation('parameters', `“${name}” needs ${template.parameters} value(s), none of them empty.`);
      const content = fillTemplate(template.body, values);
      const msg: Message = { id: nextMsgId++, conversation_id: conversationId, kind: 'outgoing', content, sender_name: 'You', delivery: 'queued', error: null, created_at: Date.now(), attachments: [], subject: null, has_html: false, by_bot: false };
      thread(conversationId).push(msg);
      touch(c, msg);
      deliver(msg);
      return copy(msg);
    },
    async openExternal(url: string) {
      window.open(url, '_blank', 'noreferrer');
    },
    async uiReady() {
      console.info('[mock] ui_ready at', Math.round(performance.now()), 'ms');
    },
    async onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  return api;
}
