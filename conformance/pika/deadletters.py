"""Dead letters with pika, for the peek/redrive conformance tests (JSON events on stdout).

usage: deadletters.py <url> reject <work> <dlq> <n>   publish n persistent messages to work
                                                       (dead-lettering into dlq) and reject each
       deadletters.py <url> drain <queue>              basic.get and ack every message
"""
import sys

import pika

from common import connect, emit


def reject(url, work, dlq, n):
    conn = connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare(queue=dlq, durable=True)
    ch.queue_declare(queue=work, durable=True,
                     arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
    for i in range(n):
        ch.basic_publish("", work, ("job-%d" % i).encode(),
                         pika.BasicProperties(delivery_mode=2, message_id="id-%d" % i, headers={"attempt": 1}))
    rejected = 0
    while True:
        method, _props, _body = ch.basic_get(work)
        if method is None:
            break
        ch.basic_reject(method.delivery_tag, requeue=False)
        rejected += 1
    emit("rejected", count=rejected)
    conn.close()


def drain(url, queue):
    conn = connect(url)
    ch = conn.channel()
    while True:
        method, props, body = ch.basic_get(queue)
        if method is None:
            break
        deaths = (props.headers or {}).get("x-death") or []
        first = deaths[0] if deaths else {}
        emit("message", body=body, redelivered=method.redelivered, message_id=props.message_id,
             death_queue=first.get("queue"), death_reason=first.get("reason"), death_count=first.get("count"))
        ch.basic_ack(method.delivery_tag)
    emit("drained")
    conn.close()


if __name__ == "__main__":
    url, cmd = sys.argv[1], sys.argv[2]
    if cmd == "reject":
        reject(url, sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "drain":
        drain(url, sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
