// After the chat: what was said, a rating (1-5) with a comment, the
// transcript to download, and a way to start again. An escalated chat
// shows the ticket it became.

import { h, replace, icon, linkify, clock } from '../dom.js';
import { t, lang } from '../i18n.js';
import { downloadTranscript } from './transcript.js';

let els = null;

export function render(ctx) {
  const { state, actions } = ctx;
  const c = state.chat;
  const list = h('div', { class: 'messages compact', testid: 'messages', role: 'log', 'aria-label': t('chat.messages') });
  const card = h('div', { class: 'card csat-card' });
  const tools = h('div', { class: 'end-tools' });
  const ticket = h('div', { class: 'card ticket-card', hidden: true });
  els = { list, card, tools, ticket };
  const wrap = h('div', { class: 'ended' }, h('p', { class: 'ended-title', role: 'status' }), ticket, card, tools, h('details', { class: 'past', open: true }, h('summary', null, t('ended.showConversation')), list));
  els.title = wrap.querySelector('.ended-title');
  els.wrap = wrap;
  if (c) fill(ctx);
  void actions;
  return wrap;
}

function fill(ctx) {
  const { state, actions } = ctx;
  const c = state.chat;
  els.sig = JSON.stringify([c.status, c.reason, c.ticketID, c.csat, c.messages.length]);
  els.title.textContent = c.status === 'escalated' ? t('ended.escalated') : c.reason === 'agent_closed' ? t('ended.byAgent') : t('ended.title');
  // The ticket an escalated chat became.
  if (c.status === 'escalated' && c.ticketID) {
    els.ticket.hidden = false;
    replace(
      els.ticket,
      h('p', null, t('ended.ticket', { id: c.ticketID.slice(0, 8) })),
      h('button', { type: 'button', class: 'secondary', on: { click: () => actions.show('ticket', { ticket: { id: c.ticketID } }) } }, t('ended.openTicket')),
    );
  }
  renderCSAT(ctx);
  const status = h('p', { class: 'tool-status', role: 'status' });
  replace(
    els.tools,
    h('div', { class: 'tool-row' },
      h('button', { type: 'button', class: 'secondary', testid: 'transcript', on: { click: async () => { status.textContent = t('transcript.working'); status.textContent = await downloadTranscript(ctx, c, fmt.value); } } }, icon('download', 'icon small'), t('transcript.download')),
      h('label', { class: 'sr-only', for: 'tr-format' }, t('transcript.format')),
    ),
    status,
    h('button', { type: 'button', class: 'secondary', testid: 'new-chat', on: { click: () => actions.newChat() } }, t('ended.newChat')),
  );
  const fmt = h('select', { id: 'tr-format', class: 'fmt' }, h('option', { value: 'html' }, 'HTML'), h('option', { value: 'txt' }, t('transcript.txt')));
  els.tools.querySelector('.tool-row').append(fmt);
  replace(els.list, ...c.messages.map((m) => h('div', { class: `msg ${m.from && m.from.kind === 'visitor' ? 'own' : (m.from && m.from.kind) || 'system'}`, testid: 'message', 'data-seq': String(m.seq) },
    h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text || ''))),
    h('p', { class: 'meta' }, h('time', { datetime: m.at || '' }, `${(m.from && m.from.name) || ''} ${clock(m.at, lang())}`.trim())))));
}

function renderCSAT(ctx) {
  const { state, actions } = ctx;
  const c = state.chat;
  if (c.csat && c.csat.sent) {
    replace(els.card, h('p', { class: 'thanks', role: 'status' }, icon('check', 'icon small'), t('csat.thanks')));
    return;
  }
  const name = 'csat-rating';
  const stars = [1, 2, 3, 4, 5].map((n) => {
    const id = `csat-${n}`;
    return h('span', { class: 'star' },
      h('input', { type: 'radio', name, id, value: String(n), testid: `csat-${n}`, '.checked': !!(c.csat && c.csat.rating === n) }),
      h('label', { for: id, title: t(`csat.r${n}`) }, icon('star', 'icon'), h('span', { class: 'sr-only' }, t(`csat.r${n}`))));
  });
  const comment = h('textarea', { id: 'csat-comment', rows: '2', maxlength: '1000', placeholder: t('csat.commentPlaceholder'), '.value': (c.csat && c.csat.comment) || '' });
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const sending = c.csat && !c.csat.sent && !c.csat.error;
  const form = h('form', {
    class: 'csat', testid: 'csat', novalidate: true,
    on: {
      submit: (ev) => {
        ev.preventDefault();
        const picked = form.querySelector('input[name="csat-rating"]:checked');
        if (!picked) {
          err.hidden = false;
          err.textContent = t('csat.pick');
          return;
        }
        actions.rate(Number(picked.value), comment.value.trim());
      },
    },
  },
  h('fieldset', null, h('legend', null, t('csat.question')), h('div', { class: 'stars' }, stars)),
  h('label', { for: 'csat-comment', class: 'small-label' }, t('csat.comment')),
  comment,
  err,
  c.csat && c.csat.error ? h('p', { class: 'field-error' }, t('error.generic')) : null,
  h('button', { type: 'submit', class: 'primary', testid: 'csat-submit', disabled: sending }, sending ? t('csat.sending') : t('csat.submit')));
  replace(els.card, form);
}

export function update(ctx, patch) {
  if (!els || !ctx.state.chat) return;
  if (!patch || !('chat' in patch)) return;
  const c = ctx.state.chat;
  // Redrawn only when something shown changed, and the focus stays on the
  // control that had it (a keyboard user rating the chat keeps their place).
  const sig = JSON.stringify([c.status, c.reason, c.ticketID, c.csat, c.messages.length]);
  if (sig === els.sig) return;
  const had = document.activeElement;
  const where = had && els.wrap.contains(had) ? had.id || (had.dataset && had.dataset.testid) : '';
  fill(ctx);
  if (where && !had.isConnected) {
    const again = document.getElementById(where) || els.wrap.querySelector(`[data-testid="${where}"]`);
    if (again) again.focus();
  }
}

export function focus() {
  const el = els && els.card.querySelector('input, button');
  if (el) el.focus();
}
