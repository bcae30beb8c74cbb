// TLS through real clients: amqplib over amqps:// with the CA, pika with ssl_options,
// `openssl s_client` (the handshake, then the AMQP header answered with connection.start),
// SASL EXTERNAL with a client certificate (amqplib and pika), the management API over HTTPS,
// a SIGHUP reload (an open TLS connection carries on, new ones get the new certificate), and a
// missing certificate file stopping `warren start` with one line. Certificates are made here
// with openssl (conformance/tls-certs.ts).
//
// Against a reference broker: WARREN_CONFORMANCE_TLS_PORT=<its TLS port on 127.0.0.1> and
// WARREN_CONFORMANCE_TLS_CA_DIR=<dir with the ca.pem and ca.key it trusts; its server
// certificate signed by that CA for 127.0.0.1>, verify_peer, EXTERNAL enabled with
// ssl_cert_login_from = common_name. The warren-only tests (HTTPS, reload, start-up) are skipped.

import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningRecord, runPika, runProcess, waitFor } from './harness.js';
import { makeTestPki, type TestPki } from './tls-certs.js';
import { runWarren, startWarren, type WarrenProcess } from './warren-process.js';

const refPort = process.env['WARREN_CONFORMANCE_TLS_PORT'];
const refCaDir = process.env['WARREN_CONFORMANCE_TLS_CA_DIR'];
const external = refPort !== undefined && refCaDir !== undefined;

let pki: TestPki;
let dir: string;
let w: WarrenProcess | null = null;
let tlsPort: number;
let httpsPort: number | null = null;
/** The files warren was started with; the reload test overwrites them. */
let serverCert: string;
let serverKey: string;
let ca: Buffer[];

beforeAll(async () => {
  pki = makeTestPki(refCaDir);
  ca = [readFileSync(pki.ca)];
  if (external) {
    tlsPort = Number(refPort);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'warren-conf-tls-'));
  const s = pki.server('server', 0x1001);
  serverCert = join(dir, 'server.pem');
  serverKey = join(dir, 'server.key');
  copyFileSync(s.cert, serverCert);
  copyFileSync(s.key, serverKey);
  w = await startWarren('none', ['--http-port', 'off', '--https-port', '0', '--tls-port', '0', '--tls-cert', serverCert, '--tls-key', serverKey, '--tls-ca', pki.ca, '--tls-verify', 'peer']);
  const rec = listeningRecord(w.output());
  tlsPort = rec['tlsPort'] as number;
  httpsPort = rec['httpsPort'] as number;
});

afterAll(async () => {
  await w?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
  pki?.cleanup();
});

const url = (user = 'guest:guest@') => `amqps://${user}127.0.0.1:${tlsPort}`;
const clientCert = (name: string, cn: string, serial: number) => {
  const c = pki.client(name, cn, serial);
  return { cert: readFileSync(c.cert), key: readFileSync(c.key), files: c };
};

async function roundTrip(conn: amqplib.ChannelModel, text: string): Promise<string> {
  const ch = await conn.createChannel();
  const q = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(q.queue, Buffer.from(text));
  return new Promise<string>((resolve) => void ch.consume(q.queue, (m) => m && resolve(m.content.toString()), { noAck: true }));
}

const REFUSED_EXTERNAL = 'ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. For details see the broker logfile.';

describe('AMQP over TLS', () => {
  it('amqplib: amqps:// with the CA, guest/guest', async () => {
    const conn = await amqplib.connect(url(), { ca });
    expect(await roundTrip(conn, 'amqplib over tls')).toBe('amqplib over tls');
    await conn.close();
  });

  it('amqplib: a server certificate from another CA is refused by the client', async () => {
    await expect(amqplib.connect(url(), { ca: [readFileSync(pki.otherCa)] })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('pika: ssl_options with the CA', async () => {
    const r = await runPika(url(), 'tls', [pki.ca]);
    expect(r.events, r.stderr).toEqual([{ event: 'connected' }, { event: 'got', body: 'pika over tls' }, { event: 'closed' }]);
  });

  it('openssl s_client: the handshake verifies, then the AMQP header is answered with connection.start', async () => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, '-CAfile', pki.ca, '-verify_ip', '127.0.0.1', '-verify_return_error', '-quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = Buffer.alloc(0);
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out = Buffer.concat([out, d])));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    try {
      await waitFor(() => out.includes('AMQPLAIN') || null, 'connection.start from s_client', 10_000);
    } finally {
      child.kill('SIGKILL');
    }
    // A method frame on channel 0: connection.start (class 10, method 10), version 0-9.
    expect([...out.subarray(0, 3)]).toEqual([1, 0, 0]);
    expect([...out.subarray(7, 13)]).toEqual([0, 10, 0, 10, 0, 9]);
    expect(out.toString('latin1')).toContain('PLAIN EXTERNAL AMQPLAIN');
    expect(err).toContain('verify return:1');
  });

  it('a client certificate the CA did not sign is refused (verify peer)', async () => {
    const bad = pki.client('untrusted', 'guest', 0x2fff, 'self');
    await expect(amqplib.connect(url(), { ca, cert: readFileSync(bad.cert), key: readFileSync(bad.key) })).rejects.toThrow();
  });
});

describe('SASL EXTERNAL with a client certificate', () => {
  it('amqplib: logs in as the certificate CN without a password', async () => {
    const c = clientCert('ext-guest', 'guest', 0x2001);
    const conn = await amqplib.connect(url(''), { ca, cert: c.cert, key: c.key, credentials: amqplib.credentials.external() });
    expect(await roundTrip(conn, 'external')).toBe('external');
    await conn.close();
  });

  it('amqplib: a CN that is no user is refused with 403', async () => {
    const c = clientCert('ext-nobody', 'nobody-here', 0x2002);
    await expect(amqplib.connect(url(''), { ca, cert: c.cert, key: c.key, credentials: amqplib.credentials.external() })).rejects.toThrow(
      `Handshake terminated by server: 403 (ACCESS-REFUSED) with message "${REFUSED_EXTERNAL}"`,
    );
  });

  it('amqplib: EXTERNAL without a client certificate is refused with 403', async () => {
    await expect(amqplib.connect(url(''), { ca, credentials: amqplib.credentials.external() })).rejects.toThrow(`with message "${REFUSED_EXTERNAL}"`);
  });

  it('pika: ExternalCredentials with the client certificate', async () => {
    const c = clientCert('ext-pika', 'guest', 0x2003);
    const r = await runPika(url(''), 'tls', [pki.ca, c.files.cert, c.files.key, '--external']);
    expect(r.events, r.stderr).toEqual([{ event: 'connected' }, { event: 'got', body: 'pika over tls' }, { event: 'closed' }]);
  });

  it('pika: ExternalCredentials for an unknown CN gets the 403 close', async () => {
    const c = clientCert('ext-pika-nobody', 'nobody-here', 0x2004);
    const r = await runPika(url(''), 'tls', [pki.ca, c.files.cert, c.files.key, '--external']);
    expect(r.events, r.stderr).toEqual([{ event: 'auth_error', text: `ConnectionClosedByBroker: (403) '${REFUSED_EXTERNAL}'` }]);
  });
});

/** The serial of the certificate presented on `port`. */
function presentedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe.skipIf(external)('warren only: HTTPS, reload, start-up', () => {
  it('serves the management API and /metrics over HTTPS', async () => {
    const get = (path: string, auth?: string, clientCert?: { cert: Buffer; key: Buffer }) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsGet({ host: '127.0.0.1', port: httpsPort!, path, ca, ...(auth ? { auth } : {}), ...(clientCert ?? {}) }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.once('error', reject);
      });
    const overview = await get('/api/overview', 'guest:guest');
    expect(overview.status).toBe(200);
    const listeners = (JSON.parse(overview.body) as { listeners: { protocol: string; port: number }[] }).listeners;
    expect(listeners.map((l) => l.protocol).sort()).toEqual(['amqp', 'amqp/ssl', 'https']);
    expect((await get('/api/overview')).status).toBe(401);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('rabbitmq_connections_opened_total');
    // Peer verification applies to HTTPS too: a client certificate from another CA is refused.
    const bad = pki.client('https-untrusted', 'guest', 0x2fa0, 'self');
    await expect(get('/metrics', undefined, { cert: readFileSync(bad.cert), key: readFileSync(bad.key) })).rejects.toThrow();
  });

  it('SIGHUP reloads the certificate: an open TLS connection carries on, new ones see the new serial', async () => {
    const before = await amqplib.connect(url(), { ca });
    const ch = await before.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    expect(await presentedSerial(tlsPort)).toBe('1001');
    expect(await presentedSerial(httpsPort!)).toBe('1001');
    const next = pki.server('server-next', 0x1002);
    copyFileSync(next.cert, serverCert);
    copyFileSync(next.key, serverKey);
    process.kill(w!.pid, 'SIGHUP');
    await waitFor(() => w!.output().includes('"msg":"TLS certificate reloaded"') || null, 'the reload log line', 10_000);
    expect(await presentedSerial(tlsPort)).toBe('1002');
    expect(await presentedSerial(httpsPort!)).toBe('1002');
    ch.sendToQueue(q.queue, Buffer.from('still here'));
    const got = await new Promise<string>((resolve) => void ch.consume(q.queue, (m) => m && resolve(m.content.toString()), { noAck: true }));
    expect(got).toBe('still here');
    await before.close();
  });

  it('SIGHUP with a broken key keeps the certificate in use', async () => {
    const serial = await presentedSerial(tlsPort);
    const other = pki.server('server-mismatch', 0x1003);
    copyFileSync(other.cert, serverCert); // the key on disk no longer matches
    process.kill(w!.pid, 'SIGHUP');
    await waitFor(() => w!.output().includes('TLS reload failed; keeping the certificate in use') || null, 'the failed-reload log line', 10_000);
    expect(await presentedSerial(tlsPort)).toBe(serial);
  });

  it('a missing certificate or key file stops warren start with one line naming it', async () => {
    const s = pki.server('startup', 0x1004);
    const missing = join(pki.dir, 'no-such-cert.pem');
    const r = await runWarren(['start', '--port', '0', '--http-port', 'off', '--data-dir', 'none', '--tls-port', '0', '--tls-cert', missing, '--tls-key', s.key]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`warren: TLS certificate file ${missing} (--tls-cert) does not exist\n`);
    const r2 = await runWarren(['start', '--port', '0', '--http-port', 'off', '--data-dir', 'none', '--https-port', '0', '--tls-cert', s.cert, '--tls-key', join(pki.dir, 'no-such.key')]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toBe(`warren: TLS key file ${join(pki.dir, 'no-such.key')} (--tls-key) does not exist\n`);
  });

  it('plain AMQP on the TLS port never reaches the AMQP code', async () => {
    const r = await runProcess('amqp-declare-queue', ['-u', `amqp://guest:guest@127.0.0.1:${tlsPort}`, '-q', 'never'], { timeoutMs: 15_000 });
    expect(r.code).not.toBe(0);
  });
});
