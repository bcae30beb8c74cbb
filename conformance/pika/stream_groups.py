"""pika against warren's super streams, named readers and consumer groups (conformance/stream-groups.test.ts).

Commands (argv: url, command, args...):
  declare SUPER N                 declare a super stream of N partitions, print its partitions
  delete SUPER N                  delete the super stream's exchange, then print for each partition
                                  whether it is still there (a passive declare: 404 when gone)
  publish SUPER KEYS PER          publish PER messages for each of KEYS keys (routing key = key), confirmed
  read STREAM READER COUNT [OFF]  consume COUNT messages as named reader READER (starting at OFF when
                                  the reader is new), ack each, print them
  member SUPER N GROUP [ACK_MS]   consume every partition in consumer group GROUP until killed, print
                                  each delivery (key, seq, partition) once processed, and each
                                  basic.cancel from the server (a partition taken away), consuming
                                  again at once to stand by for it
  holder SUPER N GROUP ACKS       consume every partition in GROUP with prefetch 10, ack only the first
                                  ACKS deliveries of each and hold the rest unacked; print each delivery
                                  and each basic.cancel from the server (not consuming again)
"""
import json
import sys
import time

import pika

from common import connect, emit, report_exception


def declare(url, name, n):
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(name, "direct", durable=True, arguments={"x-super-stream": True, "x-partitions": int(n)})
    for i in range(int(n)):
        ok = ch.queue_declare(f"{name}-{i}", passive=True)
        emit("partition", name=ok.method.queue)
    conn.close()


def delete(url, name, n):
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_delete(name)
    emit("deleted", name=name)
    for i in range(int(n)):
        try:
            ch.queue_declare(f"{name}-{i}", passive=True)
            emit("partition", name=f"{name}-{i}", exists=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            emit("partition", name=f"{name}-{i}", exists=False, code=exc.reply_code)
            ch = conn.channel()
    conn.close()


def publish(url, name, keys, per):
    conn = connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    for seq in range(int(per)):
        for k in range(int(keys)):
            key = f"key-{k}"
            ch.basic_publish(name, key, json.dumps({"key": key, "seq": seq}).encode())
    emit("published", count=int(keys) * int(per))
    conn.close()


def read(url, stream, reader, count, offset=None):
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=10)
    got = []

    def on_message(c, method, props, body):
        got.append(method)
        emit("delivery", offset=props.headers["x-stream-offset"], body=body.decode())
        c.basic_ack(method.delivery_tag)
        if len(got) >= int(count):
            c.stop_consuming()

    args = {"x-stream-reader": reader}
    if offset is not None:
        args["x-stream-offset"] = offset
    ch.basic_consume(stream, on_message, arguments=args)
    ch.start_consuming()
    conn.close()
    emit("done", count=len(got))


def member(url, name, n, group, ack_ms="0"):
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=20)
    delay = int(ack_ms) / 1000.0
    partition_of = {}

    def subscribe(stream):
        tag = ch.basic_consume(stream, on_message, arguments={"x-consumer-group": group, "x-stream-offset": "first"})
        partition_of[tag] = stream

    def on_message(c, method, props, body):
        if delay:
            time.sleep(delay)
        msg = json.loads(body)
        emit("processed", key=msg["key"], seq=msg["seq"], stream=partition_of.get(method.consumer_tag), offset=props.headers["x-stream-offset"])
        c.basic_ack(method.delivery_tag)

    def on_cancel(frame):
        stream = partition_of.pop(frame.method.consumer_tag, None)
        emit("cancelled", stream=stream)
        # Stand by for the partition again, as a Kafka consumer keeps its subscription.
        if stream is not None:
            conn.add_callback_threadsafe(lambda: subscribe(stream))

    ch.add_on_cancel_callback(on_cancel)
    for i in range(int(n)):
        subscribe(f"{name}-{i}")
    emit("ready")
    ch.start_consuming()


def holder(url, name, n, group, acks):
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=10)
    partition_of = {}
    seen = {}

    def on_message(c, method, props, body):
        stream = partition_of.get(method.consumer_tag)
        seen[stream] = seen.get(stream, 0) + 1
        emit("delivery", stream=stream, offset=props.headers["x-stream-offset"])
        if seen[stream] <= int(acks):
            c.basic_ack(method.delivery_tag)

    def on_cancel(frame):
        emit("cancelled", stream=partition_of.pop(frame.method.consumer_tag, None))

    ch.add_on_cancel_callback(on_cancel)
    for i in range(int(n)):
        tag = ch.basic_consume(f"{name}-{i}", on_message, arguments={"x-consumer-group": group, "x-stream-offset": "first"})
        partition_of[tag] = f"{name}-{i}"
    emit("ready")
    ch.start_consuming()


def main():
    url, cmd, *rest = sys.argv[1:]
    try:
        {"declare": declare, "delete": delete, "publish": publish, "read": read, "member": member, "holder": holder}[cmd](url, *rest)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event for the test
        report_exception(exc)


if __name__ == "__main__":
    main()
