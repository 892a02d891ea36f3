// The agent console: login, the live socket, and the frames that move the
// state. The screens and components are in their own modules.

import { Socket } from '../socket.js';
import { h, replace, api, errorCode, beep } from '../dom.js';
import { t, setLang, pickLang, lang } from '../i18n.js';
import { state, ensureChat, removeChat, add, emit, flush, subscribe, visitorName } from './store.js';
import * as login from './login.js';
import * as chatlist from './chatlist.js';
import * as conversation from './conversation.js';
import * as side from './side.js';
import * as queue from './queue.js';
import * as tickets from './tickets.js';
import * as board from './board.js';
import * as dialogs from './dialogs.js';
import * as admin from './admin.js';

const app = document.getElementById('app');
let socket = null;

function savedPrefs() {
  try {
    return JSON.parse(localStorage.getItem('chatd.console.prefs') || '{}');
  } catch {
    return {};
  }
}

function savePrefs() {
  try {
    localStorage.setItem('chatd.console.prefs', JSON.stringify({ lang: lang(), presence: state.presence, sound: state.sound !== false }));
  } catch {
    /* not kept */
  }
}

// ---- session ----
async function boot() {
  const prefs = savedPrefs();
  await setLang(prefs.lang || pickLang(''), 'console');
  state.presence = ['online', 'away', 'offline'].includes(prefs.presence) ? prefs.presence : 'online';
  state.sound = prefs.sound !== false;
  const me = await api('GET', '/api/v1/auth/me');
  if (me.status === 200 && me.body) start(me.body);
  else showLogin('');
}

function showLogin(message) {
  current = () => {};
  document.title = t('console.title');
  replace(app, login.render({ message, onLogin: start }));
  login.focus();
}

function start(me) {
  state.me = me;
  state.chats.clear();
  state.order = [];
  state.selected = '';
  state.tab = 'chats';
  renderWorkspace();
  socket = new Socket({
    scope: `agent.${me.id}`,
    url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/agent`,
    onFrame,
    onState: (conn) => {
      state.conn = conn;
      emit({ conn: true });
    },
    onClosed: () => ended(t('login.sessionEnded')),
    probe: async () => {
      const res = await api('GET', '/api/v1/auth/me');
      return res.status !== 401;
    },
  });
  socket.start();
  loadAgents();
}

function ended(message) {
  if (socket) socket.stop(false);
  socket = null;
  state.me = null;
  dialogs.closeAll();
  showLogin(message);
}

async function logout() {
  // Presence offline first, so no new chat comes while the session ends.
  if (socket && socket.ready) socket.send({ type: 'presence', status: 'offline' }, { replace: true });
  await api('POST', '/api/v1/auth/logout');
  if (socket) socket.stop(true);
  socket = null;
  state.me = null;
  showLogin(t('login.loggedOut'));
}

async function loadAgents() {
  if (state.me.role !== 'supervisor' && state.me.role !== 'admin') return;
  const res = await api('GET', '/api/v1/agents');
  if (res.status !== 200 || !res.body) return;
  const list = Array.isArray(res.body) ? res.body : res.body.items || res.body.agents || [];
  for (const a of list) {
    const known = state.agents.get(a.id) || { status: 'offline' };
    state.agents.set(a.id, { ...known, ...a, status: known.status });
  }
  emit({ agents: true });
}

// ---- frames ----
function onFrame(f, sent) {
  switch (f.type) {
    case 'hello':
      onHello(f);
      break;
    case 'ack':
      onAck(f, sent);
      break;
    case 'error':
      onError(f, sent);
      break;
    case 'chat.assigned':
      onAssigned(f);
      break;
    case 'message':
      onMessage(f);
      break;
    case 'note': {
      const c = state.chats.get(f.chat_id);
      if (c && add(c.notes, { seq: f.seq, text: f.text, from: f.from, at: f.at })) emit({ chat: c.id });
      break;
    }
    case 'typing': {
      const c = state.chats.get(f.chat_id);
      if (c && f.from && f.from.kind === 'visitor') {
        c.typing = !!f.on;
        clearTimeout(c.typingTimer);
        if (f.on) c.typingTimer = setTimeout(() => ((c.typing = false), emit({ chat: c.id })), 8000);
        emit({ chat: c.id });
      }
      break;
    }
    case 'read': {
      const c = state.chats.get(f.chat_id);
      if (c && f.from && f.from.kind === 'visitor' && f.seq > c.readUpTo) {
        c.readUpTo = f.seq;
        emit({ chat: c.id });
      }
      break;
    }
    case 'chat.transferred': {
      const c = state.chats.get(f.chat_id);
      if (!c) break;
      const toMe = f.agent && f.agent.id === state.me.id;
      if (!toMe) {
        c.ended = 'transferred';
        c.transferredTo = f.agent ? f.agent.name : t(`unit.${f.unit}`) === `unit.${f.unit}` ? f.unit : t(`unit.${f.unit}`);
        c.typing = false;
        socket.unfollow(c.id);
      }
      emit({ chat: c.id, list: true });
      break;
    }
    case 'chat.closed': {
      const c = state.chats.get(f.chat_id);
      if (c) {
        c.ended = f.reason || 'closed';
        c.typing = false;
        emit({ chat: c.id, list: true });
      }
      break;
    }
    case 'chat.escalated': {
      const c = state.chats.get(f.chat_id);
      if (c) {
        c.ended = 'escalated';
        c.ticketID = f.ticket_id;
        emit({ chat: c.id, list: true });
      }
      break;
    }
    case 'queue':
      state.queues[f.unit] = f.chats || [];
      emit({ queue: true });
      break;
    case 'visitor.online':
    case 'visitor.offline': {
      const c = state.chats.get(f.chat_id);
      if (c) {
        c.visitorOnline = f.type === 'visitor.online';
        c.visitorLeftAt = c.visitorOnline ? '' : f.left_at || new Date().toISOString();
        emit({ chat: c.id, list: true });
      }
      break;
    }
    case 'presence': {
      const a = f.agent;
      const known = state.agents.get(a.id) || {};
      state.agents.set(a.id, { ...known, id: a.id, name: a.name, status: f.status, units: f.units || known.units || [] });
      emit({ agents: true });
      break;
    }
  }
  updateTitle();
}

function onHello(f) {
  state.me = { ...state.me, ...(f.agent || {}) };
  state.units = f.units || [];
  state.maxBytes = f.max_message_bytes || 4096;
  const live = new Set();
  for (const ch of f.chats || []) {
    live.add(ch.id);
    const c = ensureChat(ch.id);
    c.unit = ch.unit;
    c.priority = ch.priority || 0;
    c.createdAt = ch.created_at;
    c.visitorID = ch.visitor_id;
    c.visitorOnline = ch.visitor_online;
    c.visitorLeftAt = ch.visitor_left_at || '';
    c.ended = '';
    c.watching = '';
    socket.follow(ch.id, contiguous(c.messages), contiguous(c.notes));
  }
  // Chats that left us while we were away; a supervisor's looks at other
  // agents' chats go on (the socket resumes them).
  for (const c of state.chats.values()) {
    if (!live.has(c.id) && !c.ended && !c.watching) {
      c.ended = 'moved';
      socket.unfollow(c.id);
    }
  }
  if (!state.selected && state.order.length) state.selected = state.order[0];
  socket.send({ type: 'presence', status: state.presence }, { replace: true });
  emit({ list: true, chat: state.selected, me: true });
}

function contiguous(list) {
  let n = 0;
  for (const m of list) {
    if (m.seq === n + 1) n = m.seq;
    else if (m.seq > n + 1) break;
  }
  return n;
}

function onAssigned(f) {
  if (!Array.isArray(f.history) || (f.agent && state.me && f.agent.id !== state.me.id)) {
    // Another agent's assignment of a chat we followed: it went to them.
    const c = state.chats.get(f.chat_id);
    if (c && f.agent && f.agent.id !== state.me.id) {
      c.ended = 'transferred';
      c.transferredTo = f.agent.name || c.transferredTo;
      socket.unfollow(c.id);
      emit({ chat: c.id, list: true });
    }
    return;
  }
  const known = state.chats.has(f.chat_id) && !state.chats.get(f.chat_id).ended;
  const c = ensureChat(f.chat_id);
  c.ended = '';
  c.unit = f.unit;
  if (f.visitor) c.visitor = f.visitor;
  if (f.chat) {
    c.priority = f.chat.priority || 0;
    c.createdAt = f.chat.created_at;
    c.visitorID = f.chat.visitor_id;
    c.visitorOnline = f.chat.visitor_online;
    c.visitorLeftAt = f.chat.visitor_left_at || '';
  }
  c.watching = '';
  let fromVisitor = 0;
  for (const m of f.history || []) {
    if (add(c.messages, { seq: m.seq, text: m.text, from: m.from, at: m.at }) && m.from.kind === 'visitor') fromVisitor++;
  }
  for (const m of f.notes || []) add(c.notes, { seq: m.seq, text: m.text, from: m.from, at: m.at });
  socket.follow(c.id, contiguous(c.messages), f.last_note || contiguous(c.notes));
  computeWaiting(c);
  if (!known) {
    if (state.selected !== c.id || document.hidden) c.unread += fromVisitor;
    announce(t('notify.newChat', { name: visitorName(c, t) }), c.messages.length ? c.messages[c.messages.length - 1].text : '');
    if (!state.selected) state.selected = c.id;
  }
  emit({ list: true, chat: c.id });
}

function onMessage(f) {
  const c = state.chats.get(f.chat_id);
  if (!c) return;
  const m = { seq: f.seq, text: f.text, from: f.from, at: f.at };
  const fresh = add(c.messages, m);
  if (!fresh) return;
  if (f.from.kind === 'visitor') {
    c.typing = false;
    const seen = state.selected === c.id && !document.hidden && state.tab === 'chats';
    if (!seen) {
      c.unread++;
      if (document.hidden) announce(t('notify.newMessage', { name: visitorName(c, t) }), f.text, true);
    }
  }
  computeWaiting(c, m);
  markRead(c);
  emit({ chat: c.id, list: true });
}

// computeWaiting keeps the time of the visitor's oldest unanswered
// message. Given the message just added at the end, it looks only at it.
function computeWaiting(c, m) {
  if (m && c.messages[c.messages.length - 1] === m) {
    if (m.from && m.from.kind === 'visitor') c.waitingSince = c.waitingSince || m.at;
    else if (m.from && m.from.kind === 'agent') c.waitingSince = '';
    return;
  }
  let since = '';
  for (const x of c.messages) {
    if (x.from && x.from.kind === 'visitor') {
      if (!since) since = x.at;
    } else if (x.from && x.from.kind === 'agent') since = '';
  }
  c.waitingSince = since;
}

function onAck(f, sent) {
  if (!sent) return;
  const c = sent.chat_id ? state.chats.get(sent.chat_id) : null;
  switch (sent.type) {
    case 'message':
      if (c && f.seq) {
        const m = { seq: f.seq, text: sent.text, from: { kind: 'agent', id: state.me.id, name: state.me.name }, at: new Date().toISOString() };
        if (add(c.messages, m)) computeWaiting(c, m);
      }
      break;
    case 'note':
      if (c && f.seq) add(c.notes, { seq: f.seq, text: sent.text, from: { kind: 'agent', id: state.me.id, name: state.me.name }, at: new Date().toISOString() });
      break;
    case 'chat.close':
      if (c && !c.ended) c.ended = 'agent_closed';
      break;
    case 'chat.escalate':
      if (c) {
        c.ended = 'escalated';
        c.ticketID = f.ticket_id || c.ticketID;
      }
      break;
    case 'chat.transfer':
      if (c && !c.ended) {
        c.ended = 'transferred';
        c.transferredTo = sent.agent_id ? (state.agents.get(sent.agent_id) || {}).name || '' : t(`unit.${sent.unit}`);
        socket.unfollow(c.id);
      }
      toast(t('transfer.done'));
      break;
    case 'presence':
      emit({ me: true });
      return;
  }
  emit({ chat: sent.chat_id, list: true });
}

function onError(f, sent) {
  if (['unavailable', 'internal', 'rate_limited'].includes(f.code) && sent) return; // the socket resends it
  const key = `error.${f.code}`;
  const text = t(key) === key ? `${t('error.generic')} (${f.code})` : t(key);
  if (sent && sent.type === 'message') {
    const c = state.chats.get(sent.chat_id);
    if (c) {
      c.failed = c.failed || [];
      c.failed.push({ text: sent.text, code: f.code });
      emit({ chat: c.id });
    }
  }
  if (sent && f.code === 'chat_closed') {
    const c = state.chats.get(sent.chat_id);
    if (c && !c.ended) c.ended = 'closed';
  }
  toast(sent ? t('error.frame', { what: t(`frame.${sent.type}`), why: text }) : text);
  emit({ chat: sent && sent.chat_id, list: true });
}

// ---- announcing ----
function announce(title, body, quiet) {
  if (state.sound !== false && !quiet) beep();
  else if (state.sound !== false && document.hidden) beep();
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    try {
      const n = new Notification(title, { body: body ? body.slice(0, 140) : '', tag: 'chatd', silent: true });
      n.onclick = () => {
        window.focus();
        n.close();
      };
    } catch {
      /* notifications not available here */
    }
  }
}

function updateTitle() {
  let n = 0;
  for (const c of state.chats.values()) n += c.unread;
  document.title = n ? `(${n}) ${t('console.title')}` : t('console.title');
}

let toastTimer = 0;
function toast(text) {
  state.toast = text;
  emit({ toast: true });
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    state.toast = '';
    emit({ toast: true });
  }, 6000);
}

function markRead(c) {
  if (!c || c.ended || state.selected !== c.id || document.hidden || !socket || state.tab !== 'chats') return;
  let seq = 0;
  for (let i = c.messages.length - 1; i >= 0; i--) {
    const m = c.messages[i];
    if (m.from && m.from.kind === 'visitor') {
      seq = m.seq;
      break;
    }
  }
  if (seq <= c.readSent) return;
  // One receipt for a burst of messages: the frame rate limit counts them.
  c.readWanted = Math.max(c.readWanted || 0, seq);
  if (c.readTimer) return;
  c.readTimer = setTimeout(() => {
    c.readTimer = 0;
    if (socket && c.readWanted > c.readSent) {
      c.readSent = c.readWanted;
      socket.ephemeral({ type: 'read', chat_id: c.id, seq: c.readSent });
    }
  }, 200);
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.selected) {
    const c = state.chats.get(state.selected);
    if (c && state.tab === 'chats') {
      c.unread = 0;
      markRead(c);
      emit({ list: true });
      updateTitle();
    }
  }
});

// ---- actions for the components ----
export const actions = {
  select(id) {
    if (!state.chats.has(id)) return;
    state.selected = id;
    state.tab = 'chats';
    const c = state.chats.get(id);
    c.unread = 0;
    markRead(c);
    emit({ list: true, chat: id, tab: true, select: true });
    updateTitle();
  },
  move(delta) {
    if (!state.order.length) return;
    const i = Math.max(0, state.order.indexOf(state.selected));
    const next = state.order[(i + delta + state.order.length) % state.order.length];
    actions.select(next);
  },
  send(text, mode) {
    const c = state.chats.get(state.selected);
    if (!c || c.ended || !socket) return;
    socket.send({ type: mode === 'note' ? 'note' : 'message', chat_id: c.id, text });
    emit({ chat: c.id });
  },
  typing(on) {
    const c = state.chats.get(state.selected);
    if (c && !c.ended && socket) socket.ephemeral({ type: 'typing', chat_id: c.id, on });
  },
  close() {
    const c = state.chats.get(state.selected);
    if (c && !c.ended && socket) socket.send({ type: 'chat.close', chat_id: c.id });
  },
  transfer({ unit, agentID, note }) {
    const c = state.chats.get(state.selected);
    if (!c || c.ended || !socket) return;
    if (note) socket.send({ type: 'note', chat_id: c.id, text: note });
    const f = { type: 'chat.transfer', chat_id: c.id };
    if (unit) f.unit = unit;
    if (agentID) f.agent_id = agentID;
    socket.send(f);
  },
  escalate(subject) {
    const c = state.chats.get(state.selected);
    if (!c || c.ended || !socket) return;
    const f = { type: 'chat.escalate', chat_id: c.id };
    if (subject) f.subject = subject;
    socket.send(f);
  },
  // look opens a chat of the supervisor's units that another agent holds
  // (from the board): the server logs the look and replays the chat, and
  // the console follows it from then on. transfer opens the transfer
  // dialog on it.
  look(info, transfer) {
    if (!socket || !info || !info.chat_id) return;
    const had = state.chats.get(info.chat_id);
    const c = ensureChat(info.chat_id);
    if (!had || had.ended) {
      c.ended = '';
      c.unit = info.unit || c.unit;
      c.priority = info.priority || 0;
      c.visitorID = info.visitor_id || c.visitorID;
      if (!c.visitor) c.visitor = { id: info.visitor_id, name: info.visitor_name || '' };
      c.createdAt = c.createdAt || info.since || '';
      c.watching = info.agent_name || '-';
      socket.follow(c.id, contiguous(c.messages), contiguous(c.notes));
      socket.resume(c.id);
    }
    actions.select(c.id);
    if (transfer) dialogs.transfer();
  },
  dismiss(id) {
    removeChat(id);
    emit({ list: true, chat: state.selected });
  },
  setPresence(status) {
    state.presence = status;
    savePrefs();
    if (socket) socket.send({ type: 'presence', status }, { replace: true });
    emit({ me: true });
  },
  setTab(tab) {
    state.tab = tab;
    emit({ tab: true, list: true });
    if (tab === 'chats') {
      const c = state.chats.get(state.selected);
      if (c) {
        c.unread = 0;
        markRead(c);
      }
      updateTitle();
    }
  },
  async setLang(l) {
    await setLang(l, 'console');
    savePrefs();
    renderWorkspace();
    updateTitle();
  },
  toggleSound() {
    state.sound = state.sound === false;
    savePrefs();
    emit({ me: true });
  },
  async notifications() {
    if ('Notification' in window) await Notification.requestPermission();
    emit({ me: true });
  },
  logout,
  toast,
  pending(chatID) {
    return socket ? socket.pending(null, chatID).filter((i) => i.frame.type === 'message' || i.frame.type === 'note') : [];
  },
};

// ---- the workspace ----
let current = () => {};
subscribe((what) => current(what));

function renderWorkspace() {
  const me = state.me;
  const presence = h(
    'select',
    { id: 'presence', testid: 'presence', class: 'presence', on: { change: (ev) => actions.setPresence(ev.target.value) } },
    ['online', 'away', 'offline'].map((s) => h('option', { value: s }, t(`presence.${s}`))),
  );
  presence.value = state.presence;
  const conn = h('span', { class: 'conn', testid: 'connection', role: 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'conn-text' }));
  const langSel = h('select', { id: 'lang', class: 'lang', 'aria-label': t('console.language'), on: { change: (ev) => actions.setLang(ev.target.value) } },
    h('option', { value: 'en' }, 'English'), h('option', { value: 'tr' }, 'Türkçe'));
  langSel.value = lang();
  const notifyBtn = h('button', { type: 'button', class: 'tbtn notify', on: { click: () => actions.notifications() } }, t('console.enableNotifications'));
  const soundBtn = h('button', { type: 'button', class: 'tbtn', 'aria-pressed': String(state.sound !== false), on: { click: () => actions.toggleSound() } }, t('console.sound'));
  const tabs = [
    ['chats', t('tab.chats')],
    ['queue', t('tab.queue')],
    ['tickets', t('tab.tickets')],
  ];
  if (me.role === 'supervisor' || me.role === 'admin') tabs.push(['board', t('tab.board')]);
  if (admin.visible(me)) tabs.push(['admin', t('tab.admin')]);
  const tabBar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('console.views') },
    tabs.map(([id, label]) => h('button', { type: 'button', role: 'tab', id: `tab-${id}`, class: 'tab', 'data-tab': id, 'aria-controls': `pane-${id}`, on: { click: () => actions.setTab(id) } }, label, id === 'chats' ? h('span', { class: 'tab-count' }) : null)));
  const top = h('header', { class: 'top' },
    h('div', { class: 'brand' }, h('img', { src: '/static/img/icon.svg', alt: '', width: '24', height: '24' }), h('span', null, 'chatd')),
    h('div', { class: 'me' }, h('span', { class: 'me-name' }, me.name), h('span', { class: 'role' }, t(`role.${me.role}`))),
    h('div', { class: 'top-tools' },
      conn,
      h('label', { for: 'presence', class: 'sr-only' }, t('presence.label')),
      presence,
      notifyBtn,
      soundBtn,
      langSel,
      h('button', { type: 'button', class: 'tbtn', 'aria-label': t('help.title'), on: { click: () => dialogs.help() } }, '?'),
      h('button', { type: 'button', class: 'tbtn', testid: 'logout', on: { click: () => logout() } }, t('console.logout'))));
  const leftPanes = h('div', { class: 'left-panes' },
    h('div', { id: 'pane-chats', role: 'tabpanel', 'aria-labelledby': 'tab-chats', class: 'pane' }, chatlist.render({ actions })),
    h('div', { id: 'pane-queue', role: 'tabpanel', 'aria-labelledby': 'tab-queue', class: 'pane' }, queue.render({ actions })),
    h('div', { id: 'pane-tickets', role: 'tabpanel', 'aria-labelledby': 'tab-tickets', class: 'pane' }, tickets.renderList({ actions })),
    me.role === 'supervisor' || me.role === 'admin' ? h('div', { id: 'pane-board', role: 'tabpanel', 'aria-labelledby': 'tab-board', class: 'pane' }, h('p', { class: 'muted pad' }, t('board.side'))) : null,
    admin.visible(me) ? h('div', { id: 'pane-admin', role: 'tabpanel', 'aria-labelledby': 'tab-admin', class: 'pane' }, admin.renderNav({ actions })) : null);
  const main = h('main', { class: 'main', id: 'main' }, conversation.render({ actions }), tickets.renderDetail({ actions }), board.render({ actions }), admin.visible(me) ? admin.render({ actions }) : null);
  const toastEl = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
  replace(app, h('div', { class: 'workspace' }, top, h('nav', { class: 'left', 'aria-label': t('console.views') }, tabBar, leftPanes), main, side.render({ actions })), toastEl, dialogs.mount({ actions }));
  const els = { presence, conn, tabBar, notifyBtn, soundBtn, toastEl };
  const refresh = (what) => {
    els.presence.value = state.presence;
    els.conn.dataset.state = state.conn;
    els.conn.querySelector('.conn-text').textContent = t(`conn.${state.conn}`);
    els.notifyBtn.hidden = !('Notification' in window) || Notification.permission !== 'default';
    els.soundBtn.setAttribute('aria-pressed', String(state.sound !== false));
    for (const b of els.tabBar.querySelectorAll('.tab')) {
      const on = b.dataset.tab === state.tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    for (const p of app.querySelectorAll('.pane')) p.hidden = p.id !== `pane-${state.tab}` && !(state.tab === 'board' && p.id === 'pane-board');
    let unread = 0;
    for (const c of state.chats.values()) unread += c.unread;
    const count = els.tabBar.querySelector('.tab-count');
    count.textContent = unread ? String(unread) : '';
    count.hidden = !unread;
    app.querySelector('.workspace').dataset.tab = state.tab;
    els.toastEl.textContent = state.toast;
    els.toastEl.hidden = !state.toast;
    if (what && what.tab && state.tab === 'tickets') tickets.load({ actions });
    if (what && what.tab && state.tab === 'board') board.load({ actions });
    if (what && what.tab && state.tab === 'admin') admin.load();
  };
  current = (what) => {
    refresh(what);
    chatlist.update(what);
    conversation.update(what);
    side.update(what);
    queue.update(what);
    board.update(what);
  };
  refresh({});
  emit({ list: true, chat: state.selected, queue: true, me: true });
}

// ---- keyboard ----
document.addEventListener('keydown', (ev) => {
  if (!state.me || !document.querySelector('.workspace')) return;
  const inField = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
  if (ev.altKey && !ev.ctrlKey && !ev.metaKey) {
    const k = ev.code;
    let done = true;
    if (k === 'ArrowDown') actions.move(1);
    else if (k === 'ArrowUp') actions.move(-1);
    else if (/^Digit[1-9]$/.test(k)) {
      const id = state.order[Number(k.slice(5)) - 1];
      if (id) actions.select(id);
    } else if (k === 'KeyN') conversation.toggleMode();
    else if (k === 'KeyT') dialogs.transfer();
    else if (k === 'KeyE') dialogs.escalate();
    else if (k === 'KeyK') actions.close();
    else if (k === 'KeyQ') actions.setTab('queue');
    else if (k === 'KeyC') {
      actions.setTab('chats');
      conversation.focus();
    } else if (k === 'KeyW') actions.setTab('tickets');
    else if (k === 'KeyB' && state.me.role !== 'agent') {
      actions.setTab('board');
      flush(); // shown now, so it can take the focus
      const b = document.querySelector('[data-testid=board]');
      if (b) b.focus();
    } else done = false;
    if (done) ev.preventDefault();
    return;
  }
  // The tab bar: arrows, Home and End move between the tabs (roving
  // tabindex) and open the one reached.
  if (ev.target.getAttribute && ev.target.getAttribute('role') === 'tab' && ['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) {
    const tabs = [...ev.target.parentElement.querySelectorAll('[role=tab]')];
    const i = tabs.indexOf(ev.target);
    const j = ev.key === 'Home' ? 0 : ev.key === 'End' ? tabs.length - 1 : (i + (ev.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    ev.preventDefault();
    actions.setTab(tabs[j].dataset.tab);
    tabs[j].focus();
    return;
  }
  if (!inField && ev.key === '?') {
    ev.preventDefault();
    dialogs.help();
  }
});

setInterval(() => emit({ list: true, tick: true }), 15000);

boot();
