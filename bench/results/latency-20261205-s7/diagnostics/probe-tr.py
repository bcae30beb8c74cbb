#!/usr/bin/python3
# The responsiveness probe (bench/lib/probe.ts) without a client library: raw AMQP 0-9-1 frames
# over a socket, standard library only. Measured on this VM (2026-12-05, README "Latency under
# load"): amqplib's own round trips on Node had an RPC p99 of 3.4-4 ms against an idle broker,
# warren and RabbitMQ alike, and a bare Node socket ping-pong 1.8 ms, against 0.37 ms for this
# language's socket ping-pong. So this probe shows more of the broker's tail and less of its own.
#
# usage: probe-raw.py URL QUEUE MS EVERY_MS
# Every EVERY_MS for MS milliseconds (after a 300 ms warm-up whose samples are dropped): publish
# a 16-byte transient message to QUEUE (declared auto-delete, consumed with no-ack on channel 1)
# and time it until it is delivered back; and, when none is outstanding, a passive
# queue.declare of QUEUE on channel 2, timed until declare-ok. Prints one JSON line in the shape
# of probe.ts's ProbeSamples: {"deliver": [ms...], "rpc": [ms...], "late": [ms...], "lost": n}.

import json
import select
import socket
import struct
import sys
import time
from urllib.parse import unquote, urlparse

FRAME_END = b'\xce'
MAX_FRAME = 131072


def shortstr(s):
    b = s.encode()
    if len(b) > 255:
        raise ValueError('shortstr over 255 bytes')
    return bytes([len(b)]) + b


def method(channel, cls, mth, args=b''):
    payload = struct.pack('>HH', cls, mth) + args
    return struct.pack('>BHI', 1, channel, len(payload)) + payload + FRAME_END


class Conn:
    def __init__(self, url):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname or '127.0.0.1', u.port or 5672), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        user, password = unquote(u.username or 'guest'), unquote(u.password or 'guest')
        vhost = unquote(u.path[1:]) if u.path and u.path != '/' else '/'
        self.sock.sendall(b'AMQP\x00\x00\x09\x01')
        self.expect(0, 10, 10)  # start
        response = b'\x00' + user.encode() + b'\x00' + password.encode()
        self.sock.sendall(method(0, 10, 11, struct.pack('>I', 0) + shortstr('PLAIN') + struct.pack('>I', len(response)) + response + shortstr('en_US')))
        _, args = self.expect(0, 10, 30)  # tune
        channel_max, frame_max, _hb = struct.unpack('>HIH', args[:8])
        frame_max = min(frame_max or MAX_FRAME, MAX_FRAME)
        self.sock.sendall(method(0, 10, 31, struct.pack('>HIH', channel_max, frame_max, 0)))
        self.sock.sendall(method(0, 10, 40, shortstr(vhost) + shortstr('') + b'\x00'))
        self.expect(0, 10, 41)
        self.sock.settimeout(None)

    def frames(self):
        """Yields every complete frame buffered so far as (type, channel, payload)."""
        while len(self.buf) >= 7:
            ftype, channel, size = struct.unpack_from('>BHI', self.buf)
            if size > MAX_FRAME:
                raise RuntimeError(f'frame of {size} bytes')
            if len(self.buf) < 8 + size:
                return
            payload = bytes(self.buf[7:7 + size])
            if self.buf[7 + size] != 0xCE:
                raise RuntimeError('bad frame end')
            del self.buf[:8 + size]
            if ftype == 1:
                cls, mth = struct.unpack_from('>HH', payload)
                if (cls, mth) in ((10, 50), (20, 40)):
                    code = struct.unpack_from('>H', payload, 4)[0]
                    text = payload[7:7 + payload[6]].decode(errors='replace')
                    raise RuntimeError(f'closed by the broker: {code} {text}')
            yield ftype, channel, payload

    def fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise RuntimeError('connection closed by the broker')
        self.buf += chunk

    def expect(self, channel, cls, mth):
        while True:
            for ftype, ch, payload in self.frames():
                if ftype == 1 and ch == channel and struct.unpack_from('>HH', payload) == (cls, mth):
                    return ch, payload[4:]
            self.fill()


def main():
    if len(sys.argv) != 5:
        sys.stderr.write('usage: probe-raw.py URL QUEUE MS EVERY_MS\n')
        sys.exit(2)
    url, queue, ms, every = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    c = Conn(url)
    for ch in (1, 2):
        c.sock.sendall(method(ch, 20, 10, shortstr('')))
        c.expect(ch, 20, 11)
    c.sock.sendall(method(1, 50, 10, struct.pack('>H', 0) + shortstr(queue) + bytes([8]) + struct.pack('>I', 0)))
    c.expect(1, 50, 11)
    c.sock.sendall(method(1, 60, 20, struct.pack('>H', 0) + shortstr(queue) + shortstr('probe') + bytes([2]) + struct.pack('>I', 0)))
    c.expect(1, 60, 21)
    publish = method(1, 60, 40, struct.pack('>H', 0) + shortstr('') + shortstr(queue) + b'\x00')
    header = struct.pack('>BHI', 2, 1, 14) + struct.pack('>HHQH', 60, 0, 16, 0) + FRAME_END
    declare = method(2, 50, 10, struct.pack('>H', 0) + shortstr(queue) + bytes([1]) + struct.pack('>I', 0))
    run(c, publish, header, declare, 300.0, every)  # warm-up, dropped
    out = run(c, publish, header, declare, ms, every)
    c.sock.sendall(method(0, 10, 50, struct.pack('>H', 200) + shortstr('probe done') + struct.pack('>HH', 0, 0)))
    sys.stdout.write(json.dumps(out) + '\n')


def run(c, publish, header, declare, ms, every):
    now = lambda: time.perf_counter() * 1000.0  # noqa: E731
    out = {'deliver': [], 'rpc': [], 'late': [], 'lost': 0}
    pending = {}
    rpc_at = None
    seq = 0
    start = now()
    k = 0
    in_body = False  # the next body frame on channel 1 is a delivery's
    ticking = True
    deadline = None
    while True:
        t = now()
        if ticking and t >= start + k * every:
            out['late'].append(max(0.0, t - (start + k * every)))
            seq += 1
            body = struct.pack('<I', seq) + bytes(12)
            pending[seq] = t
            msg = publish + header + struct.pack('>BHI', 3, 1, 16) + body + FRAME_END
            if rpc_at is None:
                rpc_at = now()
                rpc_epoch = time.time() * 1000.0
                msg += declare
            c.sock.sendall(msg)
            k += 1
            if k * every >= ms:
                ticking = False
                deadline = now() + 5000.0
        if not ticking and ((not pending and rpc_at is None) or now() >= deadline):
            break
        wait = (start + k * every - now()) if ticking else (deadline - now())
        r, _, _ = select.select([c.sock], [], [], max(0.0, wait) / 1000.0)
        if not r:
            continue
        c.fill()
        for ftype, ch, payload in c.frames():
            if ftype == 1 and ch == 1 and payload[:4] == b'\x00\x3c\x00\x3c':
                in_body = True
            elif ftype == 3 and ch == 1 and in_body:
                in_body = False
                t0 = pending.pop(struct.unpack_from('<I', payload)[0], None)
                if t0 is not None:
                    out['deliver'].append(now() - t0)
            elif ftype == 1 and ch == 2 and payload[:4] == b'\x00\x32\x00\x0b' and rpc_at is not None:
                out['rpc'].append(now() - rpc_at)
                out.setdefault('rpc_epoch', []).append(rpc_epoch)
                rpc_at = None
    out['lost'] = len(pending)
    return out


if __name__ == '__main__':
    try:
        main()
    except (OSError, RuntimeError, ValueError) as e:
        sys.stderr.write(f'probe-raw: {e}\n')
        sys.exit(1)
