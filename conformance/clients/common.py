"""JSON-lines output shared by the Python client scripts (py-amqp, kombu, Celery, aio-pika)."""
import json
import sys
from urllib.parse import unquote, urlparse


def emit(event, **fields):
    """One JSON event per line on stdout: the conformance test parses them."""
    rec = {"event": event}
    rec.update(fields)
    sys.stdout.write(json.dumps(rec, default=_plain) + "\n")
    sys.stdout.flush()


def _plain(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def url_parts(url):
    """host:port, user, password, vhost from amqp://user:pass@host:port/vhost."""
    u = urlparse(url)
    vhost = unquote(u.path[1:]) if len(u.path) > 1 else "/"
    return f"{u.hostname}:{u.port or 5672}", unquote(u.username or "guest"), unquote(u.password or "guest"), vhost


# Headers every client publishes: an int beyond 32 bits (py-amqp writes it as 'L'), a negative
# one, a small one, a string, a nested table and an array mixing both sizes.
HEADERS = {
    "big": 2**40,
    "neg": -(2**40),
    "small": 7,
    "s": "text",
    "nested": {"n": 2**33, "t": "x"},
    "arr": [1, 2**35, "x"],
}
