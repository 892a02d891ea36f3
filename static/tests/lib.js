// Helpers of the browser tests: a fresh chatd per test, headless Chromium,
// an agent scripted over the WebSocket protocol, and screenshots.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(here, 'screenshots');
mkdirSync(SHOTS, { recursive: true });

// The two widths every screen is looked at in.
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

// waitOnline waits until n agents of unit are online.
export async function waitOnline(base, unit = 'general', n = 1) {
  for (let i = 0; i < 100; i++) {
    const r = await rest(base, 'GET', '/api/v1/units');
    if (r.body.units.find((u) => u.name === unit).agents_online >= n) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`no agent online in ${unit}`);
}

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' };

// startChatd runs the built binary on a free port with a fresh SQLite file.
export async function startChatd(env = {}) {
  const bin = resolve(here, process.env.CHATD_BIN || '../../bin/chatd');
  const dir = mkdtempSync(join(tmpdir(), 'chatd-browser-'));
  const proc = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      CHAT_DATABASE_URL: `sqlite:${join(dir, 'chatd.db')}`,
      CHAT_ADDR: '127.0.0.1:0',
      CHAT_ADMIN_EMAIL: ADMIN.email,
      CHAT_ADMIN_PASSWORD: ADMIN.password,
      CHAT_LOG_LEVEL: 'warn',
      CHAT_AGENT_GRACE: '60s',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`chatd did not start: ${out} ${stderr}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/chatd listening on (\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    });
    proc.on('exit', (code) => fail(new Error(`chatd exited ${code}: ${stderr}`)));
  });
  return {
    url,
    stderr: () => stderr,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((ok) => {
        if (proc.exitCode !== null) return ok();
        const t = setTimeout(() => { proc.kill('SIGKILL'); ok(); }, 5000);
        proc.on('exit', () => { clearTimeout(t); ok(); });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

// watch collects the page's console errors and uncaught exceptions. A
// console not logged in asks who it is (401) and a throttled login is
// refused (429): the browser logs those responses, and only those pass.
const EXPECTED = [
  [401, /\/api\/v1\/(auth\/me|auth\/login)$/],
  [429, /\/api\/v1\/auth\/login$/],
];

export function watch(page) {
  const errors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = (m.location() && m.location().url) || '';
    const status = Number((m.text().match(/status of (\d+)/) || [])[1]);
    if (status && EXPECTED.some(([s, re]) => s === status && re.test(url.split('?')[0]))) return;
    errors.push(`${m.text()} ${url}`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

export async function rest(base, method, path, { token, body, cookie } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (cookie) headers.Cookie = cookie;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: res.status, body: data };
}

// makeAgent logs in as the admin and creates a staff member.
export async function makeAgent(base, { email, name, units, max = 5, role = 'agent', password = 'agent-password-1' }) {
  const login = await rest(base, 'POST', '/api/v1/auth/login', { body: ADMIN });
  if (login.status !== 200) throw new Error(`admin login: ${login.status} ${JSON.stringify(login.body)}`);
  const res = await rest(base, 'POST', '/api/v1/agents', { token: login.body.token, body: { email, name, units, max_chats: max, role, password } });
  if (res.status !== 201) throw new Error(`create agent: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, password };
}

// Bot is an agent driven over the WebSocket protocol from Node.
export class Bot {
  constructor(base, agent) {
    this.base = base;
    this.agent = agent;
    this.frames = [];
    this.waiters = [];
  }

  async connect(status = 'online') {
    if (!this.token) {
      const login = await rest(this.base, 'POST', '/api/v1/auth/login', { body: { email: this.agent.email, password: this.agent.password } });
      if (login.status !== 200) throw new Error(`agent login: ${login.status}`);
      this.token = login.body.token;
    }
    this.ws = new WebSocket(this.base.replace('http', 'ws') + '/ws/agent', { headers: { Authorization: `Bearer ${this.token}` } });
    this.ws.on('message', (d) => {
      const f = JSON.parse(String(d));
      this.frames.push(f);
      for (const w of [...this.waiters]) {
        if (w.pred(f)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.ok(f);
        }
      }
    });
    await this.wait((f) => f.type === 'hello');
    if (status) await this.call({ type: 'presence', status });
    return this;
  }

  // wait resolves with the first frame (seen or coming) that matches.
  wait(pred, ms = 15000, { fresh = false } = {}) {
    if (!fresh) {
      const f = this.frames.find(pred);
      if (f) return Promise.resolve(f);
    }
    return new Promise((ok, fail) => {
      const w = { pred, ok };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          fail(new Error(`bot ${this.agent.name}: timed out waiting; frames: ${JSON.stringify(this.frames.slice(-8))}`));
        }
      }, ms);
    });
  }

  // call sends a state-changing frame and waits for its ack (or error).
  async call(frame) {
    const f = { ...frame, client_id: frame.client_id || randomUUID() };
    const answer = this.wait((x) => (x.type === 'ack' && x.client_id === f.client_id) || (x.type === 'error' && x.ref === f.client_id), 15000, { fresh: true });
    this.ws.send(JSON.stringify(f));
    const a = await answer;
    if (a.type === 'error') throw new Error(`${f.type}: ${a.code} ${a.message}`);
    return a;
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  close() {
    if (this.ws) this.ws.close();
  }
}

// frameOf returns the widget's frame inside a host page.
export async function widgetFrame(page) {
  const el = await page.waitForSelector('iframe[src*="/widget"]', { state: 'attached' });
  const frame = await el.contentFrame();
  await frame.waitForSelector('[data-testid="launcher"]');
  return frame;
}

// fillPrechat opens the widget and sends its pre-chat form.
export async function fillPrechat(frame, { name = 'Ayşe', email, message, age = true, unit } = {}) {
  await frame.click('[data-testid=launcher]');
  await frame.locator('[data-testid=prechat-submit]').waitFor();
  await frame.fill('[data-testid=prechat-name]', name);
  if (email) await frame.fill('[data-testid=prechat-email]', email);
  if (unit) await frame.selectOption('[data-testid=prechat-unit]', unit);
  await frame.fill('[data-testid=prechat-message]', message);
  if (age) await frame.check('[data-testid=prechat-age]');
  await frame.click('[data-testid=prechat-submit]');
}

// customer opens the demo shop in a browser context of its own and starts
// a chat from its widget with form (fillPrechat's fields).
export async function customer(browser, srv, { viewport, ...form }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(srv.url + '/');
  const frame = await widgetFrame(page);
  await fillPrechat(frame, form);
  return { context, page, frame, errors };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), animations: 'disabled' });
}

// hostPage serves a page of another origin that embeds the widget.
export async function hostServer(html) {
  const srv = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(typeof html === 'function' ? html(req) : html);
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = srv.address().port;
  return { port, url: `http://localhost:${port}`, close: () => new Promise((ok) => srv.close(ok)) };
}

export function axeSource() {
  return readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
}

// runAxe checks a page or frame and returns the serious and critical
// violations.
export async function runAxe(target) {
  await target.evaluate(axeSource());
  const result = await target.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
