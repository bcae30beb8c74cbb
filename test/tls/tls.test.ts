// TLS: the options (a bare --tls-port means 5671, files needed together), reading the PEM
// files (each failure one message naming the file and its flag), and an embedded broker over
// TLS: amqplib with the CA, peer verification refusing untrusted or missing client
// certificates, a reload that new connections see while open ones carry on, and SASL
// EXTERNAL (the client certificate's CN is the user) with RabbitMQ's mechanisms and refusals.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import * as amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../conformance/tls-certs.js';
import { startConfig } from '../../src/cli/start.js';
import { DEFAULT_CONFIG, resolveConfig } from '../../src/config.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { externalUser } from '../../src/connection/sasl.js';
import { loadTlsCredentials } from '../../src/tls/credentials.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.cleanup());

describe('TLS options', () => {
  it('is off by default; a bare --tls-port means 5671 and a bare --https-port 15671', () => {
    expect(DEFAULT_CONFIG.tlsPort).toBeNull();
    expect(DEFAULT_CONFIG.httpsPort).toBeNull();
    const c = startConfig({ tlsPort: true, httpsPort: true, tlsCert: 'c.pem', tlsKey: 'k.pem' }, {}).config;
    expect(c.tlsPort).toBe(5671);
    expect(c.httpsPort).toBe(15671);
  });

  it('reads every TLS option from flags, WARREN_* variables and the config file', () => {
    const c = resolveConfig({
      file: { path: 'w.json', text: JSON.stringify({ tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem', tlsVerify: 'peer' }) },
      env: { WARREN_TLS_PORT: '5999', WARREN_TLS_FAIL_IF_NO_PEER_CERT: 'true' },
      flags: { httpsPort: '15999' },
    }).config;
    expect(c).toMatchObject({ tlsPort: 5999, httpsPort: 15999, tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem', tlsVerify: 'peer', tlsFailIfNoPeerCert: true });
  });

  it('refuses combinations that cannot work, naming the flags', () => {
    expect(() => resolveConfig({ flags: { tlsPort: '5671' } })).toThrow('--tls-port needs --tls-cert and --tls-key (PEM files)');
    expect(() => resolveConfig({ flags: { httpsPort: '15671', tlsCert: 'c.pem' } })).toThrow('--https-port needs --tls-cert and --tls-key');
    expect(() => resolveConfig({ flags: { tlsVerify: 'peer' } })).toThrow('--tls-verify peer needs --tls-ca');
    expect(() => resolveConfig({ flags: { tlsFailIfNoPeerCert: 'true' } })).toThrow('--tls-fail-if-no-peer-cert needs --tls-verify peer');
    expect(() => resolveConfig({ flags: { tlsVerify: 'sometimes' } })).toThrow('--tls-verify: must be "none" or "peer", got "sometimes"');
  });
});

describe('loadTlsCredentials', () => {
  it('reads a certificate, its key and a CA, and reports the serial', () => {
    const s = pki.server('creds-ok', 0x1234);
    const c = loadTlsCredentials({ tlsCert: s.cert, tlsKey: s.key, tlsCa: pki.ca });
    expect(c.serial).toBe('1234');
    expect(c.subject).toBe('CN=localhost');
  });

  it('names the file and the flag of each kind of bad file', () => {
    const s = pki.server('creds-bad', 0x1235);
    const other = pki.server('creds-other', 0x1236);
    const missing = join(pki.dir, 'missing.pem');
    const dir = join(pki.dir, 'a-directory');
    mkdirSync(dir, { recursive: true });
    const junk = join(pki.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    expect(() => loadTlsCredentials({ tlsCert: missing, tlsKey: s.key, tlsCa: null })).toThrow(`TLS certificate file ${missing} (--tls-cert) does not exist`);
    expect(() => loadTlsCredentials({ tlsCert: s.cert, tlsKey: missing, tlsCa: null })).toThrow(`TLS key file ${missing} (--tls-key) does not exist`);
    expect(() => loadTlsCredentials({ tlsCert: s.cert, tlsKey: s.key, tlsCa: missing })).toThrow(`TLS CA file ${missing} (--tls-ca) does not exist`);
    expect(() => loadTlsCredentials({ tlsCert: dir, tlsKey: s.key, tlsCa: null })).toThrow(`TLS certificate file ${dir} (--tls-cert) is a directory`);
    expect(() => loadTlsCredentials({ tlsCert: junk, tlsKey: s.key, tlsCa: null })).toThrow(`TLS certificate file ${junk} (--tls-cert) holds no PEM certificate`);
    expect(() => loadTlsCredentials({ tlsCert: s.cert, tlsKey: junk, tlsCa: null })).toThrow(`TLS key file ${junk} (--tls-key) holds no usable private key`);
    expect(() => loadTlsCredentials({ tlsCert: s.cert, tlsKey: other.key, tlsCa: null })).toThrow(`TLS key file ${other.key} (--tls-key) is not the key of the certificate in ${s.cert}`);
    expect(() => loadTlsCredentials({ tlsCert: s.cert, tlsKey: s.key, tlsCa: junk })).toThrow(`TLS CA file ${junk} (--tls-ca) holds no PEM certificate`);
  });
});

/** The serial of the certificate a TLS server at `port` presents. */
function serverSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.once('error', reject);
  });
}

/** Settles with 'refused' when the broker drops the TLS connection before AMQP starts. */
async function tryConnect(url: string, opts: { ca: Buffer[]; cert?: Buffer; key?: Buffer }): Promise<'open' | 'refused'> {
  try {
    const c = await amqplib.connect(url, opts);
    await c.close();
    return 'open';
  } catch {
    return 'refused';
  }
}

describe('an embedded broker over TLS', () => {
  let b: RunningBroker;
  let ca: Buffer;
  afterAll(async () => b?.close());

  it('serves amqplib over amqps:// with the CA, and keeps plain AMQP on its own port', async () => {
    const s = pki.server('embed', 0x2001);
    b = await startBroker({ tlsPort: 0, tlsCert: s.cert, tlsKey: s.key });
    ca = readFileSync(pki.ca);
    expect(b.tlsUrl).toBe(`amqps://guest:guest@127.0.0.1:${b.tlsPort}`);
    const conn = await amqplib.connect(b.tlsUrl!, { ca: [ca] });
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('over tls'));
    const got = await new Promise<string>((resolve) => void ch.consume(q.queue, (m) => m && resolve(m.content.toString()), { noAck: true }));
    expect(got).toBe('over tls');
    await conn.close();
    const plain = await amqplib.connect(b.url);
    await plain.close();
  });

  it('reloads: new connections see the new certificate, an open one carries on', async () => {
    const before = await amqplib.connect(b.tlsUrl!, { ca: [ca] });
    const ch = await before.createChannel();
    expect(await serverSerial(b.tlsPort!, pki.ca)).toBe('2001');
    const next = pki.server('embed-next', 0x2002);
    b.broker.reloadTls(loadTlsCredentials({ tlsCert: next.cert, tlsKey: next.key, tlsCa: null }));
    expect(await serverSerial(b.tlsPort!, pki.ca)).toBe('2002');
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.messageCount).toBe(0);
    await before.close();
  });
});

describe('peer verification', () => {
  const brokers: RunningBroker[] = [];
  afterAll(async () => {
    for (const b of brokers) await b.close();
  });

  async function broker(failIfNoPeerCert: boolean): Promise<RunningBroker> {
    const s = pki.server(`peer-${failIfNoPeerCert}`, 0x3001);
    const b = await startBroker({ tlsPort: 0, tlsCert: s.cert, tlsKey: s.key, tlsCa: pki.ca, tlsVerify: 'peer', tlsFailIfNoPeerCert: failIfNoPeerCert });
    brokers.push(b);
    return b;
  }

  it('with --tls-verify peer: a trusted client certificate gets in, an untrusted one does not, none is allowed', async () => {
    const b = await broker(false);
    const ca = [readFileSync(pki.ca)];
    const good = pki.client('peer-good', 'guest', 0x4001);
    const bad = pki.client('peer-bad', 'guest', 0x4002, 'self');
    expect(await tryConnect(b.tlsUrl!, { ca, cert: readFileSync(good.cert), key: readFileSync(good.key) })).toBe('open');
    expect(await tryConnect(b.tlsUrl!, { ca, cert: readFileSync(bad.cert), key: readFileSync(bad.key) })).toBe('refused');
    expect(await tryConnect(b.tlsUrl!, { ca })).toBe('open');
  });

  it('with --tls-fail-if-no-peer-cert as well: a client without a certificate is refused', async () => {
    const b = await broker(true);
    const ca = [readFileSync(pki.ca)];
    const good = pki.client('peer-good2', 'guest', 0x4003);
    expect(await tryConnect(b.tlsUrl!, { ca })).toBe('refused');
    expect(await tryConnect(b.tlsUrl!, { ca, cert: readFileSync(good.cert), key: readFileSync(good.key) })).toBe('open');
  });
});

/** The mechanisms of connection.start on a fresh socket (plain or TLS). */
function startMechanisms(socket: import('node:net').Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 7 || buf.length < 8 + buf.readUInt32BE(3)) return;
      const payload = buf.subarray(7, 7 + buf.readUInt32BE(3));
      const at = 6 + 4 + payload.readUInt32BE(6); // class, method, version; then the server properties
      resolve(payload.subarray(at + 4, at + 4 + payload.readUInt32BE(at)).toString());
      socket.destroy();
    });
    socket.once('error', reject);
    socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  });
}

describe('SASL EXTERNAL', () => {
  it('takes the user from the certificate CN, with rabbit_auth_mechanism_ssl refusals', () => {
    expect(externalUser({ peer: { authorized: true, commonName: 'alice' } })).toEqual({ user: 'alice' });
    expect(externalUser({ peer: null })).toEqual({ refused: 'connection peer presented no TLS (x.509) certificate' });
    expect(externalUser({ peer: { authorized: true, commonName: null } })).toEqual({ refused: 'no name found' });
    expect(externalUser({ peer: { authorized: false, commonName: 'alice' } })).toEqual({ refused: 'TLS configuration is unsafe' });
  });

  let b: RunningBroker;
  let ca: Buffer[];
  const client = (name: string, cn: string, serial: number) => {
    const c = pki.client(name, cn, serial);
    return { cert: readFileSync(c.cert), key: readFileSync(c.key) };
  };
  beforeAll(async () => {
    const s = pki.server('external', 0x5001);
    b = await startBroker({ tlsPort: 0, tlsCert: s.cert, tlsKey: s.key, tlsCa: pki.ca, tlsVerify: 'peer' });
    ca = [readFileSync(pki.ca)];
  });
  afterAll(async () => b?.close());

  it('is offered on TLS connections only, in RabbitMQ order', async () => {
    const net = await import('node:net');
    expect(await startMechanisms(net.connect(b.port, '127.0.0.1'))).toBe('PLAIN AMQPLAIN');
    const t = tls.connect({ host: '127.0.0.1', port: b.tlsPort!, ca });
    await new Promise((r) => t.once('secureConnect', r));
    expect(await startMechanisms(t)).toBe('PLAIN EXTERNAL AMQPLAIN');
  });

  it('logs in as the CN of a verified client certificate, without a password', async () => {
    const conn = await amqplib.connect(`amqps://127.0.0.1:${b.tlsPort}`, { ca, ...client('ext-guest', 'guest', 0x6001), credentials: amqplib.credentials.external() });
    const ch = await conn.createChannel();
    await ch.checkExchange('amq.direct');
    const listed = [...b.broker.connections].find((c) => c.isOpen);
    expect(listed?.username).toBe('guest');
    expect(listed?.overTls).toBe(true);
    await conn.close();
  });

  it('refuses a CN that is no user, and a client without a certificate, with 403 as RabbitMQ does', async () => {
    const refusal = 'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. For details see the broker logfile."';
    await expect(amqplib.connect(`amqps://127.0.0.1:${b.tlsPort}`, { ca, ...client('ext-nobody', 'nobody', 0x6002), credentials: amqplib.credentials.external() })).rejects.toThrow(refusal);
    await expect(amqplib.connect(`amqps://127.0.0.1:${b.tlsPort}`, { ca, credentials: amqplib.credentials.external() })).rejects.toThrow(refusal);
  });
});
