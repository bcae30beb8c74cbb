// What a drain's deliveries cost on the socket alone, without the broker: this process writes
// --n deliveries' bytes (a basic.deliver method frame, a content header frame and a 1 KiB body
// frame: --bytes a delivery) to a TCP peer over loopback, what the acks freed at most --per
// deliveries a write (one writev's worth), keeping at most --window deliveries unacknowledged; the peer (a child
// process, on its own core when started under taskset) reads them and answers each with a
// 21-byte basic.ack frame, as a consumer with prefetch --window does. Prints this process's CPU a
// delivery (user + system, microseconds): the event loop's, the kernel's copies and wake-ups.
//
//   npm run build && taskset -c 0 node dist/bench/socket-drain.js [--n 200000] [--per 100] [--window 100] [--bytes 1110] [--peer-cpu 1]

import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { arg } from './lib/util.js';

const ACK_BYTES = 21;

if (arg('role', 'sender') === 'peer') {
  // Reads deliveries, acks each one (batched into one write a read, as clients do).
  const port = Number(arg('port', '0'));
  const bytes = Number(arg('bytes', '1110'));
  const { connect } = await import('node:net');
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  const ack = Buffer.alloc(ACK_BYTES, 1);
  let pending = 0;
  s.on('data', (chunk: Buffer) => {
    pending += chunk.length;
    const k = Math.floor(pending / bytes);
    if (k === 0) return;
    pending -= k * bytes;
    const acks = Buffer.allocUnsafe(k * ACK_BYTES);
    for (let i = 0; i < k; i++) ack.copy(acks, i * ACK_BYTES);
    s.write(acks);
  });
  s.on('error', () => process.exit(0));
  s.on('close', () => process.exit(0));
} else {
  const n = Number(arg('n', '200000'));
  const per = Number(arg('per', '100'));
  const window = Number(arg('window', '100'));
  const bytes = Number(arg('bytes', '1110'));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const peerCpu = arg('peer-cpu', '1');
  const peer = spawn('taskset', ['-c', peerCpu, process.execPath, process.argv[1]!, '--role', 'peer', '--port', String(port), '--bytes', String(bytes)], {
    stdio: 'inherit',
  });
  const sock = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  sock.setNoDelay(true);
  // One delivery's bytes, repeated: what the frames hold does not matter to the kernel.
  const block = Buffer.alloc(per * bytes, 0x41);
  let sent = 0;
  let acked = 0;
  let ackBytes = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const fill = (): void => {
    // As a queue does when acks free credit: what is free goes out, at most --per a write.
    while (sent < n && sent - acked < window) {
      const k = Math.min(per, n - sent, window - (sent - acked));
      sock.write(k === per ? block : block.subarray(0, k * bytes));
      sent += k;
    }
  };
  await new Promise<void>((resolve) => {
    sock.on('data', (chunk: Buffer) => {
      ackBytes += chunk.length;
      acked = Math.floor(ackBytes / ACK_BYTES);
      if (acked >= n) resolve();
      else fill();
    });
    fill();
  });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  console.log(
    JSON.stringify({
      n,
      per,
      window,
      bytes,
      us_per_delivery: +((c.user + c.system) / n).toFixed(2),
      user_us: +(c.user / n).toFixed(2),
      system_us: +(c.system / n).toFixed(2),
      msgs_per_s: Math.round(n / seconds),
    }),
  );
  sock.destroy();
  server.close();
  peer.kill();
}
