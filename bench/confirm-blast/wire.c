/* confirm-blast's AMQP 0-9-1 wire layer: encoding, bounded frame reading, login and RPCs. */
#include "blast.h"

char first_err[512];
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}
double now_s(void) { return (double)now_ns() / 1e9; }

/* Records the first failure (later ones are consequences) and tells every thread to stop. */
void fail(const char *fmt, ...) {
  pthread_mutex_lock(&err_lock);
  if (!first_err[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_err, sizeof first_err, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&err_lock);
  atomic_store(&failed, 1);
  atomic_store(&stop_publishing, 1);
}

/* ---------------------------------------------------------------- encoding */

void put(buf_t *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) { fprintf(stderr, "confirm-blast: out of memory\n"); exit(1); }
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}
void put8(buf_t *b, uint8_t v) { put(b, &v, 1); }
void put16(buf_t *b, uint16_t v) { v = htons(v); put(b, &v, 2); }
void put32(buf_t *b, uint32_t v) { v = htonl(v); put(b, &v, 4); }
void put64(buf_t *b, uint64_t v) { put32(b, (uint32_t)(v >> 32)); put32(b, (uint32_t)v); }
void putshort(buf_t *b, const char *s) { size_t n = strlen(s); put8(b, (uint8_t)n); put(b, s, n); }
void putmethod(buf_t *b, uint32_t id) { put16(b, (uint16_t)(id >> 16)); put16(b, (uint16_t)id); }

/* Appends `payload` to `out` as one frame and empties `payload`. */
void frame(buf_t *out, uint8_t type, uint16_t ch, buf_t *payload) {
  put8(out, type);
  put16(out, ch);
  put32(out, (uint32_t)payload->n);
  put(out, payload->p, payload->n);
  put8(out, 0xCE);
  payload->n = 0;
}

/* ---------------------------------------------------------------- connection */

/* Writes all of it; false (with the reason recorded) if the socket fails or stays full. */
int send_all(conn_t *c, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        fail("%s: write blocked for %d s (the broker stopped reading)", c->name, WRITE_TIMEOUT_S);
      else
        fail("%s: write: %s", c->name, w < 0 ? strerror(errno) : "nothing written");
      return 0;
    }
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

/* Reads once into the buffer. 1: got bytes; 0: the read timed out; -1: closed or failed (recorded,
 * unless `quiet`: then errno is 0 for a close). */
static int fill_quiet(conn_t *c, int quiet) {
  if (c->off > 0) { /* keep only the partial frame, at the front */
    memmove(c->buf, c->buf + c->off, c->have - c->off);
    c->have -= c->off;
    c->off = 0;
  }
  ssize_t r = recv(c->fd, c->buf + c->have, c->cap - c->have, 0);
  if (r > 0) { c->have += (size_t)r; return 1; }
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  if (r == 0) errno = 0;
  if (quiet) return -1;
  if (r == 0) fail("%s: the broker closed the connection", c->name);
  else fail("%s: read: %s", c->name, strerror(errno));
  return -1;
}
int fill(conn_t *c) { return fill_quiet(c, 0); }

/* The next whole frame already in the buffer: 1 if there is one, 0 if more bytes are needed,
 * -1 on a malformed or oversized frame. */
int next_frame(conn_t *c, frame_t *f) {
  size_t avail = c->have - c->off;
  const uint8_t *h = c->buf + c->off;
  if (avail >= 8 && memcmp(h, "AMQP", 4) == 0) {
    fail("%s: the broker answered with protocol header %d-%d-%d (it does not speak 0-9-1)", c->name, h[5], h[6], h[7]);
    return -1;
  }
  if (avail < 7) return 0;
  uint32_t size = rd32(h + 3);
  if ((uint64_t)size + 8 > c->frame_max) {
    fail("%s: a frame of %u bytes, more than frame_max %u", c->name, size + 8, c->frame_max);
    return -1;
  }
  if (avail < (size_t)size + 8) return 0;
  if (h[7 + size] != 0xCE) {
    fail("%s: a frame (type %u, %u bytes) without its end octet", c->name, h[0], size);
    return -1;
  }
  f->type = h[0];
  f->channel = rd16(h + 1);
  f->size = size;
  f->p = h + 7;
  f->method = (f->type == F_METHOD && size >= 4) ? (uint32_t)rd16(f->p) << 16 | rd16(f->p + 2) : 0;
  if (f->type == F_METHOD && size < 4) {
    fail("%s: a method frame of %u bytes", c->name, size);
    return -1;
  }
  c->off += (size_t)size + 8;
  return 1;
}

/* channel.close / connection.close from the broker: answer it, and record its code and text. */
void closed_by_broker(conn_t *c, const frame_t *f) {
  int is_conn = f->method == CONN_CLOSE;
  unsigned code = f->size >= 6 ? rd16(f->p + 4) : 0;
  unsigned tlen = f->size >= 7 ? f->p[6] : 0;
  if (7 + tlen > f->size) tlen = f->size > 7 ? f->size - 7 : 0;
  unsigned cls = 0, mth = 0;
  if (7 + tlen + 4 <= f->size) { cls = rd16(f->p + 7 + tlen); mth = rd16(f->p + 9 + tlen); }
  char after[48] = "";
  if (cls) snprintf(after, sizeof after, " (after class %u method %u)", cls, mth);
  fail("%s: %s closed by the broker: %u %.*s%s", c->name, is_conn ? "connection" : "channel",
       code, (int)tlen, (const char *)f->p + 7, after);
  buf_t p = {0}, o = {0};
  putmethod(&p, is_conn ? CONN_CLOSE_OK : CH_CLOSE_OK);
  frame(&o, F_METHOD, f->channel, &p);
  if (send(c->fd, o.p, o.n, MSG_NOSIGNAL) < 0) { /* a courtesy: the run has failed either way */ }
  free(p.p);
  free(o.p);
}

/* Waits for method `want` (skipping heartbeats and anything else), up to RPC_TIMEOUT_S.
 * On success *f holds it (valid until the next read); false on a close, error or timeout. */
int expect(conn_t *c, uint32_t want, frame_t *f, const char *what) {
  double deadline = now_s() + RPC_TIMEOUT_S;
  for (;;) {
    int r;
    while ((r = next_frame(c, f)) == 1) {
      if (f->method == want) return 1;
      if (f->method == CONN_CLOSE || f->method == CH_CLOSE) {
        closed_by_broker(c, f);
        return 0;
      }
    }
    if (r < 0) return 0;
    if (c->have == c->cap) { fail("%s: read buffer full waiting for %s", c->name, what); return 0; }
    if (now_s() > deadline) { fail("%s: no answer to %s in %d s", c->name, what, RPC_TIMEOUT_S); return 0; }
    if (fill_quiet(c, 1) < 0) {
      /* a refused login: a broker may drop the socket right after connection.start-ok */
      if (want == CONN_TUNE && (errno == 0 || errno == ECONNRESET))
        fail("%s: the broker closed the connection during login (wrong user or password?)", c->name);
      else if (errno) fail("%s: read: %s", c->name, strerror(errno));
      else fail("%s: the broker closed the connection waiting for %s", c->name, what);
      return 0;
    }
  }
}

int rpc(conn_t *c, buf_t *payload, uint16_t ch, uint32_t reply, frame_t *f, const char *what) {
  buf_t o = {0};
  frame(&o, F_METHOD, ch, payload);
  int ok = send_all(c, o.p, o.n) && expect(c, reply, f, what);
  free(o.p);
  return ok;
}

/* basic.qos on channel 1: at most `count` unacked deliveries. `p` is scratch, left empty. */
int set_prefetch(conn_t *c, buf_t *p, int count, frame_t *f) {
  putmethod(p, M(60, 10));
  put32(p, 0);
  put16(p, (uint16_t)count);
  put8(p, 0);
  return rpc(c, p, 1, QOS_OK, f, "basic.qos");
}

/* basic.consume of `q` on channel 1 with manual acks. */
int consume(conn_t *c, buf_t *p, const char *q, frame_t *f) {
  putmethod(p, M(60, 20));
  put16(p, 0);
  putshort(p, q);
  putshort(p, "confirm-blast");
  put8(p, 0); /* manual ack */
  put32(p, 0);
  return rpc(c, p, 1, CONSUME_OK, f, "basic.consume");
}

/* confirm.select on channel 1. */
int select_confirms(conn_t *c, buf_t *p, frame_t *f) {
  putmethod(p, M(85, 10));
  put8(p, 0);
  return rpc(c, p, 1, CONFIRM_OK, f, "confirm.select");
}

/* Connects, logs in with PLAIN, negotiates frame_max (heartbeat off) and opens channel 1. */
int open_conn(conn_t *c, const char *name) {
  memset(c, 0, sizeof *c);
  c->name = name;
  c->fd = -1;
  c->frame_max = FRAME_MIN;
  c->cap = 2 * FRAME_WANT + 65536; /* two largest frames and then some: reads never need more */
  c->buf = malloc(c->cap);
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  int gai = getaddrinfo(host, portstr, &hints, &ai);
  if (gai) { fail("%s: %s: %s", name, host, gai_strerror(gai)); return 0; }
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    fail("%s: connect %s:%d: %s", name, host, port, strerror(errno));
    freeaddrinfo(ai);
    if (fd >= 0) close(fd);
    return 0;
  }
  freeaddrinfo(ai);
  c->fd = fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval rt = {0, READ_TIMEOUT_MS * 1000}, wt = {WRITE_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof wt);
  if (!send_all(c, (const uint8_t *)"AMQP\0\0\x09\x01", 8)) return 0;

  frame_t f;
  if (!expect(c, CONN_START, &f, "the protocol header")) return 0;
  /* version-major, version-minor, server-properties (table), mechanisms (longstr), locales */
  if (f.size < 10) { fail("%s: connection.start too short", name); return 0; }
  uint32_t off = 6, tlen = rd32(f.p + off);
  if (tlen > f.size - off - 4) { fail("%s: connection.start: server-properties run past the frame", name); return 0; }
  off += 4 + tlen;
  if (off + 4 > f.size) { fail("%s: connection.start: no mechanisms", name); return 0; }
  uint32_t mlen = rd32(f.p + off);
  if (mlen > f.size - off - 4) { fail("%s: connection.start: mechanisms run past the frame", name); return 0; }
  if (!memmem(f.p + off + 4, mlen, "PLAIN", 5)) { fail("%s: the broker does not offer PLAIN (%.*s)", name, (int)mlen, (const char *)f.p + off + 4); return 0; }

  buf_t p = {0}, o = {0};
  size_t ul = strlen(user), pl = strlen(pass);
  putmethod(&p, M(10, 11));
  /* client-properties: product, for the broker's connection list; a refused login answered with
   * connection.close (RabbitMQ otherwise just drops the socket) */
  buf_t props = {0}, caps = {0};
  putshort(&props, "product");
  put8(&props, 'S');
  put32(&props, 13);
  put(&props, "confirm-blast", 13);
  putshort(&caps, "authentication_failure_close");
  put8(&caps, 't');
  put8(&caps, 1);
  putshort(&props, "capabilities");
  put8(&props, 'F');
  put32(&props, (uint32_t)caps.n);
  put(&props, caps.p, caps.n);
  free(caps.p);
  put32(&p, (uint32_t)props.n);
  put(&p, props.p, props.n);
  free(props.p);
  putshort(&p, "PLAIN");
  put32(&p, (uint32_t)(ul + pl + 2));
  put8(&p, 0); put(&p, user, ul); put8(&p, 0); put(&p, pass, pl);
  putshort(&p, "en_US");
  frame(&o, F_METHOD, 0, &p);
  int ok = send_all(c, o.p, o.n);
  o.n = 0;
  if (ok) ok = expect(c, CONN_TUNE, &f, "connection.start-ok");
  if (ok && f.size < 12) { fail("%s: connection.tune too short", name); ok = 0; }
  if (ok) {
    uint16_t ch_max = rd16(f.p + 4);
    uint32_t fmax = rd32(f.p + 6);
    uint32_t use = fmax == 0 || fmax > FRAME_WANT ? FRAME_WANT : fmax;
    if (use < FRAME_MIN) { fail("%s: the broker's frame_max %u is below 4096", name, fmax); ok = 0; }
    if (ok) {
      putmethod(&p, M(10, 31));
      put16(&p, ch_max == 0 || ch_max > 16 ? 16 : ch_max);
      put32(&p, use);
      put16(&p, 0); /* no heartbeats: the run is short and both sides stay busy */
      frame(&o, F_METHOD, 0, &p);
      putmethod(&p, M(10, 40));
      putshort(&p, vhost);
      putshort(&p, "");
      put8(&p, 0);
      frame(&o, F_METHOD, 0, &p);
      c->frame_max = use;
      ok = send_all(c, o.p, o.n) && expect(c, CONN_OPEN_OK, &f, "connection.open");
    }
  }
  if (ok) {
    putmethod(&p, M(20, 10));
    putshort(&p, "");
    ok = rpc(c, &p, 1, CH_OPEN_OK, &f, "channel.open");
  }
  free(p.p);
  free(o.p);
  return ok;
}

/* connection.close and its close-ok (bounded by RPC_TIMEOUT_S), then the socket. */
void close_conn(conn_t *c) {
  if (c->fd < 0) return;
  if (!atomic_load(&failed)) {
    buf_t p = {0};
    frame_t f;
    putmethod(&p, CONN_CLOSE);
    put16(&p, 200);
    putshort(&p, "done");
    put16(&p, 0);
    put16(&p, 0);
    rpc(c, &p, 0, CONN_CLOSE_OK, &f, "connection.close");
    free(p.p);
  }
  close(c->fd);
  c->fd = -1;
}
