// The widget's state, in one place. Views read it and call the actions in
// app.js; every change goes through set(), which tells the subscribers and
// saves what a reload must find again (the chat, its messages, the unread
// count) in localStorage.

const KEY = 'chatd.widget.v1';
const PAST = 'chatd.past.v1';

export const state = {
  lang: 'en',
  open: false,
  full: false,
  view: 'loading', // prechat | chat | ended | offline | history | ticket | ticketSent
  conn: 'connecting',
  units: null, // [{name, agents_online}] once fetched
  config: {},
  visitorID: '',
  chat: null, // see newChat
  unread: 0,
  sound: true,
  notice: '', // a one-line message shown above the current view
  ticket: null, // the ticket being read: {id, data, error}
  history: null, // {items, error}
  draftTicket: null,
  menu: false,
};

export function newChat(startID, text, unit) {
  return {
    id: '',
    startID,
    status: 'starting', // starting | queued | active | closed | escalated
    unit: unit || '',
    agent: null,
    position: 0,
    eta: 0,
    offline: false,
    ticketID: '',
    reason: '',
    messages: [], // {seq, text, from, at}, by seq
    readUpTo: 0, // highest of our seqs the agent has read
    readSent: 0,
    agentTyping: false,
    csat: null, // {rating, comment, sent}
    firstText: text || '',
    startedAt: new Date().toISOString(),
  };
}

const subs = new Set();

export function subscribe(fn) {
  subs.add(fn);
}

export function set(patch) {
  Object.assign(state, patch);
  save();
  for (const fn of subs) fn(patch);
}

// touch tells subscribers that the chat changed in place.
export function touch(what = {}) {
  save();
  for (const fn of subs) fn({ chat: state.chat, ...what });
}

function save() {
  try {
    localStorage.setItem(KEY, JSON.stringify({ chat: state.chat, unread: state.unread, sound: state.sound, open: state.open, lang: state.userLang }));
  } catch {
    /* storage denied: the chat still works until the page goes */
  }
}

export function restore() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (!s) return;
    if (s.chat && Array.isArray(s.chat.messages)) state.chat = s.chat;
    state.unread = s.unread | 0;
    state.sound = s.sound !== false;
    state.open = !!s.open;
    state.userLang = s.lang || '';
  } catch {
    /* a damaged record is dropped */
  }
}

// Past chats this device took part in, for the history when the server's
// list is not available.
export function rememberPast(chat) {
  if (!chat || !chat.id) return;
  const list = pastChats().filter((c) => c.id !== chat.id);
  list.unshift({ id: chat.id, unit: chat.unit, status: chat.status, text: chat.firstText, at: chat.startedAt, ticket_id: chat.ticketID });
  try {
    localStorage.setItem(PAST, JSON.stringify(list.slice(0, 20)));
  } catch {
    /* not kept */
  }
}

export function pastChats() {
  try {
    const v = JSON.parse(localStorage.getItem(PAST) || '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export function forget() {
  for (const k of [KEY, PAST, 'chatd.token', 'chatd.identity', 'chatd.outbox.visitor']) {
    try {
      localStorage.removeItem(k);
    } catch {
      /* nothing stored */
    }
  }
}

// addMessage puts m in the chat's list by seq; a seq already there is
// kept once (the ack and the message frame of the same message meet here).
export function addMessage(chat, m) {
  const list = chat.messages;
  const i = list.findIndex((x) => x.seq >= m.seq);
  if (i >= 0 && list[i].seq === m.seq) {
    list[i] = { ...list[i], ...m };
    return false;
  }
  if (i < 0) list.push(m);
  else list.splice(i, 0, m);
  return true;
}
