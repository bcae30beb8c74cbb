"""pika over TLS (ssl_options): tls.py URL CA [CERT KEY] [--external].

URL gives host, port, user and password (amqps://user:pass@host:port); CA is the PEM file the
server's certificate must verify against; CERT/KEY a client certificate; --external logs in
with SASL EXTERNAL (ExternalCredentials) instead of the URL's user and password. Prints
"connected", then round-trips one message through a
server-named queue ("got"), or the error.
"""
import ssl
import sys
import urllib.parse

import pika
from pika.credentials import ExternalCredentials, PlainCredentials

from common import emit, report_exception


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    external = "--external" in sys.argv
    url = urllib.parse.urlparse(args[0])
    ca = args[1]
    context = ssl.create_default_context(cafile=ca)
    if len(args) >= 4:
        context.load_cert_chain(args[2], args[3])
    creds = ExternalCredentials() if external else PlainCredentials(url.username or "guest", url.password or "guest")
    params = pika.ConnectionParameters(
        host=url.hostname,
        port=url.port,
        credentials=creds,
        ssl_options=pika.SSLOptions(context, "localhost"),
        connection_attempts=1,
        socket_timeout=10,
    )
    try:
        conn = pika.BlockingConnection(params)
    except Exception as exc:  # noqa: BLE001 - reported as an event
        report_exception(exc)
        return
    emit("connected")
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"pika over tls")
    for _ in range(50):
        method, _props, body = ch.basic_get(q, auto_ack=True)
        if method is not None:
            emit("got", body=body)
            break
        conn.sleep(0.05)
    conn.close()
    emit("closed")


if __name__ == "__main__":
    main()
