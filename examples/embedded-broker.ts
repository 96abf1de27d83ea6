/**
 * An in-process broker for tests: no JVM, no Docker. Starts on a free port in a temporary
 * directory, round-trips a message, and stops.
 * Run: npx tsx examples/embedded-broker.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../src/broker/broker.js';
import { Admin, Client, Consumer, Producer } from '../src/client/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-example-'));
const broker = await Broker.start({ dataDir, port: 0 });
const client = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`] });
try {
  await new Admin(client).createTopic({ name: 'test-topic', partitions: 1 });
  const { baseOffset } = await new Producer(client).produceMessage({
    topic: 'test-topic',
    messages: [{ key: 'id-1', value: 'embedded hello' }],
  });
  const { messages } = await new Consumer(client).fetchFrom({
    topic: 'test-topic',
    partition: 0,
    offset: baseOffset,
  });
  console.log(`broker ${broker.brokerId} on port ${broker.address.port} returned: ${messages[0]?.value}`);
} finally {
  await client.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
