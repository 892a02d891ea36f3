// The supervisor's live board: every agent's status and load, and each
// unit's queue. Presence and queues come live over the socket; loads come
// from GET /api/v1/board where the server has it.

import { h, replace, api } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { state } from './store.js';

let box;
let loads = null; // agent id -> {load, max}

export function render() {
  box = h('section', { class: 'board', testid: 'board', tabindex: '0', 'aria-label': t('board.title') });
  return box;
}

export async function load() {
  const res = await api('GET', '/api/v1/board');
  if (res.status === 200 && res.body && Array.isArray(res.body.agents)) {
    loads = {};
    for (const a of res.body.agents) {
      loads[a.id] = { load: a.load, max: a.max };
      const known = state.agents.get(a.id) || {};
      state.agents.set(a.id, { ...known, id: a.id, name: a.name || known.name, status: a.status || known.status, units: a.units || known.units });
    }
  } else loads = null;
  update({ agents: true });
}

export function update(what) {
  if (!box || !what || !(what.agents || what.queue || what.tab) || state.tab !== 'board') return;
  const agents = [...state.agents.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const units = state.me.role === 'admin' ? state.units : state.me.units || [];
  replace(box,
    h('h2', { class: 'board-title' }, t('board.title')),
    h('div', { class: 'board-queues' }, units.map((u) => {
      const q = state.queues[u] || [];
      return h('div', { class: 'board-queue', testid: 'board-queue', 'data-unit': u, 'data-length': String(q.length) },
        h('span', { class: 'bq-unit' }, unitName(u)), h('span', { class: 'bq-len' }, String(q.length)), h('span', { class: 'muted small' }, t('board.waiting')));
    })),
    h('table', { class: 'board-agents' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('board.agent')), h('th', { scope: 'col' }, t('board.status')), h('th', { scope: 'col' }, t('board.load')), h('th', { scope: 'col' }, t('board.units')))),
      h('tbody', null, agents.map((a) => {
        const l = loads && loads[a.id];
        const max = l ? l.max : a.max_chats;
        return h('tr', { testid: 'board-agent', 'data-agent-id': a.id, 'data-load': l ? String(l.load) : '', 'data-max': max === undefined ? '' : String(max) },
          h('td', null, a.name), h('td', null, h('span', { class: `presence-dot ${a.status || 'offline'}` }), t(`presence.${a.status || 'offline'}`)),
          h('td', null, l ? `${l.load} / ${l.max}` : max ? `— / ${max}` : '—'),
          h('td', null, (a.units || []).map(unitName).join(', ')));
      }))),
    loads ? null : h('p', { class: 'muted small' }, t('board.noLoads')));
}
