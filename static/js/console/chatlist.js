// The agent's chats: unit, waiting time, unread count, priority, and
// whether the visitor is still there; click or Alt+↑/↓ to move.

import { h, replace } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { state, visitorName } from './store.js';

let list;
let act;

export function render({ actions }) {
  act = actions;
  list = h('ul', { class: 'chat-list', testid: 'chat-list', 'aria-label': t('chats.title') });
  return h('section', { class: 'chats' }, h('h2', { class: 'pane-title' }, t('chats.title')), list);
}

function since(at) {
  if (!at) return '';
  const s = Math.max(0, Math.round((Date.now() - new Date(at).getTime()) / 1000));
  if (s < 60) return t('time.seconds', { n: s });
  if (s < 3600) return t('time.minutes', { n: Math.floor(s / 60) });
  return t('time.hours', { n: Math.floor(s / 3600) });
}

let drawn = new Map(); // chat id -> {el, sig}: rows kept between updates

export function update(what) {
  if (!list || !what || !(what.list || what.chat)) return;
  const keep = new Map();
  const items = state.order.map((id, i) => {
    const c = state.chats.get(id);
    const last = c.messages[c.messages.length - 1];
    const name = visitorName(c, t);
    const selected = state.selected === id;
    const waiting = c.waitingSince ? since(c.waitingSince) : '';
    const sig = [name, last ? last.seq : 0, last ? last.text : '', selected, c.ended, c.unread, waiting, c.visitorOnline, c.unit, c.priority, i].join('\u0000');
    const had = drawn.get(id);
    if (had && had.sig === sig) {
      keep.set(id, had);
      return had.el;
    }
    const el = h('li', null, h('button', {
      type: 'button',
      class: `chat-item${selected ? ' selected' : ''}${c.ended ? ' ended' : ''}${c.unread ? ' has-unread' : ''}`,
      testid: 'chat-item',
      'data-chat-id': id,
      'aria-current': selected ? 'true' : false,
      'aria-keyshortcuts': i < 9 ? `Alt+${i + 1}` : false,
      on: { click: () => act.select(id) },
    },
    h('span', { class: 'ci-top' },
      h('span', { class: 'ci-name' }, name),
      c.unread ? h('span', { class: 'unread', testid: 'unread', 'aria-label': t('chats.unread', { n: c.unread }) }, String(c.unread)) : null),
    h('span', { class: 'ci-text' }, last ? last.text : ''),
    h('span', { class: 'ci-meta' },
      h('span', { class: 'pill unit' }, unitName(c.unit)),
      c.priority > 0 ? h('span', { class: 'pill urgent' }, t('chats.urgent')) : null,
      c.ended ? h('span', { class: 'pill ended' }, t(`cended.${c.ended}`) === `cended.${c.ended}` ? t('cended.closed') : t(`cended.${c.ended}`))
        : waiting ? h('span', { class: 'wait', title: t('chats.waitingTitle') }, t('chats.waiting', { time: waiting })) : null,
      c.visitorOnline === false ? h('span', { class: 'pill away' }, t('chats.visitorLeft')) : null)));
    keep.set(id, { el, sig });
    return el;
  });
  drawn = keep;
  if (!items.length) {
    replace(list, h('li', { class: 'empty-state' }, h('p', null, t(state.presence === 'online' ? 'chats.emptyOnline' : 'chats.emptyAway'))));
    return;
  }
  const wanted = new Set(items);
  for (const el of [...list.children]) if (!wanted.has(el)) el.remove();
  let at = list.firstChild;
  for (const el of items) {
    if (at === el) at = at.nextSibling;
    else list.insertBefore(el, at);
  }
}
