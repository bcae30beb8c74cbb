"""Streams through pika (JSON events on stdout): offsets with the x-stream-offset header as pika
decodes it, acks as credit, filters, and the misuse refusals.

usage: streams.py <url> <command> <queue> [args...]
commands: declare_publish, consume, credit, misuse, declare (JSON options), fill (n messages of a
size, extra JSON arguments), via_exchange (fanout/topic), after (next / no offset), two_readers,
aged (x-max-age retention: old messages, a pause past the age, new ones)
"""
import datetime
import json
import sys
import time

from common import connect, emit, report_exception

STREAM = {"x-queue-type": "stream"}


def declare_publish(url, queue, n, filters=""):
    """Declares a stream and publishes n messages with confirms; filters: comma-separated values
    for x-stream-filter-value, '-' for none, cycled."""
    conn = connect(url)
    ch = conn.channel()
    ok = ch.queue_declare(queue, durable=True, arguments=STREAM)
    emit("declare_ok", queue=ok.method.queue)
    ch.confirm_delivery()
    values = filters.split(",") if filters else ["-"]
    for i in range(int(n)):
        v = values[i % len(values)]
        headers = {"i": i} if v == "-" else {"i": i, "x-stream-filter-value": v}
        ch.basic_publish("", queue, b"m%d" % i, __import__("pika").BasicProperties(headers=headers))
    emit("published", n=int(n))
    conn.close()


def parse_offset(s):
    if s.startswith("ts:"):
        return datetime.datetime.utcfromtimestamp(int(s[3:]))
    if s.lstrip("-").isdigit():
        return int(s)
    return s


def consume(url, queue, offset, expect, prefetch="10", filt="", unfiltered="0"):
    """Consumes until `expect` messages arrived (or 3 s of quiet); emits each with its header."""
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=int(prefetch))
    args = {"x-stream-offset": parse_offset(offset)}
    if filt:
        args["x-stream-filter"] = filt.split(",") if "," in filt else filt
        args["x-stream-match-unfiltered"] = unfiltered == "1"
    got = []

    def on_message(c, method, props, body):
        off = props.headers.get("x-stream-offset")
        emit("message", body=body, offset=off, offset_type=type(off).__name__, redelivered=method.redelivered)
        got.append(method.delivery_tag)
        c.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_message, arguments=args)
    deadline = time.time() + 10
    quiet_since = time.time()
    last = 0
    while time.time() < deadline and len(got) < int(expect):
        conn.process_data_events(0.05)
        if len(got) != last:
            last = len(got)
            quiet_since = time.time()
        elif time.time() - quiet_since > 3:
            break
    conn.process_data_events(0.3)
    emit("consumed", n=len(got))
    conn.close()


def credit(url, queue):
    """prefetch 2, no acks: two deliveries and no more; one multiple ack: two more."""
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=2)
    tags = []
    ch.basic_consume(queue, lambda c, m, p, b: tags.append((m.delivery_tag, p.headers["x-stream-offset"])), arguments={"x-stream-offset": "first"})
    conn.process_data_events(0.5)
    emit("before_ack", offsets=[o for _, o in tags])
    ch.basic_ack(tags[-1][0], multiple=True)
    conn.process_data_events(0.5)
    emit("after_ack", offsets=[o for _, o in tags])
    conn.close()


def misuse(url, queue, what):
    conn = connect(url)
    ch = conn.channel()
    if what == "get":
        ch.basic_get(queue)
    elif what == "no_prefetch":
        ch.basic_consume(queue, lambda *a: None)
    elif what == "no_ack":
        ch.basic_qos(prefetch_count=5)
        ch.basic_consume(queue, lambda *a: None, auto_ack=True)
    elif what == "nack":
        ch.basic_qos(prefetch_count=5)
        tags = []
        ch.basic_consume(queue, lambda c, m, p, b: tags.append(m.delivery_tag), arguments={"x-stream-offset": "first"})
        while not tags:
            conn.process_data_events(0.05)
        ch.basic_nack(tags[0], requeue=True)
    elif what == "global_qos":
        ch.basic_qos(prefetch_count=10)
        ch.basic_qos(prefetch_count=10, global_qos=True)
        ch.basic_consume(queue, lambda *a: None)
    elif what == "purge":
        ch.queue_purge(queue)
    conn.process_data_events(1)
    emit("no_error")
    conn.close()


def declare(url, queue, opts):
    """queue.declare with JSON options {durable, exclusive, auto_delete, arguments}."""
    o = json.loads(opts)
    conn = connect(url)
    ch = conn.channel()
    ok = ch.queue_declare(queue, durable=o.get("durable", True), exclusive=o.get("exclusive", False), auto_delete=o.get("auto_delete", False), arguments=o.get("arguments", {}))
    emit("declare_ok", queue=ok.method.queue)
    conn.close()


def fill(url, queue, n, size, args="{}"):
    """Declares a stream with extra JSON arguments and publishes n messages of `size` bytes, confirmed."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments={**STREAM, **json.loads(args)})
    ch.confirm_delivery()
    for i in range(int(n)):
        ch.basic_publish("", queue, (b"%d:" % i).ljust(int(size), b"x"))
    emit("published", n=int(n))
    conn.close()


def via_exchange(url, queue, exchange, xtype, n):
    """Declares a stream bound to a new fanout or topic exchange, publishes n through it (confirmed)."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments=STREAM)
    ch.exchange_declare(exchange, xtype, durable=False, auto_delete=True)
    ch.queue_bind(queue, exchange, "orders.#" if xtype == "topic" else "")
    ch.confirm_delivery()
    for i in range(int(n)):
        ch.basic_publish(exchange, "orders.eu.%d" % i, b"x%d" % i)
    emit("published", n=int(n))
    conn.close()


def after(url, queue, mode, n):
    """Consumes with x-stream-offset 'next' (mode next) or without one (mode none), then publishes
    n messages on another channel: the consumer gets exactly those."""
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=50)
    got = []

    def on_message(c, method, props, body):
        got.append(body.decode())
        c.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_message, arguments={"x-stream-offset": "next"} if mode == "next" else {})
    conn.process_data_events(0.3)
    pub = conn.channel()
    pub.confirm_delivery()
    for i in range(int(n)):
        pub.basic_publish("", queue, b"new%d" % i)
    deadline = time.time() + 10
    while len(got) < int(n) and time.time() < deadline:
        conn.process_data_events(0.05)
    conn.process_data_events(0.3)
    emit("got", bodies=got)
    conn.close()


def two_readers(url, queue, n):
    """Two consumers on two channels, prefetch 1 and 7, each acking its own: each reads all n, in order."""
    conn = connect(url)
    got = {"slow": [], "fast": []}
    for name, prefetch in (("slow", 1), ("fast", 7)):
        ch = conn.channel()
        ch.basic_qos(prefetch_count=prefetch)

        def on_message(c, method, props, body, name=name):
            got[name].append(props.headers["x-stream-offset"])
            c.basic_ack(method.delivery_tag)

        ch.basic_consume(queue, on_message, arguments={"x-stream-offset": "first"})
    deadline = time.time() + 15
    while (len(got["slow"]) < int(n) or len(got["fast"]) < int(n)) and time.time() < deadline:
        conn.process_data_events(0.05)
    emit("got", slow=got["slow"], fast=got["fast"])
    conn.close()


def aged(url, queue, age, segment, n, size, pause):
    """Declares a stream with x-max-age `age` and segments of `segment` bytes, publishes n messages
    of `size` bytes ("old<i>:xxx", confirmed), waits `pause` seconds (past the age), then n more
    ("new<i>:xxx"): retention may now remove the segments holding only old messages."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments={**STREAM, "x-max-age": age, "x-stream-max-segment-size-bytes": int(segment)})
    ch.confirm_delivery()
    for i in range(int(n)):
        ch.basic_publish("", queue, (b"old%d:" % i).ljust(int(size), b"o"))
    time.sleep(float(pause))
    for i in range(int(n)):
        ch.basic_publish("", queue, (b"new%d:" % i).ljust(int(size), b"n"))
    emit("published", n=2 * int(n))
    conn.close()


COMMANDS = {"declare_publish": declare_publish, "consume": consume, "credit": credit, "misuse": misuse, "declare": declare, "fill": fill, "via_exchange": via_exchange, "after": after, "two_readers": two_readers, "aged": aged}

if __name__ == "__main__":
    url, cmd, *rest = sys.argv[1:]
    try:
        COMMANDS[cmd](url, *rest)
        emit("done")
    except Exception as exc:  # report, don't crash: the test reads the JSON
        report_exception(exc)
        sys.exit(1)
