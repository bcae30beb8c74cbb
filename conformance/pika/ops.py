"""Single broker operations with pika, for conformance tests (JSON events on stdout).

usage: ops.py <url> <command> [args...]
"""
import sys
import time

import pika

from common import connect, emit, report_exception


def passive_declare_with_flags(url, queue):
    """Passive declare with flags/arguments that differ from the queue's: they must be ignored."""
    conn = connect(url)
    ch = conn.channel()
    ok = ch.queue_declare(
        queue=queue, passive=True, durable=False, exclusive=False, auto_delete=True, arguments={"x-max-length": 99}
    )
    emit("declare_ok", queue=ok.method.queue, message_count=ok.method.message_count,
         consumer_count=ok.method.consumer_count)
    conn.close()


def cancel_notify(url, queue):
    """Consume, delete the queue from another connection, expect the broker's basic.cancel."""
    conn = connect(url)
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume(queue=queue, on_message_callback=lambda *a: None)
    emit("consuming", consumer_tag=tag)
    other = connect(url)
    other.channel().queue_delete(queue=queue)
    other.close()
    deadline = time.time() + 10
    while not cancelled and time.time() < deadline:
        conn.process_data_events(time_limit=0.1)
    if cancelled:
        emit("consumer_cancelled", consumer_tag=cancelled[0], matches=cancelled[0] == tag)
    emit("channel_still_open", is_open=ch.is_open)
    conn.close()


def flow_false(url):
    """channel.flow(active=false): RabbitMQ answers 540 NOT_IMPLEMENTED with connection.close."""
    conn = connect(url)
    ch = conn.channel()
    ch.flow(False)
    emit("flow_ok")


def flow_true(url):
    conn = connect(url)
    ch = conn.channel()
    active = ch.flow(True)
    emit("flow_ok", active=active)
    conn.close()


def recover_no_requeue(url):
    conn = connect(url)
    ch = conn.channel()
    ch.basic_recover(requeue=False)
    emit("recover_ok")


def qos_prefetch_size(url, size):
    conn = connect(url)
    ch = conn.channel()
    ch.basic_qos(prefetch_size=int(size), prefetch_count=0)
    emit("qos_ok")


def tx_commit_without_select(url):
    conn = connect(url)
    ch = conn.channel()
    try:
        ch.tx_commit()
        emit("commit_ok")
    except Exception as exc:
        report_exception(exc)
    # soft error: the connection still works on a new channel
    ch2 = conn.channel()
    ch2.queue_declare(queue="", exclusive=True)
    emit("connection_alive")
    conn.close()


def tx_rollback_without_select(url):
    conn = connect(url)
    ch = conn.channel()
    ch.tx_rollback()
    emit("rollback_ok")


def tx_then_confirm(url):
    conn = connect(url)
    ch = conn.channel()
    ch.tx_select()
    emit("tx_select_ok")
    ch.confirm_delivery()
    emit("confirm_ok")


def confirm_then_tx(url):
    conn = connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    emit("confirm_ok")
    ch.tx_select()
    emit("tx_select_ok")


def connect_only(url):
    """Just connect (used with bad credentials / vhosts)."""
    conn = connect(url)
    emit("connected")
    conn.close()


def server_properties(url):
    conn = connect(url)
    props = conn._impl.server_properties  # pylint: disable=protected-access
    caps = props.get("capabilities", {})
    emit("server_properties", capabilities={k: v for k, v in caps.items()},
         product=props.get("product", b"").decode() if isinstance(props.get("product"), bytes) else props.get("product"))
    conn.close()


COMMANDS = {name: fn for name, fn in list(globals().items()) if callable(fn) and not name.startswith("_")
            and name not in ("connect", "emit", "report_exception")}

if __name__ == "__main__":
    url, cmd, *args = sys.argv[1:]
    try:
        COMMANDS[cmd](url, *args)
        emit("done")
    except Exception as exc:  # report, don't crash: the test reads the JSON
        report_exception(exc)
        sys.exit(1)
