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
    expect(new ProtocolHeaderReader().read(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9])).kind).toBe('refused');
  });
});

describe('parseCredentials', () => {
  it('reads PLAIN with and without the authorisation identity', () => {
    expect(parseCredentials('PLAIN', Buffer.from('\0guest\0secret'))).toEqual(['guest', 'secret']);
    expect(parseCredentials('PLAIN', Buffer.from('guest\0secret'))).toEqual(['guest', 'secret']);
  });

  it('reads AMQPLAIN and refuses unknown mechanisms', () => {
    const login = Buffer.from('LOGIN');
    const user = Buffer.from('guest');
    const pw = Buffer.from('PASSWORD');
    const pass = Buffer.from('secret');
    const table = Buffer.concat([
      Buffer.from([login.length]), login, Buffer.from('S'), Buffer.from([0, 0, 0, user.length]), user,
      Buffer.from([pw.length]), pw, Buffer.from('S'), Buffer.from([0, 0, 0, pass.length]), pass,
    ]);
    expect(parseCredentials('AMQPLAIN', table)).toEqual(['guest', 'secret']);
    expect(parseCredentials('CRAM-MD5', Buffer.alloc(0))).toBeNull();
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
