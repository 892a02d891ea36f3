// The console's state, in one place. Components read it; app.js changes
// it from frames and actions and calls emit() with what changed.

export const state = {
  me: null, // the logged-in staff member
  units: [],
  conn: 'connecting',
  presence: 'online', // what the agent chose; sent again after every reconnect
  chats: new Map(), // id -> chat (see ensureChat)
  order: [], // chat ids, oldest first
  selected: '',
  queues: {}, // unit -> [{chat_id, position, eta_seconds, priority}]
  agents: new Map(), // id -> {id, name, status, units, max_chats}
  tab: 'chats', // chats | queue | tickets | board
  mode: 'reply', // reply | note
  drafts: {}, // chat id -> text
  canned: null, // [{id, unit, lang, title, text}] or {error}
  toast: '',
};

export function ensureChat(id) {
  let c = state.chats.get(id);
  if (!c) {
    c = {
      id,
      unit: '',
      status: 'active',
      priority: 0,
      visitor: null,
      createdAt: '',
      messages: [], // by seq
      notes: [], // by note seq
      unread: 0,
      waitingSince: '', // the visitor's oldest unanswered message
      typing: false,
      readUpTo: 0, // highest of our seqs the visitor has read
      readSent: 0,
      ended: '', // why the chat left the agent: closed, escalated, transferred...
      ticketID: '',
      transferredTo: '',
      fresh: true,
    };
    state.chats.set(id, c);
    state.order.push(id);
  }
  return c;
}

export function removeChat(id) {
  state.chats.delete(id);
  state.order = state.order.filter((x) => x !== id);
  if (state.selected === id) state.selected = state.order[0] || '';
}

// add puts m into list by seq, once. Messages nearly always come in
// order, so the end is checked first and the rest is a binary search.
export function add(list, m) {
  const n = list.length;
  if (!n || list[n - 1].seq < m.seq) {
    list.push(m);
    return true;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].seq < m.seq) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo].seq === m.seq) {
    list[lo] = { ...list[lo], ...m };
    return false;
  }
  list.splice(lo, 0, m);
  return true;
}

// visitorName names the chat's customer from what is known of them.
export function visitorName(c, t) {
  if (c.visitor && c.visitor.name) return c.visitor.name;
  const m = c.messages.find((x) => x.from && x.from.kind === 'visitor' && x.from.name);
  if (m) return m.from.name;
  const id = (c.visitor && c.visitor.id) || c.visitorID || c.id;
  return t('visitor.anon', { id: String(id).slice(0, 4).toUpperCase() });
}

const subs = new Set();
export function subscribe(fn) {
  subs.add(fn);
}

// emit tells the components what changed. Changes are gathered and drawn
// once per frame: a burst of frames (a resume of a long chat, fifty chats
// at once) costs one redraw, not one each, so the socket is read as fast
// as the server writes.
let pending = null;
let chats = null;
export function emit(what) {
  if (!pending) {
    pending = {};
    chats = new Set();
    if (typeof document !== 'undefined' && document.hidden) setTimeout(flush, 50);
    else requestAnimationFrame(flush);
  }
  for (const [k, v] of Object.entries(what)) {
    if (k === 'chat') {
      if (v) chats.add(v);
      else if (!chats.size) pending.chat = v;
    } else pending[k] = pending[k] || v;
  }
}

export function flush() {
  if (!pending) return;
  const what = pending;
  const ids = chats;
  pending = null;
  chats = null;
  if (ids.size) {
    what.chat = ids.has(state.selected) ? state.selected : [...ids][0];
    what.chats = ids;
  }
  for (const fn of subs) fn(what);
}
