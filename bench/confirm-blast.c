/* confirm-blast: scenarios (c) and (h) of issue 14 on raw sockets, so that the client's own CPU a message
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
 * Backlog mode (-m backlog -n N, scenario (h)): the publisher alone puts N messages into a fresh
 * (empty) durable queue, at most -c unconfirmed, timed until the last confirm; then the consumer
 * subscribes and drains, timed until the N-th delivery, -d bounding the time without one. Every
 * message must arrive once and in order (else "ok":false). Broker RSS is read every 100 ms, its
 * peak kept per phase; field names as in amqp-perf's backlog mode (backlog.c).
 *
 *   confirm-blast [-h host] [-P port] [-u user] [-p password] [-V vhost] [-s body_bytes]
 *                 [-c confirm_window] [-B per_write] [-q prefetch] [-t seconds] [-w warmup_s] [-d drain_s]
 *                 [-Q queue] [-b broker_pid[,pid...]] [-l label] [-m throughput|backlog] [-n messages]
 *                 [-T] [-N]
 *
 * -T publishes transient messages (delivery-mode 1) and -N declares the queue non-durable: with
 * both, the same runs with nothing for the broker to store (what the path costs without a disk).
 *
 * Built from this file and bench/confirm-blast/{wire,proc,backlog}.c (bench/lib/confirm-blast.ts).
 *
 * Everything read from the socket is bounded: a frame longer than the negotiated frame_max (4096
 * before connection.tune) or without its end octet ends the run with an error, as does a string
 * or field running past its frame, a body frame past its header's size, a confirm for a tag never
 * published, or a socket that stays silent or unwritable past its timeout.
 */
#define _GNU_SOURCE
#include <getopt.h>

#include "confirm-blast/blast.h"

/* ---------------------------------------------------------------- settings */

const char *host = "127.0.0.1", *user = "guest", *pass = "guest", *vhost = "/", *label = "";
int port = 5672, body_size = 1024, window = 100, prefetch = 100, per_write = 0;
int transient_msgs, transient_queue; /* -T, -N */
double seconds = 10, warmup = 3, drain_s = 30;
long backlog_n;                 /* backlog mode: messages to publish, then drain; 0 in throughput mode */
char queue[128];
int pids[MAX_PIDS], npids;

/* ---------------------------------------------------------------- shared state */

atomic_long n_sent, n_confirmed, n_nacked, n_consumed, n_order_gaps, n_redelivered;
atomic_int stop_publishing, publisher_done, consumer_done, failed, measuring;
atomic_long published_final = -1;
atomic_ullong publisher_end_ns, consumer_end_ns; /* when the last confirm / the last delivery came */
static uint32_t *hist;          /* consumer thread only while running */
static uint64_t lat_n, lat_min = UINT64_MAX, lat_max;
static double lat_sum;
static atomic_int pub_tid, cons_tid;

/* ---------------------------------------------------------------- publisher */

conn_t pubc, consc;

static long gettid_long(void) { return (long)syscall(SYS_gettid); }

/* One message's three frames, pre-encoded; `window` copies of it back to back in `batch`. The
 * stamp (send time, sequence number) goes at the start of each copy's body. */
void *publisher(void *arg) {
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
  put8(&p, transient_msgs ? 1 : 2); /* delivery-mode: 2 persistent, 1 transient (-T) */
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
    /* backlog mode: publishing stops by itself after backlog_n messages */
    if (backlog_n && next - 1 == (uint64_t)backlog_n) stopping = 1;
    if (stopping && lowest == next) break; /* everything sent has been confirmed */
    uint64_t room = stopping ? 0 : (uint64_t)window - (next - lowest);
    if (backlog_n && room > (uint64_t)backlog_n - (next - 1)) room = (uint64_t)backlog_n - (next - 1);
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
  atomic_store(&publisher_end_ns, now_ns());
  atomic_store(&published_final, (long)(next - 1));
  atomic_store(&publisher_done, 1);
  free(done);
  free(batch.p);
  free(one.p);
  free(p.p);
  return NULL;
}

/* ---------------------------------------------------------------- consumer */

void *consumer(void *arg) {
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
  long consumed_at_deadline = -1;
  /* Deliveries that came in the same read as consume-ok wait in the buffer already; read the
   * socket only after them, or a backlog smaller than one read's worth is never seen. */
  int buffered = c->have > c->off;

  for (;;) {
    if (atomic_load_explicit(&failed, memory_order_relaxed)) break;
    if (atomic_load_explicit(&publisher_done, memory_order_relaxed)) {
      long target = atomic_load(&published_final);
      if (consumed >= target && !in_delivery) {
        atomic_store(&consumer_end_ns, now_ns());
        break;
      }
      /* throughput mode: -d bounds the whole drain; backlog mode: the time without a delivery */
      if (drain_deadline == 0 || (backlog_n && consumed != consumed_at_deadline)) {
        drain_deadline = now_s() + drain_s;
        consumed_at_deadline = consumed;
      } else if (now_s() > drain_deadline) {
        if (backlog_n) fail("consumer: %ld of %ld messages received, then none for %.0f s", consumed, target, drain_s);
        else fail("consumer: %ld of %ld published messages received after %.0f s of draining", consumed, target, drain_s);
        break;
      }
    }
    int r = buffered ? 1 : fill(c);
    buffered = 0;
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
  atomic_store(&consumer_done, 1);
  free(acks);
  return NULL;
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

void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

void json_head(const char *mode) {
  printf("{\"tool\":\"confirm-blast\",\"version\":\"%s\",\"label\":", VERSION);
  json_str(label);
  printf(",\"mode\":\"%s\",\"host\":", mode);
  json_str(host);
  printf(",\"port\":%d,\"vhost\":", port);
  json_str(vhost);
  printf(",\"queue\":");
  json_str(queue);
}

int report_failure(const char *mode) {
  json_head(mode);
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
                  "                     [-q prefetch] [-t seconds] [-w warmup_s] [-d drain_s] [-Q queue] [-b broker_pid[,pid...]] [-l label]\n"
                  "                     [-m throughput|backlog] [-n backlog_messages] [-T (transient messages)] [-N (non-durable queue)]\n");
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
  int o, backlog = 0;
  static const struct option longopts[] = {{"mode", required_argument, 0, 'm'}, {"count", required_argument, 0, 'n'}, {0, 0, 0, 0}};
  while ((o = getopt_long(argc, argv, "h:P:u:p:V:s:c:B:q:t:w:d:Q:b:l:m:n:TN", longopts, NULL)) != -1) switch (o) {
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
    case 'm':
      if (strcmp(optarg, "backlog") == 0) backlog = 1;
      else if (strcmp(optarg, "throughput") != 0) usage();
      break;
    case 'n': backlog_n = num(optarg, 1, 1000000000L, "-n backlog messages"); break;
    case 'T': transient_msgs = 1; break;
    case 'N': transient_queue = 1; break;
    default: usage();
  }
  if (optind != argc || strlen(user) > 255 || strlen(pass) > 255 || strlen(vhost) > 255) usage();
  if (per_write == 0 || per_write > window) per_write = window;
  if (backlog != (backlog_n > 0)) {
    fprintf(stderr, "confirm-blast: -m backlog takes -n (the messages to publish), and -n only goes with it\n");
    exit(2);
  }
  if (backlog) return run_backlog();
  hist = calloc(HIST_US, sizeof *hist);

  /* consumer first: its queue, its prefetch and its subscription exist before the first publish */
  frame_t f;
  buf_t p = {0};
  int ok = open_conn(&consc, "consumer");
  if (ok) {
    putmethod(&p, M(50, 10));
    put16(&p, 0);
    putshort(&p, queue);
    put8(&p, transient_queue ? 0 : 2); /* durable unless -N */
    put32(&p, 0);
    ok = rpc(&consc, &p, 1, Q_DECLARE_OK, &f, "queue.declare");
  }
  if (ok) ok = set_prefetch(&consc, &p, prefetch, &f);
  if (ok) ok = consume(&consc, &p, queue, &f);
  if (ok) ok = open_conn(&pubc, "publisher");
  if (ok) ok = select_confirms(&pubc, &p, &f);
  if (!ok) return report_failure("throughput");

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
    return report_failure("throughput");
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
  if (atomic_load(&failed)) return report_failure("throughput");

  double win = tm1 - tm0;
  json_head("throughput");
  printf(",\"producers\":1,\"consumers\":1,\"queues\":1,\"size\":%d,\"persistent\":%s,\"durable\":%s", body_size,
         transient_msgs ? "false" : "true", transient_queue ? "false" : "true");
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
