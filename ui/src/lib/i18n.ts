// Every user-visible string lives here so pt-BR can be added as a second dictionary with the
// same keys (the `Dict` type makes a missing key a type error).
const en = {
  'app.name': 'Caixa',
  'nav.conversations': 'Conversations',
  'nav.settings': 'Settings',
  'nav.main': 'Main navigation',

  'empty.title': 'Connect your first inbox',
  'empty.body':
    'An inbox is one place your customers reach you: a live chat widget on your website, an email address, a Telegram bot, an API integration… Every message from every inbox lands in one list here, newest first, and you reply from Caixa through the same channel the customer used.',
  'empty.action': 'Add inbox',

  'list.label': 'Conversations',
  'list.tabs': 'Conversation status',
  'tab.open': 'Open',
  'tab.pending': 'Pending',
  'tab.resolved': 'Resolved',
  'tab.all': 'All',
  'list.inboxFilter': 'Inbox',
  'list.allInboxes': 'All inboxes',
  'list.unreadOnly': 'Unread only',
  'list.empty': 'No conversations here.',
  'list.emptyHint': 'New messages from your inboxes will show up here.',
  'list.loading': 'Loading…',
  'list.error': 'Could not load conversations: {message}',
  'list.retry': 'Try again',
  'list.unread': '{n} unread',
  'preview.you': 'You: ',
  'preview.note': 'Note: ',
  'search.placeholder': 'Search messages and contacts',
  'search.label': 'Search',
  'search.none': 'No results',

  'time.now': 'now',
  'time.minutes': '{n}m',
  'time.hours': '{n}h',

  'status.open': 'Open',
  'status.pending': 'Pending',
  'status.snoozed': 'Snoozed',
  'status.resolved': 'Resolved',

  'pane.none': 'Select a conversation',
  'pane.noneHint': 'Use j / k to move through the list.',
  'pane.resolve': 'Resolve',
  'pane.reopen': 'Reopen',
  'pane.via': 'via {inbox}',
  'pane.loadError': 'Could not load messages: {message}',
  'pane.gone': 'This conversation no longer exists.',
  'thread.label': 'Messages',
  'thread.empty': 'No messages yet.',
  'message.privateNote': 'Private note',
  'message.retry': 'Retry',
  'message.failed': 'Not delivered',
  'delivery.queued': 'Queued',
  'delivery.sent': 'Sent',
  'delivery.delivered': 'Delivered',
  'delivery.failed': 'Failed',

  'reply.mode': 'Reply mode',
  'reply.reply': 'Reply',
  'reply.note': 'Private note',
  'reply.placeholder': 'Write a reply… (Enter to send, Shift+Enter for a new line)',
  'reply.notePlaceholder': 'Write a private note, only your team sees it…',
  'reply.send': 'Send',
  'reply.addNote': 'Add note',
  'reply.sending': 'Sending…',
  'reply.error': 'Not sent: {message}',

  'settings.title': 'Settings',
  'settings.inboxes': 'Inboxes',
  'settings.addInbox': 'Add inbox',
  'settings.noInboxes': 'No inboxes yet.',
  'settings.gateway': 'Gateway',
  'settings.gatewayHint': 'Website widgets and API integrations reach Caixa at this address.',
  'settings.gatewayNone': 'Not running',
  'settings.gatewayError': 'The gateway is not working: {message}. Website widgets and API inboxes cannot receive messages.',
  'settings.about': 'Caixa {version} · data in {dir}',
  'settings.back': 'Back',

  'state.starting': 'Starting',
  'state.connected': 'Connected',
  'state.error': 'Error',

  'picker.title': 'Pick a channel',
  'picker.hint': 'Each inbox is one connection to a channel your customers use.',
  'picker.soon': 'Coming soon',
  'channel.website': 'Website',
  'channel.websiteDesc': 'A live chat widget on your site',
  'channel.api': 'API',
  'channel.apiDesc': 'Connect any app over HTTP',
  'channel.email': 'Email',
  'channel.telegram': 'Telegram',
  'channel.whatsapp': 'WhatsApp',
  'channel.messenger': 'Messenger',
  'channel.instagram': 'Instagram',
  'channel.x': 'X',
  'channel.line': 'LINE',
  'channel.sms': 'SMS',

  'form.newTitle': 'New {channel} inbox',
  'form.editTitle': 'Edit {name}',
  'form.name': 'Inbox name',
  'form.nameHint': 'Only you and your team see it, e.g. "Website support".',
  'form.website_url': 'Website URL',
  'form.welcome_title': 'Welcome heading',
  'form.welcome_text': 'Welcome text',
  'form.color': 'Widget colour',
  'form.webhook_url': 'Webhook URL (optional)',
  'form.webhookHint': 'Caixa POSTs your replies here, signed like incoming requests.',
  'form.required': 'This field is required',
  'form.save': 'Save inbox',
  'form.create': 'Create inbox',
  'form.saving': 'Saving…',
  'form.cancel': 'Cancel',
  'form.defaultWelcomeTitle': 'Hi there 👋',
  'form.defaultWelcomeText': 'We typically reply in a few minutes.',

  'detail.snippet': 'Paste this before </body> on every page of your site',
  'detail.copy': 'Copy',
  'detail.copied': 'Copied',
  'detail.testPage': 'Open test page',
  'detail.testPageHint': 'A page with the widget already installed, to try it yourself.',
  'detail.endpoint': 'Endpoint',
  'detail.token': 'Inbox token',
  'detail.secret': 'Signing secret',
  'detail.reveal': 'Reveal secret',
  'detail.signature':
    'Sign every request: send the headers X-Caixa-Timestamp (unix seconds) and X-Caixa-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>. Requests with a bad signature or an old timestamp are rejected.',
  'detail.edit': 'Edit',
  'detail.delete': 'Delete',
  'detail.confirmTitle': 'Delete “{name}”?',
  'detail.confirmBody':
    'This deletes the inbox and all of its conversations and messages from this computer. Customers will no longer reach you through it. This cannot be undone.',
  'detail.confirm': 'Delete inbox',
  'detail.created': 'Inbox created. Here is how to connect it.',
  'detail.error': 'Could not complete: {message}',
} as const;

export type MessageKey = keyof typeof en;
type Dict = Record<MessageKey, string>;

const dictionaries: Record<string, Dict> = { en };

let current: Dict = en;
export let locale = 'en';

export function setLocale(tag: string): void {
  const d = dictionaries[tag] ?? dictionaries[tag.split('-')[0]];
  if (d) {
    current = d;
    locale = tag;
  }
}

export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const s: string = current[key] ?? en[key];
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
