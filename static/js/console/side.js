// The visitor panel beside the conversation: who they are, this chat, and,
// where the server offers them, their earlier chats and tickets and the
// chat's assignment record.

import { h, replace, api, dateTime, clock } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';
import { state, visitorName } from './store.js';
import * as dialogs from './dialogs.js';

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
      row(t('visitor.connection'), h('span', { class: `vp-conn ${c.visitorOnline === false ? 'left' : 'here'}`, testid: 'visitor-connection', 'data-state': c.visitorOnline === false ? 'left' : 'connected' },
        c.visitorOnline === false ? (c.visitorLeftAt ? t('visitor.leftAt', { time: clock(c.visitorLeftAt, lang()) }) : t('visitor.left')) : t('visitor.connected'))),
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
      items.length ? h('ul', { class: 'vp-items vp-earlier' }, items.slice(0, 10).map((i) => h('li', null,
        h('button', {
          type: 'button', class: 'vp-open', testid: 'visitor-history-item', 'data-kind': i.kind, 'data-id': i.id,
          on: { click: () => (i.kind === 'ticket' ? dialogs.ticket(i.id) : dialogs.transcript(i.id)) },
        },
        h('span', { class: `pill ${i.kind === 'ticket' ? 'ticket' : 'unit'}` }, i.kind === 'ticket' ? t('history.ticket') : t('history.chat')), ' ',
        h('span', { class: 'vp-open-text' }, i.subject || i.text || unitName(i.unit || '')),
        h('span', { class: 'muted small' }, ` · ${dateTime(i.created_at, lang())}`)))))
        : h('p', { class: 'muted small' }, t('visitor.noEarlier')));
  } else {
    replace(els.history, h('h3', null, t('visitor.earlier')), h('p', { class: 'muted small' }, t('visitor.earlierUnavailable')));
  }
  // The assignment records: the policy lets supervisors of the unit and
  // admins read them, so agents never ask.
  const mayRead = state.me && (state.me.role === 'supervisor' || state.me.role === 'admin');
  if (!mayRead) {
    replace(els.record);
    return;
  }
  const rec = await api('GET', `/api/v1/chats/${encodeURIComponent(c.id)}/assignments`);
  if (shownFor !== c.id) return;
  if (rec.status === 200 && rec.body) {
    const items = rec.body.items || [];
    replace(els.record, h('h3', null, t('visitor.record')),
      items.length ? h('ol', { class: 'vp-items vp-record-list', testid: 'assignment-record' }, items.map(recordItem)) : h('p', { class: 'muted small' }, t('record.none')));
  } else replace(els.record);
}

function agentName(id) {
  if (!id) return '';
  if (state.me && id === state.me.id) return state.me.name;
  const a = state.agents.get(id);
  return a && a.name ? a.name : id.slice(0, 8);
}

function waited(ms) {
  const s = Math.round((ms || 0) / 1000);
  if (s < 60) return t('time.seconds', { n: s });
  return s < 3600 ? t('time.minutes', { n: Math.floor(s / 60) }) : t('time.hours', { n: Math.floor(s / 3600) });
}

// recordItem shows one assignment record: what happened, to whom, by
// which rule, after how long a wait, and the agents weighed.
function recordItem(i) {
  const kind = t(`record.${i.kind}`) === `record.${i.kind}` ? i.kind : t(`record.${i.kind}`);
  const rule = t(`rule.${i.rule}`) === `rule.${i.rule}` ? i.rule : t(`rule.${i.rule}`);
  return h('li', { class: 'vp-rec', 'data-kind': i.kind, 'data-rule': i.rule },
    h('p', { class: 'vp-rec-head' },
      h('strong', null, kind),
      i.agent_id ? ` → ${agentName(i.agent_id)}` : ` → ${t('record.queue', { unit: unitName(i.unit) })}`,
      h('span', { class: 'muted small' }, ` · ${clock(i.at, lang())}`)),
    h('p', { class: 'small' }, t('record.rule', { rule }),
      i.from_agent_id ? ` · ${t('record.from', { name: agentName(i.from_agent_id) })}` : '',
      i.kind === 'assigned' ? ` · ${t('record.waited', { time: waited(i.waited_ms) })}` : ''),
    (i.candidates || []).length ? h('ul', { class: 'vp-cands' }, i.candidates.map((cd) => h('li', { class: cd.chosen ? 'chosen' : null },
      agentName(cd.agent_id), h('span', { class: 'muted small' }, ` ${t('record.load', { n: cd.load, max: cd.max })}`),
      cd.chosen ? h('span', { class: 'pill unit' }, t('record.chosen')) : null,
      cd.excluded ? h('span', { class: 'pill away' }, t('record.excluded')) : null))) : null);
}
