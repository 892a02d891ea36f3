// Admin: the audit log, newest first, with the filters GET /api/v1/audit
// takes (actor, actor kind, action or action prefix, object kind and id,
// from and to) and paging by its cursor.

import { h, replace, api, dateTime } from '../dom.js';
import { t, lang } from '../i18n.js';
import { field, table, errorText, sectionHead, msgBox, message } from './admin-ui.js';

const PAGE = 50;
const KINDS = ['admin', 'supervisor', 'agent', 'apikey', 'visitor', 'system'];
const OBJECTS = ['agent', 'apikey', 'chat', 'ticket', 'visitor', 'webhook', 'delivery'];
const ACTIONS = ['auth.*', 'auth.login', 'auth.login_failed', 'auth.logout', 'agent.created', 'agent.changed', 'apikey.created', 'apikey.revoked',
  'webhook.created', 'webhook.deleted', 'webhook.redelivered', 'ticket.*', 'transcript.read', 'visitor.read', 'chat.*'];

let box;
let names = new Map(); // staff id -> name
let query = {};
let pages = ['']; // cursors of the pages seen, the first is ''
let page = 0;
let els;

export function render(el) {
  box = el;
  const c = {
    actor: h('select', { testid: 'audit-actor' }, h('option', { value: '' }, t('admin.audit.anyone'))),
    actorKind: h('select', { testid: 'audit-actor-kind' }, h('option', { value: '' }, t('admin.audit.anyKind')), KINDS.map((k) => h('option', { value: k }, t(`admin.kind.${k}`)))),
    action: h('input', { type: 'text', list: 'audit-actions', autocomplete: 'off', spellcheck: 'false', testid: 'audit-action', placeholder: 'agent.created, auth.*' }),
    objectKind: h('select', { testid: 'audit-object-kind' }, h('option', { value: '' }, t('admin.audit.anyObject')), OBJECTS.map((k) => h('option', { value: k }, t(`admin.object.${k}`)))),
    object: h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', testid: 'audit-object' }),
    from: h('input', { type: 'datetime-local', testid: 'audit-from' }),
    to: h('input', { type: 'datetime-local', testid: 'audit-to' }),
  };
  c.actor.value = query.actor || '';
  c.actorKind.value = query.actor_kind || '';
  c.action.value = query.action || '';
  c.objectKind.value = query.object_kind || '';
  c.object.value = query.object || '';
  c.from.value = localInput(query.from);
  c.to.value = localInput(query.to);
  const ferr = msgBox();
  const form = h('form', {
    class: 'admin-filters audit-filters',
    role: 'search',
    'aria-label': t('admin.filters'),
    novalidate: true,
    on: {
      submit: (ev) => {
        ev.preventDefault();
        message(ferr, '');
        const q = {};
        if (c.actor.value) q.actor = c.actor.value;
        if (c.actorKind.value) q.actor_kind = c.actorKind.value;
        const a = c.action.value.trim();
        if (a) {
          if (!/^[a-z0-9._-]+\*?$/.test(a)) {
            message(ferr, t('admin.audit.errAction'));
            c.action.focus();
            return;
          }
          q.action = a;
        }
        if (c.objectKind.value) q.object_kind = c.objectKind.value;
        if (c.object.value.trim()) q.object = c.object.value.trim();
        for (const k of ['from', 'to']) {
          if (!c[k].value) continue;
          const d = new Date(c[k].value);
          if (Number.isNaN(d.getTime())) {
            message(ferr, t('admin.audit.errTime'));
            c[k].focus();
            return;
          }
          q[k] = d.toISOString();
        }
        if (q.from && q.to && q.from >= q.to) {
          message(ferr, t('admin.audit.errRange'));
          c.to.focus();
          return;
        }
        query = q;
        pages = [''];
        page = 0;
        load();
      },
      reset: () => {
        message(ferr, '');
        query = {};
        pages = [''];
        page = 0;
        setTimeout(load);
      },
    },
  },
  h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
  h('div', { class: 'filter-grid' },
    field(t('admin.audit.actor'), c.actor),
    field(t('admin.audit.actorKind'), c.actorKind),
    field(t('admin.audit.action'), c.action, { hint: t('admin.audit.actionHint') }),
    field(t('admin.audit.objectKind'), c.objectKind),
    field(t('admin.audit.object'), c.object),
    field(t('admin.audit.from'), c.from),
    field(t('admin.audit.to'), c.to)),
  ferr,
  h('div', { class: 'form-buttons' },
    h('button', { type: 'reset', class: 'btn', testid: 'audit-clear' }, t('admin.audit.clear')),
    h('button', { type: 'submit', class: 'primary', testid: 'audit-apply' }, t('admin.audit.apply'))));
  els = {
    err: msgBox(),
    list: h('div', { class: 'admin-body', 'aria-live': 'polite' }),
    pager: h('nav', { class: 'pager', 'aria-label': t('admin.audit.pages') }),
  };
  // On a phone the filters fold away unless some are set.
  const active = Object.keys(query).length;
  const fold = h('details', { class: 'admin-card filter-fold', testid: 'audit-filters', open: active > 0 || !window.matchMedia('(max-width: 720px)').matches },
    h('summary', null, active ? t('admin.audit.filtersOn', { n: active }) : t('admin.filters')), form);
  replace(box, sectionHead(t('admin.audit.title'), t('admin.audit.lead')), fold, els.err, els.list, els.pager);
  loadNames(c.actor);
  load();
}

async function loadNames(select) {
  const res = await api('GET', '/api/v1/agents');
  if (res.status !== 200 || !res.body) return;
  names = new Map();
  const list = (res.body.items || []).slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
  for (const a of list) names.set(a.id, a.name);
  const keep = select.value || query.actor || '';
  select.append(...list.map((a) => h('option', { value: a.id }, `${a.name} (${a.email})`)));
  select.value = keep;
  // API keys are named by their names too.
  const keys = await api('GET', '/api/v1/apikeys');
  if (keys.status === 200 && keys.body) for (const k of keys.body.items || []) names.set(k.id, k.name);
  if (els && els.rows) draw(els.rows);
}

async function load() {
  replace(els.list, h('p', { class: 'muted' }, t('admin.loading')));
  const q = new URLSearchParams({ ...query, limit: String(PAGE) });
  if (pages[page]) q.set('cursor', pages[page]);
  const res = await api('GET', `/api/v1/audit?${q}`);
  if (res.status !== 200 || !res.body) {
    replace(els.list);
    replace(els.pager);
    message(els.err, errorText(res));
    return;
  }
  message(els.err, '');
  pages.length = page + 1;
  if (res.body.next_cursor) pages.push(res.body.next_cursor);
  els.rows = res.body.items || [];
  draw(els.rows);
}

function actorOf(r) {
  if (r.actor_kind === 'system' || !r.actor_id) return h('span', null, t('admin.kind.system'));
  const name = names.get(r.actor_id);
  return h('div', { class: 'who-cell' }, h('span', { class: name ? 'strong' : 'mono' }, name || short(r.actor_id)), h('span', { class: 'muted small' }, t(`admin.kind.${r.actor_kind}`)));
}

// localInput turns an RFC 3339 time into a datetime-local field's value.
function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function short(id) {
  return id && id.length > 13 ? `${id.slice(0, 8)}…` : id || '';
}

function draw(rows) {
  replace(els.list, table({
    caption: t('admin.audit.title'),
    testid: 'audit',
    empty: t('admin.audit.empty'),
    cols: [{ label: t('admin.audit.time') }, { label: t('admin.audit.actor') }, { label: t('admin.audit.action') }, { label: t('admin.audit.objectCol') }, { label: t('admin.audit.detail') }],
    rows: rows.map((r) => ({
      attrs: { testid: 'audit-row', 'data-action': r.action, 'data-object-id': r.object_id, 'data-seq': String(r.seq) },
      cells: [
        h('span', { class: 'nowrap' }, dateTime(r.at, lang())),
        actorOf(r),
        h('span', { class: 'mono' }, r.action),
        r.object_kind || r.object_id ? h('div', { class: 'who-cell' }, h('span', null, t(`admin.object.${r.object_kind}`) === `admin.object.${r.object_kind}` ? r.object_kind : t(`admin.object.${r.object_kind}`)),
          h('span', { class: 'mono small', title: r.object_id }, names.get(r.object_id) || short(r.object_id))) : '—',
        h('span', { class: 'detail wrap' }, r.detail || ''),
      ],
    })),
  }));
  const newer = h('button', { type: 'button', class: 'btn', testid: 'audit-newer', disabled: page === 0, on: { click: () => { page -= 1; load(); } } }, t('admin.audit.newer'));
  const older = h('button', { type: 'button', class: 'btn', testid: 'audit-older', disabled: page + 1 >= pages.length, on: { click: () => { page += 1; load(); } } }, t('admin.audit.older'));
  replace(els.pager, newer, h('span', { class: 'muted small', testid: 'audit-page' }, t('admin.audit.page', { n: page + 1 })), older);
}
