// Admin: integrators' API keys. Make one (optionally limited to units):
// the key is shown once, here, with a copy button; list; revoke.

import { h, replace, api, dateTime } from '../dom.js';
import { t, lang } from '../i18n.js';
import { field, checkGroup, unitOptions, unitPills, table, confirm, formDialog, focusAfterClose, errorText, allUnits, sectionHead, msgBox, message, secretBox, refocus } from './admin-ui.js';

let box;
let ctx;

export function render(el, context) {
  box = el;
  ctx = context;
  const reveal = h('div', { class: 'admin-reveal' });
  const list = h('div', { class: 'admin-body', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('admin.loading')));
  const err = msgBox();
  replace(box,
    sectionHead(t('admin.apikeys.title'), t('admin.apikeys.lead'),
      h('button', { type: 'button', class: 'primary', testid: 'apikey-new', on: { click: () => create(reveal, list, err) } }, t('admin.apikeys.new'))),
    reveal, err, list);
  load(list, err);
}

async function create(reveal, list, listErr) {
  const units = await allUnits();
  const name = h('input', { type: 'text', maxlength: '100', autocomplete: 'off', testid: 'apikey-name', placeholder: t('admin.apikeys.namePlaceholder') });
  const unitBox = checkGroup(t('admin.apikeys.units'), unitOptions(units), [], { testid: 'apikey-units', hint: t('admin.apikeys.unitsHint') });
  formDialog({
    title: t('admin.apikeys.new'),
    lead: t('admin.apikeys.newLead'),
    fields: [field(t('admin.apikeys.name'), name), unitBox.el],
    submitLabel: t('admin.apikeys.create'),
    submitTestid: 'apikey-create',
    submit: async () => {
      const n = name.value.trim();
      if (!n) return t('admin.apikeys.errName');
      const res = await api('POST', '/api/v1/apikeys', { body: { name: n, units: unitBox.values() } });
      if (res.status !== 201 || !res.body || !res.body.key) return errorText(res);
      const s = secretBox({
        title: t('admin.apikeys.shownOnce', { name: res.body.name || n }),
        lead: t('admin.apikeys.shownOnceLead'),
        value: res.body.key,
        testid: 'apikey-secret',
        onDone: () => box.querySelector('[data-testid=apikey-new]').focus(),
      });
      replace(reveal, s);
      ctx.toast(t('admin.apikeys.created'));
      load(list, listErr);
      // Once the dialog has closed: the secret, selected, ready to copy.
      focusAfterClose(s.querySelector('input'));
      return '';
    },
  });
}

async function load(list, err) {
  const res = await api('GET', '/api/v1/apikeys');
  list.removeAttribute('aria-busy');
  if (res.status !== 200 || !res.body) {
    replace(list);
    message(err, errorText(res));
    return;
  }
  message(err, '');
  const items = (res.body.items || []).slice().sort((a, b) => Number(!!a.revoked_at) - Number(!!b.revoked_at) || String(b.created_at).localeCompare(String(a.created_at)));
  replace(list, table({
    caption: t('admin.apikeys.list'),
    testid: 'apikeys',
    empty: t('admin.apikeys.empty'),
    cols: [{ label: t('admin.apikeys.name') }, { label: t('admin.agents.units') }, { label: t('admin.apikeys.createdAt') }, { label: t('admin.apikeys.state') }, { label: t('admin.actions'), cls: 'actions' }],
    rows: items.map((k) => ({
      attrs: { testid: 'apikey-row', 'data-key-id': k.id, class: k.revoked_at ? 'off' : null },
      cells: [
        h('span', { class: 'strong' }, k.name),
        unitPills(k.units),
        dateTime(k.created_at, lang()),
        k.revoked_at ? h('span', { class: 'pill off' }, t('admin.apikeys.revokedAt', { at: dateTime(k.revoked_at, lang()) })) : h('span', { class: 'pill ok' }, t('admin.apikeys.active')),
        k.revoked_at ? null : h('button', {
          type: 'button', class: 'btn small danger-outline', testid: 'apikey-revoke', 'aria-label': t('admin.apikeys.revokeOf', { name: k.name }),
          on: { click: () => revoke(k, list, err) },
        }, t('admin.apikeys.revoke')),
      ],
    })),
  }));
  refocus(list);
}

async function revoke(k, list, err) {
  const ok = await confirm({ title: t('admin.apikeys.revokeTitle', { name: k.name }), text: t('admin.apikeys.revokeText'), ok: t('admin.apikeys.revoke') });
  if (!ok) return;
  const res = await api('DELETE', `/api/v1/apikeys/${encodeURIComponent(k.id)}`);
  if (res.status !== 204) {
    message(err, errorText(res));
    return;
  }
  ctx.toast(t('admin.apikeys.revoked', { name: k.name }));
  load(list, err);
}
