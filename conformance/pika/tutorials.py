"""The RabbitMQ tutorials, written the way the pika tutorials do it.

usage: tutorials.py <url> <command> [args...]   (JSON events on stdout)
"""
import sys
import uuid

import pika

from common import connect, emit, props_dict, report_exception

IDLE = 15  # seconds without a message before a consumer gives up (hang guard only)


def send(url, queue, *bodies):
    """Tutorial 1 sender: declare the queue, publish each body to the default exchange."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    for b in bodies:
        ch.basic_publish(exchange="", routing_key=queue, body=b.encode())
    emit("sent", count=len(bodies))
    conn.close()


def receive(url, queue, count):
    """Tutorial 1 receiver: auto-ack consumer; stop after `count` messages."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    emit("ready")
    n = 0
    for method, props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=IDLE):
        if method is None:
            emit("idle_timeout")
            break
        emit("message", body=body, redelivered=method.redelivered, routing_key=method.routing_key)
        n += 1
        if n >= int(count):
            break
    ch.cancel()
    conn.close()


def new_task(url, queue, *bodies):
    """Tutorial 2 producer: durable queue, persistent messages."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue, durable=True)
    for b in bodies:
        ch.basic_publish(
            exchange="",
            routing_key=queue,
            body=b.encode(),
            properties=pika.BasicProperties(delivery_mode=2),
        )
    emit("sent", count=len(bodies))
    conn.close()


def worker(url, queue, count):
    """Tutorial 2 worker: prefetch 1, manual ack after 'work'."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue, durable=True)
    ch.basic_qos(prefetch_count=1)
    emit("ready")
    n = 0
    for method, props, body in ch.consume(queue, inactivity_timeout=IDLE):
        if method is None:
            emit("idle_timeout")
            break
        emit("message", body=body, delivery_mode=props.delivery_mode, redelivered=method.redelivered)
        ch.basic_ack(delivery_tag=method.delivery_tag)
        n += 1
        if n >= int(count):
            break
    ch.cancel()
    conn.close()


def emit_log(url, exchange, ex_type, routing_key, *bodies):
    """Tutorials 3-5 producer: declare the exchange and publish."""
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(exchange=exchange, exchange_type=ex_type)
    for b in bodies:
        ch.basic_publish(exchange=exchange, routing_key=routing_key, body=b.encode())
    emit("sent", count=len(bodies))
    conn.close()


def subscribe(url, exchange, ex_type, count, *binding_keys):
    """Tutorials 3-5 consumer: exclusive server-named queue bound with each key."""
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(exchange=exchange, exchange_type=ex_type)
    result = ch.queue_declare(queue="", exclusive=True)
    qname = result.method.queue
    for key in binding_keys or [""]:
        ch.queue_bind(exchange=exchange, queue=qname, routing_key=key)
    emit("ready", queue=qname)
    n = 0
    for method, props, body in ch.consume(qname, auto_ack=True, inactivity_timeout=IDLE):
        if method is None:
            emit("idle_timeout")
            break
        emit("message", body=body, routing_key=method.routing_key, exchange=method.exchange)
        n += 1
        if n >= int(count):
            break
    ch.cancel()
    conn.close()


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def rpc_server(url, queue, count):
    """Tutorial 6 server: reply to reply_to with the request's correlation_id."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    ch.basic_qos(prefetch_count=1)
    emit("ready")
    n = 0
    for method, props, body in ch.consume(queue, inactivity_timeout=IDLE):
        if method is None:
            emit("idle_timeout")
            break
        req = int(body)
        emit("request", n=req, correlation_id=props.correlation_id, reply_to=props.reply_to)
        ch.basic_publish(
            exchange="",
            routing_key=props.reply_to,
            properties=pika.BasicProperties(correlation_id=props.correlation_id),
            body=str(fib(req)).encode(),
        )
        ch.basic_ack(delivery_tag=method.delivery_tag)
        n += 1
        if n >= int(count):
            break
    ch.cancel()
    conn.close()


def rpc_client(url, queue, *numbers):
    """Tutorial 6 client: exclusive callback queue, correlation ids, wait for each reply."""
    conn = connect(url)
    ch = conn.channel()
    result = ch.queue_declare(queue="", exclusive=True)
    callback_queue = result.method.queue
    responses = {}

    def on_response(c, method, props, body):
        responses[props.correlation_id] = body

    ch.basic_consume(queue=callback_queue, on_message_callback=on_response, auto_ack=True)
    for n in numbers:
        corr_id = str(uuid.uuid4())
        ch.basic_publish(
            exchange="",
            routing_key=queue,
            properties=pika.BasicProperties(reply_to=callback_queue, correlation_id=corr_id),
            body=str(n).encode(),
        )
        conn.process_data_events(time_limit=0)
        waited = 0.0
        while corr_id not in responses and waited < IDLE:
            conn.process_data_events(time_limit=0.2)
            waited += 0.2
        if corr_id not in responses:
            emit("rpc_timeout", n=int(n))
            break
        emit("reply", n=int(n), result=int(responses[corr_id]), callback_queue=callback_queue)
    conn.close()


COMMANDS = {
    "send": send,
    "receive": receive,
    "new_task": new_task,
    "worker": worker,
    "emit_log": emit_log,
    "subscribe": subscribe,
    "rpc_server": rpc_server,
    "rpc_client": rpc_client,
}

if __name__ == "__main__":
    url, cmd, *args = sys.argv[1:]
    try:
        COMMANDS[cmd](url, *args)
        emit("done")
    except Exception as exc:  # report, don't crash: the test reads the JSON
        report_exception(exc)
        sys.exit(1)
