// The one WebSocket client of chatd, shared by the widget and the console.
//
// It keeps the connection up (reconnect with exponential backoff and
// jitter, at once when the browser comes back online; a connection counts
// as good only once it has stayed up a while, so a server that closes it
// soon after `hello`, overloaded or rate limiting, is not hammered), asks
// for a `pong` when nothing has arrived for a while and reconnects when
// none comes (a socket that died without a close), waits for `hello`
// before sending anything, resumes every followed chat from the last seq it
// saw, and keeps every state-changing frame in an outbox until its ack or
// error arrives. The outbox lives in localStorage, so a frame typed just
// before a reload or while offline is sent (with its own client_id, so
// never twice) when the next connection opens. Messages and notes are
// passed on once each, by seq.

const RETRYABLE = new Set(['unavailable', 'internal', 'rate_limited']);
const ACK_TIMEOUT = 15000;
// Defaults of the timing options (milliseconds).
const TIMING = {
  healthy: 10000, // a connection up this long after hello resets the backoff
  idle: 30000, // nothing received this long: send a ping
  pong: 10000, // no answer this long after a ping: the socket is dead
  base: 500, // after one failure wait 0.5-1 s, then twice as long each time
  cap: 30000, // up to 15-30 s
};

// backoffDelay is how long to wait before attempt n+1 after n failures in
// a row: exponential, capped, with "equal jitter" (half fixed, half
// random), so retries spread out and never come back at once.
export function backoffDelay(failures, rand = Math.random(), base = TIMING.base, cap = TIMING.cap) {
  const d = Math.min(cap, base * 2 ** Math.min(Math.max(failures, 0), 16));
  return d / 2 + rand * (d / 2);
}

export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function readJSON(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v ? JSON.parse(v) : fallback;
  } catch {
    return fallback;
  }
}

function writeJSON(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or denied: the outbox still works for this page */
  }
}

export class Socket {
  // opts: url() -> string (or a Promise of one); scope names the outbox in
  // localStorage; onFrame(frame, sent) gets every server frame (for acks and
  // errors, sent is the frame they answer); onState(state); onClosed(code)
  // for a close the client must act on (4001: the session ended);
  // probe() -> Promise<boolean> tells whether the credential is still good
  // after a connection could not be opened (false stops reconnecting);
  // timing overrides TIMING's values.
  constructor(opts) {
    this.opts = opts;
    this.timing = { ...TIMING, ...(opts.timing || {}) };
    this.helloAt = 0; // when the current connection's hello came
    this.lastIn = 0; // when the last frame of any kind came
    this.pingAt = 0; // when the unanswered ping went out
    this.attempts = 0; // connections tried, for tests and diagnostics
    this.state = 'connecting';
    this.ws = null;
    this.gen = 0; // connection counter, so a frame is sent once per connection
    this.ready = false; // hello seen on the current connection
    this.failures = 0;
    this.stopped = false;
    this.timer = 0;
    this.chats = new Map(); // chat id -> {lastSeq, lastNote, seen, notes}
    this.key = `chatd.outbox.${opts.scope}`;
    const saved = readJSON(this.key, { items: [], starts: {} });
    this.outbox = Array.isArray(saved.items) ? saved.items : [];
    this.starts = saved.starts || {}; // chat.start client_id -> chat id
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => {
      if (this.ws) this.ws.close();
      this.setState('offline');
    };
    this.onVisible = () => {
      if (document.visibilityState === 'visible' && !this.ws && !this.stopped) this.reconnectNow();
    };
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.watchdog = setInterval(() => this.checkAcks(), Math.min(5000, this.timing.pong / 2));
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  // stop closes the connection for good (logout, forget me). The outbox is
  // dropped with it when clear is true.
  stop(clear) {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    if (clear) {
      this.outbox = [];
      this.starts = {};
      try {
        localStorage.removeItem(this.key);
      } catch {
        /* nothing stored */
      }
    }
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    if (this.opts.onState) this.opts.onState(s);
  }

  async connect() {
    if (this.stopped || this.ws) return;
    if (navigator.onLine === false) {
      this.setState('offline');
      return;
    }
    this.setState(this.failures >= 3 ? 'offline' : 'connecting');
    let url;
    try {
      url = await this.opts.url();
    } catch {
      this.retry();
      return;
    }
    if (this.stopped || this.ws) return;
    const ws = new WebSocket(url);
    const gen = ++this.gen;
    this.attempts++;
    this.ws = ws;
    this.ready = false;
    this.helloAt = 0;
    this.pingAt = 0;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      if (gen !== this.gen) return;
      this.lastIn = Date.now();
      this.pingAt = 0;
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.receive(f);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      if (this.stopped) return;
      // Only a connection that stayed up a while after hello was good;
      // one closed soon after (1013 overloaded, 1008 rate limited, 1001
      // a node going away) counts as a failure, so the waits grow.
      if (this.helloAt && Date.now() - this.helloAt >= this.timing.healthy) this.failures = 0;
      this.helloAt = 0;
      if (ev.code === 4001) {
        this.stopped = true;
        this.setState('offline');
        if (this.opts.onClosed) this.opts.onClosed(ev.code);
        return;
      }
      this.failures++;
      if (!opened && this.opts.probe && this.failures >= 2) {
        this.opts.probe().then(
          (ok) => (ok ? this.retry() : this.lost()),
          () => this.retry(),
        );
        return;
      }
      this.retry();
    };
  }

  lost() {
    this.stopped = true;
    this.setState('offline');
    if (this.opts.onClosed) this.opts.onClosed(4001);
  }

  retry() {
    if (this.stopped) return;
    this.setState(navigator.onLine === false || this.failures >= 3 ? 'offline' : 'connecting');
    clearTimeout(this.timer);
    // The first retry after a good connection waits 0.5-1 s, then 1-2 s,
    // 2-4 s, ... up to 15-30 s, so a node's sockets do not all come back
    // at the same instant and a server shedding load gets its breath.
    this.timer = setTimeout(() => this.connect(), backoffDelay(Math.max(0, this.failures), Math.random(), this.timing.base, this.timing.cap));
  }

  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.failures = 0;
    if (!this.ws) this.connect();
  }

  // follow makes the client resume chatID after every reconnect, from the
  // last seq (and, for staff, note) it has passed on.
  follow(chatID, lastSeq = 0, lastNote = null) {
    let c = this.chats.get(chatID);
    if (!c) {
      c = { lastSeq: 0, lastNote: null, seen: new Set(), notes: new Set() };
      this.chats.set(chatID, c);
    }
    c.lastSeq = Math.max(c.lastSeq, lastSeq);
    if (lastNote !== null) c.lastNote = Math.max(c.lastNote || 0, lastNote);
    return c;
  }

  unfollow(chatID) {
    this.chats.delete(chatID);
  }

  lastSeq(chatID) {
    const c = this.chats.get(chatID);
    return c ? c.lastSeq : 0;
  }

  // resume asks for what chatID holds after its last seen seq.
  resume(chatID) {
    const c = this.chats.get(chatID);
    if (!c || !this.ready) return;
    const f = { type: 'resume', chat_id: chatID, after_seq: c.lastSeq };
    if (c.lastNote !== null) f.after_note = c.lastNote;
    this.raw(f);
  }

  // send queues a state-changing frame and returns its client_id. A frame
  // of a chat not started yet names the chat.start it waits for in
  // opts.after; its chat_id is filled in when that start is acked.
  send(frame, opts = {}) {
    const f = { ...frame, client_id: frame.client_id || uuid() };
    const item = { frame: f, at: Date.now() };
    if (opts.after && !f.chat_id) {
      if (this.starts[opts.after]) f.chat_id = this.starts[opts.after];
      else item.after = opts.after;
    }
    if (opts.replace) {
      // Only the latest of these counts (presence): drop older ones not sent.
      this.outbox = this.outbox.filter((i) => i.frame.type !== f.type);
    }
    this.outbox.push(item);
    this.save();
    this.flush();
    return f.client_id;
  }

  // ephemeral sends typing and read frames, only while connected: they are
  // not worth keeping.
  ephemeral(frame) {
    if (this.ready) this.raw(frame);
  }

  pending(type, chatID) {
    return this.outbox.filter((i) => (!type || i.frame.type === type) && (!chatID || i.frame.chat_id === chatID));
  }

  pendingAfter(startID) {
    return this.outbox.filter((i) => i.after === startID);
  }

  resolveStart(startID, chatID) {
    if (!startID || !chatID || this.starts[startID] === chatID) return;
    this.starts[startID] = chatID;
    for (const i of this.outbox) {
      if (i.after === startID) {
        i.frame.chat_id = chatID;
        delete i.after;
      }
    }
    // Only the latest few starts are worth remembering.
    const keys = Object.keys(this.starts);
    for (const k of keys.slice(0, Math.max(0, keys.length - 5))) delete this.starts[k];
    this.save();
    this.flush();
  }

  save() {
    writeJSON(this.key, { items: this.outbox, starts: this.starts });
  }

  raw(f) {
    try {
      this.ws.send(JSON.stringify(f));
      return true;
    } catch {
      return false;
    }
  }

  // flush sends, in order, every outbox frame not yet sent on this
  // connection; a frame still waiting for its chat holds back those after it.
  flush() {
    if (!this.ready || !this.ws) return;
    for (const i of this.outbox) {
      if (i.after) break;
      if (i.gen === this.gen) continue;
      if (i.retryAt && i.retryAt > Date.now()) break;
      if (!this.raw(i.frame)) break;
      i.gen = this.gen;
      i.sent = Date.now();
    }
  }

  // checkAcks forces a reconnect when a frame has waited too long for its
  // answer, or a ping for its pong: the connection is likely dead without
  // the browser knowing (a half-open TCP connection never closes by itself).
  // After a quiet spell it sends that ping.
  checkAcks() {
    if (!this.ready || !this.ws) {
      return;
    }
    const now = Date.now();
    if (this.outbox.some((i) => i.retryAt && i.retryAt <= now)) this.flush();
    if (this.outbox.some((i) => i.gen === this.gen && now - i.sent > ACK_TIMEOUT)) {
      this.drop('no answer');
      return;
    }
    if (this.pingAt && now - this.pingAt > this.timing.pong) {
      this.drop('no pong');
      return;
    }
    if (!this.pingAt && now - this.lastIn > this.timing.idle) {
      this.pingAt = now;
      this.raw({ type: 'ping' });
    }
  }

  // drop gives up on the current connection at once and reconnects; the
  // close handshake of a dead socket could take long, so its close event is
  // not awaited (and ignored when it comes).
  drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.ready = false;
    this.helloAt = 0;
    this.pingAt = 0;
    try {
      ws.close(4000, reason);
    } catch {
      /* already closing */
    }
    this.failures++;
    this.retry();
  }

  take(clientID) {
    const n = this.outbox.findIndex((i) => i.frame.client_id === clientID);
    if (n < 0) return null;
    const [item] = this.outbox.splice(n, 1);
    this.save();
    return item;
  }

  receive(f) {
    const on = this.opts.onFrame;
    switch (f.type) {
      case 'hello':
        this.ready = true;
        this.helloAt = Date.now();
        this.setState('online');
        on(f);
        for (const id of this.chats.keys()) this.resume(id);
        this.flush();
        return;
      case 'ack': {
        const item = this.take(f.client_id);
        if (item && item.frame.type === 'chat.start' && f.chat_id) this.resolveStart(item.frame.client_id, f.chat_id);
        on(f, item ? item.frame : null);
        this.flush();
        return;
      }
      case 'error': {
        if (f.ref && RETRYABLE.has(f.code)) {
          const item = this.outbox.find((i) => i.frame.client_id === f.ref);
          if (item) {
            // Nothing of it was stored: send it again shortly, same client_id.
            item.gen = -1;
            item.retryAt = Date.now() + 1000 + Math.random() * 2000;
            setTimeout(() => this.flush(), item.retryAt - Date.now() + 10);
            on(f, item.frame);
            return;
          }
        }
        const item = f.ref ? this.take(f.ref) : null;
        on(f, item ? item.frame : null);
        this.flush();
        return;
      }
      case 'message':
      case 'note': {
        const c = this.follow(f.chat_id);
        const seen = f.type === 'note' ? c.notes : c.seen;
        if (seen.has(f.seq)) return;
        seen.add(f.seq);
        if (f.type === 'note') c.lastNote = Math.max(c.lastNote || 0, f.seq);
        else c.lastSeq = Math.max(c.lastSeq, f.seq);
        on(f);
        return;
      }
      case 'chat.assigned':
        if (Array.isArray(f.history)) {
          const c = this.follow(f.chat_id);
          f.history = f.history.filter((m) => !c.seen.has(m.seq));
          for (const m of f.history) {
            c.seen.add(m.seq);
            c.lastSeq = Math.max(c.lastSeq, m.seq);
          }
          f.notes = (f.notes || []).filter((m) => !c.notes.has(m.seq));
          for (const m of f.notes) c.notes.add(m.seq);
          c.lastNote = Math.max(c.lastNote || 0, f.last_note || 0);
        }
        on(f);
        return;
      case 'pong':
        return; // lastIn is already updated
      default:
        on(f);
    }
  }
}
