// The units' waiting chats, live from `queue` frames. Chats are assigned
// by the server; the queue shows what is coming and how long it waits.

import { h, replace } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { state } from './store.js';

let box;

export function render() {
  box = h('div', { class: 'queue', testid: 'queue' });
  return h('section', null, h('h2', { class: 'pane-title' }, t('queue.title')), box);
}

function wait(sec) {
  if (!sec) return t('queue.now');
  return sec < 60 ? t('time.seconds', { n: sec }) : t('time.minutes', { n: Math.round(sec / 60) });
}

export function update(what) {
  if (!box || !what || !(what.queue || what.tab || what.tick)) return;
  const units = (state.me && state.me.role === 'admin' ? state.units : (state.me && state.me.units) || []).filter((u) => state.queues[u] !== undefined || true);
  replace(box, ...units.map((u) => {
    const q = state.queues[u] || [];
    return h('div', { class: 'q-unit', 'data-unit': u, 'data-length': String(q.length) },
      h('h3', null, unitName(u), h('span', { class: `count${q.length ? ' busy' : ''}` }, String(q.length))),
      q.length ? h('ol', { class: 'q-list' }, q.map((c) => h('li', { class: 'q-item', 'data-chat-id': c.chat_id },
        h('span', { class: 'q-pos' }, `#${c.position}`),
        c.priority > 0 ? h('span', { class: 'pill urgent' }, t('chats.urgent')) : null,
        c.since ? h('span', { class: 'small q-waited' }, t('queue.waited', { time: wait(Math.max(1, Math.round((Date.now() - new Date(c.since).getTime()) / 1000))) })) : null,
        h('span', { class: 'muted small' }, t('queue.eta', { wait: wait(c.eta_seconds) })))))
        : h('p', { class: 'muted small' }, t('queue.empty')));
  }));
}
