import test from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client, type ClientClock } from '../../src/client/client.js';
import { AbortError, ConnectionError } from '../../src/client/errors.js';
import { Producer } from '../../src/client/producer.js';
import { startBroker } from '../broker/helpers.js';
import { freePort } from '../cluster-processes/harness.js';

/**
 * A virtual clock: each sleep moves time forward by its length and returns at once; the
 * `onSleep` hook runs first (the test starts the broker there).
 */
function virtualClock(onSleep: (sleeps: number) => Promise<void>): ClientClock & { sleeps: number[] } {
  let nowMs = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    nowMs: () => nowMs,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new AbortError('sleep');
      sleeps.push(ms);
      nowMs += ms;
      await onSleep(sleeps.length);
    },
  };
}

test('a client started before its broker retries the refused connection with backoff until the broker is up, within the timeout', async (t) => {
  const port = await freePort();
  // The broker comes up after more refused attempts than retry.retries allows: a retry count
  // alone would give up (it did, 0-6 ms after the first refusal), the call's timeout does not.
  const retries = 3;
  const clock = virtualClock(async (sleeps) => {
    if (sleeps === retries + 3) await startBroker(t, { port });
  });
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    timeoutMs: 30_000,
    retry: { retries, initialMs: 100, maxMs: 1_000 },
    clock,
    random: () => 0.5,
  });
  t.teardown(() => client.close());
  await new Admin(client).createTopic({ name: 'late', partitions: 1 });
  const result = await new Producer(client).produceMessage({ topic: 'late', messages: [{ value: 'v' }] });
  t.true(result.baseOffset >= 0);
  t.true(clock.sleeps.length >= retries + 3);
  // Exponential backoff with jitter (random 0.5): 50, 100, 200, 400, 500 (capped at maxMs/2).
  t.deepEqual(clock.sleeps.slice(0, 5), [50, 100, 200, 400, 500]);
});

test('with no broker at all the refused connection is retried until the call timeout, then the ConnectionError surfaces', async (t) => {
  const port = await freePort();
  const clock = virtualClock(async () => undefined);
  const client = new Client({
    brokers: [`127.0.0.1:${port}`],
    timeoutMs: 5_000,
    retry: { retries: 2, initialMs: 100, maxMs: 1_000 },
    clock,
    random: () => 0.5,
  });
  t.teardown(() => client.close());
  await t.throwsAsync(new Admin(client).listTopics(), { instanceOf: ConnectionError });
  // The waits add up to the timeout (the last one shortened to fit), not to 2 retries' worth.
  t.is(
    clock.sleeps.reduce((sum, ms) => sum + ms, 0),
    5_000,
  );
});
