// The written queue: a unit's open tickets, oldest first, and one ticket's
// thread with a reply box and its status. It needs the ticket API; where
// the server answers 404 the pane says so.

import { h, replace, api, linkify, dateTime, errorCode } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';

const STATUSES = ['open', 'pending', 'solved', 'closed'];
let list;
let detail;
let filter;
let selected = '';
let act;

export function renderList({ actions }) {
  act = actions;
  filter = h('select', { id: 'tk-filter', 'aria-label': t('tickets.filter'), on: { change: () => load() } },
    STATUSES.map((s) => h('option', { value: s }, t(`state.${s}`))));
  list = h('ul', { class: 'ticket-list', testid: 'tickets', 'aria-label': t('tickets.title') });
  return h('section', null, h('div', { class: 'pane-head' }, h('h2', { class: 'pane-title' }, t('tickets.title')), filter), list);
}

export function renderDetail() {
  detail = h('section', { class: 'ticket-detail', 'aria-label': t('tickets.detail') }, h('p', { class: 'muted pad' }, t('tickets.pick')));
  return detail;
}

let cannedList = null;
async function loadCanned() {
  if (cannedList) return;
  const res = await api('GET', '/api/v1/canned-replies');
  cannedList = res.status === 200 && res.body ? res.body.items || [] : [];
}

export async function load() {
  if (!list) return;
  replace(list, h('li', { class: 'muted pad' }, t('tickets.loading')));
  const res = await api('GET', `/api/v1/tickets?status=${encodeURIComponent(filter.value)}&limit=50`);
  if (res.status !== 200 || !res.body) {
    replace(list, h('li', { class: 'empty-state' }, h('p', null, res.status === 404 ? t('tickets.unavailable') : t('error.generic'))));
    return;
  }
  const items = res.body.items || [];
  if (!items.length) {
    replace(list, h('li', { class: 'empty-state' }, h('p', null, t('tickets.empty'))));
    return;
  }
  replace(list, ...items.map((tk) => h('li', null, h('button', {
    type: 'button', class: `ticket-item${tk.id === selected ? ' selected' : ''}`, testid: 'ticket-item', 'data-ticket-id': tk.id,
    on: { click: () => open(tk.id) },
  }, h('span', { class: 'ci-name' }, tk.subject || tk.id.slice(0, 8)),
  h('span', { class: 'ci-meta' }, h('span', { class: 'pill unit' }, unitName(tk.unit)), h('span', { class: 'muted small' }, dateTime(tk.created_at, lang())))))));
}

async function open(id) {
  selected = id;
  replace(detail, h('p', { class: 'muted pad' }, t('tickets.loading')));
  const res = await api('GET', `/api/v1/tickets/${encodeURIComponent(id)}`);
  if (res.status !== 200 || !res.body) {
    replace(detail, h('p', { class: 'muted pad' }, res.status === 404 ? t('tickets.unavailable') : t('error.generic')));
    return;
  }
  const tk = res.body.ticket || res.body;
  const replies = tk.replies || res.body.replies || [];
  const status = h('select', { id: 'tk-status', testid: 'ticket-status' }, STATUSES.map((s) => h('option', { value: s }, t(`state.${s}`))));
  status.value = tk.status || 'open';
  status.addEventListener('change', async () => {
    const r = await api('PATCH', `/api/v1/tickets/${encodeURIComponent(id)}`, { body: { status: status.value } });
    act.toast(r.status === 200 ? t('tickets.statusSaved') : t('error.generic'));
    load();
  });
  const input = h('textarea', { id: 'tk-reply', rows: '4', testid: 'ticket-composer', 'aria-label': t('tickets.reply') });
  const internal = h('input', { id: 'tk-internal', type: 'checkbox', testid: 'ticket-internal' });
  // Standard replies of the ticket's unit (and of every unit), in the
  // console's language first; picking one puts its text in the reply box.
  const canned = h('select', { id: 'tk-canned', 'aria-label': t('tickets.canned'), testid: 'ticket-canned', on: { change: () => {
    const r = cannedList.find((c) => c.id === canned.value);
    if (r) input.value = input.value ? `${input.value}\n${r.text}` : r.text;
    canned.value = '';
    input.focus();
  } } }, h('option', { value: '' }, t('tickets.canned')));
  loadCanned().then(() => {
    const mine = cannedList.filter((r) => !r.unit || r.unit === tk.unit).sort((a, b) => (a.lang === lang() ? -1 : 0) - (b.lang === lang() ? -1 : 0));
    canned.append(...mine.map((r) => h('option', { value: r.id }, r.title)));
  });
  const form = h('form', {
    class: 'compose',
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        const r = await api('POST', `/api/v1/tickets/${encodeURIComponent(id)}/replies`, { body: internal.checked ? { text, internal: true } : { text } });
        if (r.status === 201 || r.status === 200) open(id);
        else act.toast(`${t('error.generic')} (${errorCode(r) || r.status})`);
      },
    },
  }, input, h('div', { class: 'compose-tools' }, canned, h('label', { for: 'tk-internal', class: 'small-label' }, internal, ' ', t('tickets.asNote')),
    h('button', { type: 'submit', class: 'primary send', testid: 'ticket-send' }, t('tickets.send'))));
  const first = tk.text ? [{ text: tk.text, from: tk.from || { kind: 'visitor', name: tk.requester_name || '' }, at: tk.created_at }] : [];
  replace(detail,
    h('header', { class: 'conv-head' }, h('div', { class: 'conv-names' }, h('h2', { class: 'conv-title' }, tk.subject || id), h('p', { class: 'conv-sub' }, [unitName(tk.unit), tk.email || ''].filter(Boolean).join(' · '))),
      h('div', { class: 'conv-actions' }, h('label', { for: 'tk-status', class: 'small-label' }, t('tickets.status')), status)),
    h('div', { class: 'messages', 'aria-label': t('tickets.thread') }, [...first, ...replies].map((r) => {
      const own = r.from ? r.from.kind !== 'visitor' : r.author_kind !== 'visitor';
      const who = (r.from && r.from.name) || (own ? t('conv.you') : t('visitor.customer'));
      return h('div', { class: `msg ${r.internal ? 'note' : own ? 'own' : 'visitor'}`, testid: r.internal ? 'ticket-note' : null }, h('p', { class: 'who' }, r.internal ? `${who} · ${t('tickets.internal')}` : who),
        h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(r.text || r.body || ''))), h('p', { class: 'meta' }, dateTime(r.at || r.created_at, lang())));
    })),
    form);
}
