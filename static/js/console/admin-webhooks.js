// Admin: webhooks. Subscribe a URL to events (the signing secret is shown
// once), list, delete; each webhook's delivery log with its status,
// attempts and last answer, and a button to send a delivery again.

import { h, replace, api, dateTime } from '../dom.js';
import { t, lang } from '../i18n.js';
import { field, checkGroup, table, confirm, formDialog, focusAfterClose, errorText, sectionHead, msgBox, message, secretBox, refocus } from './admin-ui.js';

export const EVENTS = ['chat.closed', 'chat.escalated', 'ticket.created', 'ticket.updated', 'ticket.replied', 'ticket.merged'];

let box;
let ctx;
let els;
let shown = null; // the webhook whose log is open
let pollTimer = 0;

export function render(el, context) {
  box = el;
  ctx = context;
  shown = null;
  clearTimeout(pollTimer);
  els = {
    reveal: h('div', { class: 'admin-reveal' }),
    list: h('div', { class: 'admin-body', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('admin.loading'))),
    err: msgBox(),
    log: h('section', { class: 'admin-log', testid: 'deliveries', hidden: true, 'aria-labelledby': 'wh-log-title' }),
  };
  replace(box,
    sectionHead(t('admin.webhooks.title'), t('admin.webhooks.lead'),
      h('button', { type: 'button', class: 'primary', testid: 'webhook-new', on: { click: () => create() } }, t('admin.webhooks.new'))),
    els.reveal, els.err, els.list, els.log);
  load();
}

function create() {
  const url = h('input', { type: 'url', maxlength: '2000', autocomplete: 'off', testid: 'webhook-url', placeholder: 'https://example.com/chatd', spellcheck: 'false' });
  const events = checkGroup(t('admin.webhooks.events'), EVENTS.map((e) => ({ value: e, label: t(`admin.event.${e}`) })), [], { testid: 'webhook-events' });
  formDialog({
    title: t('admin.webhooks.new'),
    fields: [field(t('admin.webhooks.url'), url, { hint: t('admin.webhooks.urlHint') }), events.el],
    submitLabel: t('admin.webhooks.create'),
    submitTestid: 'webhook-create',
    submit: async () => {
      let u;
      try {
        u = new URL(url.value.trim());
      } catch {
        u = null;
      }
      if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return t('admin.webhooks.errURL');
      const chosen = events.values();
      if (!chosen.length) return t('admin.webhooks.errEvents');
      const res = await api('POST', '/api/v1/webhooks', { body: { url: url.value.trim(), events: chosen } });
      if (res.status !== 201 || !res.body) return errorText(res);
      const s = secretBox({
        title: t('admin.webhooks.shownOnce'),
        lead: t('admin.webhooks.shownOnceLead'),
        value: res.body.secret || '',
        testid: 'webhook-secret',
        onDone: () => box.querySelector('[data-testid=webhook-new]').focus(),
      });
      replace(els.reveal, s);
      ctx.toast(t('admin.webhooks.created'));
      load();
      // Once the dialog has closed: the secret, selected, ready to copy.
      focusAfterClose(s.querySelector('input'));
      return '';
    },
  });
}

async function load() {
  const res = await api('GET', '/api/v1/webhooks');
  els.list.removeAttribute('aria-busy');
  if (res.status !== 200 || !res.body) {
    replace(els.list);
    message(els.err, errorText(res));
    return;
  }
  message(els.err, '');
  const items = res.body.items || [];
  replace(els.list, table({
    caption: t('admin.webhooks.list'),
    testid: 'webhooks',
    empty: t('admin.webhooks.empty'),
    cols: [{ label: t('admin.webhooks.url') }, { label: t('admin.webhooks.events') }, { label: t('admin.webhooks.createdAt') }, { label: t('admin.actions'), cls: 'actions' }],
    rows: items.map((w) => ({
      attrs: { testid: 'webhook-row', 'data-webhook-id': w.id, class: shown && shown.id === w.id ? 'picked' : null },
      cells: [
        h('span', { class: 'mono wrap' }, w.url),
        h('span', { class: 'pills' }, (w.events || []).map((e) => h('span', { class: 'pill' }, e))),
        dateTime(w.created_at, lang()),
        h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn small', testid: 'webhook-log', 'aria-label': t('admin.webhooks.logOf', { url: w.url }), on: { click: () => openLog(w) } }, t('admin.webhooks.log')),
          h('button', { type: 'button', class: 'btn small danger-outline', testid: 'webhook-delete', 'aria-label': t('admin.webhooks.deleteOf', { url: w.url }), on: { click: () => remove(w) } }, t('admin.delete'))),
      ],
    })),
  }));
  refocus(els.list);
  if (shown && !items.some((w) => w.id === shown.id)) {
    shown = null;
    els.log.hidden = true;
  }
}

async function remove(w) {
  const ok = await confirm({ title: t('admin.webhooks.deleteTitle'), text: t('admin.webhooks.deleteText', { url: w.url }), ok: t('admin.delete') });
  if (!ok) return;
  const res = await api('DELETE', `/api/v1/webhooks/${encodeURIComponent(w.id)}`);
  if (res.status !== 204) {
    message(els.err, errorText(res));
    return;
  }
  ctx.toast(t('admin.webhooks.deleted'));
  load();
}

function openLog(w) {
  shown = { ...w, items: [], next: '' };
  for (const r of els.list.querySelectorAll('[data-webhook-id]')) r.classList.toggle('picked', r.dataset.webhookId === w.id);
  els.log.hidden = false;
  loadLog(false, true);
}

async function loadLog(more, focus) {
  clearTimeout(pollTimer);
  const w = shown;
  if (!w) return;
  const q = more && w.next ? `&cursor=${encodeURIComponent(w.next)}` : '';
  const res = await api('GET', `/api/v1/webhooks/${encodeURIComponent(w.id)}/deliveries?limit=25${q}`);
  if (shown !== w) return;
  const err = msgBox();
  if (res.status !== 200 || !res.body) message(err, errorText(res));
  else {
    const got = res.body.items || [];
    w.items = more ? [...w.items, ...got] : got;
    w.next = res.body.next_cursor || '';
  }
  const refresh = h('button', { type: 'button', class: 'btn small', testid: 'deliveries-refresh', on: { click: () => loadLog(false) } }, t('admin.refresh'));
  const close = h('button', { type: 'button', class: 'btn small', on: { click: () => { shown = null; els.log.hidden = true; clearTimeout(pollTimer); load(); } } }, t('dialog.close'));
  replace(els.log,
    h('div', { class: 'admin-log-head' },
      h('div', null, h('h3', { id: 'wh-log-title', class: 'admin-sub', tabindex: '-1' }, t('admin.webhooks.logTitle')), h('p', { class: 'muted small mono wrap' }, w.url)),
      h('div', { class: 'row-actions' }, refresh, close)),
    err,
    table({
      caption: t('admin.webhooks.logTitle'),
      testid: 'delivery-list',
      empty: t('admin.webhooks.noDeliveries'),
      cols: [{ label: t('admin.webhooks.event') }, { label: t('admin.webhooks.status') }, { label: t('admin.webhooks.attempts'), cls: 'num' }, { label: t('admin.webhooks.response') }, { label: t('admin.webhooks.time') }, { label: t('admin.actions'), cls: 'actions' }],
      rows: w.items.map((d) => ({
        attrs: { testid: 'delivery-row', 'data-delivery-id': d.id, 'data-status': d.status, 'data-delivered-at': d.delivered_at || '' },
        cells: [
          h('span', { class: 'mono' }, d.event),
          h('span', { class: `pill ${d.status === 'delivered' ? 'ok' : d.status === 'failed' ? 'bad' : 'wait'}` }, t(`admin.delivery.${d.status}`)),
          String(d.attempts || 0),
          response(d),
          h('div', { class: 'who-cell' }, h('span', null, dateTime(d.delivered_at || d.created_at, lang())),
            d.status === 'pending' && d.attempts > 0 ? h('span', { class: 'muted small' }, t('admin.webhooks.nextTry', { at: dateTime(d.next_attempt_at, lang()) })) : null),
          h('button', { type: 'button', class: 'btn small', testid: 'redeliver', 'aria-label': t('admin.webhooks.redeliverOf', { event: d.event }), on: { click: () => redeliver(d) } }, t('admin.webhooks.redeliver')),
        ],
      })),
    }),
    w.next ? h('div', { class: 'form-buttons' }, h('button', { type: 'button', class: 'btn', testid: 'deliveries-more', on: { click: () => loadLog(true) } }, t('admin.more'))) : null);
  if (focus) els.log.querySelector('#wh-log-title').focus();
  // While a delivery is on its way, the log follows it.
  if (w.items.some((d) => d.status === 'pending')) {
    pollTimer = setTimeout(() => {
      if (shown === w && box.isConnected && box.dataset.section === 'webhooks' && !document.hidden) loadLog(false);
    }, 2000);
  }
}

function response(d) {
  const parts = [];
  if (d.response_status) parts.push(`HTTP ${d.response_status}`);
  if (d.last_error && d.last_error !== `HTTP ${d.response_status}`) parts.push(d.last_error);
  if (!parts.length) return h('span', { class: 'muted' }, d.status === 'pending' ? t('admin.webhooks.notYet') : '—');
  return h('span', { class: `wrap ${d.status === 'delivered' ? '' : 'bad-text'}` }, parts.join(' · '));
}

async function redeliver(d) {
  const res = await api('POST', `/api/v1/webhooks/${encodeURIComponent(shown.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`);
  if (res.status !== 202 && res.status !== 200) {
    ctx.toast(errorText(res));
    return;
  }
  ctx.toast(t('admin.webhooks.redelivering'));
  loadLog(false);
}
