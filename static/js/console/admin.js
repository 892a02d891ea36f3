// The admin area: agents, API keys, webhooks with their delivery log,
// standard replies and the audit log. Admins see every screen; supervisors
// see the standard replies of their units (what the API lets them change).
// The left pane lists the screens; the main area shows the one picked.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { state } from './store.js';
import { dialogElement, closeDialog } from './admin-ui.js';
import * as agents from './admin-agents.js';
import * as keys from './admin-keys.js';
import * as hooks from './admin-webhooks.js';
import * as replies from './admin-replies.js';
import * as audit from './admin-audit.js';

const SECTIONS = [
  { id: 'agents', mod: agents, admin: true },
  { id: 'apikeys', mod: keys, admin: true },
  { id: 'webhooks', mod: hooks, admin: true },
  { id: 'replies', mod: replies, admin: false },
  { id: 'audit', mod: audit, admin: true },
];

let nav;
let box;
let current = '';
let act;

// visible reports whether the staff member gets the admin area at all.
export function visible(me) {
  return !!me && (me.role === 'admin' || me.role === 'supervisor');
}

function sections() {
  const admin = state.me && state.me.role === 'admin';
  return SECTIONS.filter((s) => admin || !s.admin);
}

// renderNav is the left pane: the list of screens.
export function renderNav({ actions }) {
  act = actions;
  nav = h('ul', { class: 'admin-nav', testid: 'admin-nav', 'aria-label': t('admin.title') });
  fillNav();
  return h('section', null, h('h2', { class: 'pane-title' }, t('admin.title')), nav);
}

function fillNav() {
  const list = sections();
  if (!list.some((s) => s.id === current)) current = list[0].id;
  replace(nav, list.map((s) => h('li', null, h('button', {
    type: 'button',
    class: 'admin-nav-item',
    testid: `admin-nav-${s.id}`,
    'aria-current': s.id === current ? 'page' : null,
    on: { click: () => open(s.id, true) },
  }, h('span', { class: 'ani-title' }, t(`admin.${s.id}.title`)), h('span', { class: 'ani-lead' }, t(`admin.${s.id}.short`))))));
}

// render is the main area's admin screen.
export function render({ actions }) {
  act = actions;
  box = h('section', { class: 'admin', testid: 'admin', 'aria-label': t('admin.title') });
  // Drawn again (a new language) while open: show the screen at once.
  if (state.tab === 'admin') queueMicrotask(load);
  return h('div', { class: 'admin-area' }, box, dialogElement());
}

// load shows the current screen afresh (when the tab is opened).
export function load() {
  if (!box || !state.me) return;
  open(current || sections()[0].id, false);
}

function open(id, focus) {
  closeDialog();
  current = id;
  fillNav();
  const s = sections().find((x) => x.id === id);
  if (!s) return;
  box.dataset.section = id;
  replace(box);
  s.mod.render(box, { toast: (text) => act && act.toast(text) });
  if (focus) {
    const title = box.querySelector('.admin-title');
    if (title) title.focus();
  }
}
