/* Caixa website chat widget. Plain JS, no dependencies. Embedded with:
 *   <script src="https://GATEWAY/widget.js" data-caixa-token="INBOX_TOKEN" async></script>
 * The visitor token lives in localStorage so a visitor keeps their conversation across reloads. */
(function () {
  'use strict';
  var script = document.currentScript || document.querySelector('script[data-caixa-token]');
  if (!script || window.__caixaWidget) return;
  window.__caixaWidget = true;
  var token = script.getAttribute('data-caixa-token');
  var base = new URL(script.src, location.href).origin;
  var api = base + '/api/widget/v1/' + encodeURIComponent(token);
  var storeKey = 'caixa:visitor:' + token;
  var visitor = null;
  var seen = {};
  var socket = null;
  var retry = 0;
  var el = {};

  function h(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }

  function css(color) {
    return '#caixa-root{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2433}' +
      '#caixa-launcher{width:56px;height:56px;border-radius:50%;border:0;background:' + color + ';color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}' +
      '#caixa-launcher:focus-visible,#caixa-send:focus-visible{outline:3px solid #111;outline-offset:2px}' +
      '#caixa-panel{display:none;flex-direction:column;position:absolute;right:0;bottom:70px;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}' +
      '#caixa-panel[data-open="true"]{display:flex}' +
      '#caixa-head{background:' + color + ';color:#fff;padding:14px 16px}#caixa-head h2{margin:0 0 4px;font-size:17px}#caixa-head p{margin:0;opacity:.9}' +
      '#caixa-messages{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f7f8fa}' +
      '.caixa-msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}' +
      '.caixa-msg[data-author="visitor"]{align-self:flex-end;background:' + color + ';color:#fff;border-bottom-right-radius:3px}' +
      '.caixa-msg[data-author="agent"]{align-self:flex-start;background:#fff;border:1px solid #e1e4ea;border-bottom-left-radius:3px}' +
      '#caixa-error{display:none;color:#b42318;background:#fef3f2;padding:6px 12px;font-size:13px}#caixa-error[data-shown="true"]{display:block}' +
      '#caixa-form{display:flex;gap:6px;padding:10px;border-top:1px solid #e1e4ea}' +
      '#caixa-input{flex:1;resize:none;border:1px solid #c9ced8;border-radius:8px;padding:8px;font:inherit;height:40px}' +
      '#caixa-send{border:0;border-radius:8px;background:' + color + ';color:#fff;padding:0 14px;cursor:pointer;font:inherit}';
  }

  function showError(text) {
    el.error.textContent = text || '';
    el.error.setAttribute('data-shown', text ? 'true' : 'false');
  }

  function request(method, path, body) {
    var headers = { 'Content-Type': 'application/json' };
    if (visitor) headers['X-Caixa-Visitor'] = visitor;
    return fetch(api + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          if (!res.ok) throw new Error((data.error && data.error.message) || ('HTTP ' + res.status));
          return data;
        });
      });
  }

  function add(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var node = h('div', { 'class': 'caixa-msg', 'data-author': m.author, 'data-id': String(m.id) }, m.content);
    el.messages.appendChild(node);
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function ensureVisitor() {
    if (visitor) return Promise.resolve(visitor);
    try { visitor = localStorage.getItem(storeKey); } catch (e) { visitor = null; }
    if (visitor) return Promise.resolve(visitor);
    return request('POST', '/visitors').then(function (d) {
      visitor = d.visitor_token;
      try { localStorage.setItem(storeKey, visitor); } catch (e) { /* private mode: this tab only */ }
      return visitor;
    });
  }

  function loadHistory() {
    return request('GET', '/conversation').then(function (d) { d.messages.forEach(add); });
  }

  function connect() {
    var url = api.replace(/^http/, 'ws') + '/ws?visitor=' + encodeURIComponent(visitor);
    socket = new WebSocket(url);
    socket.onopen = function () { retry = 0; };
    socket.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame.type === 'ready') {
        el.panel.setAttribute('data-connected', 'true');
        showError('');
        loadHistory().catch(function () { /* shown on next send */ });
      } else if (frame.type === 'message') {
        add(frame.message);
      }
    };
    socket.onclose = function () {
      el.panel.setAttribute('data-connected', 'false');
      // Back off up to 30 s with jitter; history is refetched on reconnect, so nothing is missed.
      var delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  function send() {
    var text = el.input.value;
    if (!text.trim()) return;
    el.send.disabled = true;
    ensureVisitor()
      .then(function () { return request('POST', '/messages', { content: text }); })
      .then(function (d) {
        if (d.message) add(d.message);
        el.input.value = '';
        showError('');
      })
      .catch(function (e) { showError(e.message); })
      .then(function () { el.send.disabled = false; el.input.focus(); });
  }

  function open() {
    var isOpen = el.panel.getAttribute('data-open') === 'true';
    el.panel.setAttribute('data-open', isOpen ? 'false' : 'true');
    el.launcher.setAttribute('aria-expanded', isOpen ? 'false' : 'true');
    if (!isOpen) {
      el.input.focus();
      if (!socket) ensureVisitor().then(connect).catch(function (e) { showError(e.message); });
    }
  }

  function build(cfg) {
    var root = h('div', { id: 'caixa-root' });
    var style = h('style', {}, css(/^#[0-9a-fA-F]{6}$/.test(cfg.color) ? cfg.color : '#1f6feb'));
    el.launcher = h('button', { id: 'caixa-launcher', type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'caixa-panel' });
    // An inline icon rather than an emoji: not every system has an emoji font.
    el.launcher.innerHTML = '<svg width="26" height="26" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg>';
    el.panel = h('section', { id: 'caixa-panel', 'data-open': 'false', 'data-connected': 'false', 'aria-label': cfg.name });
    var head = h('header', { id: 'caixa-head' });
    head.appendChild(h('h2', {}, cfg.welcome_title || cfg.name));
    if (cfg.welcome_text) head.appendChild(h('p', {}, cfg.welcome_text));
    el.messages = h('div', { id: 'caixa-messages', role: 'log', 'aria-live': 'polite' });
    el.error = h('div', { id: 'caixa-error', role: 'alert', 'data-shown': 'false' });
    var form = h('form', { id: 'caixa-form' });
    el.input = h('textarea', { id: 'caixa-input', rows: '1', placeholder: 'Type your message…', 'aria-label': 'Message' });
    el.send = h('button', { id: 'caixa-send', type: 'submit' }, 'Send');
    form.appendChild(el.input);
    form.appendChild(el.send);
    el.panel.appendChild(head);
    el.panel.appendChild(el.messages);
    el.panel.appendChild(el.error);
    el.panel.appendChild(form);
    root.appendChild(style);
    root.appendChild(el.panel);
    root.appendChild(el.launcher);
    document.body.appendChild(root);
    el.launcher.addEventListener('click', open);
    form.addEventListener('submit', function (e) { e.preventDefault(); send(); });
    el.input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); }
    });
    // A returning visitor sees their conversation at once.
    try { if (localStorage.getItem(storeKey)) { ensureVisitor().then(connect); } } catch (e) { /* ignore */ }
  }

  function start() {
    fetch(api + '/config').then(function (r) { return r.json(); }).then(build)
      .catch(function () { /* the gateway is unreachable: show nothing rather than a broken bubble */ });
  }

  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
