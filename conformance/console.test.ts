// The web console in a real browser: Debian's headless Chromium driven by playwright-core
// against the built warren. Logs in through the form, creates a queue, publishes, peeks,
// purges, redrives dead letters and moves messages through the pages, closes a connection
// with a reason, pages through the queue list — and checks each outcome through AMQP
// (amqplib), not through the page. Every page must render without a script error or a CSP
// violation. With WARREN_CONSOLE_SCREENSHOTS=1 it also writes docs/console/*.png.
// Skipped when /usr/bin/chromium (or WARREN_CHROMIUM) is missing; .ci/run installs it.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const CHROMIUM = process.env['WARREN_CHROMIUM'] ?? '/usr/bin/chromium';
const SHOTS = process.env['WARREN_CONSOLE_SCREENSHOTS'] === '1' ? join(REPO_ROOT, 'docs', 'console') : null;
const have = existsSync(CHROMIUM);

let w: WarrenProcess;
let dir: string;
let browser: Browser;
let page: Page;
let base: string;
const problems: string[] = [];
const conns: ChannelModel[] = [];

async function connect(): Promise<ChannelModel> {
  const c = await amqp.connect(w.url);
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}/api${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Shows a page of the console and waits until its data has loaded. */
async function show(hash: string): Promise<void> {
  await page.goto(`${base}/#/${hash}`);
  await page.locator('main[data-loaded]').waitFor();
}

async function notice(text: string | RegExp): Promise<string> {
  const n = page.locator('#notice .notice', { hasText: text });
  await n.waitFor();
  return (await n.textContent()) ?? '';
}

/** A screenshot of the page's top, or of the part around `at`. */
async function shot(name: string, at?: string): Promise<void> {
  if (SHOTS === null) return;
  mkdirSync(SHOTS, { recursive: true });
  if (at === undefined) await page.evaluate('window.scrollTo(0, 0)');
  else await page.locator(at).evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

describe.skipIf(!have)('web console in Chromium', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-console-'));
    w = await startWarren(dir, ['--stats-interval', '1']);
    base = `http://127.0.0.1:${w.httpPort}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    page.on('dialog', (d) => void d.accept());
  }, 60_000);

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await w?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong password, then logs in and keeps the session in sessionStorage', async () => {
    await page.goto(`${base}/`);
    await page.fill('form.login input[name=username]', 'guest');
    await page.fill('form.login input[name=password]', 'wrong');
    await page.click('form.login button[type=submit]');
    await page.locator('.login-error', { hasText: 'Login failed' }).waitFor();
    await shot('login');
    await page.fill('form.login input[name=password]', 'guest');
    await page.click('form.login button[type=submit]');
    await page.locator('main[data-loaded]').waitFor();
    expect(await page.evaluate('sessionStorage.getItem("warren.authorization")')).toBe(`Basic ${Buffer.from('guest:guest').toString('base64')}`);
    // A reload stays logged in (sessionStorage), and the overview shows the listeners.
    await page.reload();
    await page.locator('main[data-loaded]').waitFor();
    expect(await page.locator('main').textContent()).toContain(String(w.port));
  });

  it('creates a queue, publishes, peeks without consuming and purges; AMQP sees each step', async () => {
    await show('queues');
    await page.fill('form.add-queue input[name=name]', 'console-q');
    await page.click('form.add-queue button[type=submit]');
    await notice('Queue console-q declared');
    const c = await connect();
    const ch = await c.createChannel();
    expect((await ch.checkQueue('console-q')).messageCount).toBe(0);

    await page.click('table[data-list=queues] a:text-is("console-q")');
    await page.locator('main[data-loaded]').waitFor();
    for (const body of ['hello-1', 'hello-2']) {
      await page.fill('form.publish textarea[name=payload]', body);
      await page.fill('form.publish textarea[name=headers]', '{"x-from": "console"}');
      await page.click('form.publish button[type=submit]');
      await notice('Message published');
      await page.locator('#notice').evaluate((n) => n.replaceChildren());
    }
    expect((await ch.checkQueue('console-q')).messageCount).toBe(2);

    {
      await page.click('form.peek button[type=submit]');
      await notice('Peeked 2 of 2 ready messages');
      const rows = page.locator('.peek-result table tbody tr');
      expect(await rows.count()).toBe(2);
      expect(await rows.nth(0).textContent()).toContain('hello-1');
      expect(await rows.nth(1).textContent()).toContain('hello-2');
      await shot('queue', '.peek-result');
      // Peeking took nothing and marked nothing redelivered.
      expect((await ch.checkQueue('console-q')).messageCount).toBe(2);
      const m = await ch.get('console-q', { noAck: false });
      expect(m && m.content.toString()).toBe('hello-1');
      expect(m && m.fields.redelivered).toBe(false);
      expect(m && m.properties.headers?.['x-from']).toBe('console');
      ch.nack(m as amqp.GetMessage, false, true);
    }

    await page.click('button.purge');
    await notice('Queue console-q purged');
    expect((await ch.checkQueue('console-q')).messageCount).toBe(0);
  });

  it('redrives dead letters back to the queue in their x-death, after a dry run; AMQP sees them moved', async () => {
    const c = await connect();
    const ch = await c.createChannel();
    await ch.assertQueue('console-dlq', { durable: true });
    await ch.assertQueue('console-work', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'console-dlq' } });
    for (let i = 1; i <= 3; i++) ch.sendToQueue('console-work', Buffer.from(`job-${i}`), { persistent: true });
    for (let i = 1; i <= 3; i++) {
      let m: amqp.GetMessage | false = false;
      while (m === false) m = await ch.get('console-work', { noAck: false });
      ch.nack(m, false, false);
    }
    for (let i = 0; (await ch.checkQueue('console-dlq')).messageCount < 3 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await ch.checkQueue('console-dlq')).messageCount).toBe(3);

    await show(`queues/%2F/console-dlq`);
    await page.check('form.redrive input[name=reason_rejected]');
    await page.check('form.redrive input[name=dry_run]');
    await page.click('form.redrive button[type=submit]');
    expect(await notice('Dry run')).toContain('would move 3');
    expect((await ch.checkQueue('console-dlq')).messageCount).toBe(3);
    await page.uncheck('form.redrive input[name=dry_run]');
    await page.click('form.redrive button[type=submit]');
    expect(await notice('Redrove')).toContain('Redrove 3');
    await shot('redrive', 'form.redrive');
    expect((await ch.checkQueue('console-dlq')).messageCount).toBe(0);
    expect((await ch.checkQueue('console-work')).messageCount).toBe(3);
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('console-work', { noAck: true });
      if (m) bodies.push(m.content.toString());
    }
    expect(bodies.sort()).toEqual(['job-1', 'job-2', 'job-3']);
  });

  it('moves messages to another queue; AMQP sees them there', async () => {
    const c = await connect();
    const ch = await c.createChannel();
    await ch.assertQueue('console-from', { durable: true });
    await ch.assertQueue('console-to', { durable: true });
    for (let i = 1; i <= 4; i++) ch.sendToQueue('console-from', Buffer.from(`m-${i}`), { persistent: true });
    await ch.checkQueue('console-from');
    await show('queues/%2F/console-from');
    await page.fill('form.move input[name=to]', 'console-to');
    await page.fill('form.move input[name=limit]', '3');
    await page.click('form.move button[type=submit]');
    expect(await notice('Moved')).toContain('Moved 3');
    expect((await ch.checkQueue('console-from')).messageCount).toBe(1);
    expect((await ch.checkQueue('console-to')).messageCount).toBe(3);
  });

  it('sets a policy through the form; the queue page shows it and AMQP sees it applied', async () => {
    const c = await connect();
    const ch = await c.createChannel();
    await ch.assertQueue('console-pol-q', { durable: true });
    await show('policies');
    await page.fill('form.set-policies input[name=name]', 'console-cap');
    await page.fill('form.set-policies input[name=pattern]', '^console-pol-');
    await page.fill('form.set-policies textarea[name=definition]', '{"max-length": 2}');
    await page.click('form.set-policies button[type=submit]');
    await notice('Policy console-cap set');
    await page.locator('table.policies td', { hasText: 'console-cap' }).waitFor();
    await shot('policies');
    for (let i = 1; i <= 5; i++) ch.sendToQueue('console-pol-q', Buffer.from(`p-${i}`), { persistent: true });
    // max-length 2 with the default overflow (drop-head): the last two stay.
    expect((await ch.checkQueue('console-pol-q')).messageCount).toBe(2);
    const first = await ch.get('console-pol-q', { noAck: true });
    expect(first && first.content.toString()).toBe('p-4');
    await show('queues/%2F/console-pol-q');
    const policyRow = page.locator('section.panel', { hasText: 'Effective definition' });
    expect(await policyRow.textContent()).toContain('console-cap');
    expect(await policyRow.textContent()).toContain('"max-length":2');
    await show('policies');
    await page.locator('table.policies tr', { hasText: 'console-cap' }).locator('button').click();
    await notice('Policy console-cap deleted');
    for (let i = 6; i <= 8; i++) ch.sendToQueue('console-pol-q', Buffer.from(`p-${i}`), { persistent: true });
    expect((await ch.checkQueue('console-pol-q')).messageCount).toBe(4);
  });

  it('adds a vhost, a user and their permissions through the forms; the user logs in over AMQP', async () => {
    await show('vhosts');
    await page.fill('form.add-vhost input[name=name]', 'console-vh');
    await page.click('form.add-vhost button[type=submit]');
    await notice('Virtual host console-vh added');
    await show('users');
    await page.fill('form.add-user input[name=name]', 'console-user');
    await page.fill('form.add-user input[name=password]', 'console-pw');
    await page.click('form.add-user button[type=submit]');
    await notice('User console-user saved');
    await show('permissions');
    await page.fill('form.set-permission input[name=user]', 'console-user');
    await page.fill('form.set-permission input[name=vhost]', 'console-vh');
    await page.fill('form.set-permission input[name=write]', '^$');
    await page.click('form.set-permission button[type=submit]');
    await notice('Permissions of console-user in console-vh set');
    const c = await amqp.connect(`amqp://console-user:console-pw@127.0.0.1:${w.port}/console-vh`);
    c.on('error', () => undefined);
    conns.push(c);
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue('mine');
    // write '^$': publishing to the default exchange is refused, as set in the form.
    await expect(ch.assertExchange('x', 'direct').then(() => ch.publish('', 'mine', Buffer.from('x'))).then(() => ch.checkQueue('mine'))).rejects.toThrow(/ACCESS_REFUSED/);
  });

  it('closes a connection with the reason typed in', async () => {
    const c = await amqp.connect(w.url, { clientProperties: { connection_name: 'console-victim' } });
    const closed = new Promise<string>((resolve) => c.on('close', (e: Error | undefined) => resolve(String(e?.message ?? ''))));
    c.on('error', () => undefined);
    await show('connections');
    await page.fill('input[name=reason]', 'console says bye');
    const row = page.locator('table[data-list=connections] tbody tr', { hasText: 'console-victim' });
    await shot('connections');
    await row.locator('button.close-connection').click();
    await notice('Closed');
    expect(await closed).toContain('CONNECTION_FORCED - console says bye');
  });

  it('pages, filters and sorts the queue list on the server', async () => {
    for (let i = 0; i < 25; i++) expect((await api('PUT', `/queues/%2F/page-q-${String(i).padStart(2, '0')}`, { durable: false })).status).toBe(201);
    const c = await connect();
    const ch = await c.createChannel();
    for (let i = 0; i < 5; i++) ch.sendToQueue('page-q-07', Buffer.from('x'));
    await ch.checkQueue('page-q-07');
    await show('queues');
    await page.fill('input[name=filter]', 'page-q-');
    const status = page.locator('.pager-status');
    await page.locator('.pager-status', { hasText: 'page 1 of 2 · 25 matching' }).waitFor();
    expect(await page.locator('table[data-list=queues] tbody tr').count()).toBe(20);
    await page.click('button.next');
    await page.locator('.pager-status', { hasText: 'page 2 of 2' }).waitFor();
    expect(await page.locator('table[data-list=queues] tbody tr').count()).toBe(5);
    expect(await page.locator('table[data-list=queues] tbody tr').first().textContent()).toContain('page-q-20');
    // Sorting by total (descending first) puts the queue with messages on top.
    await page.click('table[data-list=queues] th:has-text("Total")');
    await page.locator('table[data-list=queues] th.sorted', { hasText: 'Total' }).waitFor();
    await page.locator('.pager-status', { hasText: 'page 1 of 2' }).waitFor();
    expect(await page.locator('table[data-list=queues] tbody tr').first().textContent()).toContain('page-q-07');
    expect(await status.textContent()).toContain('25 matching');
    await shot('queues');
  });

  it('renders every page without a script error or a CSP violation', async () => {
    const c = await connect();
    const ch = await c.createChannel();
    await ch.prefetch(5);
    await ch.consume('page-q-07', () => undefined, { noAck: false });
    await api('PUT', '/exchanges/%2F/console-x', { type: 'topic', durable: true });
    await ch.assertQueue('console-stream', { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': '7D' } });
    for (let i = 0; i < 12; i++) ch.sendToQueue('console-stream', Buffer.from(`event-${i}`));
    await api('POST', '/bindings/%2F/e/console-x/q/console-q', { routing_key: 'orders.#' });
    // [hash, heading, screenshot] — the queue, queues and connections shots are taken above, with data in them.
    const pages: [string, string, string | null][] = [
      ['overview', 'Overview', 'overview'],
      ['connections', 'Connections', null],
      ['channels', 'Channels', 'channels'],
      ['exchanges', 'Exchanges', 'exchanges'],
      ['exchanges/%2F/console-x', 'Exchange', 'exchange'],
      ['queues/%2F/console-q', 'Queue', null],
      ['streams', 'Streams', 'streams'],
      ['policies', 'Policies', null],
      ['users', 'Users', 'users'],
      ['vhosts', 'Virtual hosts', 'vhosts'],
      ['permissions', 'Permissions', 'permissions'],
    ];
    for (const [hash, title, name] of pages) {
      await show(hash);
      expect(await page.locator('main h1').first().textContent(), hash).toContain(title);
      expect(await page.locator('main').textContent(), hash).not.toContain('[object');
      if (name !== null) await shot(name);
    }
    await show('streams');
    await page.locator('table.streams td', { hasText: 'console-stream' }).waitFor();
    // The exchange page publishes through the topic binding into console-q.
    await show('exchanges/%2F/console-x');
    await page.fill('form.publish input[name=routing_key]', 'orders.new');
    await page.fill('form.publish textarea[name=payload]', 'via-exchange');
    await page.click('form.publish button[type=submit]');
    await notice('published and routed');
    const m = await ch.get('console-q', { noAck: true });
    expect(m && m.content.toString()).toBe('via-exchange');
    expect(problems).toEqual([]);
  });
});
