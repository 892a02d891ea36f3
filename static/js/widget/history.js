// The visitor's past chats and tickets, and one ticket's written replies
// with a composer to answer in writing.

import { h, replace, api, linkify, dateTime, clock, icon } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';
import { pastChats } from './store.js';
import { downloadTranscript } from './transcript.js';

let els = null;

export function render(ctx) {
  clearInterval(poll);
  if (ctx.state.view === 'ticket') return renderTicket(ctx);
  if (ctx.state.view === 'past') return renderPast(ctx);
  return renderHistory(ctx);
}
let poll = 0;
const TICKET_POLL = 15000;

function back(ctx) {
  return h('button', { type: 'button', class: 'back', on: { click: () => ctx.actions.back() } }, icon('back', 'icon small'), t('nav.back'));
}

function renderHistory(ctx) {
  const list = h('ul', { class: 'history-list', testid: 'history', 'aria-busy': 'true' });
  const note = h('p', { class: 'muted', role: 'status' }, t('history.loading'));
  els = { list, note };
  load(ctx);
  return h('div', { class: 'history' }, back(ctx), h('h2', { class: 'h2' }, t('history.title')), note, list);
}

// Shapes accepted: {items:[{kind, id, ...}]} or {chats:[...], tickets:[...]}.
function normalize(body) {
  if (!body) return [];
  if (Array.isArray(body.items)) return body.items.map((i) => ({ ...i, kind: i.kind || (i.subject !== undefined ? 'ticket' : 'chat') }));
  const out = [];
  for (const c of body.chats || []) out.push({ ...c, kind: 'chat' });
  for (const k of body.tickets || []) out.push({ ...k, kind: 'ticket' });
  return out.sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')));
}

async function load(ctx) {
  let items = [];
  let local = false;
  const tok = ctx.token();
  const res = tok ? await api('GET', '/api/v1/visitor/history', { token: tok }) : { status: 404 };
  if (res.status === 200) items = normalize(res.body);
  else {
    local = true;
    items = pastChats().map((c) => ({ kind: 'chat', id: c.id, unit: c.unit, status: c.status, created_at: c.at, text: c.text, ticket_id: c.ticket_id }));
    for (const c of items) if (c.ticket_id) items.push({ kind: 'ticket', id: c.ticket_id, unit: c.unit, status: 'open', created_at: c.created_at, subject: c.text });
  }
  els.list.removeAttribute('aria-busy');
  els.note.textContent = items.length ? (local ? t('history.local') : '') : t('history.empty');
  els.note.hidden = !els.note.textContent;
  replace(els.list, ...items.map((i) => item(ctx, i)));
}

function item(ctx, i) {
  const title = i.kind === 'ticket' ? i.subject || t('history.ticket') : i.text || i.first_message || t('history.chat');
  const open = () => {
    if (i.kind === 'ticket') ctx.actions.show('ticket', { ticket: { id: i.id }, backTo: 'history' });
    else ctx.actions.show('past', { past: { id: i.id, created_at: i.created_at }, backTo: 'history' });
  };
  return h('li', null, h('button', { type: 'button', class: 'history-item', testid: 'history-item', 'data-kind': i.kind, 'data-id': i.id, on: { click: open } },
    h('span', { class: `kind ${i.kind}` }, i.kind === 'ticket' ? t('history.ticket') : t('history.chat')),
    h('span', { class: 'h-title' }, title),
    h('span', { class: 'h-meta' }, [i.unit ? unitName(i.unit) : '', i.status ? t(`state.${i.status}`) : '', i.created_at ? dateTime(i.created_at, lang()) : ''].filter(Boolean).join(' · '))));
}

// renderPast shows a past chat, read-only, from its record on the server,
// with the transcript to download and the ticket it became, if any.
function renderPast(ctx) {
  const p = ctx.state.past || {};
  const head = h('div', { class: 'ticket-head' }, h('h2', { class: 'h2' }, p.created_at ? t('past.title', { date: dateTime(p.created_at, lang()) }) : t('history.chat')));
  const list = h('div', { class: 'messages compact', testid: 'messages', role: 'log', 'aria-label': t('chat.messages'), 'aria-busy': 'true' });
  const tools = h('div', { class: 'end-tools' });
  els = { head, list, tools };
  loadPast(ctx, p.id);
  return h('div', { class: 'history past-chat', testid: 'past-chat', 'data-id': p.id || '' }, back(ctx), head, list, tools);
}

async function loadPast(ctx, id) {
  const res = await api('GET', `/api/v1/transcripts/${encodeURIComponent(id)}?format=json`, { token: ctx.token() });
  els.list.removeAttribute('aria-busy');
  if (res.status !== 200 || !res.body) {
    replace(els.list, h('p', { class: 'muted' }, res.status === 404 ? t('past.unavailable') : t('error.generic')));
    return;
  }
  const r = res.body;
  els.head.append(h('p', { class: 'muted' }, [r.unit ? unitName(r.unit) : '', r.status ? t(`state.${r.status}`) : ''].filter(Boolean).join(' · ')));
  replace(els.list, ...(r.messages || []).map((m) => {
    const kind = m.from && m.from.kind === 'visitor' ? 'own' : (m.from && m.from.kind) || 'system';
    return h('div', { class: `msg ${kind}`, testid: 'message', 'data-seq': String(m.seq) },
      kind === 'agent' ? h('p', { class: 'who' }, (m.from && m.from.name) || t('chat.agent')) : null,
      h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text || ''))),
      h('p', { class: 'meta' }, clock(m.at, lang()))); // the day is in the heading
  }));
  const status = h('p', { class: 'tool-status', role: 'status' });
  replace(els.tools,
    r.ticket_id ? h('button', { type: 'button', class: 'secondary', on: { click: () => ctx.actions.show('ticket', { ticket: { id: r.ticket_id }, backTo: 'history' }) } }, t('past.openTicket')) : null,
    h('button', { type: 'button', class: 'secondary', testid: 'transcript', on: { click: async () => { status.textContent = t('transcript.working'); status.textContent = await downloadTranscript(ctx, { id, messages: r.messages || [] }, 'html'); } } }, icon('download', 'icon small'), t('transcript.download')),
    status);
}

function renderTicket(ctx) {
  const id = ctx.state.ticket && ctx.state.ticket.id;
  const box = h('div', { class: 'ticket', testid: 'ticket', 'aria-busy': 'true' });
  const replies = h('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('ticket.replies') });
  const input = h('textarea', { id: 'tk-reply', rows: '3', testid: 'ticket-composer', 'aria-label': t('ticket.composer'), placeholder: t('ticket.placeholder') });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const sendBtn = h('button', { type: 'submit', class: 'primary', testid: 'ticket-send' }, t('ticket.send'));
  const form = h('form', {
    class: 'ticket-form', novalidate: true,
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        sendBtn.disabled = true;
        const res = await api('POST', `/api/v1/tickets/${encodeURIComponent(id)}/replies`, { token: ctx.token(), body: { text } });
        sendBtn.disabled = false;
        if (res.status === 201 || res.status === 200) {
          input.value = '';
          err.hidden = true;
          loadTicket(ctx, id);
        } else {
          err.hidden = false;
          err.textContent = res.status === 404 ? t('ticket.unavailable') : t('error.generic');
        }
      },
    },
  }, h('label', { for: 'tk-reply', class: 'small-label' }, t('ticket.composer')), input, err, sendBtn);
  const head = h('div', { class: 'ticket-head' });
  els = { box, replies, head, form, seen: -1 };
  box.append(head, replies, form);
  loadTicket(ctx, id);
  // While it is open, new written replies show up by themselves.
  poll = setInterval(() => {
    if (!box.isConnected) clearInterval(poll);
    else if (ctx.state.open && document.visibilityState === 'visible') loadTicket(ctx, id);
  }, TICKET_POLL);
  return h('div', { class: 'history' }, back(ctx), box);
}

async function loadTicket(ctx, id) {
  const res = await api('GET', `/api/v1/tickets/${encodeURIComponent(id)}`, { token: ctx.token() });
  if (!els.box || !els.box.isConnected) return;
  els.box.removeAttribute('aria-busy');
  if (res.status !== 200 || !res.body) {
    replace(els.head, h('h2', { class: 'h2' }, t('ticket.title', { id: String(id).slice(0, 8) })), h('p', { class: 'muted' }, res.status === 404 ? t('ticket.unavailable') : t('error.generic')));
    return;
  }
  const tk = res.body.ticket || res.body;
  // An open ticket not yet answered shows its place in the unit's written
  // queue and the first reply the server expects from recent figures.
  const q = tk.queue;
  const place = q ? h('p', { class: 'muted', testid: 'ticket-queue' }, t('ticket.queue', { pos: String(q.position) }), ' ',
    q.expected_first_reply_seconds ? t('ticket.eta', { wait: fmtWait(q.expected_first_reply_seconds) }) : t('ticket.noEta')) : null;
  const moved = tk.merged_into ? h('p', { class: 'muted' }, t('ticket.merged', { id: String(tk.merged_into).slice(0, 8) })) : null;
  // A ticket made from a chat starts with that chat's transcript as text:
  // the customer reads the chat itself instead, as bubbles.
  const fromChat = tk.chat_id ? h('div', { class: 'card from-chat', testid: 'ticket-from-chat' },
    h('p', null, t('ticket.fromChat', { date: dateTime(tk.created_at, lang()) })),
    h('button', { type: 'button', class: 'secondary', on: { click: () => ctx.actions.show('past', { past: { id: tk.chat_id, created_at: tk.created_at }, backTo: 'ticket', ticket: { id } }) } }, t('ticket.readChat'))) : null;
  replace(els.head, h('h2', { class: 'h2' }, tk.subject || t('ticket.title', { id: String(id).slice(0, 8) })),
    h('p', { class: 'muted' }, [tk.unit ? unitName(tk.unit) : '', tk.status ? t(`state.${tk.status}`) : ''].filter(Boolean).join(' · ')), place, moved, fromChat);
  const rs = (tk.replies || res.body.replies || []).filter((r) => !r.internal);
  const first = tk.text && !tk.chat_id ? [{ text: tk.text, from: tk.from || { kind: 'visitor' }, at: tk.created_at }] : [];
  // The replies are a live region: only new ones are appended (a poll that
  // finds nothing new changes nothing), so each is announced once.
  const all = [...first, ...rs];
  if (all.length < els.replies.children.length) replace(els.replies);
  // Replies that came since the customer last read the ticket are marked new.
  const key = `chatd.seen.${id}`;
  let seen = all.length;
  try {
    seen = Number(localStorage.getItem(key) || all.length);
    localStorage.setItem(key, String(all.length));
  } catch {
    /* not kept: nothing is marked */
  }
  all.forEach((r, i) => {
    if (i < els.replies.children.length) return;
    const own = r.from ? r.from.kind === 'visitor' : r.author_kind === 'visitor';
    const fresh = !own && i >= seen;
    els.replies.append(h('div', { class: `msg ${own ? 'own' : 'agent'}${fresh ? ' new' : ''}`, testid: 'ticket-reply' },
      fresh ? h('p', { class: 'new-label' }, t('ticket.new')) : null,
      own ? null : h('p', { class: 'who' }, (r.from && r.from.name) || t('chat.agent')),
      h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(r.text || r.body || ''))),
      h('p', { class: 'meta' }, dateTime(r.at || r.created_at, lang()))));
  });
  els.seen = all.length;
  els.form.hidden = tk.status === 'closed';
}

function fmtWait(sec) {
  if (sec < 60) return t('queue.underMinute');
  if (sec < 5400) return t('queue.minutes', { n: Math.round(sec / 60) });
  return t('ticket.hours', { n: Math.round(sec / 3600) });
}

export function focus() {
  const el = els && (els.form ? els.form.querySelector('textarea') : null);
  if (el) el.focus();
}
