"""RabbitMQ extensions through pika: TTL, dead-lettering (x-death as pika decodes it, with Python
types), delivery limits, overflow with confirms, priorities, single active consumer, consumer
priorities, CC/BCC, alternate exchanges, direct reply-to, argument validation (JSON events on stdout).

usage: extensions.py <url> <command> [args...]
"""
import datetime
import json
import sys
import time

import pika
from pika import exceptions as pe

from common import connect, emit, report_exception


def typed(v):
    """A value with its Python type as pika decoded it: {"type": ..., "value": ...}."""
    if isinstance(v, dict):
        return {"type": "dict", "value": {k: typed(x) for k, x in v.items()}}
    if isinstance(v, list):
        return {"type": "list", "value": [typed(x) for x in v]}
    if isinstance(v, datetime.datetime):
        return {"type": "datetime", "value": v.replace(tzinfo=None).isoformat()}
    if isinstance(v, bytes):
        return {"type": "bytes", "value": v.decode("utf-8", "replace")}
    return {"type": type(v).__name__, "value": v}


def wait_get(ch, queue, timeout=10.0):
    """basic_get (auto-ack) until a message arrives; (method, props, body) or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        method, props, body = ch.basic_get(queue=queue, auto_ack=True)
        if method is not None:
            return method, props, body
        time.sleep(0.02)
    return None


def emit_message(event, got):
    method, props, body = got
    emit(
        event,
        body=body,
        exchange=method.exchange,
        routing_key=method.routing_key,
        redelivered=method.redelivered,
        expiration=props.expiration,
        priority=props.priority,
        correlation_id=props.correlation_id,
        headers=typed(props.headers) if props.headers is not None else None,
    )


def pump(conn, cond, timeout=10.0):
    deadline = time.time() + timeout
    while not cond() and time.time() < deadline:
        conn.process_data_events(time_limit=0.05)


def dead_letter_ttl(url, queue, dlx, dlq):
    """A message with an expiration property expires into a DLX; emit the dead-lettered copy."""
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(exchange=dlx, exchange_type="fanout", auto_delete=True)
    ch.queue_declare(queue=dlq)
    ch.queue_bind(queue=dlq, exchange=dlx)
    ch.queue_declare(queue=queue, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish(
        exchange="",
        routing_key=queue,
        body=b"expiring",
        properties=pika.BasicProperties(expiration="50", headers={"app": "kept"}, correlation_id="c1"),
    )
    got = wait_get(ch, dlq)
    if got is None:
        emit("timeout")
    else:
        emit_message("dead_lettered", got)
    ch.queue_delete(queue=queue)
    ch.queue_delete(queue=dlq)
    conn.close()


def delivery_limit(url, queue, dlx, dlq, queue_type, limit):
    """Nack-requeue every delivery until the message is dead-lettered for its delivery limit."""
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(exchange=dlx, exchange_type="fanout", auto_delete=True)
    ch.queue_declare(queue=dlq)
    ch.queue_bind(queue=dlq, exchange=dlx)
    args = {"x-delivery-limit": int(limit), "x-dead-letter-exchange": dlx}
    if queue_type != "classic":
        args["x-queue-type"] = queue_type
    ch.queue_declare(queue=queue, durable=True, arguments=args)
    ch.basic_publish(exchange="", routing_key=queue, body=b"poison", properties=pika.BasicProperties(headers={"app": 1}))
    deliveries = []

    def on_message(c, method, props, body):
        deliveries.append(1)
        emit("delivery", redelivered=method.redelivered, headers=typed(props.headers or {}))
        c.basic_nack(delivery_tag=method.delivery_tag, requeue=True)

    ch.basic_qos(prefetch_count=1)
    ch.basic_consume(queue=queue, on_message_callback=on_message)
    other = conn.channel()
    deadline = time.time() + 10
    got = None
    while got is None and time.time() < deadline:
        conn.process_data_events(time_limit=0.05)
        method, props, body = other.basic_get(queue=dlq, auto_ack=True)
        if method is not None:
            got = (method, props, body)
    if got is None:
        emit("timeout")
    else:
        emit_message("dead_lettered", got)
    ch.close()
    other.queue_delete(queue=queue)
    other.queue_delete(queue=dlq)
    conn.close()


def overflow_confirms(url, queue, overflow, dlx):
    """max-length 1 with x-overflow; publish three in confirm mode, report ack/nack for each."""
    conn = connect(url)
    ch = conn.channel()
    args = {"x-max-length": 1, "x-overflow": overflow}
    if dlx != "-":
        ch.exchange_declare(exchange=dlx, exchange_type="fanout", auto_delete=True)
        ch.queue_declare(queue=dlx + "-q")
        ch.queue_bind(queue=dlx + "-q", exchange=dlx)
        args["x-dead-letter-exchange"] = dlx
    ch.queue_declare(queue=queue, arguments=args)
    ch.confirm_delivery()
    for text in ("one", "two", "three"):
        try:
            ch.basic_publish(exchange="", routing_key=queue, body=text.encode())
            emit("confirmed", body=text)
        except pe.NackError:
            emit("nacked", body=text)
    left = ch.queue_declare(queue=queue, passive=True).method.message_count
    emit("queue", message_count=left)
    if dlx != "-":
        while True:
            got = wait_get(ch, dlx + "-q", timeout=0.5)
            if got is None:
                break
            emit_message("dead_lettered", got)
        ch.queue_delete(queue=dlx + "-q")
    ch.queue_delete(queue=queue)
    conn.close()


def priorities(url, queue):
    """x-max-priority 10: publish with priorities through pika, consume the backlog in order."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue, arguments={"x-max-priority": 10})
    for text, prio in (("p1", 1), ("none", None), ("p9", 9), ("p5", 5), ("p9b", 9), ("p200", 200)):
        ch.basic_publish(exchange="", routing_key=queue, body=text.encode(), properties=pika.BasicProperties(priority=prio))
    got = []
    ch.basic_consume(queue=queue, on_message_callback=lambda c, m, p, b: got.append((b.decode(), p.priority)), auto_ack=True)
    pump(conn, lambda: len(got) >= 6)
    emit("order", bodies=[b for b, _ in got], priorities=[p for _, p in got])
    ch.queue_delete(queue=queue)
    conn.close()


def single_active(url, queue):
    """Two consumers on a single-active-consumer queue; the first cancels, the second takes over."""
    conn = connect(url)
    ch1 = conn.channel()
    ch2 = conn.channel()
    ch1.queue_declare(queue=queue, arguments={"x-single-active-consumer": True})
    got = {"first": [], "second": []}
    tag1 = ch1.basic_consume(queue=queue, on_message_callback=lambda c, m, p, b: got["first"].append(b.decode()), auto_ack=True)
    ch2.basic_consume(queue=queue, on_message_callback=lambda c, m, p, b: got["second"].append(b.decode()), auto_ack=True)
    for i in range(3):
        ch1.basic_publish(exchange="", routing_key=queue, body=("a%d" % i).encode())
    pump(conn, lambda: len(got["first"]) + len(got["second"]) >= 3)
    conn.process_data_events(time_limit=0.2)
    emit("phase1", first=list(got["first"]), second=list(got["second"]))
    ch1.basic_cancel(tag1)
    for i in range(2):
        ch1.basic_publish(exchange="", routing_key=queue, body=("b%d" % i).encode())
    pump(conn, lambda: len(got["first"]) + len(got["second"]) >= 5)
    conn.process_data_events(time_limit=0.2)
    emit("phase2", first=list(got["first"]), second=list(got["second"]))
    ch1.queue_delete(queue=queue)
    conn.close()


def consumer_priorities(url, queue):
    """x-priority consume argument: the high-priority consumer fills its prefetch first."""
    conn = connect(url)
    lo = conn.channel()
    hi = conn.channel()
    lo.queue_declare(queue=queue)
    lo.basic_qos(prefetch_count=10)
    hi.basic_qos(prefetch_count=2)
    got = {"lo": [], "hi": []}
    lo.basic_consume(queue=queue, on_message_callback=lambda c, m, p, b: got["lo"].append(b.decode()))
    hi.basic_consume(queue=queue, on_message_callback=lambda c, m, p, b: got["hi"].append(b.decode()), arguments={"x-priority": 10})
    for i in range(5):
        lo.basic_publish(exchange="", routing_key=queue, body=("m%d" % i).encode())
    pump(conn, lambda: len(got["lo"]) + len(got["hi"]) >= 5)
    conn.process_data_events(time_limit=0.2)
    emit("distribution", hi=got["hi"], lo=got["lo"])
    lo.queue_delete(queue=queue)
    conn.close()


def cc_bcc(url, exchange, q_main, q_cc, q_bcc):
    """Publish with CC and BCC headers (an exchange and three queues set up by the caller)."""
    conn = connect(url)
    ch = conn.channel()
    ch.basic_publish(
        exchange=exchange,
        routing_key="main",
        body=b"m",
        properties=pika.BasicProperties(headers={"CC": ["cc"], "BCC": ["bcc"], "app": "x"}),
    )
    emit("published")
    conn.close()


def alternate_exchange(url, exchange, ae, aeq):
    """Mandatory publishes in confirm mode to an exchange with an alternate exchange."""
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(exchange=ae, exchange_type="fanout", auto_delete=True)
    ch.queue_declare(queue=aeq)
    ch.queue_bind(queue=aeq, exchange=ae)
    ch.exchange_declare(exchange=exchange, exchange_type="direct", auto_delete=True, arguments={"alternate-exchange": ae})
    ch.exchange_declare(exchange=exchange + "-lost", exchange_type="direct", auto_delete=True,
                        arguments={"alternate-exchange": exchange + "-missing"})
    ch.confirm_delivery()
    for x in (exchange, exchange + "-lost"):
        try:
            ch.basic_publish(exchange=x, routing_key="nobody", body=x.encode(), mandatory=True)
            emit("confirmed", exchange=x)
        except pe.UnroutableError as exc:
            emit("returned", exchange=x, count=len(exc.messages),
                 reply_code=exc.messages[0].method.reply_code, reply_text=exc.messages[0].method.reply_text)
    got = wait_get(ch, aeq)
    if got is not None:
        emit_message("caught", got)
    ch.exchange_delete(exchange=exchange + "-lost")
    ch.queue_delete(queue=aeq)
    conn.close()


def reply_to_client(url, rpc_queue, text):
    """Direct reply-to client: consume amq.rabbitmq.reply-to (no-ack), send one request, wait for the reply."""
    conn = connect(url)
    ch = conn.channel()
    replies = []
    tag = ch.basic_consume(queue="amq.rabbitmq.reply-to", auto_ack=True,
                           on_message_callback=lambda c, m, p, b: replies.append((m, p, b)))
    ch.basic_publish(exchange="", routing_key=rpc_queue, body=text.encode(),
                     properties=pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id="pika-1"))
    emit("sent", consumer_tag=tag)
    pump(conn, lambda: len(replies) >= 1)
    if replies:
        m, p, b = replies[0]
        emit("reply", body=b, correlation_id=p.correlation_id, exchange=m.exchange, routing_key=m.routing_key,
             consumer_tag=m.consumer_tag, redelivered=m.redelivered)
    else:
        emit("timeout")
    conn.close()


def reply_to_server(url, rpc_queue):
    """Answer one request on rpc_queue to its reply_to (a direct reply-to address)."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=rpc_queue, auto_delete=True)
    emit("ready")
    got = None
    deadline = time.time() + 10
    while got is None and time.time() < deadline:
        method, props, body = ch.basic_get(queue=rpc_queue, auto_ack=True)
        if method is None:
            time.sleep(0.02)
            continue
        got = (method, props, body)
        emit("request", body=body, reply_to=props.reply_to, correlation_id=props.correlation_id)
        ch.basic_publish(exchange="", routing_key=props.reply_to, body=b"re:" + body,
                         properties=pika.BasicProperties(correlation_id=props.correlation_id))
    conn.close()


def reply_to_misuse(url):
    """Consume amq.rabbitmq.reply-to in ack mode: 406 on the channel."""
    conn = connect(url)
    ch = conn.channel()
    try:
        ch.basic_consume(queue="amq.rabbitmq.reply-to", on_message_callback=lambda *a: None, auto_ack=False)
        emit("consume_ok")
    except Exception as exc:  # the channel error is the point
        report_exception(exc)
    ch2 = conn.channel()
    tag = ch2.basic_consume(queue="amq.rabbitmq.reply-to", on_message_callback=lambda *a: None, auto_ack=True)
    emit("consume_ok", consumer_tag=tag)
    try:
        ch2.basic_consume(queue="amq.rabbitmq.reply-to", on_message_callback=lambda *a: None, auto_ack=True)
        emit("second_consume_ok")
    except Exception as exc:
        report_exception(exc)
    conn.close()


def declare_many(url, cases_json):
    """queue.declare for each [name, flags, arguments] case, each on a fresh channel of one connection
    (pika encodes ints as signedint or long, strings as longstr); one outcome event per case."""
    conn = connect(url)
    for name, flags, args in json.loads(cases_json):
        ch = conn.channel()
        try:
            ok = ch.queue_declare(queue=name, durable="durable" in flags, exclusive="exclusive" in flags,
                                  auto_delete="auto_delete" in flags, arguments=args)
            emit("declare_ok", queue=ok.method.queue, message_count=ok.method.message_count)
            if "exclusive" not in flags:
                ch.queue_delete(queue=name)
            ch.close()
        except pe.ChannelClosedByBroker as exc:
            emit("channel_closed", queue=name, code=exc.reply_code, text=exc.reply_text)
    conn.close()


def deep_expiry(url, queue):
    """A, B (expiration 100), C; after 400 ms: message_count, then what a consumer gets."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    ch.basic_publish(exchange="", routing_key=queue, body=b"A")
    ch.basic_publish(exchange="", routing_key=queue, body=b"B", properties=pika.BasicProperties(expiration="100"))
    ch.basic_publish(exchange="", routing_key=queue, body=b"C")
    time.sleep(0.4)
    emit("count", message_count=ch.queue_declare(queue=queue, passive=True).method.message_count)
    got = []
    ch.basic_consume(queue=queue, on_message_callback=lambda c, m, p, b: got.append(b.decode()), auto_ack=True)
    pump(conn, lambda: len(got) >= 2)
    conn.process_data_events(time_limit=0.3)
    emit("consumed", bodies=got)
    ch.queue_delete(queue=queue)
    conn.close()


COMMANDS = {
    "dead_letter_ttl": dead_letter_ttl,
    "delivery_limit": delivery_limit,
    "overflow_confirms": overflow_confirms,
    "priorities": priorities,
    "single_active": single_active,
    "consumer_priorities": consumer_priorities,
    "cc_bcc": cc_bcc,
    "alternate_exchange": alternate_exchange,
    "reply_to_client": reply_to_client,
    "reply_to_server": reply_to_server,
    "reply_to_misuse": reply_to_misuse,
    "declare_many": declare_many,
    "deep_expiry": deep_expiry,
}

if __name__ == "__main__":
    url, cmd, *rest = sys.argv[1:]
    try:
        COMMANDS[cmd](url, *rest)
        emit("done")
    except Exception as exc:  # report, don't crash: the test reads the JSON
        report_exception(exc)
        sys.exit(1)
