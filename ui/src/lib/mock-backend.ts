// In-memory stand-in for the core, used only by `npm run dev` in a plain browser (no Tauri).
// It behaves like the core where the UI can tell: keyset pages, live events, delivery states,
// validation errors. URL switches: ?mock=empty (first run), ?mock=big (100k conversations).
import { BackendError } from './backend';
import type {
  Backend,
  ConversationFilter,
  ConversationRow,
  CoreEvent,
  InboxInput,
  InboxView,
  Message,
  MessageKind,
  StatusCounts,
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

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createMockBackend(): Backend {
  const mode = new URLSearchParams(location.search).get('mock');
  const listeners = new Set<(e: CoreEvent) => void>();
  const emit = (e: CoreEvent) => setTimeout(() => listeners.forEach((l) => l(e)), 10);

  const inboxes = new Map<number, InboxView>();
  const secrets = new Map<number, string>();
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
      endpoint_url: website ? null : `${base}/api/v1/inboxes/${token}/messages`,
    };
  }

  function validate(input: InboxInput) {
    const fields: { field: string; message: string }[] = [];
    if (!input.name.trim()) fields.push({ field: 'name', message: 'Name is required' });
    if (input.settings.kind === 'website' && !/^https?:\/\/[^\s.]+\.\S+$/.test(input.settings.website_url))
      fields.push({ field: 'website_url', message: 'Must be an http(s) URL, e.g. https://example.com' });
    if (input.settings.kind === 'api' && input.settings.webhook_url && !/^https?:\/\//.test(input.settings.webhook_url))
      fields.push({ field: 'webhook_url', message: 'Must be an http(s) URL' });
    if (fields.length) throw new BackendError('validation', 'Please fix the highlighted fields', fields);
  }

  function connectLater(id: number) {
    setTimeout(() => {
      const v = inboxes.get(id);
      if (!v) return;
      const state = v.inbox.name.toLowerCase().includes('broken')
        ? ({ state: 'error', reason: 'Gateway port 7311 is already in use' } as const)
        : ({ state: 'connected' } as const);
      inboxes.set(id, { ...v, state });
      emit({ type: 'inbox_state_changed', inbox_id: id, state });
    }, 1500);
  }

  function addInboxSync(input: InboxInput, createdAt: number): InboxView {
    const id = nextInboxId++;
    const token = Math.random().toString(36).slice(2, 14);
    const v = view(id, input, createdAt, token);
    inboxes.set(id, v);
    secrets.set(id, 'whsec_' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2));
    connectLater(id);
    return v;
  }

  function makeThread(c: ConversationRow): Message[] {
    const r = rng(c.id);
    const out: Message[] = [];
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
      out.push({
        id: nextMsgId++,
        conversation_id: c.id,
        kind,
        content,
        sender_name: kind === 'incoming' ? c.contact_name : 'You',
        delivery: kind === 'outgoing' ? (r() < 0.1 ? 'failed' : 'delivered') : null,
        error: null,
        created_at: i === n - 1 ? c.last_activity_at : t,
        attachments: r() < 0.1 && kind === 'incoming' ? [{ id: 1, file_name: 'receipt.pdf', mime_type: 'application/pdf', size: 48213 }] : [],
      });
      const last = out[out.length - 1];
      if (last.delivery === 'failed') last.error = 'Visitor disconnected before the message was delivered';
    }
    if (c.status === 'resolved') {
      out.push({ id: nextMsgId++, conversation_id: c.id, kind: 'activity', content: 'You resolved the conversation', sender_name: null, delivery: null, error: null, created_at: c.last_activity_at, attachments: [] });
    }
    return out;
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
      { name: 'Acme website', settings: { kind: 'website', website_url: 'https://acme.example', welcome_title: 'Hi there 👋', welcome_text: 'We typically reply in a few minutes.', color: '#1f6feb' } },
      now - 90 * 86400_000,
    );
    const api = addInboxSync({ name: 'Shop integration', settings: { kind: 'api', webhook_url: 'https://shop.example/hooks/caixa' } }, now - 60 * 86400_000);
    const total = mode === 'big' ? 100_000 : 2_000;
    const r = rng(42);
    let t = now - 30_000;
    for (let id = total; id >= 1; id--) {
      const inbox = r() < 0.7 ? web : api;
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
  }

  const matches = (c: ConversationRow, f: ConversationFilter) =>
    (f.status === null || c.status === f.status) && (f.inbox_id === null || c.inbox_id === f.inbox_id) && (!f.unread_only || c.unread_count > 0);
  const order = (a: ConversationRow, b: ConversationRow) => b.last_activity_at - a.last_activity_at || b.id - a.id;

  function touch(c: ConversationRow, msg: Message) {
    c.last_activity_at = msg.created_at;
    if (msg.kind !== 'activity') {
      c.preview = msg.content;
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
      const msg: Message = { id: nextMsgId++, conversation_id: c.id, kind: 'incoming', content: INCOMING[Math.floor(Math.random() * INCOMING.length)], sender_name: c.contact_name, delivery: null, error: null, created_at: Date.now(), attachments: [] };
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
        msg.error = d === 'failed' ? 'Widget visitor is offline (gave up after 3 attempts)' : null;
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
      validate(input);
      const v = addInboxSync(input, Date.now());
      emit({ type: 'inboxes_changed' });
      return copy(v);
    },
    async updateInbox(id, input) {
      await sleep(150);
      const old = inboxes.get(id);
      if (!old) throw new BackendError('not_found', 'Inbox not found');
      if (input.settings.kind !== old.inbox.kind) throw new BackendError('conflict', 'The channel of an inbox cannot change');
      validate(input);
      const v = view(id, input, old.inbox.created_at, old.inbox.token);
      inboxes.set(id, v);
      for (const c of convs.values()) if (c.inbox_id === id) c.inbox_name = input.name;
      emit({ type: 'inboxes_changed' });
      return copy(v);
    },
    async deleteInbox(id) {
      await sleep(150);
      if (!inboxes.delete(id)) throw new BackendError('not_found', 'Inbox not found');
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
    async sendMessage(conversationId, content, priv) {
      await sleep(80);
      const c = convs.get(conversationId);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      if (!content.trim()) throw new BackendError('validation', 'Message is empty');
      if (content.toLowerCase().includes('offline')) throw new BackendError('unavailable', 'The store is busy; your text is still here, try again.');
      const msg: Message = { id: nextMsgId++, conversation_id: conversationId, kind: priv ? 'note' : 'outgoing', content, sender_name: 'You', delivery: priv ? null : 'queued', error: null, created_at: Date.now(), attachments: [] };
      thread(conversationId).push(msg);
      touch(c, msg);
      if (!priv) deliver(msg);
      return copy(msg);
    },
    async setStatus(conversationId, status) {
      const c = convs.get(conversationId);
      if (!c) throw new BackendError('not_found', 'Conversation not found');
      c.status = status;
      const msg: Message = { id: nextMsgId++, conversation_id: conversationId, kind: 'activity', content: status === 'resolved' ? 'You resolved the conversation' : `You marked the conversation as ${status}`, sender_name: null, delivery: null, error: null, created_at: Date.now(), attachments: [] };
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
      for (const list of messages.values()) {
        const m = list.find((x) => x.id === messageId);
        if (m) {
          m.delivery = 'queued';
          m.error = null;
          m.content = m.content.replace(/fail/gi, 'f\u200bail');
          emit({ type: 'message_changed', conversation_id: m.conversation_id, message_id: m.id });
          deliver(m);
          return;
        }
      }
      throw new BackendError('not_found', 'Message not found');
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
