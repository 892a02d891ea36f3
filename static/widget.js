/* chatd widget loader: <script src="https://CHATD/widget.js" async></script>
 * Creates one iframe on chatd's origin; the chat lives inside it, out of
 * reach of the host page's styles and scripts. The host talks to it
 * through window.chatd(command, ...args), callable before this file loads:
 *   window.chatd = window.chatd || function () { (chatd.q = chatd.q || []).push(arguments); };
 * Commands: open, close, toggle, lang (en|tr), identify ({user_id, user_hash}),
 * on / off (event, fn). Events: ready, opened, closed, message, chat.started,
 * chat.ended, unread (payloads in the README).
 */
(function () {
  'use strict';
  var w = window, d = document;
  if (w.chatd && w.chatd.loaded) return;
  var script = d.currentScript || d.querySelector('script[src*="/widget.js"]');
  if (!script) return;
  var origin = new URL(script.src, location.href).origin;
  var ds = script.dataset;
  var queued = (w.chatd && w.chatd.q) || [];
  var handlers = {};
  var frame, ready = false, isOpen = false, pending = [], baseTitle = d.title, shownTitle = d.title, unread = 0;
  var side = ds.position === 'left' ? 'left' : 'right';

  function post(msg) {
    msg.chatd = 1;
    if (ready && frame && frame.contentWindow) frame.contentWindow.postMessage(msg, origin);
    else pending.push(msg);
  }

  function emit(name, data) {
    (handlers[name] || []).slice().forEach(function (fn) {
      try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function set(el, props) {
    for (var k in props) el.style.setProperty(k, props[k], 'important');
  }

  function full() { return w.innerWidth < 640; }

  function layout() {
    if (!frame) return;
    var base = {
      position: 'fixed', border: '0', margin: '0', padding: '0', 'z-index': '2147483000', display: 'block',
      'background': 'transparent', 'color-scheme': 'normal', 'max-width': 'none', 'max-height': 'none',
      'min-width': '0', 'min-height': '0', opacity: '1', visibility: 'visible', transform: 'none', 'box-shadow': 'none',
      'pointer-events': 'auto', 'border-radius': '0', float: 'none', clip: 'auto', 'clip-path': 'none', filter: 'none'
    };
    var sz;
    if (isOpen && full()) sz = { top: '0', bottom: '0', left: '0', right: '0', width: '100%', height: '100%' };
    else if (isOpen) sz = { top: 'auto', bottom: '0', width: '420px', height: Math.min(760, w.innerHeight) + 'px' };
    else sz = { top: 'auto', bottom: '0', width: '104px', height: '104px' };
    if (!(isOpen && full())) { sz[side] = '0'; sz[side === 'left' ? 'right' : 'left'] = 'auto'; }
    for (var k in sz) base[k] = sz[k];
    set(frame, base);
    post({ type: 'layout', full: isOpen && full(), side: side });
  }

  // The page title carries the unread count; a title the host sets later
  // becomes the new base (and gets the count again).
  function title() {
    if (d.title !== shownTitle) baseTitle = d.title;
    shownTitle = unread > 0 ? '(' + unread + ') ' + baseTitle : baseTitle;
    if (d.title !== shownTitle) d.title = shownTitle;
  }
  if (w.MutationObserver) {
    new MutationObserver(function () { if (d.title !== shownTitle) title(); })
      .observe(d.head || d.documentElement, { subtree: true, childList: true, characterData: true });
  }

  function command(name, arg1, arg2) {
    switch (name) {
      case 'open': case 'close': case 'toggle': post({ type: name }); break;
      case 'lang': post({ type: 'lang', lang: String(arg1 || '') }); break;
      case 'identify':
        if (arg1 && arg1.user_id) post({ type: 'identify', user_id: String(arg1.user_id), user_hash: String(arg1.user_hash || '') });
        break;
      case 'on': if (typeof arg2 === 'function') (handlers[arg1] = handlers[arg1] || []).push(arg2); break;
      case 'off': if (handlers[arg1]) handlers[arg1] = handlers[arg1].filter(function (f) { return f !== arg2; }); break;
    }
  }

  var api = function () { command.apply(null, arguments); };
  api.loaded = true;
  w.chatd = api;

  function mount() {
    var p = new URLSearchParams();
    p.set('origin', location.origin);
    ['lang', 'unit', 'accent', 'title'].forEach(function (k) { if (ds[k]) p.set(k, ds[k]); });
    p.set('position', side);
    if (ds.userId) { p.set('user_id', ds.userId); p.set('user_hash', ds.userHash || ''); }
    frame = d.createElement('iframe');
    frame.src = origin + '/widget#' + p.toString();
    frame.title = ds.lang === 'tr' ? 'Canlı destek' : 'Live chat'; // until the widget names itself
    frame.setAttribute('allow', 'autoplay');
    frame.setAttribute('referrerpolicy', 'origin');
    layout();
    (d.body || d.documentElement).appendChild(frame);
    w.addEventListener('resize', layout);
  }

  w.addEventListener('message', function (ev) {
    if (ev.origin !== origin || !frame || ev.source !== frame.contentWindow) return;
    var m = ev.data;
    if (!m || m.chatd !== 1) return;
    switch (m.type) {
      case 'ready':
        ready = true;
        var q = pending; pending = [];
        q.forEach(post);
        layout();
        emit('ready');
        break;
      case 'state':
        if (isOpen !== !!m.open) {
          isOpen = !!m.open;
          layout();
          emit(isOpen ? 'opened' : 'closed');
        }
        break;
      case 'title':
        if (typeof m.title === 'string' && m.title) frame.title = m.title.slice(0, 60);
        break;
      case 'unread':
        unread = m.count | 0;
        title();
        emit('unread', unread);
        break;
      case 'event':
        emit(m.name, m.data);
        break;
    }
  });

  if (d.body) mount(); else d.addEventListener('DOMContentLoaded', mount);
  queued.forEach(function (args) { command.apply(null, args); });
})();
