// The written channel's form: when nobody of the unit is online, the
// visitor leaves a written request (a ticket) and reads the answer later
// in their history.

import { h, api, errorCode } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { field } from './prechat.js';

let els = null;

export function render(ctx) {
  const { state } = ctx;
  if (state.view === 'ticketSent') return sent(ctx);
  const d = state.draftTicket || {};
  const units = (state.units || []).map((u) => u.name);
  const unit = h('select', { id: 'of-unit', testid: 'offline-unit' }, h('option', { value: 'auto' }, t('prechat.unitAuto')), units.map((u) => h('option', { value: u }, unitName(u))));
  unit.value = units.includes(d.unit) ? d.unit : units.includes(state.config.unit) ? state.config.unit : 'auto';
  const email = h('input', { id: 'of-email', type: 'email', autocomplete: 'email', testid: 'offline-email', '.value': d.email || '' });
  const subject = h('input', { id: 'of-subject', type: 'text', maxlength: '200', testid: 'offline-subject', '.value': d.subject || '' });
  const text = h('textarea', { id: 'of-text', rows: '4', testid: 'offline-text', '.value': d.text || '' });
  const age = h('input', { id: 'of-age', type: 'checkbox', testid: 'offline-age' });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'offline-submit' }, t('offline.submit'));
  const form = h('form', {
    class: 'form', testid: 'offline-form', novalidate: true,
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        const body = { unit: unit.value, subject: subject.value.trim(), text: text.value.trim() };
        if (email.value.trim()) body.email = email.value.trim();
        const problem = !body.text ? t('offline.needText') : !age.checked ? t('prechat.needAge') : body.email && !body.email.includes('@') ? t('offline.badEmail') : '';
        err.hidden = !problem;
        err.textContent = problem;
        if (problem) return;
        if (!body.subject) body.subject = body.text.split('\n')[0].slice(0, 80);
        ctx.state.draftTicket = { ...body };
        submit.disabled = true;
        submit.textContent = t('offline.sending');
        let res;
        try {
          const tok = await ctx.actions.ensureToken();
          res = await api('POST', '/api/v1/tickets', { token: tok, body });
        } catch {
          res = { status: 0 };
        }
        submit.disabled = false;
        submit.textContent = t('offline.submit');
        if (res.status === 201 || res.status === 200) {
          const tk = res.body || {};
          ctx.actions.show('ticketSent', { draftTicket: null, sentTicket: { id: tk.merged_into || tk.id, merged: !!tk.merged_into } });
          return;
        }
        err.hidden = false;
        err.textContent = res.status === 404 ? t('offline.unavailable') : res.status === 0 ? t('offline.network') : t(`error.${errorCode(res)}`) !== `error.${errorCode(res)}` ? t(`error.${errorCode(res)}`) : t('error.generic');
      },
    },
  },
  h('p', { class: 'lead' }, t('offline.lead')),
  field('of-unit', t('prechat.unit'), unit),
  field('of-email', t('offline.email'), email, t('optional')),
  field('of-subject', t('offline.subject'), subject, t('optional')),
  field('of-text', t('offline.text'), text),
  h('div', { class: 'check' }, age, h('label', { for: 'of-age' }, t('prechat.age'))),
  err,
  submit,
  h('button', { type: 'button', class: 'link center', on: { click: () => ctx.actions.show('prechat') } }, t('offline.chatAnyway')));
  els = { form };
  return form;
}

function sent(ctx) {
  const tk = ctx.state.sentTicket || {};
  return h('div', { class: 'card sent', role: 'status' },
    h('p', { class: 'ended-title' }, tk.merged ? t('offline.merged') : t('offline.sent')),
    tk.id ? h('p', null, t('ended.ticket', { id: String(tk.id).slice(0, 8) })) : null,
    h('p', { class: 'muted' }, t('offline.sentHint')),
    tk.id ? h('button', { type: 'button', class: 'secondary', on: { click: () => ctx.actions.show('ticket', { ticket: { id: tk.id } }) } }, t('ended.openTicket')) : null,
    h('button', { type: 'button', class: 'link', on: { click: () => ctx.actions.back() } }, t('nav.back')));
}

export function focus() {
  const el = els && els.form && els.form.querySelector('select, input');
  if (el) el.focus();
}
