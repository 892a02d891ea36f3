// The login screen. A throttled login (429 too_many_attempts) is said
// plainly, with how long to wait.

import { h, api, errorCode } from '../dom.js';
import { t } from '../i18n.js';

let form;

export function render({ message, onLogin }) {
  const email = h('input', { id: 'login-email', type: 'email', autocomplete: 'username', required: true, testid: 'login-email' });
  const password = h('input', { id: 'login-password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const err = h('p', { class: 'login-error', role: 'alert', testid: 'login-error', hidden: !message }, message || '');
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'login-submit' }, t('login.submit'));
  form = h('form', {
    class: 'login-form',
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        if (!email.value.trim() || !password.value) {
          err.hidden = false;
          err.textContent = t('login.missing');
          return;
        }
        submit.disabled = true;
        submit.textContent = t('login.working');
        const res = await api('POST', '/api/v1/auth/login', { body: { email: email.value.trim(), password: password.value } });
        submit.disabled = false;
        submit.textContent = t('login.submit');
        if (res.status === 200 && res.body && res.body.agent) {
          onLogin(res.body.agent);
          return;
        }
        err.hidden = false;
        const code = errorCode(res);
        err.textContent = res.status === 429 || code === 'too_many_attempts' ? t('login.throttled')
          : res.status === 401 ? t('login.wrong')
          : res.status === 0 ? t('login.network')
          : t('error.generic');
        password.select();
      },
    },
  },
  h('h1', null, t('login.title')),
  h('p', { class: 'muted' }, t('login.lead')),
  h('div', { class: 'field' }, h('label', { for: 'login-email' }, t('login.email')), email),
  h('div', { class: 'field' }, h('label', { for: 'login-password' }, t('login.password')), password),
  err,
  submit);
  return h('main', { class: 'login' }, h('div', { class: 'login-card' }, h('div', { class: 'brand big' }, h('img', { src: '/static/img/icon.svg', alt: '', width: '32', height: '32' }), h('span', null, 'chatd')), form));
}

export function focus() {
  const el = form && form.querySelector('input');
  if (el) el.focus();
}
