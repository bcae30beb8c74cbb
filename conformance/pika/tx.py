"""AMQP transactions with pika (tx.select / tx.commit / tx.rollback), JSON events on stdout.

usage: tx.py <url> <scenario> <queue>
Each scenario checks visible queue state from a second connection (passive declare counts).
"""
import sys

import pika

from common import connect, emit, report_exception


def count(observer, queue):
    ok = observer.queue_declare(queue=queue, passive=True)
    return ok.method.message_count


def setup(url, queue, n=0):
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    ch.queue_purge(queue=queue)
    for i in range(n):
        ch.basic_publish(exchange="", routing_key=queue, body=("m%d" % i).encode())
    obs_conn = connect(url)
    return conn, ch, obs_conn, obs_conn.channel()


def publish_commit(url, queue):
    conn, ch, obs_conn, obs = setup(url, queue)
    ch.tx_select()
    emit("tx_select_ok")
    for i in range(3):
        ch.basic_publish(exchange="", routing_key=queue, body=("t%d" % i).encode())
    emit("before_commit", count=count(obs, queue))
    ch.tx_commit()
    emit("after_commit", count=count(obs, queue))
    # The channel stays transactional: the next publish also waits for a commit.
    ch.basic_publish(exchange="", routing_key=queue, body=b"t3")
    emit("uncommitted_again", count=count(obs, queue))
    ch.tx_commit()
    emit("after_second_commit", count=count(obs, queue))
    bodies = []
    while True:
        method, props, body = obs.basic_get(queue=queue, auto_ack=True)
        if method is None:
            break
        bodies.append(body.decode())
    emit("bodies", bodies=bodies)
    conn.close()
    obs_conn.close()


def publish_rollback(url, queue):
    conn, ch, obs_conn, obs = setup(url, queue)
    ch.tx_select()
    ch.basic_publish(exchange="", routing_key=queue, body=b"rolled-back-1")
    ch.basic_publish(exchange="", routing_key=queue, body=b"rolled-back-2")
    ch.tx_rollback()
    emit("after_rollback", count=count(obs, queue))
    ch.basic_publish(exchange="", routing_key=queue, body=b"kept")
    ch.tx_commit()
    emit("after_commit", count=count(obs, queue))
    method, props, body = obs.basic_get(queue=queue, auto_ack=True)
    emit("got", body=body.decode() if body else None)
    conn.close()
    obs_conn.close()


def ack_commit(url, queue):
    conn, ch, obs_conn, obs = setup(url, queue, 3)
    ch.tx_select()
    tags = []
    for _ in range(2):
        method, props, body = ch.basic_get(queue=queue, auto_ack=False)
        tags.append(method.delivery_tag)
    for t in tags:
        ch.basic_ack(delivery_tag=t)
    ch.tx_commit()
    emit("committed", ready=count(obs, queue))
    ch.close()
    # acks were committed: closing the channel requeues nothing
    emit("after_close", ready=count(obs, queue))
    conn.close()
    obs_conn.close()


def ack_rollback(url, queue):
    conn, ch, obs_conn, obs = setup(url, queue, 3)
    ch.tx_select()
    tags = []
    for _ in range(2):
        method, props, body = ch.basic_get(queue=queue, auto_ack=False)
        tags.append(method.delivery_tag)
    for t in tags:
        ch.basic_ack(delivery_tag=t)
    ch.tx_rollback()
    emit("rolled_back", ready=count(obs, queue))
    ch.close()
    # the acks were discarded: the two messages were still unacked and come back
    emit("after_close", ready=count(obs, queue))
    redelivered = []
    while True:
        method, props, body = obs.basic_get(queue=queue, auto_ack=True)
        if method is None:
            break
        redelivered.append([body.decode(), method.redelivered])
    emit("queue", messages=redelivered)
    conn.close()
    obs_conn.close()


def reject_commit(url, queue):
    conn, ch, obs_conn, obs = setup(url, queue, 2)
    ch.tx_select()
    m1, _, _ = ch.basic_get(queue=queue, auto_ack=False)
    m2, _, _ = ch.basic_get(queue=queue, auto_ack=False)
    ch.basic_reject(delivery_tag=m1.delivery_tag, requeue=True)
    ch.basic_nack(delivery_tag=m2.delivery_tag, requeue=False)
    emit("before_commit", ready=count(obs, queue))
    ch.tx_commit()
    emit("after_commit", ready=count(obs, queue))
    conn.close()
    obs_conn.close()


SCENARIOS = {
    "publish_commit": publish_commit,
    "publish_rollback": publish_rollback,
    "ack_commit": ack_commit,
    "ack_rollback": ack_rollback,
    "reject_commit": reject_commit,
}

if __name__ == "__main__":
    url, scenario, queue = sys.argv[1:4]
    try:
        SCENARIOS[scenario](url, queue)
        emit("done")
    except Exception as exc:  # report, don't crash: the test reads the JSON
        report_exception(exc)
        sys.exit(1)
    finally:
        try:
            c = connect(url)
            c.channel().queue_delete(queue=queue)
            c.close()
        except Exception:  # pylint: disable=broad-except
            pass
