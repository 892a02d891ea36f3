// The console's admin area in Chromium: agents, API keys, webhooks with
// their delivery log, standard replies and the audit log; a supervisor's
// part of it; screenshots of every screen at desktop and phone widths in
// English and Turkish, each checked with axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { startChatd, launch, watch, rest, makeAgent, runAxe, ADMIN, SHOTS, DESKTOP, PHONE } from './lib.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser.close();
});

const SECTIONS = ['agents', 'apikeys', 'webhooks', 'replies', 'audit'];

// A page's console errors, less the refusals a test provokes on purpose.
function unexpected(errors, allowed = []) {
  return errors.filter((e) => !allowed.some(([status, re]) => e.includes(`status of ${status}`) && re.test(e)));
}

async function login(who, { viewport = DESKTOP, locale = 'en-US', base }) {
  const context = await browser.newContext({ viewport, locale });
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(base + '/console');
  await page.fill('[data-testid=login-email]', who.email);
  await page.fill('[data-testid=login-password]', who.password);
  await page.click('[data-testid=login-submit]');
  await page.locator('[data-testid=connection][data-state=online]').waitFor();
  return { context, page, errors };
}

async function openSection(page, id) {
  if ((await page.locator('#tab-admin[aria-selected=true]').count()) === 0) await page.click('#tab-admin');
  await page.click(`[data-testid=admin-nav-${id}]`);
  await page.locator(`[data-testid=admin][data-section=${id}]`).waitFor();
}

async function fullShot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}

// A local receiver of webhook deliveries.
async function receiver() {
  const got = [];
  const waiters = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${srv.address().port}/hook`,
    got,
    async until(n) {
      const end = Date.now() + 20000;
      while (got.length < n) {
        if (Date.now() > end) throw new Error(`receiver: ${got.length} of ${n} deliveries`);
        await new Promise((ok) => { waiters.push(ok); setTimeout(ok, 500); });
      }
    },
    close: () => new Promise((ok) => srv.close(ok)),
  };
}

test('admin area: an agent made in the UI logs in; an API key shown once works over REST; a webhook delivery is logged and redelivered; a standard reply edited; the audit log filtered and paged', async () => {
  const hook = await receiver();
  const srv = await startChatd({ CHAT_WEBHOOK_ALLOW_PRIVATE: '1' });
  const allowed = [[409, /\/api\/v1\/agents/]];
  try {
    const admin = await login(ADMIN, { base: srv.url });
    const { page } = admin;
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    const adminToken = (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: ADMIN })).body.token;

    // ---- agents ----
    await page.click('#tab-admin');
    await page.locator('[data-testid=admin][data-section=agents]').waitFor();
    await page.locator('[data-testid=agent-row]').first().waitFor();
    await page.click('[data-testid=agent-new]');
    const dlg = page.locator('dialog[open]');
    // Errors are said before anything is sent.
    await page.click('[data-testid=agent-save]');
    await dlg.locator('[role=alert]', { hasText: 'valid email' }).waitFor();
    await page.fill('[data-testid=agent-email]', 'deniz@example.com');
    await page.fill('[data-testid=agent-name]', 'Deniz Kaya');
    await page.fill('[data-testid=agent-password]', 'deniz-password-1');
    await page.check('[data-testid=agent-units-general]');
    await page.check('[data-testid=agent-units-technical]');
    await page.fill('[data-testid=agent-max]', '3');
    await page.selectOption('[data-testid=agent-role]', 'agent');
    assert.deepEqual(await runAxe(page), [], 'axe: the new agent dialog');
    await page.click('[data-testid=agent-save]');
    const row = page.locator('[data-testid=agent-row][data-email="deniz@example.com"]');
    await row.waitFor();
    assert.equal(await dlg.count(), 0);
    const agentID = await row.getAttribute('data-agent-id');
    assert.match(await row.innerText(), /Deniz Kaya[\s\S]*Agent[\s\S]*General[\s\S]*Technical support[\s\S]*3/);

    // The same email again: the server's refusal, said plainly.
    await page.click('[data-testid=agent-new]');
    await page.fill('[data-testid=agent-email]', 'deniz@example.com');
    await page.fill('[data-testid=agent-name]', 'Deniz Again');
    await page.fill('[data-testid=agent-password]', 'deniz-password-2');
    await page.check('[data-testid=agent-units-general]');
    await page.click('[data-testid=agent-save]');
    await dlg.locator('[role=alert]', { hasText: 'An account with this email already exists' }).waitFor();
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' }).catch(() => {});
    assert.equal(await page.locator('dialog[open]').count(), 0);

    // Edit: capacity and units.
    await row.locator('[data-testid=agent-edit]').click();
    await page.fill('[data-testid=agent-max]', '4');
    await page.uncheck('[data-testid=agent-units-technical]');
    await page.click('[data-testid=agent-save]');
    await page.locator('[data-testid=agent-row][data-email="deniz@example.com"] td', { hasText: /^4$/ }).waitFor();
    const listed = (await rest(srv.url, 'GET', '/api/v1/agents', { token: adminToken })).body.items.find((a) => a.id === agentID);
    assert.equal(listed.max_chats, 4);
    assert.deepEqual(listed.units, ['general']);
    assert.equal(listed.role, 'agent');

    // The new agent logs in in another browser and works: no admin tab.
    const deniz = await login({ email: 'deniz@example.com', password: 'deniz-password-1' }, { base: srv.url });
    await deniz.page.locator('[data-testid=chat-list]').waitFor();
    assert.equal(await deniz.page.locator('#tab-admin').count(), 0);

    // Disabled (after a confirmation), their console goes back to the login.
    await page.locator('[data-testid=agent-row][data-email="deniz@example.com"] [data-testid=agent-disable]').click();
    await page.locator('dialog[open]', { hasText: 'Disable Deniz Kaya?' }).waitFor();
    await page.click('[data-testid=confirm-ok]');
    await page.locator('[data-testid=agent-row][data-email="deniz@example.com"] [data-testid=agent-state]', { hasText: 'Disabled' }).waitFor();
    await deniz.page.locator('[data-testid=login-submit]').waitFor({ timeout: 20000 });
    assert.equal((await rest(srv.url, 'POST', '/api/v1/auth/login', { body: { email: 'deniz@example.com', password: 'deniz-password-1' } })).status, 401);
    assert.deepEqual(deniz.errors, []);
    await deniz.context.close();

    // ---- API keys ----
    await openSection(page, 'apikeys');
    await page.click('[data-testid=apikey-new]');
    await page.click('[data-testid=apikey-create]');
    await page.locator('[role=alert]', { hasText: 'give the key a name' }).waitFor();
    await page.fill('[data-testid=apikey-name]', 'CRM integration');
    await page.check('[data-testid=apikey-units-general]');
    await page.click('[data-testid=apikey-create]');
    const secret = page.locator('[data-testid=apikey-secret]');
    await secret.waitFor();
    const key = await secret.inputValue();
    await page.waitForFunction(() => document.activeElement && document.activeElement.dataset.testid === 'apikey-secret');
    assert.match(key, /^ck_/);
    await page.locator('.secret-box', { hasText: 'only time the key is shown' }).waitFor();
    await page.click('[data-testid=apikey-secret-copy]');
    await page.locator('.copy-state', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    await page.locator('[data-testid=apikey-row]', { hasText: 'CRM integration' }).waitFor();
    // The key works over REST, limited to its unit.
    const listedTickets = await page.evaluate(async ([base, k]) => {
      const r = await fetch(`${base}/api/v1/tickets?status=all`, { headers: { Authorization: `Bearer ${k}` } });
      return { status: r.status, body: await r.json() };
    }, [srv.url, key]);
    assert.equal(listedTickets.status, 200);
    assert.ok(Array.isArray(listedTickets.body.items));
    // Shown once: gone after "I have stored it" and never listed.
    await page.click('[data-testid=apikey-secret-done]');
    await openSection(page, 'agents');
    await openSection(page, 'apikeys');
    await page.locator('[data-testid=apikey-row]', { hasText: 'CRM integration' }).waitFor();
    assert.ok(!(await page.content()).includes(key));
    const keysNow = (await rest(srv.url, 'GET', '/api/v1/apikeys', { token: adminToken })).body.items;
    assert.deepEqual(keysNow.find((k) => k.name === 'CRM integration').units, ['general']);

    // ---- webhooks ----
    await openSection(page, 'webhooks');
    await page.click('[data-testid=webhook-new]');
    await page.fill('[data-testid=webhook-url]', 'ftp://example.com/');
    await page.click('[data-testid=webhook-create]');
    await page.locator('[role=alert]', { hasText: 'http:// or https://' }).waitFor();
    await page.fill('[data-testid=webhook-url]', hook.url);
    await page.click('[data-testid=webhook-create]');
    await page.locator('[role=alert]', { hasText: 'at least one event' }).waitFor();
    await page.check('[data-testid="webhook-events-ticket.created"]');
    await page.click('[data-testid=webhook-create]');
    const hookSecret = await page.locator('[data-testid=webhook-secret]').inputValue();
    assert.ok(hookSecret.length >= 16, hookSecret);
    await page.locator('.secret-box', { hasText: 'only time the secret is shown' }).waitFor();
    const hookRow = page.locator('[data-testid=webhook-row]', { hasText: hook.url });
    await hookRow.waitFor();
    // The integrator's key makes a ticket: one delivery, signed with the secret.
    const made = await rest(srv.url, 'POST', '/api/v1/tickets', { token: key, body: { unit: 'general', subject: 'Fatura sorusu', text: 'Faturamı göremiyorum', email: 'musteri@example.com' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await hook.until(1);
    const first = hook.got[0];
    assert.equal(first.headers['x-chat-signature'], `sha256=${createHmac('sha256', hookSecret).update(first.body).digest('hex')}`);
    await hookRow.locator('[data-testid=webhook-log]').click();
    const delivered = page.locator('[data-testid=delivery-row][data-status=delivered]');
    await delivered.waitFor({ timeout: 20000 });
    assert.match(await delivered.innerText(), /ticket\.created[\s\S]*Delivered[\s\S]*1[\s\S]*HTTP 200/);
    assert.equal(await delivered.getAttribute('data-delivery-id'), first.headers['x-chat-delivery']);
    assert.deepEqual(await runAxe(page), [], 'axe: the delivery log');
    const firstAt = await delivered.getAttribute('data-delivered-at');
    assert.ok(firstAt, 'a delivered row names when it was delivered');
    await delivered.locator('[data-testid=redeliver]').click();
    await hook.until(2);
    assert.equal(hook.got[1].headers['x-chat-delivery'], first.headers['x-chat-delivery']);
    // A redelivery starts the delivery's schedule again: the log shows it
    // delivered anew, at a later time, with the same id.
    await page.waitForFunction((before) => {
      const row = document.querySelector('[data-testid=delivery-row]');
      if (row && row.dataset.status === 'delivered' && row.dataset.deliveredAt && row.dataset.deliveredAt !== before) return true;
      document.querySelector('[data-testid=deliveries-refresh]')?.click();
      return false;
    }, firstAt, { timeout: 20000, polling: 500 });

    // ---- standard replies ----
    await openSection(page, 'replies');
    await page.locator('[data-testid=reply-row]').first().waitFor();
    await page.selectOption('[data-testid=reply-filter-unit]', 'general');
    await page.selectOption('[data-testid=reply-filter-lang]', 'en');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid=reply-row]')];
      return rows.length > 0 && rows.every((r) => r.dataset.unit === 'general' && r.dataset.lang === 'en');
    });
    const reply = page.locator('[data-testid=reply-row]').first();
    const replyID = await reply.getAttribute('data-reply-id');
    await reply.locator('[data-testid=reply-edit]').click();
    await page.fill('[data-testid=reply-title]', 'Greeting (edited)');
    await page.fill('[data-testid=reply-text]', 'Hello! Thanks for waiting — how can I help?');
    await page.click('[data-testid=reply-save]');
    await page.locator(`[data-testid=reply-row][data-reply-id="${replyID}"]`, { hasText: 'Greeting (edited)' }).waitFor();
    const saved = (await rest(srv.url, 'GET', '/api/v1/canned-replies?unit=general&lang=en', { token: adminToken })).body.items.find((r) => r.id === replyID);
    assert.equal(saved.title, 'Greeting (edited)');
    assert.equal(saved.text, 'Hello! Thanks for waiting — how can I help?');
    // A Turkish filter shows none of the English ones.
    await page.selectOption('[data-testid=reply-filter-lang]', 'tr');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=reply-row]')].every((r) => r.dataset.lang === 'tr'));

    // ---- the audit log ----
    for (let i = 0; i < 55; i++) assert.equal((await rest(srv.url, 'GET', '/api/v1/tickets', { token: key })).status, 200);
    await openSection(page, 'audit');
    await page.locator('[data-testid=audit-row]').first().waitFor();
    await page.fill('[data-testid=audit-action]', 'agent.created');
    await page.fill('[data-testid=audit-object]', agentID);
    await page.click('[data-testid=audit-apply]');
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('[data-testid=audit-row]')];
      return rows.length === 1 && rows[0].dataset.action === 'agent.created' && rows[0].dataset.objectId === id;
    }, agentID);
    const auditRow = page.locator('[data-testid=audit-row]');
    assert.match(await auditRow.innerText(), /Admin[\s\S]*agent\.created[\s\S]*deniz@example\.com/);
    // Another action: the row is not there.
    await page.fill('[data-testid=audit-action]', 'apikey.*');
    await page.fill('[data-testid=audit-object]', '');
    await page.click('[data-testid=audit-apply]');
    await page.locator('[data-testid=audit-row][data-action="apikey.created"]').waitFor();
    assert.equal(await page.locator('[data-testid=audit-row][data-action="agent.created"]').count(), 0);
    // Paging: the key's 55+ reads of the written queue fill two pages.
    await page.click('[data-testid=audit-clear]');
    await page.selectOption('[data-testid=audit-actor-kind]', 'apikey');
    await page.fill('[data-testid=audit-action]', 'ticket.list');
    await page.click('[data-testid=audit-apply]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit-row]').length === 50);
    const firstPage = await page.locator('[data-testid=audit-row]').first().getAttribute('data-seq');
    await page.click('[data-testid=audit-older]');
    await page.locator('[data-testid=audit-page]', { hasText: 'Page 2' }).waitFor();
    const second = await page.locator('[data-testid=audit-row]').count();
    assert.ok(second >= 6 && second < 50, `page 2 has ${second} rows`);
    const seqs = await page.locator('[data-testid=audit-row]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.seq)));
    assert.ok(seqs.every((s) => s < Number(firstPage)));
    await page.click('[data-testid=audit-newer]');
    await page.locator('[data-testid=audit-page]', { hasText: 'Page 1' }).waitFor();
    assert.equal(await page.locator('[data-testid=audit-row]').first().getAttribute('data-seq'), firstPage);
    // A time window in the future holds nothing.
    await page.click('[data-testid=audit-clear]');
    await page.fill('[data-testid=audit-from]', '2099-01-01T00:00');
    await page.click('[data-testid=audit-apply]');
    await page.locator('.admin-empty').waitFor();

    // ---- revoking the key ends it ----
    await openSection(page, 'apikeys');
    await page.locator('[data-testid=apikey-row]', { hasText: 'CRM integration' }).locator('[data-testid=apikey-revoke]').click();
    await page.click('[data-testid=confirm-ok]');
    await page.locator('[data-testid=apikey-row]', { hasText: 'CRM integration' }).locator('.pill.off').waitFor();
    assert.equal((await rest(srv.url, 'GET', '/api/v1/tickets', { token: key })).status, 401);

    assert.deepEqual(unexpected(admin.errors, allowed), []);
    await admin.context.close();
  } finally {
    await srv.stop();
    await hook.close();
  }
});

test('a supervisor sees only the standard replies of their units in the admin area', async () => {
  const srv = await startChatd();
  try {
    const sup = await makeAgent(srv.url, { email: 'sena@example.com', name: 'Sena', units: ['technical'], role: 'supervisor' });
    const { context, page, errors } = await login(sup, { base: srv.url });
    await page.click('#tab-admin');
    await page.locator('[data-testid=admin][data-section=replies]').waitFor();
    const nav = await page.locator('[data-testid=admin-nav] button').evaluateAll((bs) => bs.map((b) => b.dataset.testid));
    assert.deepEqual(nav, ['admin-nav-replies']);
    await page.locator('[data-testid=reply-row]').first().waitFor();
    // Only their units' replies and the shared ones are listed; only theirs can be changed.
    const rows = await page.locator('[data-testid=reply-row]').evaluateAll((rs) => rs.map((r) => ({ unit: r.dataset.unit, editable: !!r.querySelector('[data-testid=reply-edit]') })));
    assert.ok(rows.length > 0);
    for (const r of rows) {
      assert.ok(r.unit === 'technical' || r.unit === '', JSON.stringify(r));
      assert.equal(r.editable, r.unit === 'technical');
    }
    // They make one for their unit, by keyboard alone; the team list offers only theirs.
    const focused = () => page.evaluate(() => document.activeElement && document.activeElement.dataset.testid);
    await page.focus('[data-testid=reply-new]');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    assert.equal(await focused(), 'reply-unit');
    const offered = await page.locator('[data-testid=reply-unit] option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(offered, ['technical']);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'reply-lang');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'reply-title');
    await page.keyboard.type('Restart');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'reply-text');
    await page.keyboard.type('Please restart the app and try again.');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'reply-save');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=reply-row]', { hasText: 'Restart' }).waitFor();
    const mine = (await rest(srv.url, 'GET', '/api/v1/canned-replies?unit=technical', { token: (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: sup })).body.token })).body.items;
    assert.ok(mine.some((r) => r.title === 'Restart' && r.unit === 'technical'));
    // And delete it again, after a confirmation.
    await page.locator('[data-testid=reply-row]', { hasText: 'Restart' }).locator('[data-testid=reply-delete]').click();
    assert.equal(await focused(), 'confirm-ok');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=reply-row]', { hasText: 'Restart' }).waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('admin screens at desktop and phone widths, in English and Turkish: screenshots and axe', async () => {
  const hook = await receiver();
  const srv = await startChatd({ CHAT_WEBHOOK_ALLOW_PRIVATE: '1' });
  try {
    // Something to show on every screen.
    const token = (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: ADMIN })).body.token;
    await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece Yılmaz', units: ['general', 'account'], max: 4 });
    await makeAgent(srv.url, { email: 'mert@example.com', name: 'Mert Demir', units: ['technical'], role: 'supervisor', max: 6 });
    const off = await makeAgent(srv.url, { email: 'eski@example.com', name: 'Eski Çalışan', units: ['financial'] });
    await rest(srv.url, 'PATCH', `/api/v1/agents/${off.id}`, { token, body: { disabled: true } });
    const key = (await rest(srv.url, 'POST', '/api/v1/apikeys', { token, body: { name: 'CRM', units: ['general'] } })).body.key;
    const old = (await rest(srv.url, 'POST', '/api/v1/apikeys', { token, body: { name: 'Old shop backend' } })).body;
    await rest(srv.url, 'DELETE', `/api/v1/apikeys/${old.id}`, { token });
    const wh = (await rest(srv.url, 'POST', '/api/v1/webhooks', { token, body: { url: hook.url, events: ['ticket.created', 'ticket.replied', 'chat.closed'] } })).body;
    await rest(srv.url, 'POST', '/api/v1/tickets', { token: key, body: { unit: 'general', subject: 'Kargo', text: 'Kargom gelmedi', email: 'a@example.com' } });
    await hook.until(1);

    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      for (const lang of ['en', 'tr']) {
        const { context, page, errors } = await login(ADMIN, { viewport, locale: lang === 'tr' ? 'tr-TR' : 'en-US', base: srv.url });
        assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
        for (const id of SECTIONS) {
          await openSection(page, id);
          if (id === 'agents') await page.locator('[data-testid=agent-row]').nth(3).waitFor();
          if (id === 'apikeys') await page.locator('[data-testid=apikey-row]').nth(1).waitFor();
          if (id === 'webhooks') {
            await page.locator(`[data-testid=webhook-row][data-webhook-id="${wh.id}"] [data-testid=webhook-log]`).click();
            await page.locator('[data-testid=delivery-row][data-status=delivered]').waitFor({ timeout: 20000 });
          }
          if (id === 'replies') await page.locator('[data-testid=reply-row]').first().waitFor();
          if (id === 'audit') await page.locator('[data-testid=audit-row]').first().waitFor();
          const v = await runAxe(page);
          assert.deepEqual(v, [], `axe: ${id} ${size} ${lang}`);
          await fullShot(page, `admin-${id}-${size}-${lang}`);
        }
        // The forms and the shown-once secret.
        await openSection(page, 'agents');
        await page.click('[data-testid=agent-new]');
        await page.locator('dialog[open]').waitFor();
        assert.deepEqual(await runAxe(page), [], `axe: agent dialog ${size} ${lang}`);
        await page.screenshot({ path: join(SHOTS, `admin-agent-dialog-${size}-${lang}.png`) });
        await page.keyboard.press('Escape');
        await openSection(page, 'apikeys');
        await page.click('[data-testid=apikey-new]');
    await page.fill('[data-testid=apikey-name]', `Shot ${size} ${lang}`);
        await page.click('[data-testid=apikey-create]');
        await page.locator('[data-testid=apikey-secret]').waitFor();
        assert.deepEqual(await runAxe(page), [], `axe: key shown once ${size} ${lang}`);
        await fullShot(page, `admin-apikey-shown-${size}-${lang}`);
        await openSection(page, 'replies');
        await page.locator('[data-testid=reply-row] [data-testid=reply-edit]').first().click();
        await page.locator('dialog[open]').waitFor();
        await page.screenshot({ path: join(SHOTS, `admin-reply-dialog-${size}-${lang}.png`) });
        await page.keyboard.press('Escape');
        assert.deepEqual(errors, []);
        await context.close();
      }
    }
    // A narrow laptop or a tablet: the visitor panel's column goes, five tabs still fit.
    const { context, page, errors } = await login(ADMIN, { viewport: { width: 1024, height: 768 }, locale: 'tr-TR', base: srv.url });
    await openSection(page, 'agents');
    await page.locator('[data-testid=agent-row]').nth(3).waitFor();
    const bar = await page.evaluate(() => {
      const el = document.querySelector('.tabs');
      return { over: el.scrollWidth - el.clientWidth, cut: [...el.querySelectorAll('.tab')].filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => `${b.textContent} ${b.scrollWidth}/${b.clientWidth}`) };
    });
    assert.ok(bar.over <= 1 && !bar.cut.length, `every tab label is whole and inside the tab bar: ${JSON.stringify(bar)}`);
    const wide = await page.evaluate(() => { const w = document.querySelector(".admin-table-wrap"); return w.scrollWidth - w.clientWidth; });
    const cols = await page.evaluate(() => [...document.querySelectorAll(".admin-table tbody tr:nth-child(2) td")].map((td) => Math.round(td.getBoundingClientRect().width)).join(","));
    assert.ok(wide <= 1, `the agents table is ${wide}px wider than its place (${cols})`);
    await fullShot(page, 'admin-agents-tablet-tr');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await srv.stop();
    await hook.close();
  }
});
