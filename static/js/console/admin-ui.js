// Pieces the admin screens share: labelled fields, checkbox groups, tables
// that turn into cards on a phone, a confirmation and a form dialog, the
// shown-once secret, and errors said plainly.

import { h, replace, api } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { state } from './store.js';

let uid = 0;
export function nextID(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// errorText says why a request failed: the code's own words where there
// are some (admin.err.<code>, then error.<code>), else the server's message.
export function errorText(res, context = {}) {
  if (!res || res.status === 0) return t('admin.err.network');
  const e = res.body && res.body.error ? res.body.error : {};
  const code = e.code || '';
  for (const key of [context[code], `admin.err.${code}`]) {
    if (key && t(key) !== key) return t(key, { message: e.message || '' });
  }
  if (res.status === 403) return t('admin.err.forbidden');
  return e.message ? t('admin.err.withMessage', { message: e.message }) : t('admin.err.status', { status: res.status });
}

export function field(label, control, { hint, id } = {}) {
  const cid = control.id || id || nextID('f');
  control.id = cid;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${cid}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: cid }, label), control, hintEl);
}

// checkGroup is a fieldset of checkboxes; values() reads the ticked ones.
export function checkGroup(legend, options, checked = [], { testid, hint } = {}) {
  const boxes = options.map((o) => {
    const id = nextID('cb');
    const box = h('input', { type: 'checkbox', id, value: o.value, '.checked': checked.includes(o.value), dataset: testid ? { testid: `${testid}-${o.value}` } : undefined });
    return { box, el: h('label', { class: 'check', for: id }, box, h('span', null, o.label)) };
  });
  const hintEl = hint ? h('p', { class: 'hint', id: nextID('hint') }, hint) : null;
  const el = h('fieldset', { class: 'checks', testid, 'aria-describedby': hintEl ? hintEl.id : null },
    h('legend', null, legend), h('div', { class: 'check-list' }, boxes.map((b) => b.el)), hintEl);
  return { el, values: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value), first: () => boxes[0] && boxes[0].box };
}

export function unitOptions(units) {
  return units.map((u) => ({ value: u, label: unitName(u) }));
}

export function unitPills(units, allLabel) {
  if (!units || !units.length) return h('span', { class: 'pill all' }, allLabel || t('admin.allUnits'));
  return h('span', { class: 'pills' }, units.map((u) => h('span', { class: 'pill unit' }, unitName(u))));
}

// table draws rows; each cell carries its column's name, which a phone
// shows beside the value when the rows become cards.
export function table({ caption, cols, rows, testid, empty }) {
  if (!rows.length) return h('p', { class: 'admin-empty' }, empty || t('admin.none'));
  return h('div', { class: 'admin-table-wrap' }, h('table', { class: 'admin-table', testid },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col', class: c.cls }, c.label)))),
    h('tbody', null, rows.map((r) => h('tr', r.attrs || null, r.cells.map((cell, i) => h('td', { class: cols[i].cls, 'data-label': cols[i].label }, cell)))))));
}

export function message(el, text, kind = 'error') {
  el.hidden = !text;
  el.className = `admin-msg ${kind}`;
  el.textContent = text || '';
}

export function msgBox() {
  return h('p', { class: 'admin-msg error', role: 'alert', hidden: true });
}

// ---- dialogs ----
let dlg;
let returnTo = null;

export function dialogElement() {
  dlg = h('dialog', { class: 'dialog admin-dialog', 'aria-labelledby': 'adm-dlg-title' });
  dlg.addEventListener('close', () => {
    replace(dlg);
    if (returnTo && returnTo.isConnected) {
      returnTo.focus();
      if (returnTo.tagName === 'INPUT' && returnTo.readOnly) returnTo.select();
    }
    returnTo = null;
  });
  return dlg;
}

// focusAfterClose names what gets the focus when the open dialog closes
// (instead of the control that opened it).
export function focusAfterClose(el) {
  returnTo = el;
}

export function closeDialog() {
  if (dlg && dlg.open) dlg.close();
}

function show(title, ...content) {
  returnTo = document.activeElement;
  replace(dlg, h('h2', { id: 'adm-dlg-title' }, title), ...content);
  if (!dlg.open) dlg.showModal();
  const first = dlg.querySelector('input:not([type=hidden]):not([readonly]), select, textarea, button.primary, button');
  if (first) first.focus();
}

// confirm asks before something that cannot be taken back lightly.
export function confirm({ title, text, ok, danger = true }) {
  return new Promise((done) => {
    let answer = false;
    const okBtn = h('button', { type: 'button', class: danger ? 'primary danger' : 'primary', testid: 'confirm-ok', on: { click: () => { answer = true; dlg.close(); } } }, ok);
    show(title, h('p', { class: 'dlg-text' }, text),
      h('div', { class: 'dlg-buttons' }, h('button', { type: 'button', class: 'btn', testid: 'confirm-cancel', on: { click: () => dlg.close() } }, t('dialog.cancel')), okBtn));
    okBtn.focus();
    dlg.addEventListener('close', () => done(answer), { once: true });
  });
}

// formDialog shows a form; submit(form) resolves to an error text to show,
// or to '' when done (the dialog closes).
export function formDialog({ title, lead, fields, submitLabel, submitTestid, submit }) {
  const err = msgBox();
  const btn = h('button', { type: 'submit', class: 'primary', testid: submitTestid }, submitLabel);
  const form = h('form', {
    class: 'admin-form',
    novalidate: true,
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        btn.disabled = true;
        message(err, '');
        const problem = await submit();
        btn.disabled = false;
        if (problem) {
          message(err, problem);
          return;
        }
        dlg.close();
      },
    },
  },
  lead ? h('p', { class: 'muted dlg-text' }, lead) : null,
  fields,
  err,
  h('div', { class: 'dlg-buttons' }, h('button', { type: 'button', class: 'btn', on: { click: () => dlg.close() } }, t('dialog.cancel')), btn));
  show(title, form);
  return form;
}

// secretBox shows a key or secret once, with a copy button.
export function secretBox({ title, lead, value, testid, onDone }) {
  const input = h('input', { type: 'text', readonly: true, class: 'secret-value', '.value': value, testid, 'aria-label': title, spellcheck: 'false' });
  const said = h('span', { class: 'copy-state', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', {
    type: 'button', class: 'btn', testid: `${testid}-copy`,
    on: {
      click: async () => {
        input.select();
        let ok = false;
        try {
          await navigator.clipboard.writeText(value);
          ok = true;
        } catch {
          try {
            ok = document.execCommand('copy');
          } catch {
            ok = false;
          }
        }
        said.textContent = ok ? t('admin.copied') : t('admin.copyByHand');
      },
    },
  }, t('admin.copy'));
  const done = h('button', { type: 'button', class: 'btn', testid: `${testid}-done`, on: { click: () => { box.remove(); if (onDone) onDone(); } } }, t('admin.secretDone'));
  const box = h('div', { class: 'secret-box', role: 'region', 'aria-label': title },
    h('p', { class: 'secret-title' }, title),
    h('p', { class: 'secret-lead' }, lead),
    h('div', { class: 'secret-row' }, input, copy),
    h('div', { class: 'secret-foot' }, said, done));
  return box;
}

// units the admin screens offer: an admin's are every configured unit,
// a supervisor's their own.
export async function allUnits() {
  if (state.units && state.units.length) return state.units;
  const res = await api('GET', '/api/v1/units');
  if (res.status === 200 && res.body && Array.isArray(res.body.units)) {
    state.units = res.body.units.map((u) => u.name || u);
  }
  return state.units || [];
}

export function sectionHead(title, lead, ...tools) {
  return h('header', { class: 'admin-head' },
    h('div', { class: 'admin-head-text' }, h('h2', { class: 'admin-title', tabindex: '-1' }, title), lead ? h('p', { class: 'muted' }, lead) : null),
    tools.length ? h('div', { class: 'admin-tools' }, tools) : null);
}

// refocus puts the focus on the screen's title when what had it went away
// (a row removed after a confirmation), so the keyboard keeps its place.
export function refocus(el) {
  const a = document.activeElement;
  if (el && (!a || a === document.body)) {
    const title = el.closest('.admin') ? el.closest('.admin').querySelector('.admin-title') : null;
    if (title) title.focus();
  }
}
