// In-memory stand-in for the core, used only by `npm run dev` in a plain browser (no Tauri).
// It behaves like the core where the UI can tell: keyset pages, live events, delivery states,
// validation errors. URL switches: ?mock=empty (first run), ?mock=big (100k conversations).
// Telegram bot tokens: "bad" is refused by "Telegram", "webhook" / "conflict" save but the inbox
// then shows the matching polling error.
import { BackendError } from './backend';
import type {
  Backend,
  ConversationFilter,
  ConversationRow,
  CoreEvent,
  EmailSettings,
  InboxInput,
  InboxView,
  MailServer,
  Message,
  MessageKind,
  StagedFile,
  StatusCounts,
  TelegramSettings,
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
  /** What the core keeps in the keychain: mailbox passwords and Telegram bot tokens. */
  const passwords = new Map<number, string>();
  /** `<inbox id>:<sender>` pairs whose remote images always load. */
  const trusted = new Set<string>();
  const convs = new Map<number, ConversationRow>();
  const messages = new Map<number, Message[]>();
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
      endpoint_url: input.settings.kind === 'api' ? `${base}/api/v1/inboxes/${token}/messages` : null,
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

  /** Saving a Telegram inbox asks Telegram who the bot is; the answer is kept in its settings. */
  function withBot(input: InboxInput): InboxInput {
    if (input.settings.kind !== 'telegram') return input;
    return { ...input, settings: { ...input.settings, bot_username: BOT_USERNAME } };
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
    if (input.settings.kind === 'telegram')
      fields.push(...telegramErrors(input.settings, input.password || (adding || id === null ? null : (passwords.get(id) ?? null))));
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
    if ((input.settings.kind === 'email' || input.settings.kind === 'telegram') && input.password) passwords.set(id, input.password);
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
      out.push({ id: nextMsgId++, conversation_id: c.id, kind: 'activity', content: 'You resolved the conversation', sender_name: null, delivery: null, error: null, created_at: c.last_activity_at, attachments: [], subject: null, has_html: false });
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
      { name: 'Acme website', settings: { kind: 'website', website_url: 'https://acme.example', welcome_title: 'Hi there 👋', welcome_text: 'We typically reply in a few minutes.', color: '#1f6feb' }, password: null },
      now - 90 * 86400_000,
    );
    const api = addInboxSync({ name: 'Shop integration', settings: { kind: 'api', webhook_url: 'https://shop.example/hooks/caixa' }, password: null }, now - 60 * 86400_000);
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
      },
      now - 30 * 86400_000,
    );
    const telegram = addInboxSync(
      { name: 'Telegram bot', settings: { kind: 'telegram', bot_username: BOT_USERNAME, api_base_url: null }, password: '123456789:AAE-mock-token' },
      now - 14 * 86400_000,
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
      });
      t -= Math.floor(r() * (mode === 'big' ? 60_000 : 40 * 60_000));
    }

    // The newest conversation: a Telegram customer sends a photo, then shares a location
    // (the core turns a location into text with an OpenStreetMap link).
    const id = total + 1;
    const at = now - 15_000;
    const [lat, lon] = ['-23.561414', '-46.655881'];
    const location = `📍 Location: ${lat}, ${lon} https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}`;
    const base = { conversation_id: id, error: null, subject: null, has_html: false } as const;
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
    });
    messages.set(id, [
      { ...base, id: nextMsgId++, kind: 'incoming', content: 'Hi! The parcel arrived but the box is crushed 😕', sender_name: 'Marina Rocha', delivery: null, created_at: at - 6 * 60_000, attachments: [] },
      { ...base, id: nextMsgId++, kind: 'outgoing', content: 'Oh no, sorry about that! Could you send us a photo?', sender_name: 'You', delivery: 'delivered', created_at: at - 5 * 60_000, attachments: [] },
      { ...base, id: nextMsgId++, kind: 'incoming', content: '📷 Photo', sender_name: 'Marina Rocha', delivery: null, created_at: at - 3 * 60_000, attachments: [{ id: nextAttachmentId++, file_name: 'photo-1042.jpg', mime_type: 'image/jpeg', size: 214_533, on_server: false }] },
      { ...base, id: nextMsgId++, kind: 'outgoing', content: 'Thanks! We will send a new one today. Where should it go?', sender_name: 'You', delivery: 'delivered', created_at: at - 2 * 60_000, attachments: [] },
      { ...base, id: nextMsgId++, kind: 'incoming', content: location, sender_name: 'Marina Rocha', delivery: null, created_at: at, attachments: [] },
    ]);
  }

  const matches = (c: ConversationRow, f: ConversationFilter) =>
    (f.status === null || c.status === f.status) && (f.inbox_id === null || c.inbox_id === f.inbox_id) && (!f.unread_only || c.unread_count > 0);
  const order = (a: ConversationRow, b: ConversationRow) => b.last_activity_at - a.last_activity_at || b.id - a.id;

  function touch(c: ConversationRow, msg: Message) {
    c.last_activity_at = msg.created_at;
    if (msg.kind !== 'activity') {
      c.preview = msg.content || msg.attachments.map((a) => a.file_name).join(', ');
      c.preview_kind = msg.kind;
    }
    emit({ type: 'conversation_changed', conversation_id: c.id });
    emit({ type: 'message_changed', conversation_id: c.id, message_id: msg.id });
  }

  // A customer writes now and then, so live updates can be seen in development.
  if (mode !== 'empty') {
    setInterval(() => {
      const ids = [...convs.keys()];
      if (!ids.length) return;
      const c = convs.get(ids[Math.floor(Math.random() * Math.min(ids.length, 50))])!;
      const msg: Message = { id: nextMsgId++, conversation_id: c.id, kind: 'incoming', content: INCOMING[Math.floor(Math.random() * INCOMING.length)], sender_name: c.contact_name, delivery: null, error: null, created_at: Date.now(), attachments: [], subject: c.channel === 'email' ? 'Re: your message' : null, has_html: false };
      thread(c.id).push(msg);
      c.unread_count += 1;
      if (c.status === 'resolved') c.status = 'open';
      touch(c, msg);
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
                : 'Widget visitor is offline (gave up after 3 attempts)';
        emit({ type: 'message_changed', conversation_id: msg.conversation_id, message_id: msg.id });
      }, ms);
  }

  const copy = <T>(v: T): T => structuredClone(v);

  return {
    async appInfo() {
      return { version: '0.1.0-dev', data_dir: '~/.local/share/app.caixa.desktop', gateway_url: 'http://127.0.0.1:7311', gateway_error: mode === 'empty' ? 'Could not bind 127.0.0.1:7311: address in use' : null, agent_name: 'You' };
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
      for (const c of convs.values()) if (c.inbox_id === id) c.inbox_name = input.name;
      emit({ type: 'inboxes_changed' });
      return copy(v);
    },
    async deleteInbox(id) {
      await sleep(150);
      if (!inboxes.delete(id)) throw new BackendError('not_found', 'Inbox not found');
      passwords.delete(id);
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
      if (files.length && !priv && c.channel !== 'email' && c.channel !== 'telegram') {
        const message = `Replies in ${c.channel === 'website' ? 'website chat' : 'API'} conversations cannot carry files yet.`;
        throw new BackendError('validation', message, [{ field: 'attachments', message }]);
      }
      if (files.reduce((n, f) => n + f.size, 0) > MAX_ATTACHMENTS_BYTES) {
        const message = 'The files add up to more than 25 MB, the most one message can carry.';
        throw new BackendError('validation', message, [{ field: 'attachments', message }]);
      }
      if (content.toLowerCase().includes('offline')) throw new BackendError('unavailable', 'The store is busy; your text is still here, try again.');
      const subject = c.channel === 'email' && !priv ? (thread(conversationId).findLast((m) => m.subject !== null)?.subject ?? null) : null;
      const msg: Message = { id: nextMsgId++, conversation_id: conversationId, kind: priv ? 'note' : 'outgoing', content, sender_name: 'You', delivery: priv ? null : 'queued', error: null, created_at: Date.now(), attachments: files.map((f) => ({ id: nextAttachmentId++, file_name: f.file_name, mime_type: f.mime_type, size: f.size, on_server: false })), subject: subject && !subject.startsWith('Re: ') ? `Re: ${subject}` : subject, has_html: false };
      thread(conversationId).push(msg);
      touch(c, msg);
      if (!priv) deliver(msg);
      return copy(msg);
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
    async onFilesDropped() {
      // A plain browser hands pages no file paths, so nothing is ever dropped here.
      return () => {};
    },
    async setStatus(conversationId, status) {
      const c = convs.get(conversationId);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      c.status = status;
      const msg: Message = { id: nextMsgId++, conversation_id: conversationId, kind: 'activity', content: status === 'resolved' ? 'You resolved the conversation' : `You marked the conversation as ${status}`, sender_name: null, delivery: null, error: null, created_at: Date.now(), attachments: [], subject: null, has_html: false };
      thread(conversationId).push(msg);
      touch(c, msg);
      return copy(c);
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
    async testTelegramConnection(settings, token, inboxId) {
      await sleep(700);
      if (inboxId !== null && !inboxes.has(inboxId)) throw new BackendError('not_found', 'Inbox not found');
      const fields = telegramErrors(settings, token || (inboxId !== null ? (passwords.get(inboxId) ?? null) : null));
      if (fields.length) throw new BackendError('validation', 'Please fix the highlighted fields', fields);
      return BOT_USERNAME;
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
      const q = query.toLowerCase();
      const hits = [];
      for (const c of [...convs.values()].sort(order)) {
        const i = c.preview.toLowerCase().indexOf(q);
        const j = c.contact_name.toLowerCase().indexOf(q);
        if (i < 0 && j < 0) continue;
        const snippet = i >= 0 ? c.preview.slice(0, i) + '\u0002' + c.preview.slice(i, i + q.length) + '\u0003' + c.preview.slice(i + q.length) : c.preview;
        hits.push({ conversation_id: c.id, message_id: null, contact_name: c.contact_name, inbox_name: c.inbox_name, channel: c.channel, snippet, created_at: c.last_activity_at });
        if (hits.length >= limit) break;
      }
      return hits;
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
}
