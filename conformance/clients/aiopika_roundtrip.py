"""aio-pika (Debian python3-aio-pika): publish with publisher confirms and a header table, then get
and consume back. Usage: aiopika_roundtrip.py URL NAME"""
import asyncio
import sys

import aio_pika

from common import HEADERS, emit


def plain(v):
    """aio-pika hands headers out through a proxy; make plain values of them for JSON."""
    if hasattr(v, "items"):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return v


async def main(url, name):
    conn = await aio_pika.connect(url, timeout=10)
    async with conn:
        ch = await conn.channel(publisher_confirms=True)
        q = await ch.declare_queue(name, auto_delete=False)
        confirmation = await ch.default_exchange.publish(
            aio_pika.Message(b"hello", headers=HEADERS, content_type="text/plain", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=name,
        )
        emit("confirmed", kind=type(confirmation).__name__)
        m = await q.get(no_ack=True, timeout=10)
        emit("get", body=m.body, headers=plain(m.headers), content_type=m.content_type)
        await ch.default_exchange.publish(aio_pika.Message(b"again", headers=HEADERS), routing_key=name)
        async with q.iterator() as it:
            async for m in it:
                async with m.process():
                    emit("consumed", body=m.body, headers=plain(m.headers))
                    break
        await q.delete(if_unused=False, if_empty=False)
    emit("done")


asyncio.run(main(sys.argv[1], sys.argv[2]))
