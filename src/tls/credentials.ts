// TLS credentials: reads the PEM files named by --tls-cert, --tls-key and --tls-ca, checks that
// they parse and belong together, and turns them into the options of a TLS server. Every
// failure is one TlsFileError naming the file and the flag, so `warren start` can stop with one
// line, and a SIGHUP reload can keep the old credentials and say why.

import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { TlsOptions } from 'node:tls';
import type { BrokerConfig } from '../config.js';

export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | null;
  /** Of the server certificate, for logs: the serial in hex, subject and expiry. */
  readonly serial: string;
  readonly subject: string;
  readonly validTo: string;
}

/** RabbitMQ's ssl_handshake_timeout default: a client that stalls mid-handshake is dropped. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 5000;

function readPem(path: string, flag: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new TlsFileError(`TLS ${what} file ${path} (${flag}) ${why}`);
  }
}

/** The certificates of a PEM file (a chain or a CA bundle); at least one. */
function parseCertificates(pem: Buffer, path: string, flag: string, what: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsFileError(`TLS ${what} file ${path} (${flag}) holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new TlsFileError(`TLS ${what} file ${path} (${flag}) holds a certificate that cannot be parsed: ${(e as Error).message}`);
    }
  });
}

/** Reads and checks the configured files; throws TlsFileError naming the first bad one. */
export function loadTlsCredentials(config: Pick<BrokerConfig, 'tlsCert' | 'tlsKey' | 'tlsCa'>): TlsCredentials {
  if (config.tlsCert === null || config.tlsKey === null) throw new TlsFileError('TLS needs --tls-cert and --tls-key (PEM files)');
  const cert = readPem(config.tlsCert, '--tls-cert', 'certificate', );
  const key = readPem(config.tlsKey, '--tls-key', 'key');
  const ca = config.tlsCa === null ? null : readPem(config.tlsCa, '--tls-ca', 'CA');
  const leaf = parseCertificates(cert, config.tlsCert, '--tls-cert', 'certificate')[0]!;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new TlsFileError(`TLS key file ${config.tlsKey} (--tls-key) holds no usable private key: ${(e as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsFileError(`TLS key file ${config.tlsKey} (--tls-key) is not the key of the certificate in ${config.tlsCert}`);
  if (ca !== null) parseCertificates(ca, config.tlsCa!, '--tls-ca', 'CA');
  return { cert, key, ca, serial: leaf.serialNumber, subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo };
}

/** What tls.createServer and setSecureContext take. */
export function secureContextOptions(c: TlsCredentials): TlsOptions {
  return c.ca === null ? { cert: c.cert, key: c.key } : { cert: c.cert, key: c.key, ca: c.ca };
}

/**
 * Server options with peer verification as RabbitMQ's ssl_options has it: 'peer' asks for a
 * client certificate; a certificate that does not verify is refused always, a missing one only
 * with fail-if-no-peer-cert. Node can only refuse both or neither during the handshake, so
 * without fail-if-no-peer-cert the bad-certificate case is checked by `refusePeer` afterwards.
 */
export function tlsServerOptions(config: Pick<BrokerConfig, 'tlsVerify' | 'tlsFailIfNoPeerCert'>, c: TlsCredentials): TlsOptions {
  const peer = config.tlsVerify === 'peer';
  return { ...secureContextOptions(c), requestCert: peer, rejectUnauthorized: peer && config.tlsFailIfNoPeerCert, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS };
}

/** A client certificate as much as the broker needs of it. */
export interface PeerCertificate {
  /** The TLS layer verified the chain against --tls-ca. */
  readonly authorized: boolean;
  /** Why not, when not (Node's authorizationError). */
  readonly authorizationError: string | null;
  /** The subject's common names joined with ",", as RabbitMQ does with several; null if none. */
  readonly commonName: string | null;
}

/** Reads the peer certificate of an established TLS socket; null when the client sent none. */
export function peerCertificate(socket: { authorized: boolean; authorizationError?: Error | string | null; getPeerCertificate(): { subject?: Record<string, string | string[] | undefined> | undefined } }): PeerCertificate | null {
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0) return null;
  const cn = cert.subject?.['CN'];
  const commonName = cn === undefined ? null : Array.isArray(cn) ? cn.join(',') : cn;
  const err = socket.authorizationError;
  return { authorized: socket.authorized, authorizationError: err === undefined || err === null ? null : String(err), commonName };
}
