// The agent console in Chromium, with customers in the widget (other
// browser contexts) or scripted over the visitor socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startChatd, launch, watch, widgetFrame, shot, makeAgent, rest, runAxe, customer, waitOnline, DESKTOP, PHONE } from './lib.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser.close();
});

async function consolePage(srv, agent, { viewport = DESKTOP, locale = 'en-US', bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport, locale, bypassCSP });
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(srv.url + '/console');
  await page.fill('[data-testid=login-email]', agent.email);
  await page.fill('[data-testid=login-password]', agent.password);
  await page.click('[data-testid=login-submit]');
  await page.locator('[data-testid=connection][data-state=online]').waitFor();
  await page.locator('[data-testid=presence]').waitFor();
  return { context, page, errors };
}

// A customer scripted over the visitor socket.
async function visitor(base, text, { name = '', unit = 'general' } = {}) {
  const v = (await rest(base, 'POST', '/api/v1/visitors', { body: {} })).body;
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/visitor?token=${v.token}`);
  const frames = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d))));
  await new Promise((ok) => ws.on('open', ok));
  const cid = randomUUID();
  ws.send(JSON.stringify({ type: 'chat.start', client_id: cid, text, age_confirmed: true, name, unit }));
  const until = async (pred) => {
    for (let i = 0; i < 300; i++) {
      const f = frames.find(pred);
      if (f) return f;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    throw new Error(`visitor: timed out; ${JSON.stringify(frames.slice(-5))}`);
  };
  const ack = await until((f) => f.type === 'ack' && f.client_id === cid);
  return {
    chatID: ack.chat_id,
    frames,
    until,
    say: (t) => ws.send(JSON.stringify({ type: 'message', client_id: randomUUID(), chat_id: ack.chat_id, text: t })),
    close: () => ws.close(),
  };
}

test('login: wrong password, throttling said plainly, then a good login and logout', async () => {
  const srv = await startChatd();
  try {
    const agent = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watch(page);
    await page.goto(srv.url + '/console');
    await page.fill('[data-testid=login-email]', agent.email);
    await page.fill('[data-testid=login-password]', 'wrong-password');
    await page.click('[data-testid=login-submit]');
    await page.locator('[data-testid=login-error]', { hasText: 'Wrong email or password' }).waitFor();
    await shot(page, 'console-login-error-desktop-en');
    for (let i = 0; i < 10; i++) await rest(srv.url, 'POST', '/api/v1/auth/login', { body: { email: 'other@example.com', password: 'nope' } });
    await page.fill('[data-testid=login-email]', 'other@example.com');
    await page.fill('[data-testid=login-password]', 'nope');
    await page.click('[data-testid=login-submit]');
    await page.locator('[data-testid=login-error]', { hasText: '15 minutes' }).waitFor();
    await page.fill('[data-testid=login-email]', agent.email);
    await page.fill('[data-testid=login-password]', agent.password);
    await page.click('[data-testid=login-submit]');
    await page.locator('[data-testid=connection][data-state=online]').waitFor();
    await waitOnline(srv.url, 'general');
    // A reload keeps the session.
    await page.reload();
    await page.locator('[data-testid=chat-list]').waitFor();
    await page.click('[data-testid=logout]');
    await page.locator('[data-testid=login-submit]').waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
    assert.equal(me, 401);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('a whole conversation with a customer in the widget; notes never reach the customer; three chats with unread counts', async () => {
  const srv = await startChatd();
  try {
    const agent = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'], max: 5 });
    const { page, errors, context } = await consolePage(srv, agent);
    await page.locator('.empty-state').waitFor();
    await shot(page, 'console-empty-desktop-en');
    await waitOnline(srv.url, 'general');

    // The customer, in the widget, in another browser context.
    const { context: cctx, page: cpage, frame, errors: cerrors } = await customer(browser, srv, { viewport: DESKTOP, name: 'Ayşe Demir', email: 'ayse@example.com', unit: 'general', message: 'Merhaba, siparişim nerede?' });

    const item = page.locator('[data-testid=chat-item]');
    await item.waitFor();
    const chatID = await item.getAttribute('data-chat-id');
    await page.locator('[data-testid=chat-item] .ci-name', { hasText: 'Ayşe Demir' }).waitFor();
    await item.click();
    await page.locator('[data-testid=visitor-panel]', { hasText: 'ayse@example.com' }).waitFor();
    await page.locator('[data-testid=messages] [data-testid=message][data-seq="1"]', { hasText: 'siparişim' }).waitFor();

    // Typing reaches the customer; the reply shows on both sides.
    await page.fill('[data-testid=composer]', 'Mer');
    await page.type('[data-testid=composer]', 'haba');
    await frame.locator('.typing', { hasText: 'Ece' }).waitFor();
    await page.fill('[data-testid=composer]', 'Merhaba Ayşe, hemen bakıyorum.');
    await page.click('[data-testid=send]');
    await page.locator('[data-testid=message][data-seq="2"]').waitFor();
    await frame.locator('[data-testid=message][data-seq="2"]', { hasText: 'hemen bakıyorum' }).waitFor();
    // The widget is open: the customer read it, and the console says so.
    await page.locator('[data-testid=message][data-seq="2"]', { hasText: 'Read' }).waitFor();

    // An internal note: set apart in the console, never in the widget.
    await page.click('[data-testid=note]');
    await page.fill('[data-testid=composer]', 'SECRET: customer is a VIP');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=note-item][data-note-seq="1"]').waitFor();
    assert.equal(await page.locator('[data-testid=note]').getAttribute('aria-pressed'), 'false', 'back to replies after a note');
    await frame.fill('[data-testid=composer]', 'Teşekkürler!');
    await frame.press('[data-testid=composer]', 'Enter');
    await page.locator('[data-testid=message][data-seq="3"]', { hasText: 'Teşekkürler' }).waitFor();
    await frame.locator('[data-testid=message][data-seq="3"]').waitFor();
    const widgetText = await frame.locator('body').textContent();
    assert.ok(!widgetText.includes('SECRET'), 'the note is not in the widget');
    assert.ok(!(await frame.evaluate(() => JSON.stringify(localStorage))).includes('SECRET'));
    await shot(page, 'console-conversation-desktop-en');

    // Three chats at once, with unread counts.
    const v2 = await visitor(srv.url, 'My invoice is wrong', { name: 'Bora' });
    const v3 = await visitor(srv.url, 'The app does not open', { name: 'Cem' });
    await page.locator('[data-testid=chat-item]').nth(2).waitFor();
    assert.equal(await page.locator('[data-testid=chat-item]').count(), 3);
    v2.say('Hello?');
    v2.say('Anyone there?');
    const unread2 = page.locator(`[data-testid=chat-item][data-chat-id="${v2.chatID}"] [data-testid=unread]`);
    await unread2.filter({ hasText: '3' }).waitFor();
    await page.locator(`[data-testid=chat-item][data-chat-id="${v3.chatID}"] [data-testid=unread]`, { hasText: '1' }).waitFor();
    assert.equal(await page.locator(`[data-testid=chat-item][data-chat-id="${chatID}"] [data-testid=unread]`).count(), 0);
    assert.match(await page.title(), /^\(4\)/);
    await shot(page, 'console-three-chats-desktop-en');
    // Keyboard: Alt+2 opens the second chat and clears its count.
    await page.keyboard.press('Alt+2');
    await page.locator(`[data-testid=chat-item][data-chat-id="${v2.chatID}"][aria-current=true]`).waitFor();
    await unread2.waitFor({ state: 'detached' });
    await page.keyboard.press('Alt+ArrowDown');
    await page.locator(`[data-testid=chat-item][data-chat-id="${v3.chatID}"][aria-current=true]`).waitFor();
    await page.keyboard.press('Alt+1');
    await page.locator(`[data-testid=chat-item][data-chat-id="${chatID}"][aria-current=true]`).waitFor();

    // Close: the customer sees it end.
    await page.click('[data-testid=close-chat]');
    await frame.locator('[data-testid=csat]').waitFor();
    await page.locator('.banner').waitFor();
    // The queue pane lists the unit.
    await page.keyboard.press('Alt+q');
    await page.locator('[data-testid=queue] [data-unit=general]').waitFor();
    assert.deepEqual(errors, []);
    assert.deepEqual(cerrors, []);
    v2.close();
    v3.close();
    await cctx.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('transfer to another unit\'s agent, who gets the history and the note', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const mert = await makeAgent(srv.url, { email: 'mert@example.com', name: 'Mert', units: ['financial'] });
    const a = await consolePage(srv, ece);
    const b = await consolePage(srv, mert);
    await waitOnline(srv.url, 'general');
    await waitOnline(srv.url, 'financial');
    const v = await visitor(srv.url, 'I have a question', { name: 'Deniz' });
    await a.page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"]`).click();
    await a.page.fill('[data-testid=composer]', 'Let me pass you to billing.');
    await a.page.press('[data-testid=composer]', 'Enter');
    await a.page.locator('[data-testid=message][data-seq="2"]').waitFor();
    await a.page.click('[data-testid=transfer]');
    await a.page.selectOption('[data-testid=transfer-unit]', 'financial');
    await a.page.fill('[data-testid=transfer-note]', 'Double charge on 3 May');
    await shot(a.page, 'console-transfer-desktop-en');
    await a.page.click('[data-testid=transfer-submit]');
    await a.page.locator('.banner', { hasText: 'Transferred' }).waitFor();
    // The visitor hears of it, then of the new agent.
    await v.until((f) => f.type === 'chat.transferred');
    await v.until((f) => f.type === 'chat.assigned' && f.agent.name === 'Mert');
    const item = b.page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"]`);
    await item.click();
    await b.page.locator('[data-testid=message][data-seq="1"]', { hasText: 'I have a question' }).waitFor();
    await b.page.locator('[data-testid=message][data-seq="2"]', { hasText: 'billing' }).waitFor();
    await b.page.locator('[data-testid=note-item]', { hasText: 'Double charge' }).waitFor();
    assert.ok(!v.frames.some((f) => f.type === 'note' || (f.text || '').includes('Double charge')), 'the note never reached the customer');
    await b.page.fill('[data-testid=composer]', 'Hi Deniz, I see the double charge.');
    await b.page.click('[data-testid=send]');
    await v.until((f) => f.type === 'message' && f.seq === 3 && f.from.name === 'Mert');
    // Escalate into a ticket.
    await b.page.click('[data-testid=escalate]');
    await b.page.click('[data-testid=escalate-submit]');
    await v.until((f) => f.type === 'chat.escalated' && f.ticket_id);
    await b.page.locator('.banner', { hasText: 'ticket' }).waitFor();
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    v.close();
    await a.context.close();
    await b.context.close();
  } finally {
    await srv.stop();
  }
});

test('network drop on both sides: nothing lost, nothing doubled', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const { page, context, errors } = await consolePage(srv, ece);
    await waitOnline(srv.url, 'general');
    const { context: cctx, page: cpage, frame, errors: cerrors } = await customer(browser, srv, { viewport: DESKTOP, unit: 'general', message: 'hello' });
    await page.locator('[data-testid=chat-item]').click();
    await page.locator('[data-testid=message][data-seq="1"]').waitFor();

    await context.setOffline(true);
    await cctx.setOffline(true);
    await page.locator('[data-testid=connection][data-state=offline]').waitFor();
    await frame.locator('[data-testid=connection][data-state=offline]').waitFor();
    await page.fill('[data-testid=composer]', 'agent wrote offline');
    await page.press('[data-testid=composer]', 'Enter');
    await frame.fill('[data-testid=composer]', 'customer wrote offline');
    await frame.press('[data-testid=composer]', 'Enter');
    await page.locator('[data-testid=message][data-state=sending]').waitFor();
    await shot(page, 'console-offline-desktop-en');
    await context.setOffline(false);
    await cctx.setOffline(false);
    await page.locator('[data-testid=message][data-seq="3"]').waitFor();
    await frame.locator('[data-testid=message][data-seq="3"]').waitFor();
    await page.locator('[data-testid=message][data-state=sending]').waitFor({ state: 'detached' });
    await frame.locator('[data-testid=message][data-state=sending]').waitFor({ state: 'detached' });
    const consoleTexts = await page.locator('[data-testid=messages] [data-testid=message]').allTextContents();
    const widgetTexts = await frame.locator('[data-testid=messages] [data-testid=message]').allTextContents();
    for (const list of [consoleTexts, widgetTexts]) {
      assert.equal(list.length, 3, list.join(' | '));
      assert.equal(list.filter((x) => x.includes('agent wrote offline')).length, 1);
      assert.equal(list.filter((x) => x.includes('customer wrote offline')).length, 1);
    }
    // A console reload gets the whole chat back from the server.
    await page.reload();
    await page.locator('[data-testid=chat-item]').click();
    await page.locator('[data-testid=message][data-seq="3"]').waitFor();
    assert.equal(await page.locator('[data-testid=messages] [data-testid=message]').count(), 3);
    assert.deepEqual(errors, []);
    assert.deepEqual(cerrors, []);
    await cctx.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('accessibility (axe) and screenshots of the console, desktop and phone, English and Turkish', async () => {
  const srv = await startChatd();
  try {
    const sup = await makeAgent(srv.url, { email: 'sup@example.com', name: 'Selin Kaya', units: ['general', 'account'], role: 'supervisor' });
    const violations = [];
    const staffToken = (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: { email: sup.email, password: sup.password } })).body.token;
    for (const lang of ['en', 'tr']) {
      for (const [vname, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
        const tag = `${vname}-${lang}`;
        const context = await browser.newContext({ viewport, locale: lang === 'tr' ? 'tr-TR' : 'en-US', bypassCSP: true });
        const page = await context.newPage();
        const errors = watch(page);
        await page.goto(srv.url + '/console');
        await page.locator('[data-testid=login-submit]').waitFor();
        assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
        await shot(page, `console-login-${tag}`);
        violations.push(...(await runAxe(page)).map((v) => ({ screen: `login-${tag}`, ...v })));
        await page.fill('[data-testid=login-email]', sup.email);
        await page.fill('[data-testid=login-password]', sup.password);
        await page.click('[data-testid=login-submit]');
        await page.locator('[data-testid=connection][data-state=online]').waitFor();
        await waitOnline(srv.url, 'general');
        const v = await visitor(srv.url, lang === 'tr' ? 'Hesabıma giriş yapamıyorum, şifremi sıfırlamak istiyorum.' : 'I cannot log in to my account and want to reset my password.', { name: lang === 'tr' ? 'Şule Öztürk' : 'Jordan Lee', unit: 'account' });
        await page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"]`).click();
        await page.fill('[data-testid=composer]', lang === 'tr' ? 'Merhaba, yardımcı olayım.' : 'Hi, happy to help.');
        await page.press('[data-testid=composer]', 'Enter');
        await page.locator('[data-testid=message][data-seq="2"]').waitFor();
        await page.click('[data-testid=note]');
        await page.fill('[data-testid=composer]', lang === 'tr' ? 'Kimlik doğrulandı.' : 'Identity verified.');
        await page.press('[data-testid=composer]', 'Enter');
        await page.locator('[data-testid=note-item][data-note-seq]').waitFor();
        await shot(page, `console-chat-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `chat-${tag}`, ...x })));
        await page.fill('[data-testid=composer]', '/');
        await page.locator('#canned:not([hidden])').waitFor();
        await page.locator('.canned-item', { hasText: lang === 'tr' ? 'Şifre sıfırlama' : 'Password reset' }).waitFor();
        await shot(page, `console-canned-${tag}`);
        await page.keyboard.press('Escape');
        await page.fill('[data-testid=composer]', '');
        await page.click('[data-testid=transfer]');
        await page.locator('dialog[open]').waitFor();
        await shot(page, `console-transfer-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `transfer-${tag}`, ...x })));
        await page.keyboard.press('Escape');
        await page.locator('dialog[open]').waitFor({ state: 'detached' });
        await page.evaluate(() => document.activeElement.blur());
        await page.keyboard.press('?');
        await page.locator('dialog[open] .keys').waitFor();
        await shot(page, `console-shortcuts-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `shortcuts-${tag}`, ...x })));
        await page.keyboard.press('Escape');
        await page.click('#tab-queue');
        await page.locator('[data-testid=queue] [data-unit=account]').waitFor();
        await shot(page, `console-queue-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `queue-${tag}`, ...x })));
        const tk = await rest(srv.url, 'POST', '/api/v1/tickets', { token: staffToken, body: { unit: 'account', email: `jordan-${tag}@example.com`, subject: lang === 'tr' ? `Kimlik doğrulama ${vname}` : `Identity check ${vname}`, text: lang === 'tr' ? 'Belgemi yükledim, ne zaman onaylanır?' : 'I uploaded my document; when is it approved?' } });
        assert.equal(tk.status, 201);
        await page.click('#tab-tickets');
        await page.locator(`[data-testid=ticket-item][data-ticket-id="${tk.body.id}"]`).waitFor();
        await page.locator('[data-testid=ticket-age]').first().waitFor();
        await shot(page, `console-tickets-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `tickets-${tag}`, ...x })));
        await page.click(`[data-testid=ticket-item][data-ticket-id="${tk.body.id}"]`);
        await page.locator('.ticket-detail .msg', { hasText: lang === 'tr' ? 'Belgemi' : 'uploaded my document' }).waitFor();
        await shot(page, `console-ticket-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `ticket-${tag}`, ...x })));
        await page.click('#tab-board');
        await page.locator('[data-testid=board-agent]').first().waitFor();
        await page.locator('[data-testid=board-queue][data-unit=general]').waitFor();
        await shot(page, `console-board-${tag}`);
        violations.push(...(await runAxe(page)).map((x) => ({ screen: `board-${tag}`, ...x })));
        await page.click('#tab-chats');
        await page.click('[data-testid=close-chat]');
        await page.locator('.banner').waitFor();
        await page.click('.banner .btn');
        assert.deepEqual(errors, []);
        v.close();
        await context.close();
      }
    }
    assert.deepEqual(violations, []);
  } finally {
    await srv.stop();
  }
});

test('written queue: a customer\'s ticket answered, noted and set pending', async () => {
  const srv = await startChatd();
  try {
    const agent = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['financial'] });
    const v = (await rest(srv.url, 'POST', '/api/v1/visitors', { body: {} })).body;
    const made = await rest(srv.url, 'POST', '/api/v1/tickets', { token: v.token, body: { unit: 'financial', subject: 'Refund not received', text: 'My refund of 50 EUR has not arrived.' } });
    assert.equal(made.status, 201);
    const { context, page, errors } = await consolePage(srv, agent);
    await page.click('#tab-tickets');
    const item = page.locator(`[data-testid=ticket-item][data-ticket-id="${made.body.id}"]`);
    await item.waitFor();
    await item.click();
    await page.locator('.ticket-detail .msg', { hasText: 'My refund of 50 EUR' }).waitFor();
    await page.locator('[data-testid=ticket-canned] option', { hasText: 'Withdrawal time' }).waitFor({ state: 'attached' });
    await page.selectOption('[data-testid=ticket-canned]', { label: 'Withdrawal time' });
    assert.match(await page.inputValue('[data-testid=ticket-composer]'), /processed within 24 hours/);
    await page.fill('[data-testid=ticket-composer]', 'We sent it again today.');
    await page.click('[data-testid=ticket-send]');
    await page.locator('.ticket-detail .msg', { hasText: 'We sent it again today.' }).waitFor();
    await page.fill('[data-testid=ticket-composer]', 'Bank reference 77');
    await page.check('[data-testid=ticket-internal]');
    await page.click('[data-testid=ticket-send]');
    await page.locator('[data-testid=ticket-note]', { hasText: 'Bank reference 77' }).waitFor();
    await page.selectOption('[data-testid=ticket-status]', 'pending');
    await page.locator('.toast', { hasText: 'Status saved' }).waitFor();
    await shot(page, 'console-ticket-desktop-en');
    const seen = await rest(srv.url, 'GET', `/api/v1/tickets/${made.body.id}`, { token: v.token });
    assert.equal(seen.body.status, 'pending');
    assert.deepEqual(seen.body.replies.map((r) => r.text), ['We sent it again today.'], 'the customer sees the reply, never the note');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await srv.stop();
  }
});

// A visitor over the socket whose token the test keeps, to leave and come
// back.
async function visitorWithToken(base, text, { name = '', unit = 'general', token } = {}) {
  const v = token ? { token } : (await rest(base, 'POST', '/api/v1/visitors', { body: {} })).body;
  const open = async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/visitor?token=${v.token}`);
    await new Promise((ok) => ws.on('open', ok));
    return ws;
  };
  const me = { token: v.token, visitorID: v.visitor_id, frames: [] };
  me.ws = await open();
  me.ws.on('message', (d) => me.frames.push(JSON.parse(String(d))));
  if (text) {
    const cid = randomUUID();
    me.ws.send(JSON.stringify({ type: 'chat.start', client_id: cid, text, age_confirmed: true, name, unit }));
    for (let i = 0; i < 300 && !me.chatID; i++) {
      const a = me.frames.find((f) => f.type === 'ack' && f.client_id === cid);
      if (a) me.chatID = a.chat_id;
      else await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  me.until = async (pred) => {
    for (let i = 0; i < 300; i++) {
      const f = me.frames.find(pred);
      if (f) return f;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    throw new Error(`visitor: timed out; ${JSON.stringify(me.frames.slice(-5))}`);
  };
  me.say = (text) => me.ws.send(JSON.stringify({ type: 'message', client_id: randomUUID(), chat_id: me.chatID, text }));
  me.reopen = async () => {
    me.ws = await open();
    me.ws.on('message', (d) => me.frames.push(JSON.parse(String(d))));
  };
  return me;
}

test('the supervisor\'s board: loads match the chats held, live status, queues, a look into a chat and a transfer from it', async () => {
  const srv = await startChatd();
  try {
    const { Bot } = await import('./lib.js');
    const ada = await makeAgent(srv.url, { email: 'ada@example.com', name: 'Ada', units: ['general'], max: 3 });
    const bo = await makeAgent(srv.url, { email: 'bo@example.com', name: 'Bo', units: ['general'], max: 3 });
    const cy = await makeAgent(srv.url, { email: 'cy@example.com', name: 'Cy', units: ['general'], max: 2 });
    const sup = await makeAgent(srv.url, { email: 'sue@example.com', name: 'Sue Supervisor', units: ['general', 'technical'], role: 'supervisor' });
    // The supervisor is away (supervisors take chats too when online).
    const first = await consolePage(srv, sup);
    const context = first.context;
    await first.page.selectOption('[data-testid=presence]', 'away');
    await first.page.close();
    // Agents online before the supervisor opens the console again.
    const adaBot = await new Bot(srv.url, ada).connect();
    const v1 = await visitor(srv.url, 'first', { name: 'Vera' });
    const v2 = await visitor(srv.url, 'second', { name: 'Wim' });
    await adaBot.wait((f) => f.type === 'chat.assigned' && f.chat_id === v2.chatID);
    const boBot = await new Bot(srv.url, bo).connect();
    const v3 = await visitor(srv.url, 'third', { name: 'Xan' });
    await boBot.wait((f) => f.type === 'chat.assigned' && f.chat_id === v3.chatID);
    const cyBot = await new Bot(srv.url, cy).connect();
    const q1 = await visitor(srv.url, 'my laptop will not boot', { name: 'Yu', unit: 'technical' });
    const q2 = await visitor(srv.url, 'screen is black', { name: 'Zed', unit: 'technical' });

    const page = await context.newPage();
    const errors = watch(page);
    await page.goto(srv.url + '/console');
    await page.locator('[data-testid=connection][data-state=online]').waitFor();
    assert.equal(await page.inputValue('[data-testid=presence]'), 'away');
    await page.click('#tab-board');
    const row = (a) => page.locator(`[data-testid=board-agent][data-agent-id="${a.id}"]`);
    for (const [a, load, max] of [[ada, 2, 3], [bo, 1, 3], [cy, 0, 2]]) {
      await row(a).and(page.locator(`[data-load="${load}"][data-max="${max}"][data-status=online]`)).waitFor();
      assert.equal(await row(a).locator('[data-testid=board-chat]').count(), load, `${a.name}'s chats listed`);
    }
    assert.equal(await row(ada).locator('[data-testid=board-chat]', { hasText: 'Vera' }).count(), 1);
    await page.locator('[data-testid=board-queue][data-unit=technical][data-length="2"]').waitFor();
    await page.locator('[data-testid=board-queue][data-unit=general][data-length="0"]').waitFor();
    await page.locator('[data-testid=board-queue][data-unit=technical]', { hasText: /oldest waits/ }).waitFor();
    await shot(page, 'console-board-live-desktop-en');

    // Live: a new chat goes to Cy, Ada steps away, a technical chat ends.
    const v4 = await visitor(srv.url, 'fourth', { name: 'Ola' });
    await row(cy).and(page.locator('[data-load="1"]')).waitFor();
    await row(cy).locator('[data-testid=board-chat]', { hasText: 'Ola' }).waitFor();
    await adaBot.call({ type: 'presence', status: 'away' });
    await row(ada).and(page.locator('[data-status=away]')).waitFor();
    q2.close();
    q1.close();

    // A look into Ada's chat with Vera: the whole conversation, audited.
    v1.say('are you there?');
    await row(ada).locator(`[data-testid=board-chat][data-chat-id="${v1.chatID}"] [data-testid=board-open]`).click();
    await page.locator(`[data-testid=chat-item][data-chat-id="${v1.chatID}"][aria-current=true]`).waitFor();
    await page.locator('[data-testid=messages] [data-testid=message][data-seq="1"]', { hasText: 'first' }).waitFor();
    await page.locator('[data-testid=messages] [data-testid=message][data-seq="2"]', { hasText: 'are you there?' }).waitFor();
    await page.locator('.banner.look', { hasText: 'Ada' }).waitFor();
    await shot(page, 'console-board-look-desktop-en');
    const admin = (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: { email: 'admin@example.com', password: 'admin-password-1' } })).body.token;
    const audit = await rest(srv.url, 'GET', '/api/v1/audit?action=chat.viewed', { token: admin });
    assert.ok(audit.body.items.some((r) => r.object_id === v1.chatID || JSON.stringify(r).includes(v1.chatID)), 'the look is on the audit log');

    // Transfer Bo's chat with Xan to Cy by name, from the board.
    await page.click('#tab-board');
    await row(bo).locator(`[data-testid=board-chat][data-chat-id="${v3.chatID}"] [data-testid=board-transfer]`).click();
    await page.locator('dialog[open]').waitFor();
    await page.selectOption('[data-testid=transfer-unit]', 'general');
    await page.locator(`[data-testid=transfer-agent] option[value="${cy.id}"]`).waitFor({ state: 'attached' });
    await page.selectOption('[data-testid=transfer-agent]', cy.id);
    await page.click('[data-testid=transfer-submit]');
    await cyBot.wait((f) => f.type === 'chat.assigned' && f.chat_id === v3.chatID && Array.isArray(f.history));
    await v3.until((f) => f.type === 'chat.assigned' && f.agent.name === 'Cy');
    await page.click('#tab-board');
    await row(cy).and(page.locator('[data-load="2"]')).waitFor();
    await row(bo).and(page.locator('[data-load="0"]')).waitFor();
    assert.deepEqual(errors, []);
    for (const v of [v1, v2, v3, v4]) v.close();
    for (const b of [adaBot, boBot, cyBot]) b.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('the visitor leaving and coming back shows in the chat list and the visitor panel', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const { page, context, errors } = await consolePage(srv, ece);
    await waitOnline(srv.url, 'general');
    const v = await visitorWithToken(srv.url, 'hello there', { name: 'Lale' });
    await page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"]`).click();
    await page.locator('[data-testid=visitor-connection][data-state=connected]').waitFor();
    v.ws.close();
    await page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"] .pill.away`).waitFor();
    await page.locator('[data-testid=visitor-connection][data-state=left]', { hasText: 'Left at' }).waitFor();
    await shot(page, 'console-visitor-left-desktop-en');
    await v.reopen();
    await page.locator('[data-testid=visitor-connection][data-state=connected]').waitFor();
    await page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"] .pill.away`).waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
    v.ws.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('the visitor panel opens earlier chats and tickets, and shows supervisors the assignment record', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const sup = await makeAgent(srv.url, { email: 'sue@example.com', name: 'Sue', units: ['general'], role: 'supervisor' });
    const { Bot } = await import('./lib.js');
    const eceBot = await new Bot(srv.url, ece).connect();
    // An earlier chat, answered and closed, and a ticket of the same visitor.
    const old = await visitorWithToken(srv.url, 'an old question about my order', { name: 'Mina' });
    await eceBot.wait((f) => f.type === 'chat.assigned' && f.chat_id === old.chatID);
    await eceBot.call({ type: 'message', chat_id: old.chatID, text: 'The old answer: it ships Monday.' });
    await eceBot.call({ type: 'chat.close', chat_id: old.chatID });
    const tk = await rest(srv.url, 'POST', '/api/v1/tickets', { token: old.token, body: { unit: 'general', subject: 'Invoice copy', text: 'Please send my invoice again.' } });
    assert.equal(tk.status, 201);
    eceBot.close();
    // The supervisor takes the new chat.
    const { page, context, errors } = await consolePage(srv, sup);
    await waitOnline(srv.url, 'general');
    await rest(srv.url, 'GET', '/api/v1/units');
    const again = await visitorWithToken(srv.url, 'a new question', { name: 'Mina', token: old.token });
    await page.locator(`[data-testid=chat-item][data-chat-id="${again.chatID}"]`).click();
    const chatItem = page.locator(`[data-testid=visitor-history-item][data-kind=chat][data-id="${old.chatID}"]`);
    await chatItem.click();
    await page.locator('dialog[open] [data-testid=reader]', { hasText: 'it ships Monday' }).waitFor();
    await shot(page, 'console-transcript-desktop-en');
    await page.keyboard.press('Escape');
    await page.locator(`[data-testid=visitor-history-item][data-kind=ticket][data-id="${tk.body.id}"]`).click();
    await page.locator('dialog[open] [data-testid=reader]', { hasText: 'Please send my invoice again.' }).waitFor();
    await page.keyboard.press('Escape');
    // The assignment record: the rule, the agent chosen, the candidates.
    const rec = page.locator('[data-testid=assignment-record] .vp-rec[data-kind=assigned]');
    await rec.waitFor();
    await rec.filter({ hasText: '→ Sue' }).filter({ hasText: 'lowest load' }).filter({ hasText: 'chosen' }).waitFor();
    await shot(page, 'console-record-desktop-en');
    const admin = (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: { email: 'admin@example.com', password: 'admin-password-1' } })).body.token;
    const audit = await rest(srv.url, 'GET', '/api/v1/audit?limit=200', { token: admin });
    const actions = audit.body.items.filter((r) => r.actor_id === sup.id).map((r) => r.action);
    assert.ok(actions.includes('transcript.read'), actions.join(','));
    assert.ok(actions.includes('ticket.read'), actions.join(','));
    assert.deepEqual(errors, []);
    again.ws.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('transfer to a named agent of another unit: the customer in the widget sees the conversation go on', async () => {
  const srv = await startChatd();
  try {
    const { Bot } = await import('./lib.js');
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const mert = await makeAgent(srv.url, { email: 'mert@example.com', name: 'Mert', units: ['financial'] });
    const can = await makeAgent(srv.url, { email: 'can@example.com', name: 'Can', units: ['financial'] });
    const a = await consolePage(srv, ece);
    const b = await consolePage(srv, mert);
    const canBot = await new Bot(srv.url, can).connect();
    await waitOnline(srv.url, 'financial', 2);
    // The customer, in the widget, in a third browser context.
    const { context: cctx, page: cpage, frame, errors: cerrors } = await customer(browser, srv, { viewport: PHONE, name: 'Deniz', unit: 'general', message: 'I was charged twice' });
    await a.page.locator('[data-testid=chat-item]').click();
    await a.page.fill('[data-testid=composer]', 'Passing you to Mert in billing.');
    await a.page.press('[data-testid=composer]', 'Enter');
    await frame.locator('[data-testid=message][data-seq="2"]', { hasText: 'Mert in billing' }).waitFor();
    // The picker lists financial's online agents; Ece, a plain agent, asks
    // the server for them.
    await a.page.click('[data-testid=transfer]');
    await a.page.selectOption('[data-testid=transfer-unit]', 'financial');
    const opt = a.page.locator(`[data-testid=transfer-agent] option[value="${mert.id}"]`);
    await opt.waitFor({ state: 'attached' });
    assert.equal(await a.page.locator(`[data-testid=transfer-agent] option[value="${can.id}"]`).count(), 1);
    assert.match(await opt.textContent(), /Mert · 0 of 5 chats/);
    await a.page.selectOption('[data-testid=transfer-agent]', mert.id);
    await a.page.fill('[data-testid=transfer-note]', 'Two charges on 3 May');
    await shot(a.page, 'console-transfer-agent-desktop-en');
    await a.page.click('[data-testid=transfer-submit]');
    await a.page.locator('.banner', { hasText: 'Mert' }).waitFor();
    const item = b.page.locator('[data-testid=chat-item]');
    await item.click();
    await b.page.locator('[data-testid=message][data-seq="2"]', { hasText: 'Mert in billing' }).waitFor();
    await b.page.locator('[data-testid=note-item]', { hasText: 'Two charges' }).waitFor();
    await b.page.fill('[data-testid=composer]', 'Hi Deniz, Mert here: I see both charges.');
    await b.page.press('[data-testid=composer]', 'Enter');
    await frame.locator('[data-testid=message][data-seq="3"]', { hasText: 'Mert here' }).waitFor();
    // One conversation in the widget, the history kept, nothing twice.
    const texts = await frame.locator('[data-testid=messages] [data-testid=message]').allTextContents();
    assert.equal(texts.filter((x) => x.includes('charged twice')).length, 1, texts.join(' | '));
    assert.equal(texts.filter((x) => x.includes('Mert in billing')).length, 1);
    assert.ok(!(await frame.locator('body').textContent()).includes('Two charges'), 'the note stays with staff');
    await frame.fill('[data-testid=composer]', 'Thank you Mert');
    await frame.press('[data-testid=composer]', 'Enter');
    await b.page.locator('[data-testid=message][data-seq="4"]', { hasText: 'Thank you Mert' }).waitFor();
    await shot(cpage, 'widget-after-transfer-phone-en');
    assert.equal(canBot.frames.filter((f) => f.type === 'chat.assigned').length, 0, 'Can was not given the chat');
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    assert.deepEqual(cerrors, []);
    canBot.close();
    await cctx.close();
    await a.context.close();
    await b.context.close();
  } finally {
    await srv.stop();
  }
});

// seedChats starts n chats in unit with at most `width` at once.
async function seedChats(base, n, width) {
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await visitor(base, `chat number ${i + 1}`, { name: `Customer ${String(i + 1).padStart(2, '0')}` });
    }
  }));
  return out;
}

// seedMessages sends n messages into one chat over the visitor's socket,
// at most `window` unacknowledged at a time.
async function seedMessages(base, token, chatID, n, window) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/visitor?token=${token}`);
  const waiting = new Map();
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if ((f.type === 'ack' || f.type === 'error') && waiting.has(f.client_id || f.ref)) {
      const done = waiting.get(f.client_id || f.ref);
      waiting.delete(f.client_id || f.ref);
      done(f);
    }
  });
  await new Promise((ok) => ws.on('open', ok));
  let sent = 0;
  await Promise.all(Array.from({ length: window }, async () => {
    while (sent < n) {
      const i = sent++;
      const cid = randomUUID();
      const f = await new Promise((ok) => {
        waiting.set(cid, ok);
        ws.send(JSON.stringify({ type: 'message', client_id: cid, chat_id: chatID, text: `Line ${i + 1} of a long day: order ${1000 + i} and its details.` }));
      });
      if (f.type === 'error') throw new Error(`seed: ${f.code}`);
    }
  }));
  ws.close();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test('fast with a long day: 50 open chats and 2,000 messages in one chat (input-to-paint)', async () => {
  const srv = await startChatd({ CHAT_RATE_CONN_PER_SEC: '5000', CHAT_RATE_IP_PER_SEC: '50000' });
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'], max: 60 });
    const { page, context, errors } = await consolePage(srv, ece);
    await waitOnline(srv.url, 'general');
    const seeded = Date.now();
    const v = (await rest(srv.url, 'POST', '/api/v1/visitors', { body: {} })).body;
    const long = await visitorWithToken(srv.url, 'the long chat', { name: 'Long Talker', token: v.token });
    const others = await seedChats(srv.url, 49, 8);
    await seedMessages(srv.url, v.token, long.chatID, 1999, 64);
    console.log(`# seeded 50 chats and 2,000 messages in ${Date.now() - seeded} ms`);
    await page.locator('[data-testid=chat-item]').nth(49).waitFor();
    await page.locator(`[data-testid=chat-item][data-chat-id="${long.chatID}"]`).click();
    await page.locator('[data-testid=messages] [data-testid=message][data-seq="2000"]').waitFor({ timeout: 60000 });
    // Input-to-paint: from the event to the frame after it was handled.
    await page.evaluate(() => {
      window.__lat = [];
      const mark = (ev) => {
        const t0 = performance.now();
        requestAnimationFrame(() => setTimeout(() => window.__lat.push(performance.now() - t0), 0));
        return ev;
      };
      document.addEventListener('keydown', mark, true);
      document.addEventListener('click', mark, true);
    });
    await page.click('[data-testid=composer]');
    await page.evaluate(() => (window.__lat = []));
    await page.keyboard.type('Checking your order right now, one moment please', { delay: 30 });
    const typing = await page.evaluate(() => window.__lat);
    await page.fill('[data-testid=composer]', '');
    await page.evaluate(() => (window.__lat = []));
    const ids = [others[0].chatID, long.chatID, others[10].chatID, long.chatID, others[20].chatID, long.chatID, others[30].chatID, long.chatID, others[40].chatID, long.chatID];
    for (const id of ids) {
      await page.locator(`[data-testid=chat-item][data-chat-id="${id}"]`).click();
      await page.locator(`[data-testid=messages][data-chat-id="${id}"]`).waitFor();
      await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0))));
    }
    const switching = await page.evaluate(() => window.__lat);
    // A message arriving in the open long chat while the agent holds a
    // selection: the selection stays.
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid=messages] [data-testid=message][data-seq="1990"] .text');
      const r = document.createRange();
      r.selectNodeContents(el);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
    });
    long.say('one more thing');
    await page.locator('[data-testid=messages] [data-testid=message][data-seq="2001"]').waitFor();
    assert.match(await page.evaluate(() => String(getSelection())), /Line 1989 of a long day/);
    const rendered = await page.locator('[data-testid=messages] [data-testid=message]').count();
    const fig = (xs) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms over ${xs.length}`;
    console.log(`# typing in the composer (2,000-message chat open): ${fig(typing)}`);
    console.log(`# switching chats (50 open, 2,000 messages in one): ${fig(switching)}`);
    console.log(`# message rows in the DOM of the long chat: ${rendered}`);
    assert.ok(typing.length >= 20 && switching.length >= 10, `${typing.length} ${switching.length}`);
    assert.ok(median(typing) < 200, fig(typing));
    assert.ok(median(switching) < 200, fig(switching));
    await shot(page, 'console-long-day-desktop-en');
    assert.deepEqual(errors, []);
    long.ws.close();
    for (const o of others) o.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('a standard reply by "/": searched, inserted, sent, and the customer gets it', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['account'] });
    const { page, context, errors } = await consolePage(srv, ece);
    await waitOnline(srv.url, 'account');
    const v = await visitor(srv.url, 'I forgot my password', { name: 'Pelin', unit: 'account' });
    await page.locator(`[data-testid=chat-item][data-chat-id="${v.chatID}"]`).click();
    await page.click('[data-testid=composer]');
    await page.keyboard.type('/pass');
    const items = page.locator('#canned:not([hidden]) .canned-item');
    await items.first().waitFor();
    assert.deepEqual(await items.locator('strong').allTextContents(), ['Password reset'], 'the search keeps only the matching reply');
    await shot(page, 'console-canned-search-desktop-en');
    await page.keyboard.press('Enter');
    assert.match(await page.inputValue('[data-testid=composer]'), /^You can set a new password with "Forgot password"/);
    await page.locator('#canned').waitFor({ state: 'hidden' });
    await page.keyboard.press('Enter');
    const got = await v.until((f) => f.type === 'message' && f.seq === 2);
    assert.match(got.text, /^You can set a new password with "Forgot password" on the login page/);
    assert.equal(got.from.name, 'Ece');
    assert.equal(await page.inputValue('[data-testid=composer]'), '');
    assert.deepEqual(errors, []);
    v.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('escalation: the ticket in the written queue, answered there, read and answered in the widget, and the answer back in the console', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['general'] });
    const { page, context, errors } = await consolePage(srv, ece);
    await waitOnline(srv.url, 'general');
    const { context: cctx, page: cpage, frame, errors: cerrors } = await customer(browser, srv, { viewport: DESKTOP, name: 'Orhan', unit: 'general', message: 'My parcel arrived damaged' });
    await page.locator('[data-testid=chat-item]').click();
    await page.click('[data-testid=escalate]');
    await page.fill('[data-testid=escalate-subject]', 'Damaged parcel');
    await page.click('[data-testid=escalate-submit]');
    await page.locator('.banner', { hasText: 'ticket' }).waitFor();
    await frame.locator('text=Open the ticket').waitFor();
    // The written queue has it; the agent answers there.
    await page.keyboard.press('Alt+w');
    const item = page.locator('[data-testid=ticket-item]', { hasText: 'Damaged parcel' });
    await item.waitFor();
    await item.locator('[data-testid=ticket-age]').waitFor();
    const ticketID = await item.getAttribute('data-ticket-id');
    await item.click();
    await page.locator('.ticket-detail .msg', { hasText: 'My parcel arrived damaged' }).waitFor();
    await page.fill('[data-testid=ticket-composer]', 'Sorry about that: a new one ships today.');
    await page.click('[data-testid=ticket-send]');
    await page.locator('.ticket-detail .msg', { hasText: 'a new one ships today' }).waitFor();
    // The customer reads it in the widget and answers.
    await frame.click('text=Open the ticket');
    await frame.locator('[data-testid=ticket] .msg', { hasText: 'a new one ships today' }).waitFor();
    await frame.fill('[data-testid=ticket-composer]', 'Great, thank you!');
    await frame.click('[data-testid=ticket-send]');
    await frame.locator('[data-testid=ticket] .msg', { hasText: 'Great, thank you!' }).waitFor();
    await shot(cpage, 'widget-ticket-answered-desktop-en');
    // The console sees the answer (refresh the queue, open the ticket).
    await page.click('[data-testid=tickets-refresh]');
    await page.locator(`[data-testid=ticket-item][data-ticket-id="${ticketID}"]`).click();
    await page.locator('.ticket-detail .msg.visitor', { hasText: 'Great, thank you!' }).waitFor();
    await shot(page, 'console-ticket-answered-desktop-en');
    assert.deepEqual(errors, []);
    assert.deepEqual(cerrors, []);
    await cctx.close();
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('the written queue: filters, paging, ages, a standard reply by "/" and merging two tickets', async () => {
  const srv = await startChatd();
  try {
    const ece = await makeAgent(srv.url, { email: 'ece@example.com', name: 'Ece', units: ['financial', 'technical'] });
    const login = (await rest(srv.url, 'POST', '/api/v1/auth/login', { body: { email: ece.email, password: ece.password } })).body.token;
    // 55 financial tickets (more than a page) and two technical ones.
    for (let i = 0; i < 55; i++) {
      const r = await rest(srv.url, 'POST', '/api/v1/tickets', { token: login, body: { unit: 'financial', subject: `Payout ${i + 1} missing`, text: `Payout number ${i + 1} has not arrived, reference R${7000 + i}.`, email: `payee${i}@example.com` } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const a = await rest(srv.url, 'POST', '/api/v1/tickets', { token: login, body: { unit: 'technical', subject: 'App crashes on start', text: 'The app crashes when I open it.', email: 'kim@example.com' } });
    const b = await rest(srv.url, 'POST', '/api/v1/tickets', { token: login, body: { unit: 'technical', subject: 'Login screen freezes', text: 'After the update the login screen freezes.', email: 'kim@example.com' } });
    const { page, context, errors } = await consolePage(srv, ece);
    await page.click('#tab-tickets');
    await page.locator('[data-testid=ticket-item]').nth(49).waitFor();
    assert.equal(await page.locator('[data-testid=ticket-item]').count(), 50);
    await page.click('[data-testid=tickets-more]');
    await page.locator('[data-testid=ticket-item]').nth(56).waitFor();
    assert.equal(await page.locator('[data-testid=ticket-item]').count(), 57);
    await page.locator('[data-testid=tickets-more]').waitFor({ state: 'hidden' });
    // Filters: unit, then the requester's email, then a date range.
    await page.click('.tk-filters summary');
    await page.selectOption('[data-testid=tickets-unit]', 'technical');
    await page.locator('[data-testid=ticket-item]').nth(1).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticket-item]').length === 2);
    await page.selectOption('[data-testid=tickets-unit]', '');
    await page.fill('[data-testid=tickets-email]', 'payee7@example.com');
    await page.press('[data-testid=tickets-email]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticket-item]').length === 1);
    await page.locator('[data-testid=ticket-item]', { hasText: 'Payout 8 missing' }).waitFor();
    await page.fill('[data-testid=tickets-email]', '');
    await page.press('[data-testid=tickets-email]', 'Enter');
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    await page.fill('[data-testid=tickets-after]', tomorrow);
    await page.locator('[data-testid=tickets] .empty-state').waitFor();
    await page.fill('[data-testid=tickets-after]', '');
    await page.selectOption('[data-testid=tickets-unit]', 'technical');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticket-item]').length === 2);
    assert.match(await page.locator('[data-testid=ticket-age]').first().textContent(), /^\d+ min$/);
    await shot(page, 'console-tickets-filtered-desktop-en');
    // A standard reply by "/" in the ticket's reply box.
    await page.locator(`[data-testid=ticket-item][data-ticket-id="${b.body.id}"]`).click();
    await page.locator('.ticket-detail .msg', { hasText: 'login screen freezes' }).waitFor();
    await page.click('[data-testid=ticket-composer]');
    await page.keyboard.type('/cache');
    await page.locator('#tk-canned-list:not([hidden]) .canned-item', { hasText: 'Clear cache' }).waitFor();
    await page.keyboard.press('Enter');
    assert.match(await page.inputValue('[data-testid=ticket-composer]'), /^Please clear your browser's cache/);
    await page.click('[data-testid=ticket-send]');
    await page.locator('.ticket-detail .msg', { hasText: 'clear your browser' }).waitFor();
    // Merge the second into the first.
    await page.selectOption('[data-testid=ticket-merge-into]', a.body.id);
    await shot(page, 'console-ticket-merge-desktop-en');
    await page.click('[data-testid=ticket-merge]');
    await page.locator('.toast', { hasText: 'merged' }).waitFor();
    await page.locator('.ticket-detail .conv-title', { hasText: 'App crashes on start' }).waitFor();
    const merged = await rest(srv.url, 'GET', `/api/v1/tickets/${b.body.id}`, { token: login });
    assert.equal(merged.body.status, 'closed');
    assert.equal(merged.body.merged_into, a.body.id);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticket-item]').length === 1);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await srv.stop();
  }
});

test('keyboard: arrows move between the tabs, Alt+B opens the board, and the shortcuts list says so', async () => {
  const srv = await startChatd();
  try {
    const sup = await makeAgent(srv.url, { email: 'sue@example.com', name: 'Sue', units: ['general'], role: 'supervisor' });
    const { page, context, errors } = await consolePage(srv, sup);
    await page.focus('#tab-chats');
    await page.keyboard.press('ArrowRight');
    await page.locator('#tab-queue[aria-selected=true]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-queue');
    // A supervisor's last tab is the admin area (their units' standard replies).
    await page.keyboard.press('End');
    await page.locator('#tab-admin[aria-selected=true]').waitFor();
    await page.keyboard.press('ArrowRight');
    await page.locator('#tab-chats[aria-selected=true]').waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.locator('#tab-admin[aria-selected=true]').waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.locator('#tab-board[aria-selected=true]').waitFor();
    await page.keyboard.press('Home');
    await page.locator('#tab-chats[aria-selected=true]').waitFor();
    assert.equal(await page.locator('#tab-queue').getAttribute('tabindex'), '-1');
    await page.keyboard.press('Alt+b');
    await page.locator('[data-testid=board-agent]').first().waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'board');
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press('?');
    await page.locator('dialog[open] .keys', { hasText: 'Alt + B' }).waitFor();
    await page.locator('dialog[open] .keys', { hasText: 'Move between the tabs' }).waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await srv.stop();
  }
});
