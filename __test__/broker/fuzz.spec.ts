/**
 * A live broker under random and mutated requests of every API and version it serves: it never
 * crashes, answers or closes only the offending connection, keeps serving other clients, and
 * data written before the storm reads back identical after it. Seeded, so a failure replays.
 */
import { connect } from 'node:net';
import test from 'ava';
import { Prng } from '../../src/lib/prng.js';
import { ApiKey, ErrorCode, encodeRequest, SERVED_APIS } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { randomBody, requestFields } from '../protocol/helpers.js';
import { RawClient, startBroker, userBatches } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 4000);

type Outcome = 'answered' | 'closed' | 'silent';

/** Sends `frame` and then an ApiVersions v0 probe on a fresh connection. Responses come in request
 * order, so the probe's answer means the broker finished with the frame; a close means it dropped
 * the connection; neither within 2 s means it is waiting for bytes a broken size promised. */
function sendWithProbe(port: number, frame: Buffer): Promise<Outcome> {
  const probe = encodeRequest(
    { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 999_999, clientId: 'probe' },
    {},
  );
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('silent'), 2000);
    socket.on('connect', () => socket.write(Buffer.concat([frame, probe])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // Walk complete response frames; the probe's correlation id ends the exchange.
      let at = 0;
      while (received.length - at >= 8) {
        const size = received.readInt32BE(at);
        if (received.length - at - 4 < size) break;
        if (received.readInt32BE(at + 4) === 999_999) return finish('answered');
        at += 4 + size;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish('closed'));
  });
}

function mutate(frame: Buffer, prng: Prng): Buffer {
  const out = Buffer.from(frame);
  switch (prng.int(0, 3)) {
    case 0: // a few flipped bytes anywhere after the size prefix
      for (let n = prng.int(1, 4); n > 0; n--) out[prng.int(4, out.length - 1)] ^= 1 << prng.int(0, 7);
      return out;
    case 1: {
      // cut short, with a size prefix that agrees with the cut (the body itself is truncated)
      const cut = out.subarray(0, prng.int(6, out.length));
      cut.writeInt32BE(cut.length - 4, 0);
      return cut;
    }
    case 2: // garbage appended inside the frame
      return (() => {
        const tail = Buffer.from(Array.from({ length: prng.int(1, 64) }, () => prng.int(0, 255)));
        const grown = Buffer.concat([out, tail]);
        grown.writeInt32BE(grown.length - 4, 0);
        return grown;
      })();
    default: // left intact: a random but well-formed request
      return out;
  }
}

test('random and mutated requests of every served API never crash the broker or touch other data', async (t) => {
  t.timeout(240_000);
  const broker = await startBroker(t, { maxTopicPartitions: 4, defaultPartitions: 1 });
  const port = broker.address.port;
  const client = await RawClient.open(port);
  t.teardown(() => client.close());

  // Data that must survive the storm byte for byte.
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'kept', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  const keptBatch = encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: Array.from({ length: 20 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`value-${i}`),
    })),
  });
  const produced = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: 'kept', partitionData: [{ index: 0, records: keptBatch }] }],
  });
  t.is(produced.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  const keptOffset: number = produced.body.responses[0].partitionResponses[0].baseOffset;

  const prng = new Prng(SEED);
  const outcomes: Record<Outcome, number> = { answered: 0, closed: 0, silent: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const api = prng.pick(SERVED_APIS);
    const version = prng.int(api.minVersion, api.maxVersion);
    let frame: Buffer;
    try {
      const body = randomBody(requestFields(api.apiKey), version, prng);
      frame = encodeRequest(
        { apiKey: api.apiKey, apiVersion: version, correlationId: round, clientId: 'fuzz' },
        body,
      );
    } catch {
      continue; // a random value the encoder itself refuses; nothing reaches the broker
    }
    outcomes[await sendWithProbe(port, mutate(frame, prng))]++;
    if (round % 250 === 0) {
      // Other clients are served throughout.
      const health = await client.request(ApiKey.Metadata, 4, {
        topics: null,
        allowAutoTopicCreation: false,
      });
      t.true(
        health.body.topics.some((topic: { name: string }) => topic.name === 'kept'),
        `round ${round}`,
      );
    }
  }
  t.log(`seed ${SEED}: ${JSON.stringify(outcomes)}`);
  // The storm reached deep enough to be answered and to be refused.
  t.true(outcomes.answered > ROUNDS / 10, JSON.stringify(outcomes));
  t.true(outcomes.closed > 0, JSON.stringify(outcomes));

  const fetched = await client.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'kept',
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: keptOffset,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const partition = fetched.body.responses[0].partitions[0];
  t.is(partition.errorCode, ErrorCode.NONE);
  const values = userBatches(partition.records).flatMap((b) => b.records.map((r) => r.value!.toString()));
  t.deepEqual(
    values.slice(0, 20),
    Array.from({ length: 20 }, (_, i) => `value-${i}`),
  );
});
