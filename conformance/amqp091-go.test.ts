// amqp091-go (Debian's golang-github-rabbitmq-amqp091-go-dev) against the broker: the client's
// own TestChannelExceptionWithCloseIssue43 (a channel error crossing the client's
// channel.close), that race again with other channels closing and opening concurrently, and a
// confirmed publish/consume round trip. The driver is conformance/go/amqp091/main.go, built
// offline in GOPATH mode from the Debian package's sources.
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerUnderTest, CONFORMANCE_DIR, runProcess, startBroker, uid } from './harness.js';

const GO_ENV = {
  GO111MODULE: 'off',
  GOPATH: '/usr/share/gocode',
  GOFLAGS: '',
  GOCACHE: path.join(os.tmpdir(), 'warren-conformance-gocache'),
};
const BINARY = path.join(os.tmpdir(), `warren-conformance-amqp091-${process.pid}`);

let broker: BrokerUnderTest;

beforeAll(async () => {
  broker = await startBroker();
  const build = await runProcess('go', ['build', '-o', BINARY, path.join(CONFORMANCE_DIR, 'go', 'amqp091', 'main.go')], {
    env: GO_ENV,
    timeoutMs: 120_000,
  });
  if (build.code !== 0) throw new Error(`go build failed: ${build.stderr}`);
}, 130_000);

afterAll(async () => {
  await broker?.stop();
  await rm(BINARY, { force: true });
});

describe('amqp091-go', () => {
  it('TestChannelExceptionWithCloseIssue43, racing channel opens and closes, publish/consume with confirms', async () => {
    const res = await runProcess(BINARY, [broker.url, uid('go')], { timeoutMs: 60_000 });
    const events = res.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e['event'] === 'error')).toEqual([]);
    expect(events).toEqual([
      { event: 'issue43', ok: true },
      { event: 'racing_opens', rounds: 20 },
      { event: 'publish_consume', acked: 10, bodies: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'] },
      { event: 'done' },
    ]);
    expect(res.code).toBe(0);
  }, 70_000);
});
