# The pika side of the chaos run (bench/chaos.ts): a reconnecting publisher with confirms or a
# reconnecting consumer with manual acks, over a list of node addresses. It only reports, one
# line per event on stdout, and bench/chaos.ts checks the counters:
#   P <id>              about to publish message <id>
#   C <id>              message <id> confirmed
#   K                   the consumer connected (a channel open on a live node)
#   D <0|1> <body>      delivered (1: flagged redelivered), then acked
# Body of message <id>: "<id>|<sha256 hex of id>". Runs until its stdin closes.
#   /usr/bin/python3 bench/chaos-pika.py publish|consume QUEUE PORT [PORT...]

import hashlib
import sys
import threading
import time

import pika

mode, queue, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
stopping = threading.Event()


def watch_stdin():
    sys.stdin.read()
    stopping.set()


threading.Thread(target=watch_stdin, daemon=True).start()


def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def body_for(i):
    return ('%d|%s' % (i, hashlib.sha256(str(i).encode()).hexdigest())).encode()


def connect(n):
    port = ports[n % len(ports)]
    params = pika.ConnectionParameters('127.0.0.1', port, credentials=pika.PlainCredentials('guest', 'guest'),
                                       connection_attempts=1, socket_timeout=2, blocked_connection_timeout=5,
                                       heartbeat=5)
    return pika.BlockingConnection(params)


def publish():
    next_id, n = 1, 0
    while not stopping.is_set():
        n += 1
        try:
            conn = connect(n)
            ch = conn.channel()
            ch.confirm_delivery()
            ch.queue_declare(queue, durable=True)
            while not stopping.is_set():
                i = next_id
                next_id += 1
                say('P %d' % i)
                # Blocks until the broker confirms; raises on a nack or a lost connection.
                ch.basic_publish('', queue, body_for(i), pika.BasicProperties(delivery_mode=2))
                say('C %d' % i)
            conn.close()
        except Exception:
            time.sleep(0.1)


def consume():
    n = 0
    while not stopping.is_set():
        n += 1
        try:
            conn = connect(n)
            ch = conn.channel()
            ch.queue_declare(queue, durable=True)
            ch.basic_qos(prefetch_count=50)
            say('K')
            for method, _props, body in ch.consume(queue, inactivity_timeout=0.5):
                if stopping.is_set():
                    break
                if method is None:
                    continue
                say('D %d %s' % (1 if method.redelivered else 0, body.decode('latin-1')))
                ch.basic_ack(method.delivery_tag)
            conn.close()
        except Exception:
            time.sleep(0.1)


publish() if mode == 'publish' else consume()
