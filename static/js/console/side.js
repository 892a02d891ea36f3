// The visitor panel beside the conversation: who they are, this chat, and,
// where the server offers them, their earlier chats and tickets and the
// chat's assignment record.

import { h, replace, api, dateTime } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';
import { state, visitorName } from './store.js';

let els = null;
let shownFor = '';

export function render() {
  const body = h('div', { class: 'vp-body' });
  const history = h('div', { class: 'vp-history' });
  const record = h('div', { class: 'vp-record' });
  els = { body, history, record };
  return h('aside', { class: 'visitor-panel', testid: 'visitor-panel', 'aria-label': t('visitor.title') },
    h('h2', { class: 'pane-title' }, t('visitor.title')), body, history, record);
}

function row(label, value) {
  return value ? h('div', { class: 'vp-row' }, h('dt', null, label), h('dd', null, value)) : null;
}

export function update(what) {
  if (!els || !what || !(what.chat !== undefined || what.list || what.select)) return;
  const c = state.chats.get(state.selected);
  if (!c) {
    replace(els.body, h('p', { class: 'muted' }, t('visitor.none')));
    replace(els.history);
    replace(els.record);
    shownFor = '';
    return;
  }
  const v = c.visitor || {};
  const email = v.email ? h('a', { href: `mailto:${v.email}` }, v.email) : '';
  replace(els.body,
    h('p', { class: 'vp-name' }, visitorName(c, t)),
    h('dl', { class: 'vp-list' },
      row(t('visitor.email'), email || t('visitor.noEmail')),
      row(t('visitor.unit'), unitName(c.unit)),
      row(t('visitor.priority'), c.priority > 0 ? t('chats.urgent') : t('visitor.normal')),
      row(t('visitor.started'), c.createdAt ? dateTime(c.createdAt, lang()) : ''),
      row(t('visitor.messages'), String(c.messages.length)),
      row(t('visitor.id'), (v.id || c.visitorID || '').slice(0, 8))));
  if (shownFor !== c.id) {
    shownFor = c.id;
    loadExtras(c);
  }
}

async function loadExtras(c) {
  const vid = (c.visitor && c.visitor.id) || c.visitorID;
  replace(els.history, h('h3', null, t('visitor.earlier')), h('p', { class: 'muted small' }, t('visitor.loading')));
  const hist = vid ? await api('GET', `/api/v1/visitors/${encodeURIComponent(vid)}/history`) : { status: 404 };
  if (shownFor !== c.id) return;
  if (hist.status === 200 && hist.body) {
    const items = (hist.body.items || []).filter((i) => i.id !== c.id);
    replace(els.history, h('h3', null, t('visitor.earlier')),
      items.length ? h('ul', { class: 'vp-items' }, items.slice(0, 10).map((i) => h('li', null,
        h('span', { class: `pill ${i.kind === 'ticket' ? 'ticket' : 'unit'}` }, i.kind === 'ticket' ? t('history.ticket') : t('history.chat')), ' ',
        i.subject || i.text || unitName(i.unit || ''), h('span', { class: 'muted small' }, ` · ${dateTime(i.created_at, lang())}`))))
        : h('p', { class: 'muted small' }, t('visitor.noEarlier')));
  } else {
    replace(els.history, h('h3', null, t('visitor.earlier')), h('p', { class: 'muted small' }, t('visitor.earlierUnavailable')));
  }
  // The assignment records are for supervisors and admins only.
  const mayRead = state.me && (state.me.role === 'supervisor' || state.me.role === 'admin');
  const rec = mayRead ? await api('GET', `/api/v1/chats/${encodeURIComponent(c.id)}/assignments`) : { status: 403 };
  if (shownFor !== c.id) return;
  if (rec.status === 200 && rec.body) {
    const items = Array.isArray(rec.body) ? rec.body : rec.body.items || [];
    replace(els.record, h('h3', null, t('visitor.record')), h('ol', { class: 'vp-items' }, items.map((i) => h('li', null,
      `${dateTime(i.at, lang())} · ${t(`record.${i.kind || i.event}`) === `record.${i.kind || i.event}` ? i.kind || i.event : t(`record.${i.kind || i.event}`)}`,
      i.agent && i.agent.name ? ` → ${i.agent.name}` : '', i.reason ? h('span', { class: 'muted small' }, ` (${i.reason})`) : null))));
  } else replace(els.record);
}
