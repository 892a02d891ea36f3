// One conversation: messages and internal notes (set apart, so no one
// mistakes a note for a reply), delivery and read state, typing both ways,
// the composer with standard replies behind "/", and the chat's actions.

import { h, replace, linkify, clock, icon, api } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';
import { state, visitorName } from './store.js';
import * as dialogs from './dialogs.js';

let els = null;
let act;
let shown = '';
let typingOn = false;
let typingIdle = 0;

export function render({ actions }) {
  act = actions;
  const title = h('h2', { class: 'conv-title' });
  const sub = h('p', { class: 'conv-sub' });
  const transferBtn = h('button', { type: 'button', class: 'btn', testid: 'transfer', 'aria-keyshortcuts': 'Alt+T', on: { click: () => dialogs.transfer() } }, t('conv.transfer'));
  const escalateBtn = h('button', { type: 'button', class: 'btn', testid: 'escalate', 'aria-keyshortcuts': 'Alt+E', on: { click: () => dialogs.escalate() } }, t('conv.escalate'));
  const closeBtn = h('button', { type: 'button', class: 'btn danger-outline', testid: 'close-chat', 'aria-keyshortcuts': 'Alt+K', on: { click: () => actions.close() } }, t('conv.close'));
  const list = h('div', { class: 'messages', testid: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': t('conv.messages') });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  const input = h('textarea', { id: 'composer', class: 'composer', testid: 'composer', rows: '3', 'aria-label': t('conv.composer'), 'aria-autocomplete': 'list', 'aria-controls': 'canned' });
  const noteBtn = h('button', { type: 'button', class: 'mode', testid: 'note', 'aria-pressed': 'false', 'aria-keyshortcuts': 'Alt+N', on: { click: () => toggleMode() } }, icon('lock', 'icon small'), t('conv.noteMode'));
  const sendBtn = h('button', { type: 'submit', class: 'primary send', testid: 'send' }, t('conv.send'));
  const canned = h('ul', { id: 'canned', class: 'canned', role: 'listbox', 'aria-label': t('canned.title'), hidden: true });
  const hint = h('p', { class: 'compose-hint' }, t('conv.hint'));
  const form = h('form', {
    class: 'compose',
    on: {
      submit: (ev) => {
        ev.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        if (new TextEncoder().encode(text).length > (state.maxBytes || 4096)) {
          actions.toast(t('error.message_too_large'));
          return;
        }
        actions.send(text, state.mode);
        input.value = '';
        state.drafts[state.selected] = '';
        stopTyping();
        if (state.mode === 'note') toggleMode(false);
      },
    },
  }, canned, h('div', { class: 'compose-row' }, input), h('div', { class: 'compose-tools' }, noteBtn, hint, sendBtn));
  input.addEventListener('keydown', (ev) => {
    if (!canned.hidden && cannedKeys(ev)) return;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    state.drafts[state.selected] = input.value;
    updateCanned();
    if (state.mode === 'reply' && input.value.trim() && !input.value.startsWith('/')) {
      if (!typingOn) {
        typingOn = true;
        actions.typing(true);
      }
      clearTimeout(typingIdle);
      typingIdle = setTimeout(stopTyping, 3000);
    } else stopTyping();
  });
  const empty = h('div', { class: 'conv-empty' }, h('h2', null, t('conv.noneTitle')), h('p', { class: 'muted' }, t('conv.none')));
  const body = h('div', { class: 'conv-body' },
    h('header', { class: 'conv-head' }, h('div', { class: 'conv-names' }, title, sub), h('div', { class: 'conv-actions' }, transferBtn, escalateBtn, closeBtn)),
    banner, list, typing, form);
  els = { title, sub, list, typing, banner, input, form, noteBtn, sendBtn, canned, empty, body, transferBtn, escalateBtn, closeBtn };
  return h('section', { class: 'conversation', 'aria-label': t('conv.label') }, empty, body);
}

function stopTyping() {
  clearTimeout(typingIdle);
  if (typingOn) {
    typingOn = false;
    act.typing(false);
  }
}

export function toggleMode(on) {
  state.mode = on === undefined ? (state.mode === 'note' ? 'reply' : 'note') : on ? 'note' : 'reply';
  if (!els) return;
  const note = state.mode === 'note';
  els.noteBtn.setAttribute('aria-pressed', String(note));
  els.form.classList.toggle('is-note', note);
  els.input.placeholder = note ? t('conv.notePlaceholder') : t('conv.placeholder');
  els.sendBtn.textContent = note ? t('conv.addNote') : t('conv.send');
  if (note) stopTyping();
  els.input.focus();
}

export function focus() {
  if (els) els.input.focus();
}

// WINDOW rows of a chat are drawn at first; "show earlier" adds more. A
// long chat then opens as fast as a short one.
const WINDOW = 120;
let windowSize = WINDOW;
let drawn = new Map(); // row key -> {el, sig}: nodes kept between updates

export function update(what) {
  if (!els || !what) return;
  if (!(what.chat !== undefined || what.list || what.select || what.tab)) return;
  const c = state.chats.get(state.selected);
  // Events of other chats (and the list's timer) leave this one as it is.
  if (c && shown === c.id && !what.select && !what.tab && what.chat !== c.id) return;
  els.empty.hidden = !!c;
  els.body.hidden = !c;
  if (!c) return;
  if (shown !== c.id) {
    shown = c.id;
    stopTyping();
    els.input.value = state.drafts[c.id] || '';
    toggleMode(false);
    els.list.dataset.chatId = c.id;
    windowSize = WINDOW;
    drawn = new Map();
    els.list.replaceChildren();
    shownLen = -1;
  }
  setText(els.title, visitorName(c, t));
  setText(els.sub, [unitName(c.unit), c.priority > 0 ? t('chats.urgent') : '', c.createdAt ? t('conv.started', { time: clock(c.createdAt, lang()) }) : ''].filter(Boolean).join(' · '));
  const closed = !!c.ended;
  for (const b of [els.transferBtn, els.escalateBtn, els.closeBtn]) b.disabled = closed;
  els.form.hidden = closed;
  els.banner.hidden = !closed && !c.watching;
  els.banner.classList.toggle('look', !closed && !!c.watching);
  const bannerSig = closed ? `e:${c.ended}:${c.transferredTo}:${c.ticketID}` : c.watching ? `w:${c.watching}` : '';
  if (els.banner.dataset.sig !== bannerSig) {
    els.banner.dataset.sig = bannerSig;
    if (closed) {
      const why = t(`cended.${c.ended}Long`, { to: c.transferredTo || '', id: (c.ticketID || '').slice(0, 8) });
      replace(els.banner, h('p', null, why === `cended.${c.ended}Long` ? t('cended.closedLong') : why), h('button', { type: 'button', class: 'btn', on: { click: () => act.dismiss(c.id) } }, t('conv.dismiss')));
    } else if (c.watching) replace(els.banner, h('p', null, t('board.lookBanner', { agent: c.watching === '-' ? '' : c.watching })));
  }
  renderMessages(c);
  setText(els.typing, c.typing ? t('conv.typing', { name: visitorName(c, t) }) : '');
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// rows merges the chat's messages and notes (each already in seq order)
// by time, in one pass.
function rows(c) {
  const out = [];
  const a = c.messages;
  const b = c.notes;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && String(a[i].at) <= String(b[j].at))) out.push({ m: a[i++], kind: 'message' });
    else out.push({ m: b[j++], kind: 'note' });
  }
  return out;
}

function drawRow(c, r, status) {
  const m = r.m;
  if (r.kind === 'note') {
    return h('div', { class: 'msg note', testid: 'note-item', 'data-note-seq': String(m.seq) },
      h('p', { class: 'note-label' }, icon('lock', 'icon small'), t('conv.noteLabel', { name: (m.from && m.from.name) || '' })),
      h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text))),
      h('p', { class: 'meta' }, clock(m.at, lang())));
  }
  const kind = m.from ? m.from.kind : 'system';
  const own = kind === 'agent';
  if (kind === 'system') return h('div', { class: 'msg system', testid: 'message', 'data-seq': String(m.seq) }, h('p', { class: 'sys' }, m.text));
  return h('div', { class: `msg ${own ? 'own' : 'visitor'}`, testid: 'message', 'data-seq': String(m.seq) },
    h('p', { class: 'who' }, own ? m.from.name || t('conv.you') : visitorName(c, t)),
    h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text))),
    h('p', { class: 'meta' }, clock(m.at, lang()), status ? ` · ${status}` : ''));
}

// renderMessages brings the list up to date touching only what changed:
// a new message is one node appended, a read receipt one node redrawn, and
// the nodes kept keep the agent's text selection.
function renderMessages(c) {
  const list = els.list;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const all = rows(c);
  const from = Math.max(0, all.length - windowSize);
  let lastOwn = 0;
  for (let k = c.messages.length - 1; k >= 0; k--) {
    const m = c.messages[k];
    if (m.from && m.from.kind === 'agent' && m.from.id === state.me.id) {
      lastOwn = m.seq;
      break;
    }
  }
  const name = visitorName(c, t);
  const want = [];
  const keep = new Map();
  if (from > 0) {
    const more = drawn.get('more') || { el: h('button', { type: 'button', class: 'btn more', testid: 'earlier', on: { click: () => showEarlier(c) } }, t('conv.earlier')) };
    keep.set('more', more);
    want.push(more.el);
  }
  for (let k = from; k < all.length; k++) {
    const r = all[k];
    const m = r.m;
    const key = `${r.kind === 'note' ? 'n' : 'm'}${m.seq}`;
    let status = '';
    if (r.kind === 'message' && m.from && m.from.kind === 'agent' && m.seq === lastOwn) status = m.seq <= c.readUpTo ? t('msg.read') : t('msg.sent');
    const sig = `${m.text}\u0000${m.at}\u0000${status}\u0000${m.from && m.from.kind === 'visitor' ? name : ''}`;
    let d = drawn.get(key);
    if (!d || d.sig !== sig) d = { el: drawRow(c, r, status), sig };
    keep.set(key, d);
    want.push(d.el);
  }
  for (const p of act.pending(c.id)) {
    const note = p.frame.type === 'note';
    want.push(h('div', { class: `msg ${note ? 'note' : 'own'} pending`, testid: note ? 'note-item' : 'message', 'data-state': 'sending' },
      note ? h('p', { class: 'note-label' }, icon('lock', 'icon small'), t('conv.noteLabel', { name: state.me.name })) : null,
      h('div', { class: 'bubble' }, h('p', { class: 'text' }, p.frame.text)),
      h('p', { class: 'meta' }, t('msg.sending'))));
  }
  for (const f of c.failed || []) {
    want.push(h('div', { class: 'msg own failed' }, h('div', { class: 'bubble' }, h('p', { class: 'text' }, f.text)), h('p', { class: 'meta' }, t('msg.failed', { reason: f.code }))));
  }
  if (!want.length) want.push(h('div', { class: 'empty' }, t('conv.loading')));
  drawn = keep;
  // Bring the DOM in line: unchanged nodes stay where they are.
  const wanted = new Set(want);
  for (const el of [...list.children]) if (!wanted.has(el)) el.remove();
  let at = list.firstChild;
  for (const el of want) {
    if (at === el) at = at.nextSibling;
    else list.insertBefore(el, at);
  }
  const len = c.messages.length + c.notes.length;
  if (atBottom || shownLen !== len) list.scrollTop = list.scrollHeight;
  shownLen = len;
}
let shownLen = 0;

function showEarlier(c) {
  const list = els.list;
  const before = list.scrollHeight - list.scrollTop;
  windowSize += WINDOW;
  const len = c.messages.length + c.notes.length;
  shownLen = len;
  renderMessages(c);
  list.scrollTop = list.scrollHeight - before;
}

// ---- standard replies ----
let cannedItems = [];
let cannedIndex = 0;

async function loadCanned() {
  if (state.canned) return;
  state.canned = { loading: true, items: [] };
  const res = await api('GET', '/api/v1/canned-replies');
  if (res.status === 200 && res.body) {
    const items = Array.isArray(res.body) ? res.body : res.body.items || [];
    state.canned = { items };
  } else state.canned = { items: [], unavailable: res.status === 404 };
  updateCanned();
}

function updateCanned() {
  const v = els.input.value;
  if (!v.startsWith('/') || v.includes('\n')) {
    els.canned.hidden = true;
    return;
  }
  loadCanned();
  const q = v.slice(1).toLocaleLowerCase(lang());
  const c = state.chats.get(state.selected);
  const all = (state.canned && state.canned.items) || [];
  cannedItems = all
    .filter((r) => !r.unit || !c || r.unit === c.unit)
    .filter((r) => !q || `${r.title} ${r.text}`.toLocaleLowerCase(lang()).includes(q))
    .sort((a, b) => (a.lang === lang() ? -1 : 0) - (b.lang === lang() ? -1 : 0))
    .slice(0, 8);
  cannedIndex = Math.min(cannedIndex, Math.max(0, cannedItems.length - 1));
  els.canned.hidden = false;
  if (!cannedItems.length) {
    const msg = state.canned && state.canned.loading ? t('canned.loading') : state.canned && state.canned.unavailable ? t('canned.unavailable') : t('canned.none');
    replace(els.canned, h('li', { class: 'canned-empty', role: 'option', 'aria-disabled': 'true' }, msg));
    return;
  }
  replace(els.canned, ...cannedItems.map((r, i) => h('li', {
    id: `canned-${i}`, role: 'option', class: 'canned-item', 'aria-selected': String(i === cannedIndex),
    on: { mousedown: (ev) => { ev.preventDefault(); insert(r); } },
  }, h('strong', null, r.title), h('span', null, r.text))));
  els.input.setAttribute('aria-activedescendant', `canned-${cannedIndex}`);
}

function cannedKeys(ev) {
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    if (cannedItems.length) cannedIndex = (cannedIndex + (ev.key === 'ArrowDown' ? 1 : -1) + cannedItems.length) % cannedItems.length;
    updateCanned();
    return true;
  }
  if ((ev.key === 'Enter' || ev.key === 'Tab') && cannedItems.length) {
    ev.preventDefault();
    insert(cannedItems[cannedIndex]);
    return true;
  }
  if (ev.key === 'Escape') {
    ev.preventDefault();
    ev.stopPropagation();
    els.canned.hidden = true;
    return true;
  }
  return false;
}

function insert(r) {
  const c = state.chats.get(state.selected);
  const name = c ? visitorName(c, t) : '';
  els.input.value = r.text.replace(/\{name\}/g, name);
  els.canned.hidden = true;
  els.input.removeAttribute('aria-activedescendant');
  state.drafts[state.selected] = els.input.value;
  els.input.focus();
}
