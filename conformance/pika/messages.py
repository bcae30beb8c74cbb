"""Message content with pika: read properties, publish big bodies (JSON events on stdout).

usage: messages.py <url> <command> [args...]
"""
import sys

import pika

from common import connect, emit, report_exception


def _plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def get_props(url, queue):
    conn = connect(url)
    ch = conn.channel()
    method, props, body = ch.basic_get(queue=queue, auto_ack=True)
    if method is None:
        emit("empty")
    else:
        emit(
            "message",
            body=body,
            content_type=props.content_type,
            correlation_id=props.correlation_id,
            reply_to=props.reply_to,
            delivery_mode=props.delivery_mode,
            headers=_plain(props.headers),
        )
    conn.close()


def publish_big(url, queue, size):
    size = int(size)
    data = ("0123456789" * (size // 10 + 1))[:size].encode()
    conn = connect(url)
    ch = conn.channel()
    ch.basic_publish(exchange="", routing_key=queue, body=data)
    emit("published", size=len(data))
    conn.close()


COMMANDS = {"get_props": get_props, "publish_big": publish_big}

if __name__ == "__main__":
    url, cmd, *args = sys.argv[1:]
    try:
        COMMANDS[cmd](url, *args)
        emit("done")
    except Exception as exc:  # report, don't crash: the test reads the JSON
        report_exception(exc)
        sys.exit(1)
