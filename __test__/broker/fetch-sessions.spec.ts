/** KIP-227 incremental fetch sessions over the wire, and the bounded session cache. */
import test from 'ava';
import { FetchSessionCache } from '../../src/broker/fetch-sessions.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { latestOffset, RawClient, startBroker, userBatches } from './helpers.js';

function batch(values: string[]): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: values.map((value) => ({ key: null, value: Buffer.from(value) })),
  });
}

async function produce(client: RawClient, values: string[]): Promise<void> {
  const reply = await client.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: batch(values) }] }],
  });
  if (reply.body.responses[0].partitionResponses[0].errorCode !== ErrorCode.NONE)
    throw new Error('produce failed');
}

function fetch(
  client: RawClient,
  sessionId: number,
  sessionEpoch: number,
  partitions: Array<{ partition: number; fetchOffset: number }>,
  forgotten: Array<{ topic: string; partitions: number[] }> = [],
) {
  return client.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics:
      partitions.length === 0
        ? []
        : [{ topic: 't', partitions: partitions.map((p) => ({ ...p, partitionMaxBytes: 1 << 20 })) }],
    forgottenTopicsData: forgotten,
    rackId: '',
  });
}

function values(records: Buffer): string[] {
  return userBatches(records).flatMap((b) => b.records.map((r) => r.value?.toString() ?? ''));
}

test('a session answers only what is new, keeps its partitions between fetches, and forgets on request', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  await client.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  await produce(client, ['a', 'b']);
  const { offset: end } = await latestOffset(client, 't');

  // Open: a full fetch; the answer names the session.
  const opened = await fetch(client, 0, 0, [{ partition: 0, fetchOffset: 0 }]);
  const sessionId: number = opened.body.sessionId;
  t.not(sessionId, 0);
  t.deepEqual(values(opened.body.responses[0].partitions[0].records), ['a', 'b']);

  // Epoch 1: the client moved its position to the end; nothing new, so nothing is answered.
  const quiet = await fetch(client, sessionId, 1, [{ partition: 0, fetchOffset: end }]);
  t.is(quiet.body.errorCode, ErrorCode.NONE);
  t.is(quiet.body.sessionId, sessionId);
  t.deepEqual(quiet.body.responses, []);

  // Epoch 2 names no partition: the session still reads partition 0 from where it was.
  await produce(client, ['c']);
  const fresh = await fetch(client, sessionId, 2, []);
  t.is(fresh.body.responses.length, 1);
  t.deepEqual(values(fresh.body.responses[0].partitions[0].records), ['c']);

  // A wrong epoch, an unknown session.
  t.is((await fetch(client, sessionId, 9, [])).body.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  t.is((await fetch(client, sessionId + 1, 1, [])).body.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

  // Epoch 3 forgets the partition: the session reads nothing any more.
  await produce(client, ['d']);
  const forgot = await fetch(client, sessionId, 3, [], [{ topic: 't', partitions: [0] }]);
  t.deepEqual(forgot.body.responses, []);

  // Closing (epoch -1) ends the session: the fetch is answered in full, sessionless.
  const closed = await fetch(client, sessionId, -1, [{ partition: 0, fetchOffset: 0 }]);
  t.is(closed.body.sessionId, 0);
  t.deepEqual(values(closed.body.responses[0].partitions[0].records), ['a', 'b', 'c', 'd']);
  t.is((await fetch(client, sessionId, 4, [])).body.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});

test('the session cache is bounded: past its size the least recently used session is dropped', (t) => {
  const cache = new FetchSessionCache(2);
  const first = cache.create();
  const second = cache.create();
  t.truthy(cache.use(first.id)); // first is now the most recently used
  const third = cache.create();
  t.is(cache.size, 2);
  t.is(cache.use(second.id), undefined);
  t.truthy(cache.use(first.id));
  t.truthy(cache.use(third.id));
});
