// The conversation: messages with their delivery state, the agent's typing,
// the waiting line, and the composer.

import { h, replace, linkify, clock, icon } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';

let els = null;
let typingOn = false;
let typingIdle = 0;

export function render(ctx) {
  const { actions } = ctx;
  const list = h('div', { class: 'messages', testid: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': t('chat.messages') });
  const queue = h('div', { class: 'queue', hidden: true });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const input = h('textarea', {
    class: 'composer',
    testid: 'composer',
    rows: '1',
    'aria-label': t('chat.composer'),
    placeholder: t('chat.placeholder'),
    maxlength: '4096',
  });
  const send = h('button', { type: 'submit', class: 'send', testid: 'send', 'aria-label': t('chat.send') }, icon('send'));
  const form = h(
    'form',
    {
      class: 'compose',
      on: {
        submit: (ev) => {
          ev.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          input.value = '';
          autosize(input);
          stopTyping(actions);
          actions.send(text);
          input.focus();
        },
      },
    },
    input,
    send,
  );
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    autosize(input);
    if (input.value.trim()) {
      if (!typingOn) {
        typingOn = true;
        actions.typing(true);
      }
      clearTimeout(typingIdle);
      typingIdle = setTimeout(() => stopTyping(actions), 3000);
    } else stopTyping(actions);
  });
  const confirmBox = h(
    'div',
    { class: 'confirm', hidden: true, role: 'group', 'aria-label': t('chat.endConfirm') },
    h('p', null, t('chat.endConfirm')),
    h('div', { class: 'confirm-buttons' },
      h('button', { type: 'button', class: 'secondary', on: { click: () => { confirmBox.hidden = true; endBtn.focus(); } } }, t('chat.endNo')),
      h('button', { type: 'button', class: 'danger', testid: 'close-confirm', on: { click: () => actions.closeChat() } }, t('chat.endYes')),
    ),
  );
  const endBtn = h('button', { type: 'button', class: 'end', testid: 'close-chat', on: { click: () => { confirmBox.hidden = false; confirmBox.querySelector('.danger').focus(); } } }, t('chat.end'));
  const writeBtn = h('button', { type: 'button', class: 'link', on: { click: () => actions.show('offline', { draftTicket: { unit: ctx.state.chat && ctx.state.chat.unit } }) } }, t('chat.writeInstead'));
  els = { list, queue, typing, input, form, writeBtn, confirmBox, endBtn };
  const wrap = h('div', { class: 'chat' }, queue, list, typing, confirmBox, h('div', { class: 'compose-bar' }, form, h('div', { class: 'chat-actions' }, endBtn)));
  update(ctx, {});
  return wrap;
}

function stopTyping(actions) {
  clearTimeout(typingIdle);
  if (typingOn) {
    typingOn = false;
    actions.typing(false);
  }
}

function autosize(el) {
  el.style.height = 'auto';
  el.style.height = `${Math.min(el.scrollHeight, 120)}px`;
}

export function focus() {
  if (els) els.input.focus();
}

function fmtWait(sec) {
  if (!sec || sec < 60) return t('queue.underMinute');
  return t('queue.minutes', { n: Math.round(sec / 60) });
}

export function update(ctx) {
  if (!els) return;
  const { state, socket } = ctx;
  const c = state.chat;
  if (!c) return;
  // The waiting line.
  const q = els.queue;
  if (c.status === 'queued' || c.status === 'starting') {
    q.hidden = false;
    const parts = [];
    if (c.status === 'starting') parts.push(h('p', { class: 'q-title' }, t('queue.starting')));
    else if (c.position) {
      parts.push(
        h('p', { class: 'q-title' }, t('queue.position'), ' ', h('strong', { testid: 'queue-position', class: 'q-pos' }, String(c.position))),
        h('p', { class: 'q-eta' }, icon('clock', 'icon small'), t('queue.eta', { wait: fmtWait(c.eta) })),
      );
    } else parts.push(h('p', { class: 'q-title' }, c.transfer ? t('queue.transferred', { unit: unitName(c.unit) }) : t('queue.waiting')));
    if (c.offline) parts.push(h('p', { class: 'q-off' }, t('queue.offline')), els.writeBtn);
    replace(q, ...parts);
  } else q.hidden = true;

  // Messages: stored ones by seq, then those still on their way.
  const items = [];
  const mine = c.messages.filter((m) => m.from && m.from.kind === 'visitor');
  const lastMine = mine.length ? mine[mine.length - 1].seq : 0;
  let prevKind = '';
  for (const m of c.messages) {
    const kind = m.from ? m.from.kind : 'system';
    const own = kind === 'visitor';
    let status = '';
    if (own && m.seq === lastMine) status = m.seq <= c.readUpTo ? t('msg.read') : t('msg.sent');
    items.push(bubble(m, own ? 'own' : kind, m.seq, status, kind !== prevKind));
    prevKind = kind;
  }
  if (socket) {
    for (const p of socket.pending('message')) {
      const f = p.frame;
      if ((c.id && f.chat_id === c.id) || (!f.chat_id && p.after === c.startID)) {
        items.push(bubble({ text: f.text, at: new Date(p.at).toISOString() }, 'own pending', 0, t('msg.sending'), false, f.client_id));
      }
    }
    for (const p of socket.pending('chat.start')) {
      if (p.frame.client_id === c.startID && !c.messages.length) {
        items.push(bubble({ text: p.frame.text, at: new Date(p.at).toISOString() }, 'own pending', 0, t('msg.sending'), true, p.frame.client_id));
      }
    }
  }
  for (const f of c.failed || []) {
    const el = bubble({ text: f.text }, 'own failed', 0, t('msg.failed', { reason: t(`error.${f.code}`) === `error.${f.code}` ? t('error.generic') : t(`error.${f.code}`) }), false);
    el.append(
      h('div', { class: 'retry' },
        h('button', { type: 'button', class: 'link', on: { click: () => ctx.actions.retry(f) } }, t('msg.retry')),
        h('button', { type: 'button', class: 'link', on: { click: () => ctx.actions.discard(f) } }, t('msg.discard'))),
    );
    items.push(el);
  }
  if (!items.length) items.push(h('div', { class: 'empty' }, t('chat.empty')));
  replace(els.list, ...items);
  els.list.scrollTop = els.list.scrollHeight;

  els.typing.textContent = c.agentTyping ? t('chat.typing', { name: c.typingName || (c.agent && c.agent.name) || t('chat.agent') }) : '';
  const open = c.status === 'queued' || c.status === 'active' || c.status === 'starting';
  els.form.hidden = !open;
  els.endBtn.hidden = !open;
}

function bubble(m, cls, seq, status, showName, clientID) {
  const kind = cls.split(' ')[0];
  const who = m.from && m.from.name ? m.from.name : kind === 'agent' ? t('chat.agent') : '';
  const props = { class: `msg ${cls}`, testid: 'message' };
  if (seq) props['data-seq'] = String(seq);
  if (clientID) props['data-state'] = 'sending';
  if (kind === 'system') {
    return h('div', props, h('p', { class: 'sys' }, m.text));
  }
  return h(
    'div',
    props,
    showName && kind === 'agent' && who ? h('p', { class: 'who' }, who) : null,
    h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text || ''))),
    h('p', { class: 'meta' }, h('time', { datetime: m.at || '' }, clock(m.at, lang())), status ? h('span', { class: 'state' }, ` · ${status}`) : null),
  );
}
