// The supervisor's live board: every agent of their units with status,
// load, capacity and the chats they hold, and each unit's queue with its
// length and oldest wait. It reads GET /api/v1/board (the assigner's live
// state) when shown, every few seconds while shown, and soon after any
// presence or queue frame. From it a supervisor looks into a chat (an
// audited look) and transfers it.

import { h, replace, api } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { state } from './store.js';

const POLL_MS = 4000;

let box;
let act;
let data = null; // the last answer: {at, units: [{unit, agents, queue}]}
let failed = false;
let pollTimer = 0;
let soonTimer = 0;
let loading = false;

export function render({ actions }) {
  act = actions;
  box = h('section', { class: 'board', testid: 'board', tabindex: '-1', 'aria-label': t('board.title') });
  if (data) draw();
  return box;
}

function showing() {
  return state.tab === 'board' && state.me && (state.me.role === 'supervisor' || state.me.role === 'admin');
}

// load reads the board now and keeps reading it while it is shown.
export async function load() {
  clearTimeout(pollTimer);
  if (!showing()) return;
  if (!loading) {
    loading = true;
    try {
      const res = await api('GET', '/api/v1/board');
      if (res.status === 200 && res.body && Array.isArray(res.body.units)) {
        data = res.body;
        data.received = Date.now();
        failed = false;
      } else failed = true;
    } finally {
      loading = false;
    }
    if (showing()) draw();
  }
  clearTimeout(pollTimer);
  if (showing()) pollTimer = setTimeout(load, document.hidden ? POLL_MS * 4 : POLL_MS);
}

// soon reads the board again shortly: a presence or queue frame came.
function soon() {
  clearTimeout(soonTimer);
  soonTimer = setTimeout(load, 300);
}

export function update(what) {
  if (!box || !what) return;
  if (!showing()) {
    clearTimeout(pollTimer);
    return;
  }
  if (what.agents || what.queue) {
    // Presence frames are quicker than the next read: show them at once.
    if (data && what.agents) {
      for (const u of data.units) {
        for (const a of u.agents) {
          const known = state.agents.get(a.id);
          if (known && known.status) a.status = known.status;
        }
      }
      draw();
    }
    soon();
  } else if (what.tick || what.tab) draw();
}

function ago(at) {
  const s = Math.max(0, Math.round((Date.now() - new Date(at).getTime()) / 1000));
  if (s < 60) return t('time.seconds', { n: s });
  if (s < 3600) return t('time.minutes', { n: Math.floor(s / 60) });
  return t('time.hours', { n: Math.floor(s / 3600) });
}

function draw() {
  if (!box) return;
  const head = h('div', { class: 'board-head' },
    h('h2', { class: 'board-title' }, t('board.title')),
    h('span', { class: 'muted small', role: 'status' }, data ? t('board.updated', { time: ago(new Date(data.received).toISOString()) }) : t('board.loading')),
    h('button', { type: 'button', class: 'btn', testid: 'board-refresh', on: { click: () => load() } }, t('board.refresh')));
  if (!data) {
    replace(box, head, failed ? h('p', { class: 'field-error', role: 'alert' }, t('board.failed')) : null);
    return;
  }
  // One row per agent, whichever of the units they serve; their chats
  // of every unit shown.
  const agents = new Map();
  for (const u of data.units) {
    for (const a of u.agents) {
      const row = agents.get(a.id) || { ...a, units: [], chats: [] };
      row.units.push(u.unit);
      row.chats.push(...a.chats);
      row.status = a.status;
      agents.set(a.id, row);
    }
  }
  const order = { online: 0, away: 1, offline: 2 };
  const list = [...agents.values()].sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3) || String(a.name).localeCompare(String(b.name)));
  replace(box,
    head,
    failed ? h('p', { class: 'field-error', role: 'alert' }, t('board.failed')) : null,
    h('h3', { class: 'board-sub' }, t('board.queues')),
    h('div', { class: 'board-queues' }, data.units.map((u) => {
      const q = u.queue || { length: 0 };
      const oldest = q.oldest_since ? ago(q.oldest_since) : '';
      return h('div', { class: `board-queue${q.length ? ' busy' : ''}`, testid: 'board-queue', 'data-unit': u.unit, 'data-length': String(q.length) },
        h('span', { class: 'bq-unit' }, unitName(u.unit)),
        h('span', { class: 'bq-len', 'aria-label': t('board.waitingN', { n: q.length }) }, String(q.length)),
        h('span', { class: 'muted small bq-wait' }, q.length ? t('board.oldest', { time: oldest }) : t('board.noneWaiting')));
    })),
    h('h3', { class: 'board-sub' }, t('board.agents')),
    list.length ? h('table', { class: 'board-agents' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('board.agent')),
        h('th', { scope: 'col' }, t('board.status')),
        h('th', { scope: 'col' }, t('board.load')),
        h('th', { scope: 'col' }, t('board.chats')))),
      h('tbody', null, list.map((a) => h('tr', { testid: 'board-agent', 'data-agent-id': a.id, 'data-load': String(a.load), 'data-max': String(a.max), 'data-status': a.status },
        h('td', null, h('span', { class: 'ba-name' }, a.name), h('span', { class: 'muted small ba-units' }, a.units.map(unitName).join(', '))),
        h('td', { class: 'ba-status' }, h('span', { class: `presence-dot ${a.status}`, 'aria-hidden': 'true' }), t(`presence.${a.status}`)),
        h('td', { class: 'ba-load' },
          h('span', { class: 'ba-count' }, t('board.loadOf', { n: a.load, max: a.max })),
          h('span', { class: 'meter', 'aria-hidden': 'true' }, h('span', { class: `meter-fill${a.load >= a.max ? ' full' : ''}`, dataset: { pct: String(a.max ? Math.min(100, Math.round((a.load / a.max) * 10) * 10) : 0) } }))),
        h('td', { class: 'ba-chats' }, a.chats.length ? h('ul', { class: 'ba-list' }, a.chats.map((c) => h('li', { class: 'ba-chat', testid: 'board-chat', 'data-chat-id': c.chat_id },
          h('span', { class: 'ba-who' },
            h('span', { class: 'ba-visitor' }, c.visitor_name || t('visitor.anon', { id: String(c.visitor_id || c.chat_id).slice(0, 4).toUpperCase() })),
            h('span', { class: 'muted small' }, ` · ${unitName(c.unit)} · ${ago(c.since)}`),
            c.priority > 0 ? h('span', { class: 'pill urgent' }, t('chats.urgent')) : null),
          h('span', { class: 'ba-actions' },
            h('button', { type: 'button', class: 'btn small-btn', testid: 'board-open', 'aria-label': t('board.openChat', { name: c.visitor_name || '' }), on: { click: () => act.look({ ...c, agent_name: a.name }, false) } }, t('board.open')),
            h('button', { type: 'button', class: 'btn small-btn', testid: 'board-transfer', 'aria-label': t('board.transferChat', { name: c.visitor_name || '' }), on: { click: () => act.look({ ...c, agent_name: a.name }, true) } }, t('board.transfer'))))))
          : h('span', { class: 'muted small' }, t('board.noChats'))))))) : h('p', { class: 'muted' }, t('board.noAgents')));
}
