"""py-amqp (Debian python3-amqp, the transport under kombu and Celery): publish with headers that
hold integers beyond 32 bits (sent as 'L'), with publisher confirms, then get and consume them
back; then the same header through a headers exchange match. Usage: pyamqp_roundtrip.py URL NAME"""
import sys

import amqp

from common import HEADERS, emit, url_parts

url, name = sys.argv[1], sys.argv[2]
host, user, password, vhost = url_parts(url)
conn = amqp.Connection(host=host, userid=user, password=password, virtual_host=vhost, confirm_publish=True)
conn.connect()
ch = conn.channel()
ch.queue_declare(name, durable=False, auto_delete=False)

# confirm_publish: basic_publish waits for the broker's ack (and raises on a nack).
ch.basic_publish(amqp.Message(b"hello", application_headers=HEADERS, content_type="text/plain", delivery_mode=2), exchange="", routing_key=name)
emit("confirmed")
m = ch.basic_get(name, no_ack=True)
emit("get", body=m.body, headers=m.properties.get("application_headers"), content_type=m.properties.get("content_type"))

ch.basic_publish(amqp.Message(b"again", application_headers=HEADERS), exchange="", routing_key=name)
received = []


def on_message(msg):
    received.append(msg)
    msg.channel.basic_ack(msg.delivery_tag)


tag = ch.basic_consume(name, callback=on_message)
while not received:
    conn.drain_events(timeout=10)
ch.basic_cancel(tag)
emit("consumed", body=received[0].body, headers=received[0].properties.get("application_headers"))

x, hq = name + "-hx", name + "-hq"
ch.exchange_declare(x, "headers", durable=False, auto_delete=True)
ch.queue_declare(hq, durable=False, exclusive=True)
ch.queue_bind(hq, x, arguments={"x-match": "all", "big": 2**40})
ch.basic_publish(amqp.Message(b"match", application_headers={"big": 2**40, "other": 1}), exchange=x)
ch.basic_publish(amqp.Message(b"no match", application_headers={"big": 2**40 + 1}), exchange=x)
first = ch.basic_get(hq, no_ack=True)
second = ch.basic_get(hq, no_ack=True)
emit("headers_exchange", first=first.body if first else None, second=second.body if second else None)

ch.queue_delete(name)
ch.exchange_delete(x)
conn.close()
emit("done")
