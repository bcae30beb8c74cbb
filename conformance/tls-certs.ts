// Test certificates, made at test time with Debian's `openssl` CLI in a temporary directory
// (nothing with a private key is committed): a CA, server certificates for 127.0.0.1 and
// localhost, and client certificates whose subject CN is a user name (for EXTERNAL). Each
// certificate gets the serial it is asked for, so a test can tell which one a server presents.
// Used by the TLS unit and conformance tests and by bench/tls.ts.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface IssuedCert {
  /** PEM files. */
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  /** The CA's certificate (PEM file): trust it on both sides. */
  readonly ca: string;
  /** A server certificate with SAN IP:127.0.0.1 and DNS:localhost. */
  server(name: string, serial: number): IssuedCert;
  /** A client certificate with subject CN=`cn`. */
  client(name: string, cn: string, serial: number, signer?: 'ca' | 'self'): IssuedCert;
  /** Another CA, for certificates the server must not trust. */
  readonly otherCa: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** EC P-256 keys: quick to make, and every client under test (Node, Python, Erlang) speaks them. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '3', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

function issue(dir: string, ca: string, name: string, subject: string, serial: number, extensions: string): IssuedCert {
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', '-new', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(serial), '-days', '2', '-out', `${name}.pem`, '-extfile', ext], dir);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

/**
 * A fresh CA (and a second, untrusted one) in a new temporary directory. With `caDir`, the CA
 * is the one there (ca.pem, ca.key): a reference broker started with it trusts what is issued.
 */
export function makeTestPki(caDir?: string): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-tls-'));
  if (caDir === undefined) makeCa(dir, 'ca');
  else for (const f of ['ca.pem', 'ca.key']) copyFileSync(path.join(caDir, f), path.join(dir, f));
  makeCa(dir, 'other-ca');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    otherCa: path.join(dir, 'other-ca.pem'),
    server: (name, serial) => issue(dir, 'ca', name, '/CN=localhost', serial, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: (name, cn, serial, signer = 'ca') => issue(dir, signer === 'ca' ? 'ca' : 'other-ca', name, `/O=warren tests/CN=${cn}`, serial, 'extendedKeyUsage=clientAuth\n'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
