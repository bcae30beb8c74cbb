/* confirm-blast's shared declarations: the AMQP wire layer (wire.c), the /proc readings (proc.c),
 * and the settings and state the two modes share (confirm-blast.c, backlog.c). */
#ifndef CONFIRM_BLAST_H
#define CONFIRM_BLAST_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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


/* settings (confirm-blast.c) */
extern const char *host, *user, *pass, *vhost, *label;
extern int port, body_size, window, prefetch, per_write;
extern int transient_msgs, transient_queue;
extern double seconds, warmup, drain_s;
extern long backlog_n;
extern char queue[128];
extern int pids[MAX_PIDS], npids;

/* shared state (confirm-blast.c) */
extern atomic_long n_sent, n_confirmed, n_nacked, n_consumed, n_order_gaps, n_redelivered;
extern atomic_int stop_publishing, publisher_done, consumer_done, failed, measuring;
extern atomic_long published_final;
extern atomic_ullong publisher_end_ns, consumer_end_ns;
extern char first_err[512];

/* wire.c */
typedef struct { uint8_t *p; size_t n, cap; } buf_t;
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
uint64_t now_ns(void);
double now_s(void);
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void put(buf_t *b, const void *d, size_t n);
void put8(buf_t *b, uint8_t v);
void put16(buf_t *b, uint16_t v);
void put32(buf_t *b, uint32_t v);
void put64(buf_t *b, uint64_t v);
void putshort(buf_t *b, const char *s);
void putmethod(buf_t *b, uint32_t id);
void frame(buf_t *out, uint8_t type, uint16_t ch, buf_t *payload);
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }
int send_all(conn_t *c, const uint8_t *p, size_t n);
int fill(conn_t *c);
int next_frame(conn_t *c, frame_t *f);
void closed_by_broker(conn_t *c, const frame_t *f);
int expect(conn_t *c, uint32_t want, frame_t *f, const char *what);
int rpc(conn_t *c, buf_t *payload, uint16_t ch, uint32_t reply, frame_t *f, const char *what);
int set_prefetch(conn_t *c, buf_t *p, int count, frame_t *f);
int consume(conn_t *c, buf_t *p, const char *q, frame_t *f);
int select_confirms(conn_t *c, buf_t *p, frame_t *f);
int open_conn(conn_t *c, const char *name);
void close_conn(conn_t *c);

/* proc.c */
long broker_rss_kb(void);
double broker_cpu_s(void);
double thread_cpu_s(int tid);
double self_cpu_s(void);

/* confirm-blast.c */
extern conn_t pubc, consc;
void *publisher(void *arg);
void *consumer(void *arg);
void json_str(const char *s);
void json_head(const char *mode);
int report_failure(const char *mode);

/* backlog.c */
int run_backlog(void);

#endif
