"""Shared bits for the pika conformance scripts: JSON-lines output and error reporting."""
import json
import sys

import pika
from pika import exceptions as pe


def emit(event, **fields):
    """Print one JSON event per line (the test parses stdout)."""
    rec = {"event": event}
    for k, v in fields.items():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        rec[k] = v
    sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()


def connect(url, **overrides):
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = 10
    params.blocked_connection_timeout = 30
    for k, v in overrides.items():
        setattr(params, k, v)
    return pika.BlockingConnection(params)


def report_exception(exc):
    """Turn a pika exception into a JSON event with the server's code and text."""
    if isinstance(exc, pe.ChannelClosedByBroker):
        emit("channel_closed", code=exc.reply_code, text=exc.reply_text)
    elif isinstance(exc, pe.ConnectionClosedByBroker):
        emit("connection_closed", code=exc.reply_code, text=exc.reply_text)
    elif isinstance(exc, pe.ProbableAccessDeniedError):
        emit("access_denied", text=str(exc))
    elif isinstance(exc, pe.ProbableAuthenticationError):
        emit("auth_error", text=str(exc))
    elif isinstance(exc, pe.AMQPConnectionError):
        emit("connection_error", kind=type(exc).__name__, text=repr(exc))
    else:
        emit("exception", kind=type(exc).__name__, text=repr(exc))


def props_dict(props):
    return {
        "correlation_id": props.correlation_id,
        "reply_to": props.reply_to,
        "delivery_mode": props.delivery_mode,
        "content_type": props.content_type,
        "headers": props.headers,
    }
