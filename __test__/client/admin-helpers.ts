/** What the Admin specs (here and in __test__/cli-client/admin.spec.ts) share. */
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../src/broker/broker.js';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { Producer } from '../../src/client/producer.js';
import { bootstrap, startBroker } from '../broker/helpers.js';

/**
 * An in-process broker with topic `name` of `partitions` partitions, each holding
 * `messagesPerPartition` messages, and an Admin on a client closed after the test.
 */
export async function brokerWithTopic(
  t: ExecutionContext,
  topic: { name: string; partitions: number; messagesPerPartition?: number },
): Promise<{ broker: Broker; client: Client; admin: Admin }> {
  const broker = await startBroker(t);
  const client = new Client({ brokers: [bootstrap(broker)], clientId: 'admin-spec', timeoutMs: 10_000 });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  await admin.createTopic({ name: topic.name, partitions: topic.partitions });
  const count = topic.messagesPerPartition ?? 0;
  if (count > 0) {
    const producer = new Producer(client);
    for (let partition = 0; partition < topic.partitions; partition++)
      await producer.produceMessage({
        topic: topic.name,
        partition,
        messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}` })),
      });
  }
  return { broker, client, admin };
}

// biome-ignore lint/suspicious/noExplicitAny: the point is calling without the types.
export const untyped = (value: unknown): any => value;

/**
 * Each call, made on an Admin whose client reaches no broker, rejects with a TypeError whose
 * message matches: the arguments are checked before anything is sent.
 */
export async function assertTypeErrors(
  t: ExecutionContext,
  cases: Array<[(admin: Admin) => Promise<unknown>, RegExp]>,
): Promise<void> {
  const client = new Client({ brokers: ['127.0.0.1:1'], timeoutMs: 1_000 });
  t.teardown(() => client.close());
  const admin = new Admin(client);
  for (const [call, message] of cases) {
    const error = await t.throwsAsync(call(admin), { instanceOf: TypeError });
    t.regex(error.message, message);
  }
}
