// Dialogs: transfer (to a unit or a named agent, with a note), escalate
// (into a ticket) and the keyboard shortcuts.

import { h, replace } from '../dom.js';
import { t, unitName } from '../i18n.js';
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
  const fillAgents = () => {
    const list = [...state.agents.values()].filter((a) => a.id !== state.me.id && a.status === 'online' && (!a.units || !a.units.length || a.units.includes(unit.value)));
    replace(agent, h('option', { value: '' }, t('transfer.anyone')), list.map((a) => h('option', { value: a.id }, a.name)));
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
  ['?', 'help.help'],
  ['Esc', 'help.esc'],
];

export function help() {
  open(t('help.title'),
    h('table', { class: 'keys' }, h('tbody', null, KEYS.map(([k, d]) => h('tr', null, h('th', { scope: 'row' }, h('kbd', null, k)), h('td', null, t(d)))))),
    h('div', { class: 'dlg-buttons' }, h('button', { type: 'button', class: 'primary', on: { click: () => dlg.close() } }, t('dialog.close'))));
}
