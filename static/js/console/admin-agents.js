// Admin: staff accounts. List, create, change units, capacity, role and
// name (or set a new password), disable and enable again.

import { h, replace, api } from '../dom.js';
import { t } from '../i18n.js';
import { state } from './store.js';
import { field, checkGroup, unitOptions, unitPills, table, formDialog, confirm, errorText, allUnits, sectionHead, msgBox, message, refocus } from './admin-ui.js';

const ROLES = ['agent', 'supervisor', 'admin'];
const ERRORS = { conflict: 'admin.agents.errConflict', unknown_unit: 'admin.agents.errUnit' };

let box;
let ctx;

export function render(el, context) {
  box = el;
  ctx = context;
  const list = h('div', { class: 'admin-body', 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('admin.loading')));
  const err = msgBox();
  replace(box,
    sectionHead(t('admin.agents.title'), t('admin.agents.lead'),
      h('button', { type: 'button', class: 'primary', testid: 'agent-new', on: { click: () => edit(null) } }, t('admin.agents.new'))),
    err, list);
  load(list, err);
}

async function load(list, err) {
  const res = await api('GET', '/api/v1/agents');
  list.removeAttribute('aria-busy');
  if (res.status !== 200 || !res.body) {
    replace(list);
    message(err, errorText(res));
    return;
  }
  const items = (res.body.items || []).slice().sort((a, b) => Number(a.disabled) - Number(b.disabled) || String(a.name).localeCompare(String(b.name)));
  const cols = [
    { label: t('admin.agents.name') },
    { label: t('admin.agents.role') },
    { label: t('admin.agents.units') },
    { label: t('admin.agents.capacity'), cls: 'num' },
    { label: t('admin.actions'), cls: 'actions' },
  ];
  replace(list, table({
    caption: t('admin.agents.title'),
    testid: 'agents',
    cols,
    empty: t('admin.agents.empty'),
    rows: items.map((a) => ({
      attrs: { testid: 'agent-row', 'data-agent-id': a.id, 'data-email': a.email, class: a.disabled ? 'off' : null },
      cells: [
        h('div', { class: 'who-cell' },
          h('span', { class: 'name-line' }, h('span', { class: 'strong' }, a.name),
            a.disabled ? h('span', { class: 'pill off', testid: 'agent-state' }, t('admin.agents.disabled')) : null),
          h('span', { class: 'muted small' }, a.email)),
        t(`role.${a.role}`),
        unitPills(a.units),
        String(a.max_chats),
        h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn small', testid: 'agent-edit', 'aria-label': t('admin.agents.editOf', { name: a.name }), on: { click: () => edit(a) } }, t('admin.edit')),
          state.me && a.id === state.me.id ? null
            : a.disabled
              ? h('button', { type: 'button', class: 'btn small', testid: 'agent-enable', 'aria-label': t('admin.agents.enableOf', { name: a.name }), on: { click: () => setDisabled(a, false) } }, t('admin.agents.enable'))
              : h('button', { type: 'button', class: 'btn small danger-outline', testid: 'agent-disable', 'aria-label': t('admin.agents.disableOf', { name: a.name }), on: { click: () => setDisabled(a, true) } }, t('admin.agents.disable'))),
      ],
    })),
  }));
  refocus(list);
}

function refresh() {
  render(box, ctx);
}

async function edit(a) {
  const units = await allUnits();
  const email = h('input', { type: 'email', autocomplete: 'off', required: true, testid: 'agent-email', maxlength: '254' });
  const name = h('input', { type: 'text', autocomplete: 'off', required: true, testid: 'agent-name', maxlength: '200', '.value': a ? a.name : '' });
  const password = h('input', { type: 'password', autocomplete: 'new-password', testid: 'agent-password', minlength: '8', required: !a });
  const unitBox = checkGroup(t('admin.agents.units'), unitOptions(units), a ? a.units : [], { testid: 'agent-units' });
  const max = h('input', { type: 'number', min: '1', max: '100', step: '1', required: true, testid: 'agent-max', inputmode: 'numeric', '.value': String(a ? a.max_chats : 5) });
  const role = h('select', { testid: 'agent-role' }, ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  role.value = a ? a.role : 'agent';
  const self = a && state.me && a.id === state.me.id;
  if (self) role.disabled = true;
  const fields = [
    a ? h('p', { class: 'dlg-sub' }, a.email) : field(t('admin.agents.email'), email),
    field(t('admin.agents.name'), name),
    field(a ? t('admin.agents.newPassword') : t('admin.agents.password'), password, { hint: a ? t('admin.agents.passwordKeep') : t('admin.agents.passwordHint') }),
    unitBox.el,
    h('div', { class: 'field-row' },
      field(t('admin.agents.max'), max, { hint: t('admin.agents.maxHint') }),
      field(t('admin.agents.role'), role, { hint: self ? t('admin.agents.selfRole') : t(`admin.agents.roleHint`) })),
  ];
  formDialog({
    title: a ? t('admin.agents.editTitle', { name: a.name }) : t('admin.agents.newTitle'),
    fields,
    submitLabel: a ? t('admin.save') : t('admin.agents.create'),
    submitTestid: 'agent-save',
    submit: async () => {
      const body = { name: name.value.trim(), units: unitBox.values(), max_chats: Number(max.value), role: role.value };
      if (!a) body.email = email.value.trim();
      if (!a && !/^[^@\s]+@[^@\s]+$/.test(body.email)) return t('admin.agents.errEmail');
      if (!body.name) return t('admin.agents.errName');
      if (password.value || !a) {
        if (password.value.length < 8 || new TextEncoder().encode(password.value).length > 72) return t('admin.agents.errPassword');
        body.password = password.value;
      }
      if (!body.units.length) return t('admin.agents.errUnits');
      if (!Number.isInteger(body.max_chats) || body.max_chats < 1 || body.max_chats > 100) return t('admin.agents.errMax');
      if (self) delete body.role;
      const res = a ? await api('PATCH', `/api/v1/agents/${encodeURIComponent(a.id)}`, { body }) : await api('POST', '/api/v1/agents', { body });
      if (res.status !== 200 && res.status !== 201) return errorText(res, ERRORS);
      ctx.toast(a ? t('admin.agents.saved', { name: body.name }) : t('admin.agents.created', { name: body.name }));
      refresh();
      return '';
    },
  });
}

async function setDisabled(a, disabled) {
  if (disabled) {
    const ok = await confirm({ title: t('admin.agents.disableTitle', { name: a.name }), text: t('admin.agents.disableText'), ok: t('admin.agents.disable') });
    if (!ok) return;
  }
  const res = await api('PATCH', `/api/v1/agents/${encodeURIComponent(a.id)}`, { body: { disabled } });
  if (res.status !== 200) {
    ctx.toast(errorText(res, ERRORS));
    return;
  }
  ctx.toast(disabled ? t('admin.agents.disabledDone', { name: a.name }) : t('admin.agents.enabledDone', { name: a.name }));
  refresh();
}
