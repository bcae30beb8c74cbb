// Handshake pieces that need no socket: the protocol header split across reads, SASL responses,
// the client's capabilities and tune negotiation limits.
import { describe, expect, it } from 'vitest';
import type { FieldTable } from '../../src/codec/field-table.js';
import { clientCapabilities, negotiateTune, PROTOCOL_HEADER, ProtocolHeaderReader } from '../../src/connection/handshake.js';
import { parseCredentials } from '../../src/connection/sasl.js';
import type { BrokerConfig } from '../../src/config.js';

describe('ProtocolHeaderReader', () => {
  it('accepts the header cut at every offset and returns what follows', () => {
    const bytes = Buffer.concat([PROTOCOL_HEADER, Buffer.from([1, 2, 3])]);
    for (let cut = 1; cut < 8; cut++) {
      const r = new ProtocolHeaderReader();
      expect(r.read(bytes.subarray(0, cut)).kind).toBe('incomplete');
      const done = r.read(bytes.subarray(cut));
      expect(done.kind).toBe('accepted');
      if (done.kind === 'accepted') expect([...done.rest]).toEqual([1, 2, 3]);
    }
  });

  it('refuses a mismatch as soon as it shows', () => {
    expect(new ProtocolHeaderReader().read(Buffer.from('GET ')).kind).toBe('refused');
    expect(new ProtocolHeaderReader().read(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 0])).kind).toBe('refused');
    expect(new ProtocolHeaderReader().read(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 8])).kind).toBe('refused');
  });

  it('accepts the 0-9 header as 0-9-1 and both 0-8 headers as 0-8, as RabbitMQ does', () => {
    for (const [bytes, protocol] of [
      [[1, 1, 0, 9], '0-9-1'],
      [[1, 1, 8, 0], '0-8'],
      [[1, 1, 9, 1], '0-8'],
    ] as const) {
      const r = new ProtocolHeaderReader();
      expect(r.read(Buffer.from([0x41, 0x4d, 0x51, 0x50, bytes[0]])).kind).toBe('incomplete');
      const done = r.read(Buffer.from(bytes.slice(1)));
      expect(done.kind === 'accepted' && done.header.protocol).toBe(protocol);
    }
  });
});

describe('parseCredentials', () => {
  it('reads PLAIN only as "\\0user\\0password", as RabbitMQ does', () => {
    expect(parseCredentials('PLAIN', Buffer.from('\0guest\0secret'))).toEqual({ kind: 'ok', user: 'guest', password: 'secret' });
    expect(parseCredentials('PLAIN', Buffer.from('\0\0'))).toEqual({ kind: 'ok', user: '', password: '' });
    for (const bad of ['guest\0secret', 'id\0guest\0secret', '\0guest\0secret\0', 'guestsecret', '', '\0guest']) {
      expect({ bad, kind: parseCredentials('PLAIN', Buffer.from(bad)).kind }).toEqual({ bad, kind: 'invalid' });
    }
  });

  it('reads AMQPLAIN with LOGIN and PASSWORD long strings, and refuses unknown mechanisms', () => {
    const entry = (k: string, v: string): Buffer => Buffer.concat([Buffer.from([k.length]), Buffer.from(k), Buffer.from('S'), Buffer.from([0, 0, 0, v.length]), Buffer.from(v)]);
    expect(parseCredentials('AMQPLAIN', Buffer.concat([entry('LOGIN', 'guest'), entry('PASSWORD', 'secret')]))).toEqual({ kind: 'ok', user: 'guest', password: 'secret' });
    expect(parseCredentials('AMQPLAIN', entry('LOGIN', 'guest')).kind).toBe('invalid');
    expect(parseCredentials('AMQPLAIN', Buffer.from([200])).kind).toBe('invalid');
    expect(parseCredentials('CRAM-MD5', Buffer.alloc(0)).kind).toBe('unknown-mechanism');
  });

  it("AMQPLAIN: 'L' values are fine; a response that does not decode, or lacks LOGIN or PASSWORD, is invalid", () => {
    const entry = (k: string, tagAndValue: Buffer): Buffer => Buffer.concat([Buffer.from([k.length]), Buffer.from(k), tagAndValue]);
    const str = (v: string): Buffer => Buffer.concat([Buffer.from('S'), Buffer.from([0, 0, 0, v.length]), Buffer.from(v)]);
    const creds = Buffer.concat([entry('LOGIN', str('guest')), entry('PASSWORD', str('secret'))]);
    const big = Buffer.alloc(9);
    big.write('L');
    big.writeBigInt64BE(1n << 40n, 1);
    expect(parseCredentials('AMQPLAIN', Buffer.concat([creds, entry('n', big)]))).toEqual({ kind: 'ok', user: 'guest', password: 'secret' });
    expect(parseCredentials('AMQPLAIN', Buffer.concat([creds, entry('z', Buffer.from('Z'))])).kind).toBe('invalid');
    expect(parseCredentials('AMQPLAIN', Buffer.concat([creds, entry('t', Buffer.from([0x49, 0, 1]))])).kind).toBe('invalid');
    expect(parseCredentials('AMQPLAIN', entry('PASSWORD', str('secret'))).kind).toBe('invalid');
    expect(parseCredentials('AMQPLAIN', entry('LOGIN', str('guest'))).kind).toBe('invalid');
  });

  it('AMQPLAIN: a table nested too deep is the usual 501 material, naming connection.start-ok', () => {
    const u32 = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    // A table holding 100 levels of tables under "d"; with the response table itself, 101.
    let deep = u32(0);
    for (let i = 1; i < 100; i++) deep = Buffer.concat([u32(deep.length + 3), Buffer.from('\u0001dF'), deep]);
    const response = Buffer.concat([Buffer.from([5]), Buffer.from('LOGIN'), Buffer.from('S'), Buffer.from([0, 0, 0, 1]), Buffer.from('g'), Buffer.from('\u0001dF'), deep]);
    expect(() => parseCredentials('AMQPLAIN', response)).toThrow(expect.objectContaining({ code: 'FRAME_ERROR', methodId: 0x000a000b }));
  });
});

describe('clientCapabilities', () => {
  it('reads the capabilities warren acts on', () => {
    const caps: FieldTable = new Map([['connection.blocked', { type: 't', value: true }]]);
    const props: FieldTable = new Map([['capabilities', { type: 'F', value: caps }]]);
    expect(clientCapabilities(props)).toEqual({ consumerCancelNotify: false, authenticationFailureClose: false, connectionBlocked: true });
    expect(clientCapabilities(new Map()).connectionBlocked).toBe(false);
  });
});

describe('negotiateTune', () => {
  const cfg = { frameMax: 131072, channelMax: 2047 } as BrokerConfig;
  it('takes 0 frame_max as ours and rejects values outside the limits', () => {
    expect(negotiateTune(cfg, 10, 0, 60)).toEqual({ channelMax: 10, frameMax: 131072, heartbeat: 60 });
    expect(negotiateTune(cfg, 10, 4095, 0)).toMatch(/lower than the minimum/);
    expect(negotiateTune(cfg, 10, 131073, 0)).toMatch(/higher than the maximum/);
    expect(negotiateTune(cfg, 0, 4096, 0)).toMatch(/channel_max = 0/);
  });
});
