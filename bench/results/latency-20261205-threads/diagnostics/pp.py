import socket, sys, time, os
mode = sys.argv[1]
if mode == 'srv':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 5791)); s.listen(1)
    c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(64)
        if not d: break
        c.sendall(d)
else:
    gap = float(sys.argv[2])
    c = socket.create_connection(('127.0.0.1', 5791)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    xs = []
    for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1000):
        t = time.perf_counter(); c.sendall(b'x' * 16); c.recv(64); xs.append((time.perf_counter() - t) * 1000)
        if gap: time.sleep(gap / 1000)
    xs.sort(); print('gap', gap, 'p50 %.3f p90 %.3f p99 %.3f max %.3f' % (xs[len(xs)//2], xs[len(xs)*9//10], xs[len(xs)*99//100], xs[-1]))
