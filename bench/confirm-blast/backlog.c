/* confirm-blast's backlog mode, scenario (h) of issue 14: publish backlog_n persistent messages
 * (transient with -T) with confirms into an empty durable queue (non-durable with -N) nobody consumes, then drain it with one consumer.
 * The publisher and consumer threads are the throughput mode's (confirm-blast.c): the publisher
 * stops by itself after backlog_n messages; the consumer, started only once every message is
 * confirmed, stops at the backlog_n-th delivery. The main thread reads the broker's RSS every
 * 100 ms meanwhile. One JSON line with amqp-perf's backlog field names where they mean the same. */
#include "blast.h"

#define RSS_EVERY_US 100000

/* The highest of `peak` and the broker's RSS read every 100 ms until `*done`. */
static long watch_rss(atomic_int *done, long peak) {
  while (!atomic_load(done)) {
    usleep(RSS_EVERY_US);
    long r = broker_rss_kb();
    if (r > peak) peak = r;
  }
  return peak;
}

/* queue.declare (durable unless -N) or, passive, a look at it; its message count in *depth. */
static int declare(int passive, long *depth) {
  buf_t p = {0};
  frame_t f;
  putmethod(&p, M(50, 10));
  put16(&p, 0);
  putshort(&p, queue);
  put8(&p, passive ? 1 : transient_queue ? 0 : 2); /* bit 0 passive, bit 1 durable */
  put32(&p, 0);
  int ok = rpc(&consc, &p, 1, Q_DECLARE_OK, &f, passive ? "queue.declare (passive)" : "queue.declare");
  free(p.p);
  if (!ok) return 0;
  /* queue (shortstr), message-count, consumer-count */
  uint32_t o = 4;
  if (o + 1 > f.size || o + 1 + f.p[o] + 8 > f.size) {
    fail("consumer: queue.declare-ok runs past its frame");
    return 0;
  }
  o += 1 + f.p[o];
  *depth = rd32(f.p + o);
  return 1;
}

/* queue.delete; the messages it still held in *left (-1 if the broker did not answer). */
static int delete_queue(long *left) {
  buf_t p = {0};
  frame_t f;
  putmethod(&p, M(50, 40));
  put16(&p, 0);
  putshort(&p, queue);
  put8(&p, 0);
  int ok = rpc(&consc, &p, 1, Q_DELETE_OK, &f, "queue.delete");
  free(p.p);
  *left = ok && f.size >= 8 ? (long)rd32(f.p + 4) : -1;
  return ok;
}

/* After a failure: the queue deleted if the consumer's connection still answers (a 200k backlog
 * left in a shared broker would skew the next run), both sockets closed, the failure reported. */
static int give_up(int queue_declared) {
  long left;
  if (queue_declared && consc.fd >= 0) delete_queue(&left);
  if (pubc.fd >= 0) close(pubc.fd);
  if (consc.fd >= 0) close(consc.fd);
  pubc.fd = consc.fd = -1;
  return report_failure("backlog");
}

static void cpu_fields(const char *phase, double secs, long n, double broker_s, double client_s) {
  if (secs <= 0) return;
  if (broker_s >= 0) printf(",\"%s_broker_cpu_pct\":%.1f,\"%s_broker_cpu_us_per_msg\":%.2f", phase, 100 * broker_s / secs, phase, n > 0 ? 1e6 * broker_s / (double)n : 0);
  printf(",\"%s_client_cpu_pct\":%.1f,\"%s_client_cpu_us_per_msg\":%.2f", phase, 100 * client_s / secs, phase, n > 0 ? 1e6 * client_s / (double)n : 0);
}

int run_backlog(void) {
  const long n = backlog_n;
  frame_t f;
  buf_t p = {0};
  long depth0 = -1, depth = -1, left = -1;
  pubc.fd = consc.fd = -1;
  int ok = open_conn(&consc, "consumer");
  int declared = ok && declare(0, &depth0);
  ok = declared;
  if (ok && depth0 != 0) {
    fail("queue %s already holds %ld messages: a backlog run needs an empty queue", queue, depth0);
    ok = declared = 0; /* not ours to delete */
  }
  if (ok) ok = set_prefetch(&consc, &p, prefetch, &f);
  if (ok) ok = open_conn(&pubc, "publisher");
  if (ok) ok = select_confirms(&pubc, &p, &f);
  if (!ok) {
    free(p.p);
    return give_up(declared);
  }

  /* phase 1: publish, nobody consuming */
  long rss_before = broker_rss_kb();
  double b0 = broker_cpu_s(), c0 = self_cpu_s();
  uint64_t t0 = now_ns();
  pthread_t pt, ct;
  pthread_create(&pt, NULL, publisher, NULL);
  long publish_peak = watch_rss(&publisher_done, rss_before);
  pthread_join(pt, NULL);
  uint64_t t1 = atomic_load(&publisher_end_ns);
  double b1 = broker_cpu_s(), c1 = self_cpu_s();
  long rss_after_publish = broker_rss_kb();
  if (rss_after_publish > publish_peak) publish_peak = rss_after_publish;
  if (atomic_load(&failed) || !declare(1, &depth)) {
    free(p.p);
    return give_up(1);
  }

  /* phase 2: drain; deliveries that follow consume-ok in its read stay buffered for the thread */
  uint64_t t2 = now_ns();
  ok = consume(&consc, &p, queue, &f);
  free(p.p);
  if (!ok) return give_up(1);
  pthread_create(&ct, NULL, consumer, NULL);
  long drain_peak = watch_rss(&consumer_done, rss_after_publish);
  pthread_join(ct, NULL);
  uint64_t t3 = atomic_load(&consumer_end_ns);
  double b2 = broker_cpu_s(), c2 = self_cpu_s();
  long rss_after_drain = broker_rss_kb();
  if (rss_after_drain > drain_peak) drain_peak = rss_after_drain;
  if (atomic_load(&failed)) return give_up(1);

  long confirmed = atomic_load(&n_confirmed), nacked = atomic_load(&n_nacked), sent = atomic_load(&n_sent);
  long received = atomic_load(&n_consumed), gaps = atomic_load(&n_order_gaps), redelivered = atomic_load(&n_redelivered);
  delete_queue(&left);
  close_conn(&pubc);
  close_conn(&consc);
  if (atomic_load(&failed)) return report_failure("backlog");
  /* every message confirmed, then delivered once, in the order published, and none left over */
  if (confirmed != n || nacked != 0)
    fail("%ld of %ld messages confirmed, %ld nacked", confirmed, n, nacked);
  else if (received != n || gaps != 0 || redelivered != 0)
    fail("%ld of %ld messages delivered, %ld out of sequence, %ld redelivered", received, n, gaps, redelivered);
  else if (left != 0)
    fail("%ld messages left in the queue after the drain", left);
  if (atomic_load(&failed)) return report_failure("backlog");

  double pub_s = (double)(t1 - t0) / 1e9, drain_s_taken = (double)(t3 - t2) / 1e9;
  json_head("backlog");
  printf(",\"count\":%ld,\"size\":%d,\"persistent\":%s,\"durable\":%s,\"producers\":1,\"consumers\":1", n, body_size,
         transient_msgs ? "false" : "true", transient_queue ? "false" : "true");
  printf(",\"confirm\":%d,\"prefetch\":%d,\"autoack\":false,\"multi_ack\":1,\"per_write\":%d", window, prefetch, per_write);
  printf(",\"sent\":%ld,\"confirmed\":%ld,\"nacked\":%ld,\"depth_after_publish\":%ld,\"received\":%ld", sent, confirmed, nacked, depth, received);
  printf(",\"order_gaps\":%ld,\"redelivered\":%ld,\"left_in_queue\":%ld", gaps, redelivered, left);
  printf(",\"publish_s\":%.3f,\"publish_rate\":%.1f,\"drain_s\":%.3f,\"drain_rate\":%.1f", pub_s,
         pub_s > 0 ? (double)confirmed / pub_s : 0, drain_s_taken, drain_s_taken > 0 ? (double)received / drain_s_taken : 0);
  if (rss_before >= 0)
    printf(",\"broker_rss_kb\":{\"before\":%ld,\"after_publish\":%ld,\"after_drain\":%ld,\"peak\":%ld,\"publish_peak\":%ld,\"drain_peak\":%ld}",
           rss_before, rss_after_publish, rss_after_drain, publish_peak > drain_peak ? publish_peak : drain_peak, publish_peak, drain_peak);
  cpu_fields("publish", pub_s, n, b0 >= 0 && b1 >= 0 ? b1 - b0 : -1, c1 - c0);
  cpu_fields("drain", drain_s_taken, n, b1 >= 0 && b2 >= 0 ? b2 - b1 : -1, c2 - c1);
  printf(",\"ok\":true}\n");
  fflush(stdout);
  return 0;
}
