// The pre-chat form: who you are (optional), the topic, the first message
// and the required 18+ confirmation. Nothing is sent before it is ticked.

import { h } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { offlineEverywhere } from './app.js';

let form;

export function render({ state, actions, config }) {
  const contact = (() => {
    try {
      return JSON.parse(sessionStorage.getItem('chatd.contact') || '{}');
    } catch {
      return {};
    }
  })();
  const draft = state.draft || {};
  const units = (state.units || []).map((u) => u.name);
  const unitSelect = h(
    'select',
    { id: 'pc-unit', name: 'unit', testid: 'prechat-unit' },
    h('option', { value: 'auto' }, t('prechat.unitAuto')),
    units.map((u) => h('option', { value: u }, unitName(u))),
  );
  unitSelect.value = draft.unit || (units.includes(config.unit) ? config.unit : 'auto');
  const name = h('input', { id: 'pc-name', name: 'name', type: 'text', autocomplete: 'name', maxlength: '100', testid: 'prechat-name', '.value': draft.name || contact.name || '' });
  const email = h('input', { id: 'pc-email', name: 'email', type: 'email', autocomplete: 'email', maxlength: '254', testid: 'prechat-email', '.value': draft.email || contact.email || '' });
  const msg = h('textarea', { id: 'pc-message', name: 'message', rows: '3', required: true, testid: 'prechat-message', 'aria-describedby': 'pc-message-err', '.value': draft.text || '' });
  const age = h('input', { id: 'pc-age', name: 'age', type: 'checkbox', testid: 'prechat-age', 'aria-describedby': 'pc-age-err' });
  const msgErr = h('p', { id: 'pc-message-err', class: 'field-error', hidden: true });
  const ageErr = h('p', { id: 'pc-age-err', class: 'field-error', hidden: true });
  const offlineHint = h(
    'div',
    { class: 'hint', hidden: true },
    h('p', null, t('prechat.nobody')),
    h('button', { type: 'button', class: 'link', on: { click: () => actions.show('offline', { draftTicket: { unit: unitSelect.value, text: msg.value, email: email.value } }) } }, t('prechat.writeInstead')),
  );
  const showHint = () => {
    offlineHint.hidden = !offlineEverywhere(unitSelect.value);
  };
  unitSelect.addEventListener('change', showHint);
  showHint();
  form = h(
    'form',
    {
      class: 'form prechat',
      novalidate: true,
      on: {
        submit: (ev) => {
          ev.preventDefault();
          const text = msg.value.trim();
          msgErr.hidden = !!text;
          msgErr.textContent = text ? '' : t('prechat.needMessage');
          msg.setAttribute('aria-invalid', String(!text));
          ageErr.hidden = age.checked;
          ageErr.textContent = age.checked ? '' : t('prechat.needAge');
          age.setAttribute('aria-invalid', String(!age.checked));
          if (!text) return msg.focus();
          if (!age.checked) return age.focus();
          actions.startChat({ name: name.value.trim(), email: email.value.trim(), unit: unitSelect.value, text });
        },
      },
    },
    h('p', { class: 'lead' }, t('prechat.lead')),
    h('div', { class: 'row2' }, field('pc-name', t('prechat.name'), name, t('optional')), field('pc-email', t('prechat.email'), email, t('optional'))),
    field('pc-unit', t('prechat.unit'), unitSelect),
    field('pc-message', t('prechat.message'), msg),
    msgErr,
    h('div', { class: 'check' }, age, h('label', { for: 'pc-age' }, t('prechat.age'))),
    ageErr,
    offlineHint,
    h('button', { type: 'submit', class: 'primary', testid: 'prechat-submit' }, t('prechat.submit')),
    h('p', { class: 'fineprint' }, t('prechat.privacy')),
  );
  return form;
}

export function field(id, label, control, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label, hint ? h('span', { class: 'opt' }, ` (${hint})`) : null), control);
}

export function update({ state }, patch) {
  if (!form) return;
  const sel = form.querySelector('select');
  if (patch && patch.units && sel) {
    const keep = sel.value;
    const names = (state.units || []).map((u) => u.name);
    sel.replaceChildren(h('option', { value: 'auto' }, t('prechat.unitAuto')), ...names.map((u) => h('option', { value: u }, unitName(u))));
    sel.value = names.includes(keep) ? keep : names.includes(state.config.unit) ? state.config.unit : 'auto';
  }
  const hint = form.querySelector('.hint');
  if (sel && hint) hint.hidden = !offlineEverywhere(sel.value);
}

export function focus() {
  const el = form && form.querySelector('#pc-name');
  if (el) el.focus();
}
