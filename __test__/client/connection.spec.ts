import test from 'ava';
import { Connection } from '../../src/client/connection.js';
import { AbortError, ConnectionError, TimeoutError } from '../../src/client/errors.js';
import { echoMetadata, FakeBroker, type FakeRequest } from './fake-broker.js';

const connect = (port: number, extra: Partial<Parameters<typeof Connection.connect>[0]> = {}) =>
  Connection.connect({ host: '127.0.0.1', port, clientId: 'test', connectTimeoutMs: 2_000, ...extra });

const metadataFor = (name: string) => ({ topics: [{ name }], allowAutoTopicCreation: false });

test('pipelined requests resolve with their own responses even when frames arrive split in 3-byte chunks', async (t) => {
  const fake = await FakeBroker.start({ chunkBytes: 3, onRequest: (r) => r.reply(echoMetadata(r.body)) });
  const connection = await connect(fake.port);
  try {
    const names = Array.from({ length: 40 }, (_, i) => `topic-${i}`);
    const answers = await Promise.all(
      names.map((name) => connection.request(3, metadataFor(name), { timeoutMs: 2_000 })),
    );
    t.deepEqual(
      answers.map((a) => a.topics[0].name),
      names,
    );
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('responses coalesced into one TCP write are split into frames correctly', async (t) => {
  const held: FakeRequest[] = [];
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      held.push(r);
      if (held.length === 5) {
        // Answer all five in a single write.
        const frames = held.map((h) => {
          let captured: Buffer = Buffer.alloc(0);
          const original = h.socket.write.bind(h.socket);
          (h.socket as any).write = (bytes: Buffer) => {
            captured = bytes;
            return true;
          };
          h.reply(echoMetadata(h.body));
          (h.socket as any).write = original;
          return captured;
        });
        r.socket.write(Buffer.concat(frames));
      }
    },
  });
  const connection = await connect(fake.port);
  try {
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((name) => connection.request(3, metadataFor(name), { timeoutMs: 2_000 })),
    );
    t.deepEqual(
      answers.map((a) => a.topics[0].name),
      ['a', 'b', 'c', 'd', 'e'],
    );
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('no more than maxInFlight requests are ever outstanding at the broker', async (t) => {
  let outstanding = 0;
  let peak = 0;
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      outstanding++;
      peak = Math.max(peak, outstanding);
      setTimeout(() => {
        outstanding--;
        r.reply(echoMetadata(r.body));
      }, 5);
    },
  });
  const connection = await connect(fake.port, { maxInFlight: 3 });
  try {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => connection.request(3, metadataFor(`t${i}`), { timeoutMs: 5_000 })),
    );
    t.is(answers.length, 20);
    t.true(peak <= 3, `peak ${peak}`);
    t.true(peak >= 2, `requests were pipelined (peak ${peak})`);
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('an unanswered request fails with TimeoutError and the connection keeps working', async (t) => {
  const fake = await FakeBroker.start({
    onRequest: (r) => {
      if (r.body.topics[0].name !== 'silent') r.reply(echoMetadata(r.body));
    },
  });
  const connection = await connect(fake.port);
  try {
    const error = await t.throwsAsync(connection.request(3, metadataFor('silent'), { timeoutMs: 50 }));
    t.true(error instanceof TimeoutError);
    t.true((error as TimeoutError).retriable);
    t.regex(error.message, /50 ms/);
    const after = await connection.request(3, metadataFor('loud'), { timeoutMs: 2_000 });
    t.is(after.topics[0].name, 'loud');
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('an AbortSignal cancels a waiting request with AbortError, not retriable', async (t) => {
  const fake = await FakeBroker.start({ onRequest: () => undefined });
  const connection = await connect(fake.port);
  try {
    const controller = new AbortController();
    const pending = connection.request(3, metadataFor('x'), { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    const error = await t.throwsAsync(pending);
    t.true(error instanceof AbortError);
    t.false((error as AbortError).retriable);
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('versions are min(ours, broker max) per API, and absent APIs are refused', async (t) => {
  const fake = await FakeBroker.start({
    apis: [
      { apiKey: 18, minVersion: 0, maxVersion: 2 },
      { apiKey: 3, minVersion: 0, maxVersion: 4 },
      { apiKey: 1, minVersion: 4, maxVersion: 40 },
    ],
    onRequest: () => undefined,
  });
  const connection = await connect(fake.port);
  try {
    t.is(connection.versionFor(3), 4);
    t.is(connection.versionFor(1), 11);
    t.throws(() => connection.versionFor(0), { message: /UNSUPPORTED_VERSION/ });
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('ApiVersions falls back to v0 when the broker answers UNSUPPORTED_VERSION (KIP-511)', async (t) => {
  const fake = await FakeBroker.start({ apiVersionsMax: 0, onRequest: (r) => r.reply(echoMetadata(r.body)) });
  const connection = await connect(fake.port);
  try {
    t.deepEqual(fake.apiVersionsRequests, [2, 0]);
    t.is(connection.versionFor(3), 8);
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('requests in flight fail with ConnectionError when the broker drops the socket', async (t) => {
  const fake = await FakeBroker.start({ onRequest: (r) => r.socket.destroy() });
  const connection = await connect(fake.port);
  try {
    const error = await t.throwsAsync(connection.request(3, metadataFor('x'), { timeoutMs: 5_000 }));
    t.true(error instanceof ConnectionError);
    t.true(connection.closed);
    await t.throwsAsync(connection.request(3, metadataFor('y'), { timeoutMs: 5_000 }), {
      instanceOf: ConnectionError,
    });
  } finally {
    connection.close();
    await fake.stop();
  }
});

test('connecting to a closed port fails with an actionable ConnectionError', async (t) => {
  const fake = await FakeBroker.start({ onRequest: () => undefined });
  const port = fake.port;
  await fake.stop();
  const error = await t.throwsAsync(connect(port));
  t.true(error instanceof ConnectionError);
  t.regex(error.message, new RegExp(`127\\.0\\.0\\.1:${port}.*check the address`));
});

test('close() rejects waiting requests and is idempotent', async (t) => {
  const fake = await FakeBroker.start({ onRequest: () => undefined });
  const connection = await connect(fake.port);
  const pending = connection.request(3, metadataFor('x'), { timeoutMs: 5_000 });
  connection.close();
  connection.close();
  await t.throwsAsync(pending, { instanceOf: ConnectionError });
  await fake.stop();
});

test('large responses (read straight into their own buffer) and small ones pipelined between them all arrive intact', async (t) => {
  const fake = await FakeBroker.start({
    chunkBytes: 70_001,
    onRequest: (r) => r.reply(echoMetadata(r.body)),
  });
  const connection = await connect(fake.port);
  try {
    // Alternating ~0.6 MB and tiny Metadata answers, so frame boundaries fall inside reads.
    const requests = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0
        ? Array.from({ length: 3_000 }, (_, n) => `big-${i}-${n}-${'x'.repeat(180)}`)
        : [`small-${i}`],
    );
    const answers = await Promise.all(
      requests.map((names) =>
        connection.request(
          3,
          { topics: names.map((name) => ({ name })), allowAutoTopicCreation: false },
          {
            timeoutMs: 10_000,
          },
        ),
      ),
    );
    t.deepEqual(
      answers.map((a) => a.topics.map((topic: { name: string }) => topic.name)),
      requests,
    );
  } finally {
    connection.close();
    await fake.stop();
  }
});
