// What the kill -9 tests share: a connection that does not throw on the broker's death, and
// taking every ready message of a queue with its redelivered flag.

import amqp, { type ChannelModel, type GetMessage } from 'amqplib';

export async function connect(url: string): Promise<ChannelModel> {
  // noDelay: a get after an ack would otherwise wait out Nagle against delayed ACKs (~40 ms each).
  const c = await amqp.connect(url, { noDelay: true });
  c.on('error', () => {});
  return c;
}

/** Takes every ready message of a queue with basic.get, acking each; returns bodies and flags. */
export async function drain(c: ChannelModel, queue: string): Promise<{ body: string; redelivered: boolean }[]> {
  const ch = await c.createChannel();
  const out: { body: string; redelivered: boolean }[] = [];
  for (;;) {
    const m = (await ch.get(queue)) as GetMessage | false;
    if (m === false) break;
    out.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
    ch.ack(m);
  }
  await ch.close();
  return out;
}
