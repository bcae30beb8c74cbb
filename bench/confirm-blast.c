/* confirm-blast: scenario (c) of issue 14 on raw sockets, so that the client's own CPU a message
 * stays far below the broker's. amqp-perf (rabbitmq-c) spends 12-16 us a message here, four
 * sendto calls, and tops out near 73k msg/s on its core; this generator writes pre-encoded
 * frames in batches and reads by walking frame headers.
 *
 *   publisher connection: durable queue, confirm.select, 1 KiB persistent (delivery-mode 2)
 *     messages with at most -c (100) unconfirmed; basic.ack and basic.nack, single or multiple,
 *     free the window. The messages that fit in the window go out in one write (at most -B a
 *     write: -B 1 is a client that writes each message as it is published), each stamped with
 *     the time of its write and its sequence number.
 *   consumer connection: basic.qos prefetch -q (100), basic.consume with manual ack, one
 *     basic.ack frame (not multiple) per delivery; the acks of one read go out in one write.
 *     Publish-to-delivery latency from the stamp in the body.
 *
 * After -w seconds of warm-up it measures -t seconds, then stops publishing, waits for every
 * outstanding confirm and for the consumer to receive everything published (bounded by -d
 * seconds), deletes the queue and closes both connections. One JSON line on stdout, with the
 * field names of amqp-perf's throughput mode where they mean the same; "ok":false and "error"
 * (and exit status 1) when anything failed, also said on stderr.
 *
 *   confirm-blast [-h host] [-P port] [-u user] [-p password] [-V vhost] [-s body_bytes]
 *                 [-c confirm_window] [-B per_write] [-q prefetch] [-t seconds] [-w warmup_s] [-d drain_s]
 *                 [-Q queue] [-b broker_pid[,pid...]] [-l label]
 *
 * Everything read from the socket is bounded: a frame longer than the negotiated frame_max (4096
 * before connection.tune) or without its end octet ends the run with an error, as does a string
 * or field running past its frame, a body frame past its header's size, a confirm for a tag never
 * published, or a socket that stays silent or unwritable past its timeout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define VERSION "1"
#define FRAME_MIN 4096u          /* frames before connection.tune (AMQP 0-9-1 frame-min-size) */
#define FRAME_WANT 131072u       /* what we offer in tune-ok; the server's smaller value wins */
#define READ_TIMEOUT_MS 100      /* each blocking read wakes this often to check for a stop */
#define WRITE_TIMEOUT_S 10       /* a write that cannot proceed for this long is an error */
#define RPC_TIMEOUT_S 30         /* a setup/teardown reply, or a confirm while publishing */
#define HIST_US 1000000          /* latency histogram: 1 us buckets up to 1 s, the rest in the last */
#define MAX_PIDS 8

enum { F_METHOD = 1, F_HEADER = 2, F_BODY = 3, F_HEARTBEAT = 8 };
#define M(c, m) (((uint32_t)(c) << 16) | (m))
enum {
  CONN_START = M(10, 10), CONN_TUNE = M(10, 30), CONN_OPEN_OK = M(10, 41), CONN_CLOSE = M(10, 50),
  CONN_CLOSE_OK = M(10, 51), CH_OPEN_OK = M(20, 11), CH_CLOSE = M(20, 40), CH_CLOSE_OK = M(20, 41),
  Q_DECLARE_OK = M(50, 11), Q_DELETE_OK = M(50, 41), QOS_OK = M(60, 11), CONSUME_OK = M(60, 21),
  B_CANCEL = M(60, 30), B_DELIVER = M(60, 60), B_ACK = M(60, 80), B_NACK = M(60, 120),
  CONFIRM_OK = M(85, 11),
};

/* ---------------------------------------------------------------- settings */

static const char *host = "127.0.0.1", *user = "guest", *pass = "guest", *vhost = "/", *label = "";
static int port = 5672, body_size = 1024, window = 100, prefetch = 100, per_write = 0;
static double seconds = 10, warmup = 3, drain_s = 30;
static char queue[128];
static int pids[MAX_PIDS], npids;

/* ---------------------------------------------------------------- shared state */

static atomic_long n_sent, n_confirmed, n_nacked, n_consumed, n_order_gaps, n_redelivered;
static atomic_int stop_publishing, publisher_done, failed, measuring;
static atomic_long published_final = -1;
static char first_err[512];
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *hist;          /* consumer thread only while running */
static uint64_t lat_n, lat_min = UINT64_MAX, lat_max;
static double lat_sum;
static atomic_int pub_tid, cons_tid;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}
static double now_s(void) { return (double)now_ns() / 1e9; }

/* Records the first failure (later ones are consequences) and tells every thread to stop. */
static void fail(const char *fmt, ...) {
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

typedef struct { uint8_t *p; size_t n, cap; } buf_t;

static void put(buf_t *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) { fprintf(stderr, "confirm-blast: out of memory\n"); exit(1); }
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void put8(buf_t *b, uint8_t v) { put(b, &v, 1); }
static void put16(buf_t *b, uint16_t v) { v = htons(v); put(b, &v, 2); }
static void put32(buf_t *b, uint32_t v) { v = htonl(v); put(b, &v, 4); }
static void put64(buf_t *b, uint64_t v) { put32(b, (uint32_t)(v >> 32)); put32(b, (uint32_t)v); }
static void putshort(buf_t *b, const char *s) { size_t n = strlen(s); put8(b, (uint8_t)n); put(b, s, n); }
static void putmethod(buf_t *b, uint32_t id) { put16(b, (uint16_t)(id >> 16)); put16(b, (uint16_t)id); }

/* Appends `payload` to `out` as one frame and empties `payload`. */
static void frame(buf_t *out, uint8_t type, uint16_t ch, buf_t *payload) {
  put8(out, type);
  put16(out, ch);
  put32(out, (uint32_t)payload->n);
  put(out, payload->p, payload->n);
  put8(out, 0xCE);
  payload->n = 0;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }

/* ---------------------------------------------------------------- connection */

typedef struct {
  const char *name;              /* "publisher" / "consumer", for messages */
  int fd;
  uint32_t frame_max;            /* the bound on incoming frames, header and end octet included */
  uint8_t *buf;                  /* read buffer: unconsumed bytes are buf[off, have) */
  size_t cap, off, have;
} conn_t;

typedef struct {
  uint8_t type;
  uint16_t channel;
  uint32_t size;
  const uint8_t *p;              /* payload, valid until the next read */
  uint32_t method;               /* class << 16 | method, for method frames of 4+ bytes */
} frame_t;

/* Writes all of it; false (with the reason recorded) if the socket fails or stays full. */
static int send_all(conn_t *c, const uint8_t *p, size_t n) {
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
static int fill(conn_t *c) { return fill_quiet(c, 0); }

/* The next whole frame already in the buffer: 1 if there is one, 0 if more bytes are needed,
 * -1 on a malformed or oversized frame. */
static int next_frame(conn_t *c, frame_t *f) {
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
static void closed_by_broker(conn_t *c, const frame_t *f) {
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
static int expect(conn_t *c, uint32_t want, frame_t *f, const char *what) {
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

static int rpc(conn_t *c, buf_t *payload, uint16_t ch, uint32_t reply, frame_t *f, const char *what) {
  buf_t o = {0};
  frame(&o, F_METHOD, ch, payload);
  int ok = send_all(c, o.p, o.n) && expect(c, reply, f, what);
  free(o.p);
  return ok;
}

/* Connects, logs in with PLAIN, negotiates frame_max (heartbeat off) and opens channel 1. */
static int open_conn(conn_t *c, const char *name) {
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
static void close_conn(conn_t *c) {
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

/* ---------------------------------------------------------------- publisher */

static conn_t pubc, consc;

static long gettid_long(void) { return (long)syscall(SYS_gettid); }

/* One message's three frames, pre-encoded; `window` copies of it back to back in `batch`. The
 * stamp (send time, sequence number) goes at the start of each copy's body. */
static void *publisher(void *arg) {
  (void)arg;
  conn_t *c = &pubc;
  atomic_store(&pub_tid, (int)gettid_long());
  buf_t one = {0}, p = {0};
  putmethod(&p, M(60, 40));
  put16(&p, 0);
  putshort(&p, "");
  putshort(&p, queue);
  put8(&p, 0);
  frame(&one, F_METHOD, 1, &p);
  putmethod(&p, M(60, 0)); /* content header: class, weight */
  put64(&p, (uint64_t)body_size);
  put16(&p, 0x1000); /* property flags: delivery-mode only */
  put8(&p, 2);       /* persistent */
  frame(&one, F_HEADER, 1, &p);
  size_t body_at = one.n + 7;
  uint8_t *body = calloc(1, (size_t)body_size + 1);
  for (int i = 0; i < body_size; i++) body[i] = (uint8_t)('a' + i % 26);
  for (int off = 0; off < body_size;) { /* split at frame_max, though 1 KiB is one frame */
    int n = body_size - off;
    if ((uint32_t)n > c->frame_max - 8) n = (int)(c->frame_max - 8);
    put(&p, body + off, (size_t)n);
    frame(&one, F_BODY, 1, &p);
    off += n;
  }
  free(body);
  buf_t batch = {0};
  for (int i = 0; i < window; i++) put(&batch, one.p, one.n);
  const size_t per = one.n;

  /* confirm tracking: done[tag % cap] for tags in [lowest, next) */
  uint64_t next = 1, lowest = 1; /* delivery tags start at 1 */
  size_t cap = (size_t)window + 1;
  uint8_t *done = calloc(cap, 1);
  double last_progress = now_s();
  long confirmed = 0, nacked = 0;

  for (;;) {
    int stopping = atomic_load_explicit(&stop_publishing, memory_order_relaxed);
    if (atomic_load_explicit(&failed, memory_order_relaxed)) break;
    if (stopping && lowest == next) break; /* everything sent has been confirmed */
    uint64_t room = stopping ? 0 : (uint64_t)window - (next - lowest);
    int sent_ok = 1;
    while (room > 0) { /* the window's free room, at most per_write messages a write */
      uint64_t n = room < (uint64_t)per_write ? room : (uint64_t)per_write, t = now_ns();
      for (uint64_t i = 0; i < n; i++) {
        uint8_t *b = batch.p + i * per + body_at;
        uint64_t seq = next + i;
        memcpy(b, &t, 8);
        memcpy(b + 8, &seq, 8);
      }
      if (!(sent_ok = send_all(c, batch.p, n * per))) break;
      next += n;
      room -= n;
      atomic_store_explicit(&n_sent, (long)(next - 1), memory_order_relaxed);
    }
    if (!sent_ok) break;
    int r = fill(c);
    if (r < 0) break;
    if (r == 0) {
      if (now_s() - last_progress > RPC_TIMEOUT_S) {
        fail("publisher: no confirm for %d s with %llu outstanding", RPC_TIMEOUT_S, (unsigned long long)(next - lowest));
        break;
      }
      continue;
    }
    frame_t f;
    int k;
    while ((k = next_frame(c, &f)) == 1) {
      if (f.method == B_ACK || f.method == B_NACK) {
        if (f.size < 13) { fail("publisher: basic.%s of %u bytes", f.method == B_ACK ? "ack" : "nack", f.size); k = -1; break; }
        uint64_t tag = rd64(f.p + 4);
        int multiple = f.p[12] & 1;
        if (tag == 0 && multiple) tag = next - 1; /* tag 0 with multiple: everything so far */
        if (tag >= next || tag == 0) { fail("publisher: a confirm for tag %llu, never published (next %llu)", (unsigned long long)tag, (unsigned long long)next); k = -1; break; }
        long n = 0;
        if (multiple) {
          for (uint64_t t = lowest; t <= tag; t++)
            if (!done[t % cap]) { done[t % cap] = 1; n++; }
        } else if (tag >= lowest && !done[tag % cap]) {
          done[tag % cap] = 1;
          n = 1;
        }
        while (lowest < next && done[lowest % cap]) done[lowest++ % cap] = 0;
        if (f.method == B_ACK) confirmed += n; else nacked += n;
        last_progress = now_s();
      } else if (f.method == CONN_CLOSE || f.method == CH_CLOSE) {
        closed_by_broker(c, &f);
        k = -1;
        break;
      }
      /* anything else (heartbeat, basic.return, connection.blocked): nothing to do */
    }
    atomic_store_explicit(&n_confirmed, confirmed, memory_order_relaxed);
    atomic_store_explicit(&n_nacked, nacked, memory_order_relaxed);
    if (k < 0) break;
  }
  atomic_store(&published_final, (long)(next - 1));
  atomic_store(&publisher_done, 1);
  free(done);
  free(batch.p);
  free(one.p);
  free(p.p);
  return NULL;
}

/* ---------------------------------------------------------------- consumer */

static void *consumer(void *arg) {
  (void)arg;
  conn_t *c = &consc;
  atomic_store(&cons_tid, (int)gettid_long());
  /* one basic.ack frame per delivery, tag patched in; flushed once per read */
  uint8_t ack[21] = {F_METHOD, 0, 1, 0, 0, 0, 13, 0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xCE};
  size_t acks_cap = 4096;
  uint8_t *acks = malloc(acks_cap * sizeof ack);
  size_t nacks = 0;
  long consumed = 0, gaps = 0, redelivered = 0;
  uint64_t last_seq = 0, tag = 0;
  uint64_t body_left = 0; /* of the delivery being received */
  int in_delivery = 0, want_header = 0, stamped = 0;
  uint64_t stamp = 0;
  double drain_deadline = 0;

  for (;;) {
    if (atomic_load_explicit(&failed, memory_order_relaxed)) break;
    if (atomic_load_explicit(&publisher_done, memory_order_relaxed)) {
      long target = atomic_load(&published_final);
      if (consumed >= target && !in_delivery) break;
      if (drain_deadline == 0) drain_deadline = now_s() + drain_s;
      else if (now_s() > drain_deadline) {
        fail("consumer: %ld of %ld published messages received after %.0f s of draining", consumed, target, drain_s);
        break;
      }
    }
    int r = fill(c);
    if (r < 0) break;
    if (r == 0) continue;
    uint64_t t_read = now_ns();
    int measure = atomic_load_explicit(&measuring, memory_order_relaxed);
    frame_t f;
    int k;
    while ((k = next_frame(c, &f)) == 1) {
      if (f.type == F_METHOD) {
        if (in_delivery) { fail("consumer: a method frame inside a delivery's content"); k = -1; break; }
        if (f.method == B_DELIVER) {
          /* consumer-tag (shortstr), delivery-tag (u64), redelivered (bit), exchange, routing-key */
          uint32_t o = 4;
          if (o + 1 > f.size || o + 1 + f.p[o] + 9 > f.size) { fail("consumer: basic.deliver runs past its frame"); k = -1; break; }
          o += 1 + f.p[o];
          tag = rd64(f.p + o);
          if (f.p[o + 8] & 1) redelivered++;
          in_delivery = 1;
          want_header = 1;
        } else if (f.method == CONN_CLOSE || f.method == CH_CLOSE) {
          closed_by_broker(c, &f);
          k = -1;
          break;
        } else if (f.method == B_CANCEL) {
          fail("consumer: the broker cancelled the consumer (queue deleted?)");
          k = -1;
          break;
        }
      } else if (f.type == F_HEADER) {
        if (!want_header || f.size < 14) { fail("consumer: an unexpected content header"); k = -1; break; }
        body_left = rd64(f.p + 4);
        want_header = 0;
        stamped = 0;
      } else if (f.type == F_BODY) {
        if (!in_delivery || want_header || f.size > body_left) { fail("consumer: a body frame past its content header's size"); k = -1; break; }
        if (!stamped && f.size >= 16) {
          uint64_t seq;
          memcpy(&stamp, f.p, 8);
          memcpy(&seq, f.p + 8, 8);
          if (seq != last_seq + 1) gaps++;
          last_seq = seq;
          stamped = 1;
        }
        body_left -= f.size;
      }
      if (in_delivery && !want_header && body_left == 0) { /* delivery complete */
        in_delivery = 0;
        consumed++;
        if (stamped && measure && t_read >= stamp) {
          uint64_t us = (t_read - stamp) / 1000, ns = t_read - stamp;
          hist[us < HIST_US ? us : HIST_US - 1]++;
          lat_n++;
          lat_sum += (double)ns;
          if (ns < lat_min) lat_min = ns;
          if (ns > lat_max) lat_max = ns;
        }
        uint64_t be = __builtin_bswap64(tag);
        memcpy(ack + 11, &be, 8);
        memcpy(acks + nacks * sizeof ack, ack, sizeof ack);
        if (++nacks == acks_cap) {
          if (!send_all(c, acks, nacks * sizeof ack)) { k = -1; break; }
          nacks = 0;
        }
      }
    }
    if (k >= 0 && nacks) {
      if (!send_all(c, acks, nacks * sizeof ack)) k = -1;
      nacks = 0;
    }
    atomic_store_explicit(&n_consumed, consumed, memory_order_relaxed);
    atomic_store_explicit(&n_order_gaps, gaps, memory_order_relaxed);
    atomic_store_explicit(&n_redelivered, redelivered, memory_order_relaxed);
    if (k < 0) break;
  }
  atomic_store(&n_consumed, consumed);
  free(acks);
  return NULL;
}

/* ---------------------------------------------------------------- /proc readings */

static long broker_rss_kb(void) {
  if (!npids) return -1;
  long total = 0;
  for (int i = 0; i < npids; i++) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    long v = -1;
    while (fgets(line, sizeof line, fp))
      if (strncmp(line, "VmRSS:", 6) == 0) { v = strtol(line + 6, NULL, 10); break; }
    fclose(fp);
    if (v < 0) return -1;
    total += v;
  }
  return total;
}

/* utime + stime of /proc/<path>/stat, in seconds; -1 if unreadable. */
static double stat_cpu_s(const char *path) {
  char buf[2048];
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = 0;
  char *q = strrchr(buf, ')');
  unsigned long ut, st;
  if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double broker_cpu_s(void) {
  if (!npids) return -1;
  double total = 0;
  for (int i = 0; i < npids; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
    double v = stat_cpu_s(path);
    if (v < 0) return -1;
    total += v;
  }
  return total;
}

static double thread_cpu_s(int tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  return stat_cpu_s(path);
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double pct_us(double q) { /* the q-quantile of the histogram, us */
  uint64_t want = (uint64_t)(q * (double)lat_n);
  if (want >= lat_n) want = lat_n - 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_US; i++) {
    seen += hist[i];
    if (seen > want) return i;
  }
  return HIST_US - 1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

static void json_head(void) {
  printf("{\"tool\":\"confirm-blast\",\"version\":\"%s\",\"label\":", VERSION);
  json_str(label);
  printf(",\"mode\":\"throughput\",\"host\":");
  json_str(host);
  printf(",\"port\":%d,\"vhost\":", port);
  json_str(vhost);
  printf(",\"queue\":");
  json_str(queue);
}

static int report_failure(void) {
  json_head();
  printf(",\"ok\":false,\"error\":");
  json_str(first_err);
  printf("}\n");
  fflush(stdout);
  fprintf(stderr, "confirm-blast: %s\n", first_err);
  return 1;
}

/* ---------------------------------------------------------------- main */

static void usage(void) {
  fprintf(stderr, "usage: confirm-blast [-h host] [-P port] [-u user] [-p password] [-V vhost] [-s body_bytes] [-c confirm_window] [-B per_write]\n"
                  "                     [-q prefetch] [-t seconds] [-w warmup_s] [-d drain_s] [-Q queue] [-b broker_pid[,pid...]] [-l label]\n");
  exit(2);
}

static long num(const char *s, long lo, long hi, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0 || v < lo || v > hi) {
    fprintf(stderr, "confirm-blast: %s must be a whole number in [%ld, %ld], not '%s'\n", what, lo, hi, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  snprintf(queue, sizeof queue, "confirm-blast-%d", getpid());
  int o;
  while ((o = getopt(argc, argv, "h:P:u:p:V:s:c:B:q:t:w:d:Q:b:l:")) != -1) switch (o) {
    case 'h': host = optarg; break;
    case 'P': port = (int)num(optarg, 1, 65535, "-P port"); break;
    case 'u': user = optarg; break;
    case 'p': pass = optarg; break;
    case 'V': vhost = optarg; break;
    case 's': body_size = (int)num(optarg, 16, 64 << 20, "-s body bytes"); break;
    case 'c': window = (int)num(optarg, 1, 65535, "-c confirm window"); break;
    case 'B': per_write = (int)num(optarg, 1, 65535, "-B messages a write"); break;
    case 'q': prefetch = (int)num(optarg, 1, 65535, "-q prefetch"); break;
    case 't': seconds = (double)num(optarg, 1, 86400, "-t seconds"); break;
    case 'w': warmup = (double)num(optarg, 0, 3600, "-w warm-up seconds"); break;
    case 'd': drain_s = (double)num(optarg, 1, 3600, "-d drain seconds"); break;
    case 'Q':
      if (strlen(optarg) > 120) { fprintf(stderr, "confirm-blast: -Q queue name over 120 bytes\n"); exit(2); }
      snprintf(queue, sizeof queue, "%s", optarg);
      break;
    case 'b':
      for (char *s = strtok(optarg, ","); s; s = strtok(NULL, ","))
        if (npids < MAX_PIDS) pids[npids++] = (int)num(s, 1, 1 << 30, "-b broker pid");
      break;
    case 'l': label = optarg; break;
    default: usage();
  }
  if (optind != argc || strlen(user) > 255 || strlen(pass) > 255 || strlen(vhost) > 255) usage();
  if (per_write == 0 || per_write > window) per_write = window;
  hist = calloc(HIST_US, sizeof *hist);

  /* consumer first: its queue, its prefetch and its subscription exist before the first publish */
  frame_t f;
  buf_t p = {0};
  int ok = open_conn(&consc, "consumer");
  if (ok) {
    putmethod(&p, M(50, 10));
    put16(&p, 0);
    putshort(&p, queue);
    put8(&p, 2); /* durable */
    put32(&p, 0);
    ok = rpc(&consc, &p, 1, Q_DECLARE_OK, &f, "queue.declare");
  }
  if (ok) {
    putmethod(&p, M(60, 10));
    put32(&p, 0);
    put16(&p, (uint16_t)prefetch);
    put8(&p, 0);
    ok = rpc(&consc, &p, 1, QOS_OK, &f, "basic.qos");
  }
  if (ok) {
    putmethod(&p, M(60, 20));
    put16(&p, 0);
    putshort(&p, queue);
    putshort(&p, "confirm-blast");
    put8(&p, 0); /* manual ack */
    put32(&p, 0);
    ok = rpc(&consc, &p, 1, CONSUME_OK, &f, "basic.consume");
  }
  if (ok) ok = open_conn(&pubc, "publisher");
  if (ok) {
    putmethod(&p, M(85, 10));
    put8(&p, 0);
    ok = rpc(&pubc, &p, 1, CONFIRM_OK, &f, "confirm.select");
  }
  if (!ok) return report_failure();

  long rss_start = broker_rss_kb(), rss_peak = rss_start;
  pthread_t ct, pt;
  pthread_create(&ct, NULL, consumer, NULL);
  pthread_create(&pt, NULL, publisher, NULL);

  /* warm-up, then the measured window with a rate sample a second */
  double t_go = now_s(), t_end;
  while (now_s() < t_go + warmup && !atomic_load(&failed)) usleep(20000);
  double tm0 = now_s(), cpu_b0 = broker_cpu_s(), cpu_c0 = self_cpu_s();
  int ptid = atomic_load(&pub_tid), ctid = atomic_load(&cons_tid);
  double cpu_p0 = thread_cpu_s(ptid), cpu_k0 = thread_cpu_s(ctid);
  long s0 = atomic_load(&n_sent), r0 = atomic_load(&n_consumed), f0 = atomic_load(&n_confirmed), x0 = atomic_load(&n_nacked);
  atomic_store(&measuring, 1);
  int nsamp = 0, maxsamp = (int)seconds + 2;
  double *samp = calloc((size_t)maxsamp, sizeof *samp), next_tick = tm0 + 1, prev_t = tm0;
  long prev_r = r0;
  t_end = tm0 + seconds;
  for (;;) {
    usleep(20000);
    double t = now_s();
    if (atomic_load(&failed)) break;
    if (t >= next_tick || t >= t_end) {
      long r = atomic_load(&n_consumed);
      if (t >= next_tick && nsamp < maxsamp) samp[nsamp++] = (double)(r - prev_r) / (t - prev_t);
      prev_r = r;
      prev_t = t;
      next_tick += 1;
      long rss = broker_rss_kb();
      if (rss > rss_peak) rss_peak = rss;
    }
    if (t >= t_end) break;
  }
  double tm1 = now_s(), cpu_b1 = broker_cpu_s(), cpu_c1 = self_cpu_s();
  double cpu_p1 = thread_cpu_s(ptid), cpu_k1 = thread_cpu_s(ctid);
  long s1 = atomic_load(&n_sent), r1 = atomic_load(&n_consumed), f1 = atomic_load(&n_confirmed), x1 = atomic_load(&n_nacked);
  atomic_store(&measuring, 0);
  long rss_end = broker_rss_kb();

  /* drain: the publisher waits for its confirms, the consumer for everything published */
  double t_stop = now_s();
  atomic_store(&stop_publishing, 1);
  pthread_join(pt, NULL);
  pthread_join(ct, NULL);
  double drain_took = now_s() - t_stop;
  if (atomic_load(&failed)) {
    close(pubc.fd);
    close(consc.fd);
    return report_failure();
  }
  putmethod(&p, M(50, 40));
  put16(&p, 0);
  putshort(&p, queue);
  put8(&p, 0);
  rpc(&consc, &p, 1, Q_DELETE_OK, &f, "queue.delete");
  uint32_t left = f.size >= 8 && !atomic_load(&failed) ? rd32(f.p + 4) : 0;
  close_conn(&pubc);
  close_conn(&consc);
  free(p.p);
  if (atomic_load(&failed)) return report_failure();

  double win = tm1 - tm0;
  json_head();
  printf(",\"producers\":1,\"consumers\":1,\"queues\":1,\"size\":%d,\"persistent\":true,\"durable\":true", body_size);
  printf(",\"per_write\":%d", per_write);
  printf(",\"confirm\":%d,\"prefetch\":%d,\"autoack\":false,\"multi_ack\":1,\"warmup_s\":%.1f,\"duration_s\":%.3f", window, prefetch, warmup, win);
  printf(",\"sent\":%ld,\"received\":%ld,\"confirmed\":%ld,\"nacked\":%ld", s1 - s0, r1 - r0, f1 - f0, x1 - x0);
  printf(",\"send_rate\":%.1f,\"recv_rate\":%.1f,\"confirm_rate\":%.1f", (s1 - s0) / win, (r1 - r0) / win, (f1 - f0) / win);
  if (nsamp > 0) {
    qsort(samp, (size_t)nsamp, sizeof *samp, cmp_double);
    printf(",\"recv_rate_1s\":{\"min\":%.0f,\"median\":%.0f,\"max\":%.0f}", samp[0], samp[nsamp / 2], samp[nsamp - 1]);
  }
  printf(",\"backlog_end\":%ld", s1 - r1);
  printf(",\"latency_samples\":%llu", (unsigned long long)lat_n);
  if (lat_n > 0)
    printf(",\"lat_us\":{\"min\":%.1f,\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
           lat_min / 1e3, pct_us(0.50), pct_us(0.95), pct_us(0.99), pct_us(0.999), lat_max / 1e3, lat_sum / (double)lat_n / 1e3);
  if (cpu_b0 >= 0 && cpu_b1 >= 0) {
    printf(",\"broker_cpu_pct\":%.1f", 100 * (cpu_b1 - cpu_b0) / win);
    if (cpu_b1 > cpu_b0) printf(",\"recv_per_broker_cpu_s\":%.0f", (r1 - r0) / (cpu_b1 - cpu_b0));
  }
  printf(",\"client_cpu_pct\":%.1f", 100 * (cpu_c1 - cpu_c0) / win);
  if (cpu_p0 >= 0 && cpu_p1 >= 0 && cpu_k0 >= 0 && cpu_k1 >= 0)
    printf(",\"publisher_cpu_pct\":%.1f,\"consumer_cpu_pct\":%.1f", 100 * (cpu_p1 - cpu_p0) / win, 100 * (cpu_k1 - cpu_k0) / win);
  if (r1 > r0) printf(",\"client_cpu_us_per_msg\":%.2f", 1e6 * (cpu_c1 - cpu_c0) / (double)(r1 - r0));
  if (rss_start >= 0)
    printf(",\"broker_rss_kb\":{\"start\":%ld,\"peak\":%ld,\"end\":%ld}", rss_start, rss_peak > rss_end ? rss_peak : rss_end, rss_end);
  printf(",\"drain\":{\"published\":%ld,\"confirmed\":%ld,\"nacked\":%ld,\"consumed\":%ld,\"order_gaps\":%ld,\"redelivered\":%ld,\"seconds\":%.3f,\"left_in_queue\":%u}",
         atomic_load(&published_final), atomic_load(&n_confirmed), atomic_load(&n_nacked), atomic_load(&n_consumed), atomic_load(&n_order_gaps),
         atomic_load(&n_redelivered), drain_took, left);
  printf(",\"ok\":true}\n");
  fflush(stdout);
  free(samp);
  free(hist);
  return 0;
}
