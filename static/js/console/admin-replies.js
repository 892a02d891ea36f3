// Standard replies: list by unit and language, create, edit, delete.
// Admins manage every unit's and the shared ones (unit ""); supervisors
// those of their own units, as the API allows.

import { h, replace, api } from '../dom.js';
import { t, unitName } from '../i18n.js';
import { state } from './store.js';
import { field, formDialog, confirm, errorText, allUnits, sectionHead, msgBox, message, refocus } from './admin-ui.js';

const LANGS = ['tr', 'en'];
const SHARED = '*'; // the filter's value for replies of every unit

let box;
let ctx;
let filters = { unit: '', lang: '' };

function isAdmin() {
  return state.me && state.me.role === 'admin';
}

async function myUnits() {
  return isAdmin() ? allUnits() : (state.me && state.me.units) || [];
}

function manages(r) {
  return isAdmin() || (r.unit !== '' && ((state.me && state.me.units) || []).includes(r.unit));
}

export async function render(el, context) {
  box = el;
  ctx = context;
  const units = await myUnits();
  const unit = h('select', { testid: 'reply-filter-unit' },
    h('option', { value: '' }, t('admin.replies.allUnits')),
    h('option', { value: SHARED }, t('admin.replies.shared')),
    units.map((u) => h('option', { value: u }, unitName(u))));
  const lng = h('select', { testid: 'reply-filter-lang' }, h('option', { value: '' }, t('admin.replies.allLangs')), LANGS.map((l) => h('option', { value: l }, t(`admin.lang.${l}`))));
  unit.value = filters.unit;
  lng.value = filters.lang;
  const list = h('div', { class: 'admin-body', 'aria-live': 'polite' });
  const err = msgBox();
  const onChange = () => {
    filters = { unit: unit.value, lang: lng.value };
    load(list, err);
  };
  unit.addEventListener('change', onChange);
  lng.addEventListener('change', onChange);
  replace(box,
    sectionHead(t('admin.replies.title'), isAdmin() ? t('admin.replies.lead') : t('admin.replies.leadSupervisor'),
      h('button', { type: 'button', class: 'primary', testid: 'reply-new', on: { click: () => edit(null, list, err) } }, t('admin.replies.new'))),
    h('div', { class: 'admin-filters', role: 'search', 'aria-label': t('admin.filters') },
      field(t('admin.replies.unit'), unit), field(t('admin.replies.lang'), lng)),
    err, list);
  load(list, err);
}

async function load(list, err) {
  replace(list, h('p', { class: 'muted' }, t('admin.loading')));
  const q = new URLSearchParams();
  if (filters.unit && filters.unit !== SHARED) q.set('unit', filters.unit);
  if (filters.lang) q.set('lang', filters.lang);
  const res = await api('GET', `/api/v1/canned-replies${q.toString() ? `?${q}` : ''}`);
  if (res.status !== 200 || !res.body) {
    replace(list);
    message(err, errorText(res));
    return;
  }
  message(err, '');
  let items = res.body.items || [];
  // The API adds the shared replies to a unit's; the filter shows exactly what it names.
  if (filters.unit) items = items.filter((r) => r.unit === (filters.unit === SHARED ? '' : filters.unit));
  items = items.slice().sort((a, b) => String(a.unit).localeCompare(String(b.unit)) || a.lang.localeCompare(b.lang) || a.title.localeCompare(b.title));
  if (!items.length) {
    replace(list, h('p', { class: 'admin-empty' }, t('admin.replies.empty')));
    return;
  }
  replace(list, h('ul', { class: 'reply-list', testid: 'replies', 'aria-label': t('admin.replies.title') }, items.map((r) => h('li', { class: 'reply-card', testid: 'reply-row', 'data-reply-id': r.id, 'data-unit': r.unit, 'data-lang': r.lang },
    h('span', { class: 'pills' }, h('span', { class: r.unit ? 'pill unit' : 'pill all' }, r.unit ? unitName(r.unit) : t('admin.replies.sharedPill')),
      h('span', { class: 'pill lang', title: t(`admin.lang.${r.lang}`) }, r.lang.toUpperCase())),
    h('h4', { class: 'reply-title' }, r.title),
    h('p', { class: 'reply-text' }, r.text),
    manages(r) ? h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'btn small', testid: 'reply-edit', 'aria-label': t('admin.replies.editOf', { title: r.title }), on: { click: () => edit(r, list, err) } }, t('admin.edit')),
      h('button', { type: 'button', class: 'btn small danger-outline', testid: 'reply-delete', 'aria-label': t('admin.replies.deleteOf', { title: r.title }), on: { click: () => remove(r, list, err) } }, t('admin.delete')))
      : h('p', { class: 'muted small' }, t('admin.replies.notYours'))))));
  refocus(list);
}

async function edit(r, list, err) {
  const units = await myUnits();
  const unit = h('select', { testid: 'reply-unit' },
    isAdmin() ? h('option', { value: '' }, t('admin.replies.shared')) : null,
    units.map((u) => h('option', { value: u }, unitName(u))));
  unit.value = r ? r.unit : filters.unit && filters.unit !== SHARED ? filters.unit : units[0] || '';
  const lng = h('select', { testid: 'reply-lang' }, LANGS.map((l) => h('option', { value: l }, t(`admin.lang.${l}`))));
  lng.value = r ? r.lang : filters.lang || (document.documentElement.lang === 'tr' ? 'tr' : 'en');
  const title = h('input', { type: 'text', maxlength: '100', autocomplete: 'off', testid: 'reply-title', '.value': r ? r.title : '' });
  const text = h('textarea', { rows: '6', testid: 'reply-text', '.value': r ? r.text : '' });
  formDialog({
    title: r ? t('admin.replies.editTitle') : t('admin.replies.newTitle'),
    fields: [
      h('div', { class: 'field-row' }, field(t('admin.replies.unit'), unit), field(t('admin.replies.lang'), lng)),
      field(t('admin.replies.titleField'), title, { hint: t('admin.replies.titleHint') }),
      field(t('admin.replies.text'), text),
    ],
    submitLabel: r ? t('admin.save') : t('admin.replies.create'),
    submitTestid: 'reply-save',
    submit: async () => {
      const body = { unit: unit.value, lang: lng.value, title: title.value.trim(), text: text.value };
      if (!body.title) return t('admin.replies.errTitle');
      if (!body.text.trim()) return t('admin.replies.errText');
      const res = r ? await api('PATCH', `/api/v1/canned-replies/${encodeURIComponent(r.id)}`, { body }) : await api('POST', '/api/v1/canned-replies', { body });
      if (res.status !== 200 && res.status !== 201) return errorText(res);
      ctx.toast(r ? t('admin.replies.saved') : t('admin.replies.created'));
      state.canned = null; // the composer's list reads them again
      load(list, err);
      return '';
    },
  });
}

async function remove(r, list, err) {
  const ok = await confirm({ title: t('admin.replies.deleteTitle'), text: t('admin.replies.deleteText', { title: r.title }), ok: t('admin.delete') });
  if (!ok) return;
  const res = await api('DELETE', `/api/v1/canned-replies/${encodeURIComponent(r.id)}`);
  if (res.status !== 204) {
    message(err, errorText(res));
    return;
  }
  ctx.toast(t('admin.replies.deleted'));
  state.canned = null;
  load(list, err);
}
