// Who may use the management API and what they may do, and the users/vhosts/permissions
// endpoints: basic auth, RabbitMQ's 401 bodies, user tags, the loopback rule for guest, and
// changes that reach AMQP (a user made here logs in; a vhost's creator may use it).
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/access.js';
import { adminBroker, amqpUrl, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

describe('authentication', () => {
  it('refuses requests without or with wrong credentials: 401, Login failed, a Basic challenge', async () => {
    for (const api of [t.api.as(null), t.api.as('guest', 'wrong'), t.api.as('nobody', 'x')]) {
      const r = await api.get('/overview');
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ error: 'not_authorized', reason: 'Login failed' });
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
    }
  });

  it('lets in users with a management tag only; users and definitions are for administrators', async () => {
    await t.api.put('/users/plain', { password: 'p', tags: '' });
    await t.api.put('/users/mgmt', { password: 'p', tags: 'management' });
    expect((await t.api.as('plain', 'p').get('/whoami')).json).toEqual({ error: 'not_authorised', reason: 'Not management user' });
    const mgmt = t.api.as('mgmt', 'p');
    expect((await mgmt.get('/whoami')).json).toEqual({ name: 'mgmt', tags: ['management'] });
    expect((await mgmt.get('/users')).json).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
    expect((await mgmt.get('/definitions')).status).toBe(401);
    expect((await mgmt.put('/vhosts/v', {})).status).toBe(401);
  });

  it('shows a management user only the vhosts it has permissions in, and checks its AMQP permissions', async () => {
    await t.api.put('/vhosts/other', {});
    await t.api.put('/users/app', { password: 'p', tags: ['management'] });
    await t.api.put('/permissions/%2F/app', { configure: '^app-', write: '^app-', read: '^app-' });
    const app = t.api.as('app', 'p');
    expect(((await app.get('/vhosts')).json as Json[]).map((v) => v['name'])).toEqual(['/']);
    expect((await app.get('/queues/other')).json).toEqual({ error: 'not_authorised', reason: 'User not authorised to access virtual host' });
    expect((await app.put('/queues/%2F/app-q', {})).status).toBe(201);
    const refused = await app.put('/queues/%2F/other-q', {});
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ error: 'not_authorised', reason: "ACCESS_REFUSED - access to queue 'other-q' in vhost '/' refused for user 'app'" });
  });

  it('lets guest in from loopback only', async () => {
    const app = t.running.admin!.app;
    const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
    const remote = await app.inject({ method: 'GET', url: '/api/whoami', headers: { authorization: auth }, remoteAddress: '192.0.2.10' });
    expect(remote.statusCode).toBe(401);
    expect(remote.json()).toEqual({ error: 'not_authorised', reason: 'User can only log in via localhost' });
    const local = await app.inject({ method: 'GET', url: '/api/whoami', headers: { authorization: auth }, remoteAddress: '127.0.0.1' });
    expect(local.statusCode).toBe(200);
  });
});

describe('users', () => {
  it('adds a user with a hashed password it can log in with over AMQP, lists, changes and deletes it', async () => {
    expect((await t.api.put('/users/alice', { password: 's3cret', tags: 'management,monitoring' })).status).toBe(201);
    const u = (await t.api.get('/users/alice')).json as Json;
    expect(u).toMatchObject({ name: 'alice', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['management', 'monitoring'], limits: {} });
    expect(verifyPassword('s3cret', u['password_hash'] as string)).toBe(true);
    expect(((await t.api.get('/users')).json as Json[]).map((x) => x['name'])).toEqual(['alice', 'guest']);
    await t.api.put('/permissions/%2F/alice', { configure: '.*', write: '.*', read: '.*' });
    const c = await amqp.connect(amqpUrl(t.running, 'alice', 's3cret'));
    await c.close();
    expect((await t.api.put('/users/alice', { password: 'n3w', tags: ['administrator'] })).status).toBe(204);
    expect(((await t.api.get('/users/alice')).json as Json)['tags']).toEqual(['administrator']);
    expect((await t.api.delete('/users/alice')).status).toBe(204);
    expect((await t.api.delete('/users/alice')).status).toBe(404);
    expect((await t.api.get('/users/alice')).status).toBe(404);
  });

  it('takes a ready password hash, and refuses malformed ones and unknown algorithms', async () => {
    // RabbitMQ 3.10.8 made this hash of "s3cret" (PUT /api/users with that password, then GET).
    const hash = 'tWigEd7LNPqnEaJ1n0/awaG3AhFA5z49nQzjd9gSBf+tUIkU';
    expect((await t.api.put('/users/h', { password_hash: hash, tags: '' })).status).toBe(201);
    expect(t.running.broker.checkPassword('h', 's3cret')).toBe(true);
    const bad = await t.api.put('/users/h2', { password_hash: 'abc', tags: '' });
    expect(bad.status).toBe(400);
    expect((bad.json as Json)['reason']).toMatch(/password_hash is not a rabbit_password_hashing_sha256 hash/);
    // A SHA-256-sized hash named md5 is malformed; an unknown module is refused by name.
    const md5 = await t.api.put('/users/h3', { password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_md5', tags: '' });
    expect(md5.status).toBe(400);
    expect((md5.json as Json)['reason']).toMatch(/password_hash is not a rabbit_password_hashing_md5 hash/);
    const sha3 = await t.api.put('/users/h3', { password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_sha3', tags: '' });
    expect((sha3.json as Json)['reason']).toMatch(/unsupported hashing_algorithm 'rabbit_password_hashing_sha3'/);
    // SHA-512 hashes (RabbitMQ 3.10.8 logged this user in with "secret512") are kept with their algorithm.
    const sha512 = 'r+Xt9DxjX0MI5vyI7U1yg6tBs7AqOC5iyZAwz30dxJEam0j4GIBhoi+VFG7nZRHyQyxXz1Wd/r/fGVk0E8+6jxn+9iA=';
    expect((await t.api.put('/users/h5', { password_hash: sha512, hashing_algorithm: 'rabbit_password_hashing_sha512', tags: '' })).status).toBe(201);
    expect(t.running.broker.checkPassword('h5', 'secret512')).toBe(true);
    expect(t.running.broker.checkPassword('h5', 'secret511')).toBe(false);
    expect((await t.api.get('/users/h5')).json).toMatchObject({ password_hash: sha512, hashing_algorithm: 'rabbit_password_hashing_sha512' });
    const noTags = await t.api.put('/users/h4', { password: 'x' });
    expect(noTags.status).toBe(400);
    expect((noTags.json as Json)['reason']).toMatch(/tags/);
  });
});

describe('vhosts and permissions', () => {
  it("creates a vhost (its creator gets full permissions), shows, updates and deletes it", async () => {
    expect((await t.api.put('/vhosts/staging', { description: 'pre-prod', tags: 'a,b' })).status).toBe(201);
    expect((await t.api.get('/vhosts/staging')).json).toMatchObject({ name: 'staging', description: 'pre-prod', tags: ['a', 'b'], metadata: { description: 'pre-prod', tags: ['a', 'b'] }, messages: 0 });
    expect((await t.api.get('/permissions/staging/guest')).json).toEqual({ user: 'guest', vhost: 'staging', configure: '.*', write: '.*', read: '.*' });
    const c = await t.connect(amqpUrl(t.running, 'guest', 'guest', 'staging'));
    await (await c.createChannel()).assertQueue('in-staging');
    expect(((await t.api.get('/queues/staging')).json as Json[]).map((q) => q['name'])).toEqual(['in-staging']);
    expect((await t.api.put('/vhosts/staging', { description: 'changed' })).status).toBe(204);
    expect(((await t.api.get('/vhosts/staging')).json as Json)['description']).toBe('changed');
    expect((await t.api.delete('/vhosts/staging')).status).toBe(204);
    expect((await t.api.delete('/vhosts/staging')).status).toBe(404);
    expect((await t.api.get('/queues/staging')).status).toBe(404);
  });

  it('sets, lists and clears permissions, refusing unknown users/vhosts and bad patterns', async () => {
    await t.api.put('/users/bob', { password: 'p', tags: '' });
    expect((await t.api.put('/permissions/%2F/bob', { configure: '', write: '^amq\\.topic$', read: '^bob-' })).status).toBe(201);
    expect((await t.api.put('/permissions/%2F/bob', { configure: '', write: '^amq\\.topic$', read: '^bob-.*' })).status).toBe(204);
    expect((await t.api.get('/users/bob/permissions')).json).toEqual([{ user: 'bob', vhost: '/', configure: '', write: '^amq\\.topic$', read: '^bob-.*' }]);
    expect(((await t.api.get('/vhosts/%2F/permissions')).json as Json[]).map((p) => p['user']).sort()).toEqual(['bob', 'guest']);
    expect((await t.api.put('/permissions/nov/bob', { configure: '', write: '', read: '' })).json).toEqual({ error: 'bad_request', reason: 'vhost_or_user_not_found' });
    expect((await t.api.put('/permissions/%2F/nobody', { configure: '', write: '', read: '' })).status).toBe(400);
    const bad = await t.api.put('/permissions/%2F/bob', { configure: '(', write: '', read: '' });
    expect(bad.status).toBe(400);
    expect((bad.json as Json)['reason']).toBe('invalid regular expression for configure: "(" (error parsing regexp: missing closing ): `(`)');
    const missing = await t.api.put('/permissions/%2F/bob', { configure: '.*', write: '.*' });
    expect(missing.status).toBe(400);
    expect((missing.json as Json)['reason']).toMatch(/read/);
    expect((await t.api.delete('/permissions/%2F/bob')).status).toBe(204);
    expect((await t.api.delete('/permissions/%2F/bob')).status).toBe(404);
  });
});
