// The written queue: a unit's open tickets, oldest first, and one ticket's
// thread with a reply box and its status. It needs the ticket API; where
// the server answers 404 the pane says so.

import { h, replace, api, linkify, dateTime, errorCode } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';
import { state } from './store.js';

const STATUSES = ['open', 'pending', 'solved', 'closed'];
let list;
let detail;
let filter;
let selected = '';
let act;

let units;
let email;
let after;
let before;
let more;
let cursor = '';
let shownTickets = [];
let loads = 0; // counts reads, so only the latest one is shown

export function renderList({ actions }) {
  act = actions;
  filter = h('select', { id: 'tk-filter', testid: 'tickets-status', 'aria-label': t('tickets.filter'), on: { change: () => load() } },
    STATUSES.map((s) => h('option', { value: s }, t(`state.${s}`))), h('option', { value: 'all' }, t('tickets.all')));
  units = h('select', { id: 'tk-unit', testid: 'tickets-unit', on: { change: () => load() } });
  email = h('input', { id: 'tk-email', type: 'email', testid: 'tickets-email', placeholder: 'name@example.com', on: { change: () => load() } });
  after = h('input', { id: 'tk-after', type: 'date', testid: 'tickets-after', on: { change: () => load() } });
  before = h('input', { id: 'tk-before', type: 'date', testid: 'tickets-before', on: { change: () => load() } });
  list = h('ul', { class: 'ticket-list', testid: 'tickets', 'aria-label': t('tickets.title') });
  more = h('button', { type: 'button', class: 'btn more', testid: 'tickets-more', hidden: true, on: { click: () => load(true) } }, t('tickets.more'));
  const filters = h('details', { class: 'tk-filters' }, h('summary', null, t('tickets.filters')),
    h('div', { class: 'field' }, h('label', { for: 'tk-unit' }, t('tickets.unit')), units),
    h('div', { class: 'field' }, h('label', { for: 'tk-email' }, t('tickets.email')), email),
    h('div', { class: 'tk-dates' },
      h('div', { class: 'field' }, h('label', { for: 'tk-after' }, t('tickets.after')), after),
      h('div', { class: 'field' }, h('label', { for: 'tk-before' }, t('tickets.before')), before)));
  return h('section', null,
    h('div', { class: 'pane-head' }, h('h2', { class: 'pane-title' }, t('tickets.title')), filter,
      h('button', { type: 'button', class: 'tbtn', testid: 'tickets-refresh', 'aria-label': t('tickets.refresh'), title: t('tickets.refresh'), on: { click: () => load() } }, '↻')),
    filters, list, more);
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

function age(at) {
  const s = Math.max(0, Math.round((Date.now() - new Date(at).getTime()) / 1000));
  if (s < 3600) return t('time.minutes', { n: Math.max(1, Math.floor(s / 60)) });
  if (s < 86400) return t('time.hours', { n: Math.floor(s / 3600) });
  return t('time.days', { n: Math.floor(s / 86400) });
}

function fillUnits() {
  const mine = state.me && state.me.role === 'admin' ? state.units : (state.me && state.me.units) || [];
  if (units.options.length === mine.length + 1) return;
  const v = units.value;
  replace(units, h('option', { value: '' }, t('tickets.allUnits')), mine.map((u) => h('option', { value: u }, unitName(u))));
  units.value = v;
}

function dayStart(v, plus) {
  const d = new Date(`${v}T00:00:00`);
  d.setDate(d.getDate() + plus);
  return d.toISOString();
}

// load reads the written queue with the filters; more=true reads the next
// page after the ones shown.
export async function load(append) {
  if (!list) return;
  fillUnits();
  if (!append) {
    cursor = '';
    shownTickets = [];
    replace(list, h('li', { class: 'muted pad' }, t('tickets.loading')));
  }
  const q = new URLSearchParams({ status: filter.value, limit: '50' });
  if (units.value) q.set('unit', units.value);
  if (email.value.trim()) q.set('email', email.value.trim());
  if (after.value) q.set('created_after', dayStart(after.value, 0));
  if (before.value) q.set('created_before', dayStart(before.value, 1));
  if (append && cursor) q.set('cursor', cursor);
  const gen = ++loads;
  const res = await api('GET', `/api/v1/tickets?${q}`);
  if (gen !== loads) return; // a newer read (other filters) is under way
  if (res.status !== 200 || !res.body) {
    replace(list, h('li', { class: 'empty-state' }, h('p', null, res.status === 404 ? t('tickets.unavailable') : `${t('error.generic')} (${errorCode(res) || res.status})`)));
    more.hidden = true;
    return;
  }
  const items = res.body.items || [];
  cursor = res.body.next_cursor || '';
  more.hidden = !cursor;
  shownTickets.push(...items);
  if (!shownTickets.length) {
    replace(list, h('li', { class: 'empty-state' }, h('p', null, t('tickets.empty'))));
    return;
  }
  const rows = items.map((tk) => h('li', null, h('button', {
    type: 'button', class: `ticket-item${tk.id === selected ? ' selected' : ''}`, testid: 'ticket-item', 'data-ticket-id': tk.id,
    on: { click: () => open(tk.id) },
  }, h('span', { class: 'ci-top' }, h('span', { class: 'ci-name' }, tk.subject || tk.id.slice(0, 8)), h('span', { class: 'tk-age', testid: 'ticket-age', title: dateTime(tk.created_at, lang()) }, age(tk.created_at))),
  h('span', { class: 'ci-meta' }, h('span', { class: 'pill unit' }, unitName(tk.unit)), h('span', { class: `pill st-${tk.status}` }, t(`state.${tk.status}`)), tk.email ? h('span', { class: 'muted small' }, tk.email) : null))));
  if (append) list.append(...rows);
  else replace(list, ...rows);
}

// ---- standard replies by "/" in the reply box ----
function slashReplies(input, box, unit) {
  let items = [];
  let index = 0;
  const close = () => {
    box.hidden = true;
    input.removeAttribute('aria-activedescendant');
  };
  const put = (r) => {
    input.value = r.text;
    close();
    input.focus();
  };
  const draw = async () => {
    const v = input.value;
    if (!v.startsWith('/') || v.includes('\n')) return close();
    await loadCanned();
    const q = v.slice(1).toLocaleLowerCase(lang());
    items = cannedList.filter((r) => !r.unit || r.unit === unit)
      .filter((r) => !q || `${r.title} ${r.text}`.toLocaleLowerCase(lang()).includes(q))
      .sort((a, b) => (a.lang === lang() ? -1 : 0) - (b.lang === lang() ? -1 : 0)).slice(0, 8);
    index = Math.min(index, Math.max(0, items.length - 1));
    box.hidden = false;
    if (!items.length) {
      replace(box, h('li', { class: 'canned-empty', role: 'option', 'aria-disabled': 'true' }, t('canned.none')));
      return;
    }
    replace(box, ...items.map((r, i) => h('li', { id: `tk-canned-${i}`, role: 'option', class: 'canned-item', 'aria-selected': String(i === index),
      on: { mousedown: (ev) => { ev.preventDefault(); put(r); } } }, h('strong', null, r.title), h('span', null, r.text))));
    input.setAttribute('aria-activedescendant', `tk-canned-${index}`);
  };
  input.addEventListener('input', draw);
  input.addEventListener('keydown', (ev) => {
    if (box.hidden) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (items.length) index = (index + (ev.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
      draw();
    } else if ((ev.key === 'Enter' || ev.key === 'Tab') && items.length) {
      ev.preventDefault();
      put(items[index]);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      close();
    }
  });
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
  const input = h('textarea', { id: 'tk-reply', rows: '4', testid: 'ticket-composer', 'aria-label': t('tickets.reply'), placeholder: t('tickets.placeholder'), 'aria-autocomplete': 'list', 'aria-controls': 'tk-canned-list' });
  const slash = h('ul', { id: 'tk-canned-list', class: 'canned', role: 'listbox', 'aria-label': t('canned.title'), hidden: true });
  slashReplies(input, slash, tk.unit);
  // Merging: this ticket closes into another open or pending one.
  const others = shownTickets.filter((x) => x.id !== id && (x.status === 'open' || x.status === 'pending'));
  const into = h('select', { id: 'tk-into', testid: 'ticket-merge-into' }, h('option', { value: '' }, t('tickets.mergePick')),
    others.map((x) => h('option', { value: x.id }, `${x.subject || x.id.slice(0, 8)} · ${unitName(x.unit)}`)));
  const mergeForm = h('form', { class: 'tk-merge', on: { submit: async (ev) => {
    ev.preventDefault();
    if (!into.value) return;
    const r = await api('POST', `/api/v1/tickets/${encodeURIComponent(id)}/merge`, { body: { into: into.value } });
    if (r.status === 200) {
      act.toast(t('tickets.merged'));
      const target = into.value;
      await load();
      open(target);
    } else act.toast(`${t('error.generic')} (${errorCode(r) || r.status})`);
  } } }, h('label', { for: 'tk-into', class: 'small-label' }, t('tickets.mergeInto')), into,
    h('button', { type: 'submit', class: 'btn', testid: 'ticket-merge' }, t('tickets.merge')));
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
  }, slash, input, h('div', { class: 'compose-tools' }, canned, h('label', { for: 'tk-internal', class: 'small-label' }, internal, ' ', t('tickets.asNote')),
    h('button', { type: 'submit', class: 'primary send', testid: 'ticket-send' }, t('tickets.send'))));
  const first = tk.text ? [{ text: tk.text, from: tk.from || { kind: 'visitor', name: tk.requester_name || '' }, at: tk.created_at }] : [];
  replace(detail,
    h('header', { class: 'conv-head' }, h('div', { class: 'conv-names' }, h('h2', { class: 'conv-title' }, tk.subject || id), h('p', { class: 'conv-sub' }, [unitName(tk.unit), tk.email || ''].filter(Boolean).join(' · '))),
      h('div', { class: 'conv-actions' }, h('label', { for: 'tk-status', class: 'small-label' }, t('tickets.status')), status)),
    tk.status === 'open' || tk.status === 'pending' ? mergeForm : null,
    h('div', { class: 'messages', 'aria-label': t('tickets.thread') }, [...first, ...replies].map((r) => {
      const own = r.from ? r.from.kind !== 'visitor' : r.author_kind !== 'visitor';
      const who = (r.from && r.from.name) || (own ? t('conv.you') : t('visitor.customer'));
      return h('div', { class: `msg ${r.internal ? 'note' : own ? 'own' : 'visitor'}`, testid: r.internal ? 'ticket-note' : null }, h('p', { class: 'who' }, r.internal ? `${who} · ${t('tickets.internal')}` : who),
        h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(r.text || r.body || ''))), h('p', { class: 'meta' }, dateTime(r.at || r.created_at, lang())));
    })),
    form);
}
