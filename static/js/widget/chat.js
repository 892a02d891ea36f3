// The conversation: messages with their delivery state, the agent's typing,
// the waiting line, and the composer.

import { h, replace, linkify, clock, icon } from '../dom.js';
import { t, lang, unitName } from '../i18n.js';

let els = null;
let typingOn = false;
let typingIdle = 0;

export function render(ctx) {
  const { actions } = ctx;
  const list = h('div', { class: 'messages', testid: 'messages', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('chat.messages') });
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
  // Ends the chat at once (the rating follows on the next screen): an
  // integrator's test clicking close-chat gets a closed chat.
  const endBtn = h('button', { type: 'button', class: 'end', testid: 'close-chat', on: { click: () => actions.closeChat() } }, t('chat.end'));
  const writeBtn = h('button', { type: 'button', class: 'link', on: { click: () => actions.show('offline', { draftTicket: { unit: ctx.state.chat && ctx.state.chat.unit } }) } }, t('chat.writeInstead'));
  els = { list, queue, typing, input, form, writeBtn, endBtn, nodes: new Map(), queueSig: '', empty: null };
  const wrap = h('div', { class: 'chat' }, queue, list, typing, h('div', { class: 'compose-bar' }, form, h('div', { class: 'chat-actions' }, endBtn)));
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
  // The waiting line, rebuilt only when what it says changes.
  const q = els.queue;
  if (c.status === 'queued' || c.status === 'starting') {
    q.hidden = false;
    const sig = [c.status, c.position, c.eta, c.offline, c.transfer && c.transfer.unit, c.unit, lang()].join('|');
    if (sig !== els.queueSig) {
      els.queueSig = sig;
      const parts = [];
      if (c.status === 'starting') parts.push(h('p', { class: 'q-title' }, t('queue.starting')));
      else if (c.position) {
        parts.push(
          h('p', { class: 'q-title' }, t('queue.position'), ' ', h('strong', { testid: 'queue-position', class: 'q-pos' }, String(c.position))),
        );
        // No estimate while nobody of the team is online: it would be a guess.
        if (!c.offline) parts.push(h('p', { class: 'q-eta', testid: 'queue-eta' }, icon('clock', 'icon small'), t('queue.eta', { wait: fmtWait(c.eta) })));
      } else parts.push(h('p', { class: 'q-title' }, c.transfer ? t('queue.transferred', { unit: unitName(c.unit) }) : t('queue.waiting')));
      if (c.offline) parts.push(h('p', { class: 'q-off' }, t('queue.offline')), els.writeBtn);
      replace(q, ...parts);
    }
  } else {
    q.hidden = true;
    els.queueSig = '';
  }

  // Messages: stored ones by seq, then those still on their way, then those
  // refused. The list is a live region (role=log), so it is changed in
  // place: a new message is appended (and announced once), a message whose
  // delivery state changes keeps its node, and nothing is rebuilt.
  const want = [];
  const mine = c.messages.filter((m) => m.from && m.from.kind === 'visitor');
  const lastMine = mine.length ? mine[mine.length - 1].seq : 0;
  let prevKind = '';
  for (const m of c.messages) {
    const kind = m.from ? m.from.kind : 'system';
    const own = kind === 'visitor';
    const item = { key: `s:${m.seq}`, alias: m.cid ? `c:${m.cid}` : '', m, cls: own ? 'own' : kind, seq: m.seq, showName: kind !== prevKind };
    if (own) {
      item.state = m.seq <= c.readUpTo ? 'read' : 'sent';
      if (m.seq === lastMine) item.status = item.state === 'read' ? t('msg.read') : t('msg.sent');
    }
    want.push(item);
    prevKind = kind;
  }
  const stored = new Set(c.messages.map((m) => m.cid).filter(Boolean));
  if (socket) {
    for (const p of socket.pending('message')) {
      const f = p.frame;
      if (stored.has(f.client_id)) continue;
      if ((c.id && f.chat_id === c.id) || (!f.chat_id && p.after === c.startID)) {
        want.push({ key: `c:${f.client_id}`, m: { text: f.text, at: new Date(p.at).toISOString() }, cls: 'own', state: 'sending', status: t('msg.sending') });
      }
    }
    for (const p of socket.pending('chat.start')) {
      if (p.frame.client_id === c.startID && !c.messages.length) {
        want.push({ key: `c:${p.frame.client_id}`, m: { text: p.frame.text, at: new Date(p.at).toISOString() }, cls: 'own', state: 'sending', status: t('msg.sending'), showName: true });
      }
    }
  }
  for (const f of c.failed || []) {
    const reason = t(`error.${f.code}`) === `error.${f.code}` ? t('error.generic') : t(`error.${f.code}`);
    want.push({ key: `f:${f.client_id}`, m: { text: f.text, at: f.at }, cls: 'own', state: 'failed', status: t('msg.failed', { reason }), failed: f });
  }
  reconcile(ctx, want);

  const typing = c.agentTyping ? t('chat.typing', { name: c.typingName || (c.agent && c.agent.name) || t('chat.agent') }) : '';
  if (els.typing.textContent !== typing) els.typing.textContent = typing;
  const open = c.status === 'queued' || c.status === 'active' || c.status === 'starting';
  els.form.hidden = !open;
  els.endBtn.hidden = !open;
  els.endBtn.disabled = !!c.closing;
}

// reconcile makes the list show want, in order, touching only what changed.
function reconcile(ctx, want) {
  const list = els.list;
  const nodes = els.nodes;
  const keep = new Set();
  let grew = false;
  let prev = null;
  for (const w of want) {
    let el = nodes.get(w.key);
    if (!el && w.alias && nodes.has(w.alias)) {
      // The message we sent was stored: the same node, now with its seq.
      el = nodes.get(w.alias);
      nodes.delete(w.alias);
      nodes.set(w.key, el);
    }
    if (!el) {
      el = bubble(w.m, w.cls, w.seq || 0, w.showName);
      if (w.failed) {
        el.append(
          h('div', { class: 'retry' },
            // Too long: sending it again would fail again; it goes back
            // into the composer to be shortened.
            w.failed.code === 'message_too_large'
              ? h('button', { type: 'button', class: 'link', on: { click: () => { ctx.actions.discard(w.failed); els.input.value = w.failed.text; autosize(els.input); els.input.focus(); } } }, t('msg.edit'))
              : h('button', { type: 'button', class: 'link', on: { click: () => ctx.actions.retry(w.failed) } }, t('msg.retry')),
            h('button', { type: 'button', class: 'link', on: { click: () => ctx.actions.discard(w.failed) } }, t('msg.discard'))),
        );
      }
      nodes.set(w.key, el);
      grew = true;
    }
    setDelivery(el, w);
    keep.add(el);
    const next = prev ? prev.nextSibling : list.firstChild;
    if (next !== el) list.insertBefore(el, next);
    prev = el;
  }
  for (const [k, el] of nodes) {
    if (!keep.has(el)) {
      el.remove();
      nodes.delete(k);
    }
  }
  if (!want.length) {
    if (!els.empty) els.empty = h('div', { class: 'empty' }, t('chat.empty'));
    if (!els.empty.isConnected) list.append(els.empty);
  } else if (els.empty && els.empty.isConnected) els.empty.remove();
  if (grew) list.scrollTop = list.scrollHeight;
}

// setDelivery shows an own message's delivery state: data-state on every
// one (sending, sent, read, failed), the words on the ones that need them.
function setDelivery(el, w) {
  if (w.seq && el.dataset.seq !== String(w.seq)) el.dataset.seq = String(w.seq);
  if (!w.state) return;
  if (el.dataset.state !== w.state) {
    el.dataset.state = w.state;
    el.classList.toggle('pending', w.state === 'sending');
    el.classList.toggle('failed', w.state === 'failed');
  }
  const span = el.querySelector('.state');
  const text = w.status ? ` · ${w.status}` : '';
  if (span.textContent !== text) span.textContent = text;
}

function bubble(m, cls, seq, showName) {
  const kind = cls.split(' ')[0];
  const who = m.from && m.from.name ? m.from.name : kind === 'agent' ? t('chat.agent') : '';
  const props = { class: `msg ${cls}`, testid: 'message' };
  if (seq) props['data-seq'] = String(seq);
  if (kind === 'system') {
    return h('div', props, h('p', { class: 'sys' }, m.text));
  }
  return h(
    'div',
    props,
    showName && kind === 'agent' && who ? h('p', { class: 'who' }, who) : null,
    h('div', { class: 'bubble' }, h('p', { class: 'text' }, linkify(m.text || ''))),
    h('p', { class: 'meta' }, h('time', { datetime: m.at || '' }, m.at ? clock(m.at, lang()) : ''), kind === 'own' ? h('span', { class: 'state' }) : null),
  );
}
