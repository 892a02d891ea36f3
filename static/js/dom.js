// Building DOM without innerHTML: every piece of text goes in as a text
// node, so nothing a visitor or agent writes can become markup.

// h(tag, props, ...children): props may hold class, testid, on (event
// handlers), dataset, aria-* and other attributes, and DOM properties
// prefixed with '.' (such as '.value').
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'testid') el.dataset.testid = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k[0] === '.') el[k.slice(1)] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace puts children in place of el's content.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

// linkify renders text with its http(s) links clickable; nothing else
// (javascript:, data:, mail links) ever becomes a link.
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Trailing punctuation belongs to the sentence, not the link.
    const trail = url.match(/[.,;:!?)\]]+$/);
    if (trail) url = url.slice(0, -trail[0].length);
    let ok = false;
    try {
      const u = new URL(url);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) continue;
    frag.appendChild(document.createTextNode(text.slice(last, m.index)));
    frag.appendChild(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url));
    last = m.index + url.length;
  }
  frag.appendChild(document.createTextNode(text.slice(last)));
  return frag;
}

// icon draws one of a few line icons as SVG.
const PATHS = {
  chat: 'M4 5h16v11H8l-4 4z',
  close: 'M6 6l12 12M18 6L6 18',
  send: 'M4 12l16-8-6 16-2-7z',
  menu: 'M5 7h14M5 12h14M5 17h14',
  back: 'M15 5l-7 7 7 7',
  check: 'M5 12l5 5 9-10',
  lock: 'M7 11V8a5 5 0 0110 0v3M6 11h12v9H6z',
  download: 'M12 4v11m-5-5l5 5 5-5M5 20h14',
  clock: 'M12 7v5l3 3M12 3a9 9 0 100 18 9 9 0 000-18z',
  user: 'M12 12a4 4 0 100-8 4 4 0 000 8zM4 20c1-4 4-6 8-6s7 2 8 6',
  mail: 'M4 6h16v12H4zM4 7l8 6 8-6',
  star: 'M12 3l2.8 5.8 6.2.9-4.5 4.4 1 6.2-5.5-2.9-5.5 2.9 1-6.2L3 9.7l6.2-.9z',
};

export function icon(name, cls = 'icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', PATHS[name] || '');
  svg.appendChild(p);
  return svg;
}

// time formats an RFC 3339 moment as a local clock time.
// The formatters are made once per language: making one per call (what
// toLocaleTimeString does) is the slow part of drawing a long chat.
const formats = new Map();
function format(lang, kind) {
  const key = `${lang}:${kind}`;
  let f = formats.get(key);
  if (!f) {
    const opts = kind === 'clock' ? { hour: '2-digit', minute: '2-digit' } : { dateStyle: 'medium', timeStyle: 'short' };
    f = new Intl.DateTimeFormat(lang === 'tr' ? 'tr-TR' : 'en-GB', opts);
    formats.set(key, f);
  }
  return f;
}

export function clock(at, lang) {
  const d = at ? new Date(at) : new Date();
  if (Number.isNaN(d.getTime())) return '';
  return format(lang, 'clock').format(d);
}

export function dateTime(at, lang) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  return format(lang, 'date').format(d);
}

// beep plays a short, quiet two-note chime (no audio file to load).
let audio;
export function beep() {
  try {
    audio = audio || new (globalThis.AudioContext || globalThis.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
    const t = audio.currentTime;
    for (const [i, f] of [660, 880].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + i * 0.12);
      g.gain.exponentialRampToValueAtTime(0.08, t + i * 0.12 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.12 + 0.25);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.12);
      o.stop(t + i * 0.12 + 0.3);
    }
  } catch {
    /* no audio here */
  }
}

// csrfToken is the console's CSRF token, which the server keeps in the
// chatd_csrf cookie (readable by this page's script, not by other sites).
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)chatd_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

// api calls chatd's REST API and returns {status, body}; a network failure
// is status 0. A change made with the session cookie (no token given)
// carries the CSRF token in X-CSRF-Token, as the server requires.
export async function api(method, path, { token, body, base = '' } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (method !== 'GET' && method !== 'HEAD') {
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  try {
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    let data = null;
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    return { status: res.status, body: data, headers: res.headers };
  } catch {
    return { status: 0, body: null };
  }
}

export function errorCode(res) {
  return res && res.body && res.body.error ? res.body.error.code : '';
}
