#!/usr/bin/python3
# Loopback ping-pong floor: server (argv[1]=server) echoes; client sends 16 B (or argv[3] bytes) every 1 ms (or argv[4] ms) for N s, prints RTT stats and clusters >1 ms.
import socket, sys, time, select
if sys.argv[1] == 'server':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 5689)); s.listen(1)
    c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    sys.exit(0)
secs = float(sys.argv[2]); SIZE = int(sys.argv[3]) if len(sys.argv) > 3 else 16; PERIOD = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.001
c = socket.create_connection(('127.0.0.1', 5689)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rtt = []
end = time.monotonic() + secs; nxt = time.monotonic()
while time.monotonic() < end:
    now = time.monotonic()
    if now < nxt: time.sleep(nxt - now)
    nxt += PERIOD
    t = time.perf_counter(); c.sendall(b'x' * SIZE); got = 0
    while got < SIZE: got += len(c.recv(65536))
    rtt.append((time.perf_counter() - t) * 1000)
s = sorted(rtt); big = [i for i, x in enumerate(rtt) if x > 1.0]
print('n %d p50 %.3f p99 %.3f max %.2f n>1ms %d clusters %d' % (len(s), s[len(s)//2], s[int(.99*len(s))], s[-1], len(big), sum(1 for a, b in zip([-9]+big, big) if b - a > 1)))
