// What the API, /metrics and `warren status` show of several nodes: the role each node gets from
// the lease and its reports (nodeViews), and the three outlets fed from one NodesView, here a
// fixed one on an in-process broker (the two-node run is conformance/nodes.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodesView } from '../../src/broker.js';
import { runCli } from '../../src/cli/program.js';
import type { LeaseHolder, NodeRow } from '../../src/nodes/lease.js';
import { nodeViews, type NodeView } from '../../src/nodes/node.js';
import { adminBroker, type AdminTestBroker } from '../admin/helpers.js';
import { parsePrometheus } from '../admin/prometheus.js';

const LEASE_MS = 2000;

function holder(over: Partial<LeaseHolder> = {}): LeaseHolder {
  return { holder: 'a', epoch: 7, address: '127.0.0.1:5672', httpAddress: '127.0.0.1:15672', tlsAddress: '', ageMs: 312.4, remainingMs: 1687.6, expired: false, ...over };
}

function row(name: string, lagMs: number, epoch = 7): NodeRow {
  return { name, role: 'x', address: `${name}:5672`, httpAddress: `${name}:15672`, epoch, lagMs };
}

describe('nodeViews', () => {
  it('the holder of a running lease is active with its epoch and lease age; the others stand by', () => {
    expect(nodeViews(holder(), [row('a', 120.6), row('b', 250, 6)], LEASE_MS)).toEqual([
      { name: 'a', role: 'active', address: 'a:5672', epoch: 7, leaseAgeMs: 312, lagMs: 121 },
      { name: 'b', role: 'standby', address: 'b:5672', epoch: 6, leaseAgeMs: -1, lagMs: 250 },
    ]);
  });

  it('a holder whose lease ran out is no longer active; a node silent for two lease periods is gone', () => {
    const v = nodeViews(holder({ expired: true, ageMs: 2500, remainingMs: -500 }), [row('a', 2500), row('b', 300), row('c', 4001)], LEASE_MS);
    expect(v.map((n) => [n.name, n.role, n.epoch, n.leaseAgeMs])).toEqual([
      ['a', 'standby', 7, 2500],
      ['b', 'standby', 7, -1],
      ['c', 'gone', 7, -1],
    ]);
    // Holder silent past two periods as well: gone, not active.
    expect(nodeViews(holder({ expired: true, ageMs: 9000 }), [row('a', 9000)], LEASE_MS)[0]!.role).toBe('gone');
  });

  it('no lease taken yet: every reporting node stands by', () => {
    expect(nodeViews(null, [row('a', 10), row('b', 10)], LEASE_MS).map((n) => n.role)).toEqual(['standby', 'standby']);
  });
});

const VIEW: NodeView[] = [
  { name: 'a', role: 'active', address: '127.0.0.1:5801', epoch: 3, leaseAgeMs: 312, lagMs: 120 },
  { name: 'b', role: 'standby', address: '127.0.0.1:5802', epoch: 3, leaseAgeMs: -1, lagMs: 250 },
  { name: 'c', role: 'gone', address: '127.0.0.1:5803', epoch: 2, leaseAgeMs: -1, lagMs: 60_000 },
];

const fixed: NodesView = { name: 'a', epoch: 3, view: async () => VIEW, lastView: () => VIEW };

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

async function status(): Promise<string> {
  let out = '';
  const code = await runCli(['node', 'warren', 'status', '--url', t.running.httpUrl!], { out: (s) => (out += s), err: () => undefined, readStdin: async () => '' });
  expect(code).toBe(0);
  return out;
}

describe('nodes in the API, /metrics and warren status', () => {
  it('a single node: one "single" row, no nodes line, no node metrics', async () => {
    const r = await t.api.get('/warren/nodes');
    expect(r.status).toBe(200);
    expect(r.json).toEqual([{ name: expect.any(String), role: 'single', address: null, epoch: 0, lease_age_ms: null, lag_ms: 0 }]);
    expect(await status()).not.toMatch(/^nodes/m);
    const m = parsePrometheus((await t.api.as(null).get('/metrics')).text);
    expect(m.has('warren_node_active')).toBe(false);
    expect(m.has('warren_lease_age_seconds')).toBe(false);
  });

  it('several nodes: each with role, epoch, lease age (null but for the holder) and lag', async () => {
    t.running.broker.nodes = fixed;
    const r = await t.api.get('/warren/nodes');
    expect(r.json).toEqual([
      { name: 'a', role: 'active', address: '127.0.0.1:5801', epoch: 3, lease_age_ms: 312, lag_ms: 120 },
      { name: 'b', role: 'standby', address: '127.0.0.1:5802', epoch: 3, lease_age_ms: null, lag_ms: 250 },
      { name: 'c', role: 'gone', address: '127.0.0.1:5803', epoch: 2, lease_age_ms: null, lag_ms: 60000 },
    ]);
    // Monitoring, like /api/nodes: no credentials, no answer.
    expect((await t.api.as(null).get('/warren/nodes')).status).toBe(401);
  });

  it('warren status prints one nodes line', async () => {
    t.running.broker.nodes = fixed;
    expect(await status()).toMatch(/^nodes\s+a active epoch 3 lease age 312 ms lag 120 ms; b standby epoch 3 lag 250 ms; c gone epoch 2 lag 60000 ms$/m);
  });

  it('/metrics: warren_node_active, _epoch, _lag_seconds per node and warren_lease_age_seconds', async () => {
    t.running.broker.nodes = fixed;
    const m = parsePrometheus((await t.api.as(null).get('/metrics')).text);
    const samples = (name: string): [Record<string, string>, number][] => m.get(name)!.samples.map((s) => [s.labels, s.value]);
    expect(m.get('warren_node_active')!.type).toBe('gauge');
    expect(samples('warren_node_active')).toEqual([
      [{ node: 'a', role: 'active' }, 1],
      [{ node: 'b', role: 'standby' }, 0],
      [{ node: 'c', role: 'gone' }, 0],
    ]);
    expect(samples('warren_node_epoch')).toEqual([
      [{ node: 'a' }, 3],
      [{ node: 'b' }, 3],
      [{ node: 'c' }, 2],
    ]);
    expect(samples('warren_node_lag_seconds')).toEqual([
      [{ node: 'a' }, 0.12],
      [{ node: 'b' }, 0.25],
      [{ node: 'c' }, 60],
    ]);
    expect(samples('warren_lease_age_seconds')).toEqual([[{}, 0.312]]);
  });
});
