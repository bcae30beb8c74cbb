// An LD_PRELOAD shim for an experiment (README, Large messages, 2026-12-05 21:13-22:03 UTC): with
// RCVBUF_SHIM=N in the environment, every TCP socket a process listen()s on gets SO_RCVBUFFORCE N
// first (root or CAP_NET_ADMIN; the kernel keeps 2N), which the sockets it accepts inherit.
// Node cannot set SO_RCVBUF on TCP sockets; this lets an unchanged warren build run with a large
// fixed receive buffer. Built by bench/large-rcvbuf.py (cc -shared -fPIC).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
int listen(int fd, int backlog) {
  static int (*real)(int, int);
  if (!real) real = dlsym(RTLD_NEXT, "listen");
  const char *v = getenv("RCVBUF_SHIM");
  int type = 0; socklen_t l = sizeof type;
  if (v && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_STREAM) {
    int n = atoi(v);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof n) != 0) perror("rcvbuf-shim");
    int got = 0; l = sizeof got; getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &l);
    fprintf(stderr, "rcvbuf-shim: fd %d SO_RCVBUF %d\n", fd, got);
  }
  return real(fd, backlog);
}
