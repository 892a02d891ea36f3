// Dialogs: transfer (to a unit or a named agent, with a note), escalate
// (into a ticket) and the keyboard shortcuts.

import { h, replace, api, linkify, dateTime } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';
import { state } from './store.js';

let dlg;
let act;

export function mount({ actions }) {
  act = actions;
  dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
  dlg.addEventListener('close', () => {
    const c = document.getElementById('composer');
    if (c && !c.closest('[hidden]')) c.focus();
  });
  return dlg;
}

export function closeAll() {
  if (dlg && dlg.open) dlg.close();
}

function open(title, ...content) {
  dlg.classList.remove('wide');
  replace(dlg, h('h2', { id: 'dlg-title' }, title), ...content);
  if (!dlg.open) dlg.showModal();
  const first = dlg.querySelector('select, input, textarea, button');
  if (first) first.focus();
}

function current() {
  const c = state.chats.get(state.selected);
  return c && !c.ended ? c : null;
}

export function transfer() {
  const c = current();
  if (!c) return;
  const unit = h('select', { id: 'tr-unit', testid: 'transfer-unit' }, state.units.map((u) => h('option', { value: u }, unitName(u))));
  unit.value = state.units.find((u) => u !== c.unit) || c.unit;
  const agent = h('select', { id: 'tr-agent', testid: 'transfer-agent' });
  // The unit's agents online now, asked of the server (any staff member
  // may list them); a full one is shown but cannot be picked.
  const fillAgents = async () => {
    const u = unit.value;
    replace(agent, h('option', { value: '' }, t('transfer.anyone')));
    agent.setAttribute('aria-busy', 'true');
    const res = await api('GET', `/api/v1/units/${encodeURIComponent(u)}/agents`);
    if (unit.value !== u) return;
    agent.removeAttribute('aria-busy');
    const list = res.status === 200 && res.body ? (res.body.agents || []).filter((a) => a.id !== state.me.id) : [];
    agent.append(...list.map((a) => h('option', { value: a.id, disabled: a.load >= a.max ? true : null },
      `${a.name} · ${a.load >= a.max ? t('transfer.full') : t('transfer.load', { n: a.load, max: a.max })}`)));
    agent.dataset.loaded = u;
  };
  fillAgents();
  unit.addEventListener('change', fillAgents);
  const note = h('textarea', { id: 'tr-note', rows: '3', testid: 'transfer-note', placeholder: t('transfer.notePlaceholder') });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const form = h('form', {
    method: 'dialog',
    on: {
      submit: (ev) => {
        ev.preventDefault();
        if (unit.value === c.unit && !agent.value) {
          err.hidden = false;
          err.textContent = t('transfer.same');
          return;
        }
        act.transfer({ unit: unit.value, agentID: agent.value, note: note.value.trim() });
        dlg.close();
      },
    },
  },
  h('p', { class: 'muted' }, t('transfer.lead')),
  h('div', { class: 'field' }, h('label', { for: 'tr-unit' }, t('transfer.unit')), unit),
  h('div', { class: 'field' }, h('label', { for: 'tr-agent' }, t('transfer.agent')), agent),
  h('div', { class: 'field' }, h('label', { for: 'tr-note' }, t('transfer.note')), note),
  err,
  h('div', { class: 'dlg-buttons' },
    h('button', { type: 'button', class: 'btn', on: { click: () => dlg.close() } }, t('dialog.cancel')),
    h('button', { type: 'submit', class: 'primary', testid: 'transfer-submit' }, t('transfer.submit'))));
  open(t('transfer.title'), form);
}

export function escalate() {
  const c = current();
  if (!c) return;
  const first = c.messages.find((m) => m.from && m.from.kind === 'visitor');
  const subject = h('input', { id: 'es-subject', type: 'text', maxlength: '200', testid: 'escalate-subject', '.value': first ? first.text.split('\n')[0].slice(0, 80) : '' });
  const form = h('form', {
    method: 'dialog',
    on: {
      submit: (ev) => {
        ev.preventDefault();
        act.escalate(subject.value.trim());
        dlg.close();
      },
    },
  },
  h('p', { class: 'muted' }, t('escalate.lead')),
  h('div', { class: 'field' }, h('label', { for: 'es-subject' }, t('escalate.subject')), subject),
  h('div', { class: 'dlg-buttons' },
    h('button', { type: 'button', class: 'btn', on: { click: () => dlg.close() } }, t('dialog.cancel')),
    h('button', { type: 'submit', class: 'primary', testid: 'escalate-submit' }, t('escalate.submit'))));
  open(t('escalate.title'), form);
}

function reader(title, ...content) {
  open(title, ...content, h('div', { class: 'dlg-buttons' }, h('button', { type: 'button', class: 'primary', on: { click: () => dlg.close() } }, t('dialog.close'))));
  dlg.classList.add('wide');
}

function thread(rows) {
  return h('div', { class: 'reader', testid: 'reader', tabindex: '0', 'aria-label': t('reader.thread') }, rows.map((m) => {
    const kind = m.internal || m.note ? 'note' : m.from && m.from.kind === 'visitor' ? 'visitor' : m.from && m.from.kind === 'system' ? 'system' : 'own';
    return h('div', { class: `msg ${kind}` },
      h('p', { class: 'who' }, (m.from && m.from.name) || (kind === 'visitor' ? t('visitor.customer') : ''), kind === 'note' ? ` · ${t('tickets.internal')}` : ''),
      h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text || ''))),
      h('p', { class: 'meta' }, dateTime(m.at, lang())));
  }));
}

// transcript shows an earlier chat's record (the server logs the read).
export async function transcript(id) {
  reader(t('reader.chat'), h('p', { class: 'muted' }, t('visitor.loading')));
  const res = await api('GET', `/api/v1/transcripts/${encodeURIComponent(id)}?format=json`);
  if (!dlg.open) return;
  if (res.status !== 200 || !res.body) {
    reader(t('reader.chat'), h('p', { class: 'field-error', role: 'alert' }, t('reader.failed')));
    return;
  }
  const r = res.body;
  const rows = [...(r.messages || []), ...((r.notes || []).map((n) => ({ ...n, note: true })))].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  reader(t('reader.chatOf', { name: (r.visitor && r.visitor.name) || t('visitor.customer') }),
    h('p', { class: 'muted small', testid: 'reader-meta' }, [unitName(r.unit), dateTime(r.started_at, lang()), t(`state.${r.status}`) === `state.${r.status}` ? r.status : t(`state.${r.status}`), (r.agents || []).map((a) => a.name).join(', ')].filter(Boolean).join(' · ')),
    thread(rows));
}

// ticket shows a ticket's thread (the server logs the read).
export async function ticket(id) {
  reader(t('reader.ticket'), h('p', { class: 'muted' }, t('visitor.loading')));
  const res = await api('GET', `/api/v1/tickets/${encodeURIComponent(id)}`);
  if (!dlg.open) return;
  if (res.status !== 200 || !res.body) {
    reader(t('reader.ticket'), h('p', { class: 'field-error', role: 'alert' }, t('reader.failed')));
    return;
  }
  const tk = res.body;
  const rows = [{ text: tk.text, from: tk.from, at: tk.created_at }, ...(tk.replies || [])];
  reader(tk.subject || t('reader.ticket'),
    h('p', { class: 'muted small', testid: 'reader-meta' }, [unitName(tk.unit), t(`state.${tk.status}`), dateTime(tk.created_at, lang())].filter(Boolean).join(' · ')),
    thread(rows));
}

const KEYS = [
  ['Alt + ↓ / Alt + ↑', 'help.nextPrev'],
  ['Alt + 1…9', 'help.jump'],
  ['Alt + C', 'help.composer'],
  ['Enter / Shift + Enter', 'help.send'],
  ['/', 'help.canned'],
  ['Alt + N', 'help.note'],
  ['Alt + T', 'help.transfer'],
  ['Alt + E', 'help.escalate'],
  ['Alt + K', 'help.close'],
  ['Alt + Q', 'help.queue'],
  ['Alt + W', 'help.tickets'],
  ['Alt + B', 'help.board'],
  ['← / →', 'help.tabs'],
  ['?', 'help.help'],
  ['Esc', 'help.esc'],
];

export function help() {
  open(t('help.title'),
    h('table', { class: 'keys' }, h('tbody', null, KEYS.map(([k, d]) => h('tr', null, h('th', { scope: 'row' }, h('kbd', null, k)), h('td', null, t(d)))))),
    h('div', { class: 'dlg-buttons' }, h('button', { type: 'button', class: 'primary', on: { click: () => dlg.close() } }, t('dialog.close'))));
}
