"""kombu (Debian python3-kombu, py-amqp transport): produce with publisher confirms and consume
back, a JSON body and headers holding integers beyond 32 bits. Usage: kombu_roundtrip.py URL NAME"""
import sys

from kombu import Connection, Exchange, Queue

from common import HEADERS, emit

url, name = sys.argv[1], sys.argv[2]
exchange = Exchange(name + "-x", type="direct", durable=False, auto_delete=True)
queue = Queue(name, exchange=exchange, routing_key="rk", durable=False, auto_delete=True)
with Connection(url, transport_options={"confirm_publish": True}, connect_timeout=10) as conn:
    producer = conn.Producer(serializer="json")
    producer.publish({"n": 1, "big": 2**40}, exchange=exchange, routing_key="rk", declare=[queue], headers=HEADERS, retry=False)
    emit("published")
    got = []

    def on_message(body, message):
        got.append((body, message.headers))
        message.ack()

    with conn.Consumer(queue, callbacks=[on_message], accept=["json"]):
        while not got:
            conn.drain_events(timeout=10)
    emit("consumed", body=got[0][0], headers=got[0][1])

    simple = conn.SimpleQueue(name + "-simple", serializer="json")
    simple.put({"hello": "world"}, headers={"big": 2**40})
    m = simple.get(block=True, timeout=10)
    emit("simple", body=m.payload, headers=m.headers)
    m.ack()
    simple.close()
    # Deleted after the consumer is cancelled: deleting it first gets a basic.cancel from the broker.
    conn.default_channel.queue_delete(name + "-simple")
emit("done")
