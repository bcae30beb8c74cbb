// warren stores passwords as RabbitMQ does (rabbit_password_hashing_sha256): base64 of a 4-byte
// salt followed by SHA-256(salt ++ UTF-8 password). Checked against hashes that RabbitMQ 3.10.8
// made itself (its export of users created with these passwords): warren verifies them, and
// hashing with the same salt gives the same bytes.
import { describe, expect, it } from 'vitest';
import { HASHING_ALGORITHM, hashPassword, verifyPassword } from '../../src/auth/access.js';

/** [password, hash RabbitMQ 3.10.8 stored for it] from GET /api/users and /api/definitions. */
const RABBITMQ_HASHES: readonly [string, string][] = [
  ['guest', 'jfWM/H3K0poMbWii0xAiAGsBeApA5/WaZUAgDxxkjg8h7mJ1'],
  ['guest', '3L9fCrE/k5wWcBrF7yJxvD4xh7eg6m9A0FVWcYP7SUuIY5ME'],
  ['s3cret', 'tWigEd7LNPqnEaJ1n0/awaG3AhFA5z49nQzjd9gSBf+tUIkU'],
  ['alice-pw', '2MSWMYvWNoca3dklrIcbLxeJNUFCVur3fUaoIcRRk0LHbTO5'],
  ['bob-pw', '5fZ4BtEHMDcv1OsMuH7rJdZXJLqvbWA6sSP4k6y75uOSocXA'],
];

describe("RabbitMQ's password hash format", () => {
  it('is the algorithm name RabbitMQ exports', () => {
    expect(HASHING_ALGORITHM).toBe('rabbit_password_hashing_sha256');
  });

  for (const [password, hash] of RABBITMQ_HASHES) {
    it(`verifies RabbitMQ's hash of "${password}" and rebuilds it byte for byte from its salt`, () => {
      expect(verifyPassword(password, hash)).toBe(true);
      expect(verifyPassword(`${password}x`, hash)).toBe(false);
      const salt = Buffer.from(hash, 'base64').subarray(0, 4);
      expect(hashPassword(password, salt)).toBe(hash);
    });
  }

  it('makes 36-byte hashes with a fresh salt each time', () => {
    const a = hashPassword('same');
    const b = hashPassword('same');
    expect(Buffer.from(a, 'base64')).toHaveLength(36);
    expect(a).not.toBe(b);
    expect(verifyPassword('same', a) && verifyPassword('same', b)).toBe(true);
  });

  it('hashes non-ASCII passwords as UTF-8', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const h = hashPassword('pässwörd', salt);
    expect(verifyPassword('pässwörd', h)).toBe(true);
    expect(verifyPassword('passwort', h)).toBe(false);
  });

  it('rejects hashes of the wrong length', () => {
    expect(verifyPassword('guest', '')).toBe(false);
    expect(verifyPassword('guest', 'abcd')).toBe(false);
  });
});

describe("RabbitMQ's other hashing modules (users imported from a RabbitMQ configured with them)", () => {
  // Made with RabbitMQ's recipe (4 random salt bytes, then the digest of salt ++ password);
  // RabbitMQ 3.10.8 took each with PUT /api/users {password_hash, hashing_algorithm} and let
  // the user log in over AMQP (pika) with that password.
  const SHA512 = 'r+Xt9DxjX0MI5vyI7U1yg6tBs7AqOC5iyZAwz30dxJEam0j4GIBhoi+VFG7nZRHyQyxXz1Wd/r/fGVk0E8+6jxn+9iA=';
  const MD5 = 'CQgHBvv4jAkK/+bqO2sye9Tc7qE=';

  it('verifies a rabbit_password_hashing_sha512 hash with SHA-512', () => {
    expect(verifyPassword('secret512', SHA512, 'rabbit_password_hashing_sha512')).toBe(true);
    expect(verifyPassword('secret513', SHA512, 'rabbit_password_hashing_sha512')).toBe(false);
    expect(verifyPassword('secret512', SHA512)).toBe(false);
    expect(hashPassword('secret512', Buffer.from(SHA512, 'base64').subarray(0, 4), 'rabbit_password_hashing_sha512')).toBe(SHA512);
  });

  it('verifies a rabbit_password_hashing_md5 hash with MD5', () => {
    expect(verifyPassword('secret-md5', MD5, 'rabbit_password_hashing_md5')).toBe(true);
    expect(verifyPassword('secret-md6', MD5, 'rabbit_password_hashing_md5')).toBe(false);
  });

  it('refuses an algorithm it does not know', () => {
    expect(verifyPassword('secret512', SHA512, 'rabbit_password_hashing_sha3')).toBe(false);
  });
});
