// The widget inside its iframe: boots from the loader's options, keeps the
// visitor's token, runs the socket, and turns frames into state. Screens
// are in their own modules; the shell (launcher, header) is here.

import { Socket } from '../socket.js';
import { h, replace, icon, api, errorCode, beep } from '../dom.js';
import { t, setLang, pickLang, lang } from '../i18n.js';
import { state, set, touch, restore, newChat, addMessage, rememberPast, forget, subscribe } from './store.js';
import * as prechat from './prechat.js';
import * as chatView from './chat.js';
import * as ended from './ended.js';
import * as offline from './offline.js';

// Past chats and tickets load when first shown: a chat does not need them.
const views = { prechat, chat: chatView, ended, offline, ticketSent: offline };
const later = { history: () => import('./history.js'), ticket: () => import('./history.js'), past: () => import('./history.js') };
let loadingView = null;
function loadView(name) {
  if (loadingView) return;
  loadingView = later[name]().then(
    (m) => {
      views.history = views.ticket = views.past = m;
      loadingView = null;
      shownView = '';
      update({});
    },
    () => {
      loadingView = null;
      set({ notice: t('error.generic') });
    },
  );
}

// ---- options from the loader (in the fragment: never sent to a server) ----
const params = new URLSearchParams(location.hash.slice(1));
const config = {
  parent: params.get('origin') || '',
  lang: params.get('lang') || '',
  unit: params.get('unit') || '',
  accent: /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(params.get('accent') || '') ? params.get('accent') : '',
  title: (params.get('title') || '').slice(0, 60),
  position: params.get('position') === 'left' ? 'left' : 'right',
  identity: params.get('user_id') ? { user_id: params.get('user_id'), user_hash: params.get('user_hash') || '' } : null,
};
// Only a page of the origin that really embeds us hears from us.
if (location.ancestorOrigins && location.ancestorOrigins.length) {
  const top = location.ancestorOrigins[0];
  if (config.parent !== top) config.parent = top;
}
const embedded = window.parent !== window && !!config.parent;

function toParent(msg) {
  if (embedded) window.parent.postMessage({ chatd: 1, ...msg }, config.parent);
}

function emit(name, data) {
  toParent({ type: 'event', name, data });
}

// ---- the visitor's credential ----
let tokenPromise = null;

function storedToken() {
  try {
    return localStorage.getItem('chatd.token') || '';
  } catch {
    return '';
  }
}

function ensureToken() {
  const tok = storedToken();
  let who = '';
  try {
    who = localStorage.getItem('chatd.identity') || '';
  } catch {
    who = '';
  }
  if (tok && (!config.identity || who === config.identity.user_id)) return Promise.resolve(tok);
  if (!tokenPromise) {
    tokenPromise = (async () => {
      let body = config.identity ? { ...config.identity } : {};
      let res = await api('POST', '/api/v1/visitors', { body });
      if (res.status === 401 && config.identity) {
        set({ notice: t('identity.invalid') });
        body = {};
        res = await api('POST', '/api/v1/visitors', { body });
      }
      if (res.status !== 201 || !res.body || !res.body.token) throw new Error('no token');
      try {
        localStorage.setItem('chatd.token', res.body.token);
        localStorage.setItem('chatd.identity', config.identity && body.user_id ? config.identity.user_id : '');
      } catch {
        /* kept for this page only */
      }
      memoryToken = res.body.token;
      return res.body.token;
    })().finally(() => {
      tokenPromise = null;
    });
  }
  return tokenPromise;
}
let memoryToken = '';
export function token() {
  return storedToken() || memoryToken;
}

// ---- the socket ----
let socket = null;

function startSocket() {
  if (socket) return socket;
  socket = new Socket({
    scope: 'visitor',
    url: async () => {
      const tok = await ensureToken();
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return `${proto}//${location.host}/ws/visitor?token=${encodeURIComponent(tok)}`;
    },
    onState: (conn) => set({ conn }),
    onFrame,
    // 4001: this device's token was revoked ("forget me" in another tab):
    // start afresh, as a new visitor, when the customer writes again.
    onClosed: () => {
      socket = null;
      memoryToken = '';
      forget();
      set({ chat: null, unread: 0, view: offlineEverywhere() ? 'offline' : 'prechat', menu: false, notice: t('forget.done') });
      toParent({ type: 'unread', count: 0 });
    },
    probe: async () => {
      // A token the server no longer knows (expired, revoked) is replaced;
      // the chat it held is gone from this device.
      const res = await api('GET', '/api/v1/visitor/token', { token: token() });
      if (res.status === 401) {
        try {
          localStorage.removeItem('chatd.token');
        } catch {
          /* nothing stored */
        }
        memoryToken = '';
        if (state.chat && state.chat.id) set({ chat: null, view: 'prechat' });
      }
      return true;
    },
  });
  socket.start();
  update({});
  return socket;
}

export function getSocket() {
  return socket;
}

function contiguous(chat) {
  let n = 0;
  for (const m of chat.messages) {
    if (m.seq === n + 1) n = m.seq;
    else if (m.seq > n + 1) break;
  }
  return n;
}

function chatFromServer(c) {
  const ch = newChat(null, '', c.unit);
  ch.id = c.id;
  ch.status = c.status;
  ch.startedAt = c.created_at || ch.startedAt;
  return ch;
}

function isOpenChat(c) {
  return c && (c.status === 'starting' || c.status === 'queued' || c.status === 'active');
}

function onFrame(f, sent) {
  const c = state.chat;
  switch (f.type) {
    case 'hello': {
      set({ visitorID: f.visitor_id });
      if (f.chat) {
        let ch = c;
        if (!ch || (ch.id && ch.id !== f.chat.id)) {
          if (ch && ch.id) rememberPast(ch);
          ch = chatFromServer(f.chat);
        } else if (!ch.id) {
          ch.id = f.chat.id;
          socket.resolveStart(ch.startID, ch.id);
        }
        ch.status = f.chat.status;
        ch.unit = f.chat.unit;
        socket.follow(ch.id, contiguous(ch));
        set({ chat: ch, view: ['history', 'ticket', 'past'].includes(state.view) ? state.view : 'chat' });
      } else if (c && c.id && (c.status === 'queued' || c.status === 'active')) {
        // It ended while we were away: fetch what we missed, then the end.
        socket.follow(c.id, contiguous(c));
        c.status = 'closed';
        c.reason = 'away';
        rememberPast(c);
        set({ chat: c, view: ['history', 'ticket', 'past'].includes(state.view) ? state.view : 'ended' });
        learnFate(c);
      }
      return;
    }
    case 'ack':
      onAck(f, sent);
      return;
    case 'error':
      onError(f, sent);
      return;
  }
  if (!c || (f.chat_id && c.id && f.chat_id !== c.id)) return;
  if (!c.id && f.chat_id) {
    // The chat's id can arrive before the start's ack (another tab started it).
    c.id = f.chat_id;
    socket.resolveStart(c.startID, c.id);
    socket.follow(c.id, 0);
  }
  switch (f.type) {
    case 'message': {
      const m = { seq: f.seq, text: f.text, from: f.from, at: f.at };
      const cid = f.from && f.from.kind === 'visitor' ? claimPending(c, f) : undefined;
      if (cid) m.cid = cid;
      const fresh = addMessage(c, m);
      if (fresh && f.from && f.from.kind !== 'visitor') {
        c.agentTyping = false;
        const seen = state.open && document.visibilityState === 'visible';
        if (!seen) {
          set({ unread: state.unread + 1 });
          toParent({ type: 'unread', count: state.unread });
          if (state.sound) beep();
        }
        emit('message', { text: f.text, from: f.from.name || '', at: f.at });
      }
      touch();
      markRead();
      return;
    }
    case 'chat.queued':
      Object.assign(c, { status: 'queued', unit: f.unit || c.unit, position: f.position, eta: f.eta_seconds, offline: !!f.offline });
      touch();
      return;
    case 'chat.assigned':
      Object.assign(c, { status: 'active', unit: f.unit || c.unit, agent: f.agent, position: 0 });
      touch();
      return;
    case 'chat.transferred':
      Object.assign(c, { status: 'queued', unit: f.unit || c.unit, agent: f.agent || null, position: 0, agentTyping: false });
      c.transfer = { unit: f.unit, reason: f.reason };
      touch();
      return;
    case 'chat.closed':
      if (c.status === 'escalated') return; // the ticket it became is the news
      Object.assign(c, { status: 'closed', reason: f.reason, agentTyping: false });
      rememberPast(c);
      set({ chat: c, view: ['history', 'ticket', 'past'].includes(state.view) ? state.view : 'ended' });
      emit('chat.ended', { reason: f.reason });
      return;
    case 'chat.escalated':
      Object.assign(c, { status: 'escalated', ticketID: f.ticket_id, agentTyping: false });
      rememberPast(c);
      set({ chat: c, view: ['history', 'ticket', 'past'].includes(state.view) ? state.view : 'ended' });
      emit('chat.ended', { reason: 'escalated', ticket_id: f.ticket_id });
      return;
    case 'typing':
      if (f.from && f.from.kind !== 'visitor') {
        c.agentTyping = !!f.on;
        c.typingName = f.from.name || '';
        clearTimeout(typingTimer);
        if (f.on) typingTimer = setTimeout(() => ((c.agentTyping = false), touch()), 8000);
        touch();
      }
      return;
    case 'read':
      if (f.from && f.from.kind !== 'visitor' && f.seq > c.readUpTo) {
        c.readUpTo = f.seq;
        touch();
      }
      return;
  }
}
let typingTimer = 0;

// claimPending finds the frame we sent that a copy of our own message
// answers when the copy comes before its ack (a resume's replay can), so
// the bubble shown while sending becomes that message instead of a second
// one. Frames of one chat are stored in the order sent: the first sent and
// unclaimed one with the same text is it.
function claimPending(c, f) {
  const known = c.messages.find((x) => x.seq === f.seq);
  if (known && known.cid) return known.cid;
  const claimed = new Set(c.messages.map((x) => x.cid).filter(Boolean));
  const p = socket.pending('message', c.id).find((i) => i.sent && !claimed.has(i.frame.client_id) && i.frame.text === f.text);
  return p ? p.frame.client_id : undefined;
}

// learnFate asks the chat's record how a chat that ended while we were
// away ended: closed (by whom), or escalated into a ticket to show.
async function learnFate(c) {
  const res = await api('GET', `/api/v1/transcripts/${encodeURIComponent(c.id)}?format=json`, { token: token() });
  if (state.chat !== c) return;
  const r = res.status === 200 && res.body;
  if (r) {
    if (r.status === 'escalated') Object.assign(c, { status: 'escalated', ticketID: r.ticket_id || '' });
    else if (r.close_reason) c.reason = r.close_reason;
    for (const m of r.messages || []) addMessage(c, { seq: m.seq, text: m.text, from: m.from, at: m.at });
    rememberPast(c);
    touch();
  }
  // The host hears of the end as if it had been there.
  emit('chat.ended', c.status === 'escalated' ? { reason: 'escalated', ticket_id: c.ticketID } : { reason: c.reason });
}

function onAck(f, sent) {
  if (!sent) return;
  const c = state.chat;
  switch (sent.type) {
    case 'chat.start': {
      if (!c || (c.startID !== sent.client_id && c.id && c.id !== f.chat_id)) return;
      c.id = f.chat_id;
      socket.follow(c.id, 0);
      if (f.existing) {
        // Another chat was open: show it, and put this text into it.
        socket.resume(c.id);
        socket.send({ type: 'message', chat_id: c.id, text: sent.text });
      } else {
        addMessage(c, { seq: 1, cid: sent.client_id, text: sent.text, from: { kind: 'visitor', id: state.visitorID, name: sent.name || '' }, at: new Date().toISOString() });
      }
      if (c.status === 'starting') c.status = 'queued';
      emit('chat.started', { chat_id: c.id });
      touch();
      return;
    }
    case 'message':
      if (c && f.seq && (sent.chat_id === c.id || !sent.chat_id)) {
        addMessage(c, { seq: f.seq, cid: sent.client_id, text: sent.text, from: { kind: 'visitor', id: state.visitorID, name: '' }, at: new Date().toISOString() });
        touch();
      }
      return;
    case 'chat.close':
      if (c && c.id === sent.chat_id && isOpenChat(c)) {
        Object.assign(c, { status: 'closed', reason: 'visitor_closed' });
        rememberPast(c);
        set({ chat: c, view: 'ended' });
      }
      return;
    case 'csat':
      if (c && c.csat) {
        c.csat.sent = true;
        touch();
      }
      return;
  }
}

function onError(f, sent) {
  const c = state.chat;
  if (!sent) return;
  if (['unavailable', 'internal', 'rate_limited'].includes(f.code)) return; // resent by the socket
  if (sent.type === 'chat.start') {
    if (c && c.startID === sent.client_id) {
      set({ chat: null, view: 'prechat', notice: t(`error.${f.code}`) === `error.${f.code}` ? t('error.generic') : t(`error.${f.code}`), draft: sent });
    }
    return;
  }
  if (sent.type === 'message' && c) {
    c.failed = c.failed || [];
    c.failed.push({ client_id: sent.client_id, text: sent.text, code: f.code, at: new Date().toISOString() });
    touch();
    return;
  }
  if (sent.type === 'csat' && c && c.csat) {
    c.csat.error = f.code;
    touch();
    return;
  }
  if (f.code === 'chat_closed' && c && isOpenChat(c)) {
    c.status = 'closed';
    set({ chat: c, view: 'ended' });
    return;
  }
  set({ notice: t('error.generic') });
}

// ---- actions the screens call ----
export const actions = {
  startChat({ name, email, unit, text }) {
    const s = startSocket();
    const frame = { type: 'chat.start', text, age_confirmed: true, unit: unit || 'auto' };
    if (name) frame.name = name;
    if (email) frame.email = email;
    const cid = s.send(frame);
    set({ chat: newChat(cid, text, unit === 'auto' ? '' : unit), view: 'chat', notice: '', draft: null });
    rememberName({ name, email });
  },
  send(text) {
    const c = state.chat;
    if (!c || !socket) return;
    if (c.id) socket.send({ type: 'message', chat_id: c.id, text });
    else socket.send({ type: 'message', text }, { after: c.startID });
    touch();
  },
  retry(item) {
    const c = state.chat;
    c.failed = (c.failed || []).filter((x) => x !== item);
    actions.send(item.text);
  },
  discard(item) {
    const c = state.chat;
    c.failed = (c.failed || []).filter((x) => x !== item);
    touch();
  },
  typing(on) {
    const c = state.chat;
    if (socket && c && c.id) socket.ephemeral({ type: 'typing', chat_id: c.id, on });
  },
  closeChat() {
    const c = state.chat;
    if (!c || !socket) return;
    if (c.closing) return;
    c.closing = true;
    if (c.id) socket.send({ type: 'chat.close', chat_id: c.id });
    else socket.send({ type: 'chat.close' }, { after: c.startID });
    touch();
  },
  rate(rating, comment) {
    const c = state.chat;
    if (!c || !c.id || !socket) return;
    c.csat = { rating, comment, sent: false };
    const f = { type: 'csat', chat_id: c.id, rating };
    if (comment) f.comment = comment;
    socket.send(f);
    touch();
  },
  newChat() {
    if (state.chat) rememberPast(state.chat);
    set({ chat: null, view: offlineEverywhere() ? 'offline' : 'prechat', notice: '' });
    refreshUnits();
  },
  show(view, extra = {}) {
    set({ view, notice: '', menu: false, backTo: null, ...extra });
  },
  back() {
    const c = state.chat;
    let view = 'prechat';
    if (state.backTo) {
      // Back to where this view was opened from (the list, or a ticket).
      set({ view: state.backTo, notice: '', past: null, ticket: state.backTo === 'ticket' ? state.ticket : null, backTo: null });
      return;
    }
    if (c && isOpenChat(c)) view = 'chat';
    else if (c && c.id) view = 'ended';
    else if (offlineEverywhere()) view = 'offline';
    set({ view, notice: '', ticket: null, past: null });
  },
  setOpen(open) {
    if (state.open === open) return;
    set({ open, menu: false });
    toParent({ type: 'state', open });
    if (open) {
      set({ unread: 0 });
      toParent({ type: 'unread', count: 0 });
      refreshUnits();
      markRead();
    }
  },
  async setLang(l) {
    const got = await setLang(l);
    state.userLang = got;
    set({ lang: got, menu: false });
    renderShell();
    toParent({ type: 'title', title: t('frame.title') });
  },
  toggleSound() {
    set({ sound: !state.sound, menu: false });
  },
  forget() {
    // The server forgets this device's token first, so it stops working
    // everywhere (another tab's socket holding it closes too), then the
    // device forgets everything it kept.
    const tok = token();
    if (tok) api('POST', '/api/v1/visitor/logout', { token: tok });
    if (socket) socket.stop(true);
    socket = null;
    forget();
    memoryToken = '';
    set({ chat: null, unread: 0, view: offlineEverywhere() ? 'offline' : 'prechat', menu: false, notice: t('forget.done') });
    toParent({ type: 'unread', count: 0 });
  },
  ensureToken,
  startSocket,
};

function rememberName(v) {
  try {
    sessionStorage.setItem('chatd.contact', JSON.stringify(v));
  } catch {
    /* not kept */
  }
}

export function offlineEverywhere(unit) {
  if (!state.units) return false;
  if (unit && unit !== 'auto') {
    const u = state.units.find((x) => x.name === unit);
    return !!u && u.agents_online === 0;
  }
  return state.units.every((u) => u.agents_online === 0);
}

async function refreshUnits() {
  const res = await api('GET', '/api/v1/units');
  if (res.status === 200 && res.body && Array.isArray(res.body.units)) {
    set({ units: res.body.units });
    if (state.view === 'loading') set({ view: firstView() });
  } else if (state.view === 'loading') {
    set({ view: firstView() });
  }
}

function firstView() {
  const c = state.chat;
  if (c && isOpenChat(c)) return 'chat';
  if (c && c.id) return 'ended';
  return offlineEverywhere() ? 'offline' : 'prechat';
}

function markRead() {
  const c = state.chat;
  if (!c || !c.id || !socket || !state.open || document.visibilityState !== 'visible') return;
  let seq = 0;
  for (const m of c.messages) if (m.from && m.from.kind !== 'visitor') seq = Math.max(seq, m.seq);
  if (seq > (c.readSent || 0)) {
    c.readSent = seq;
    socket.ephemeral({ type: 'read', chat_id: c.id, seq });
  }
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.open) {
    if (state.unread) {
      set({ unread: 0 });
      toParent({ type: 'unread', count: 0 });
    }
    markRead();
  }
});

// ---- the shell ----
const root = document.getElementById('root');
let els = null;
let shownView = '';

function connLabel(s) {
  return t(`conn.${s}`);
}

function renderShell() {
  const title = config.title || t('widget.title');
  const launcher = h(
    'button',
    { class: 'launcher', type: 'button', testid: 'launcher', 'aria-expanded': String(state.open), 'aria-label': t('launcher.open'), on: { click: () => actions.setOpen(!state.open) } },
    icon('chat', 'icon i-open'),
    icon('close', 'icon i-close'),
    h('span', { class: 'badge', testid: 'unread', 'aria-hidden': 'true' }),
  );
  const statusEl = h('p', { class: 'status', testid: 'status', 'aria-live': 'polite' });
  const connEl = h('span', { class: 'conn', testid: 'connection', role: 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'conn-text' }));
  const menuBtn = h('button', { class: 'hbtn', type: 'button', 'aria-label': t('menu.open'), 'aria-haspopup': 'true', 'aria-expanded': 'false', on: { click: () => set({ menu: !state.menu }) } }, icon('menu'));
  // Minimising hands the focus to the launcher, the one control left.
  const minBtn = h('button', { class: 'hbtn', type: 'button', 'aria-label': t('widget.minimize'), on: { click: () => { actions.setOpen(false); els.launcher.focus(); } } }, icon('close'));
  const menu = h('div', { class: 'menu', role: 'menu', 'aria-label': t('menu.open'), hidden: true, on: { keydown: menuKeys } });
  const notice = h('p', { class: 'notice', role: 'alert', hidden: true });
  const body = h('div', { class: 'body' });
  const panel = h(
    'section',
    { class: 'panel', 'aria-label': title, hidden: !state.open },
    h('header', { class: 'head' }, h('div', { class: 'head-text' }, h('h1', { class: 'title' }, title), statusEl), connEl, menuBtn, minBtn),
    menu,
    notice,
    body,
  );
  replace(root, panel, launcher);
  els = { launcher, statusEl, connEl, menuBtn, menu, notice, body, panel };
  shownView = '';
  update({});
}

function renderMenu() {
  const item = (label, fn, extra = {}) => h('button', { type: 'button', role: 'menuitem', tabindex: '-1', class: 'menu-item', on: { click: fn }, ...extra }, label);
  replace(
    els.menu,
    item(t('menu.history'), () => actions.show('history', { history: null })),
    item(state.sound ? t('menu.soundOff') : t('menu.soundOn'), () => actions.toggleSound()),
    item(lang() === 'tr' ? 'English' : 'Türkçe', () => actions.setLang(lang() === 'tr' ? 'en' : 'tr'), { lang: lang() === 'tr' ? 'en' : 'tr' }),
    item(t('menu.forget'), () => {
      if (confirmForget()) actions.forget();
    }),
  );
}

// menuKeys: a menu as WAI-ARIA describes it: arrows and Home/End move
// between items, Escape and Tab close it (Escape back to its button).
function menuKeys(ev) {
  const items = [...els.menu.querySelectorAll('[role=menuitem]')];
  const i = items.indexOf(document.activeElement);
  let next = -1;
  if (ev.key === 'ArrowDown') next = (i + 1) % items.length;
  else if (ev.key === 'ArrowUp') next = (i - 1 + items.length) % items.length;
  else if (ev.key === 'Home') next = 0;
  else if (ev.key === 'End') next = items.length - 1;
  else if (ev.key === 'Escape') {
    ev.preventDefault();
    ev.stopPropagation();
    set({ menu: false });
    els.menuBtn.focus();
    return;
  } else if (ev.key === 'Tab') {
    set({ menu: false });
    return;
  }
  if (next < 0) return;
  ev.preventDefault();
  items[next].focus();
}

function confirmForget() {
  return window.confirm(t('forget.confirm'));
}

function statusText() {
  const c = state.chat;
  if (state.view === 'offline') return t('status.offline');
  if (['ticketSent', 'ticket'].includes(state.view)) return t('status.written');
  if (!c || !['chat', 'ended'].includes(state.view)) return t('status.idle');
  switch (c.status) {
    case 'starting':
      return t('status.starting');
    case 'queued':
      if (c.offline) return t('status.offline');
      return c.position ? t('status.queued', { n: c.position }) : t('status.waiting');
    case 'active':
      return c.agent && c.agent.name ? t('status.active', { name: c.agent.name }) : t('status.activeNoName');
    case 'escalated':
      return t('status.escalated');
    default:
      return t('status.closed');
  }
}

function update(patch) {
  if (!els) return;
  const open = state.open;
  els.panel.hidden = !open;
  els.launcher.setAttribute('aria-expanded', String(open));
  els.launcher.setAttribute('aria-label', open ? t('launcher.close') : state.unread ? t('launcher.openUnread', { n: state.unread }) : t('launcher.open'));
  root.classList.toggle('is-open', open);
  root.classList.toggle('is-full', state.full);
  root.classList.toggle('is-left', config.position === 'left');
  const badge = els.launcher.querySelector('.badge');
  badge.textContent = state.unread > 9 ? '9+' : String(state.unread);
  badge.hidden = !state.unread;
  // A live region: written only when its words change, so a screen
  // reader hears each change once.
  const status = statusText();
  if (els.statusEl.textContent !== status) els.statusEl.textContent = status;
  els.connEl.hidden = !socket;
  els.connEl.dataset.state = state.conn;
  const connText = els.connEl.querySelector('.conn-text');
  if (connText.textContent !== connLabel(state.conn)) connText.textContent = connLabel(state.conn);
  els.connEl.title = connLabel(state.conn);
  els.menu.hidden = !state.menu;
  els.menuBtn.setAttribute('aria-expanded', String(!!state.menu));
  if (!state.menu && 'menu' in patch && els.menu.contains(document.activeElement)) els.menuBtn.focus();
  if (state.menu && 'menu' in patch) {
    renderMenu();
    els.menu.querySelector('[role=menuitem]').focus();
  }
  els.notice.hidden = !state.notice;
  els.notice.textContent = state.notice;
  const view = views[state.view];
  if (!view && later[state.view]) loadView(state.view);
  if (state.view !== shownView) {
    shownView = state.view;
    if (view) replace(els.body, view.render(ctx()));
    else replace(els.body, h('div', { class: 'loading', 'aria-busy': 'true' }, t('widget.loading')));
    els.body.dataset.view = state.view;
    if (open && view && view.focus) view.focus();
  } else if (view && view.update) {
    view.update(ctx(), patch);
  }
}

function ctx() {
  return { state, actions, config, socket, token };
}

subscribe(update);

// ---- messages from the embedding page ----
window.addEventListener('message', (ev) => {
  if (!embedded || ev.origin !== config.parent || ev.source !== window.parent) return;
  const m = ev.data;
  if (!m || m.chatd !== 1) return;
  switch (m.type) {
    case 'open':
      actions.setOpen(true);
      break;
    case 'close':
      actions.setOpen(false);
      break;
    case 'toggle':
      actions.setOpen(!state.open);
      break;
    case 'lang':
      actions.setLang(m.lang);
      break;
    case 'layout':
      set({ full: !!m.full });
      break;
    case 'identify':
      if (m.user_id && (!config.identity || config.identity.user_id !== m.user_id)) {
        const was = config.identity;
        config.identity = { user_id: m.user_id, user_hash: m.user_hash };
        if (was || storedToken()) {
          // A different customer on this device: start afresh as them, and
          // the token of the one before stops working.
          if (storedToken()) api('POST', '/api/v1/visitor/logout', { token: storedToken() });
          if (socket) socket.stop(true);
          socket = null;
          forget();
          set({ chat: null, view: 'prechat', unread: 0 });
        }
        startSocket();
      }
      break;
  }
});

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && state.open) {
    if (state.menu) set({ menu: false });
    else {
      actions.setOpen(false);
      els.launcher.focus();
    }
  }
});

// ---- boot ----
async function boot() {
  restore();
  if (config.accent) {
    document.documentElement.style.setProperty('--accent', config.accent);
    document.documentElement.style.setProperty('--on-accent', onAccent(config.accent));
  }
  const l = await setLang(state.userLang || pickLang(config.lang));
  state.lang = l;
  state.config = config;
  if (!embedded) state.open = true; // opened on its own: a full page chat
  renderShell();
  toParent({ type: 'ready' });
  toParent({ type: 'title', title: t('frame.title') });
  toParent({ type: 'state', open: state.open });
  toParent({ type: 'unread', count: state.unread });
  if (storedToken() || config.identity) startSocket();
  refreshUnits();
}

// onAccent picks black or white text, whichever reads better on the accent.
function onAccent(hex) {
  let x = hex.slice(1);
  if (x.length === 3) x = [...x].map((c) => c + c).join('');
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(x.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const L = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? '#111111' : '#ffffff';
}

boot();
