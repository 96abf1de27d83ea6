import test from 'ava';
import {
  decodePeerBatch,
  encodePeerBatch,
  PEER_BATCH_CODEC_VERSION,
  PeerBatchCodecError,
} from '../../src/cluster/peer-batch-codec.js';
import { logIndex, nodeId, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import type { PeerBatch } from '../../src/raft/multi/host.js';
import { plain, randomBytesFrom, randomMessage } from './fixtures/random-message.js';

function randomBatch(prng: Prng): PeerBatch {
  const big = (): number => (prng.chance(0.1) ? 2 ** 48 - 1 - prng.int(0, 1000) : prng.int(0, 100_000));
  const group = () => (prng.chance(0.1) ? 2 ** 32 - 2 : prng.int(0, 5000));
  return {
    from: nodeId(prng.int(1, 2 ** 32 - 1)),
    to: nodeId(prng.int(1, 9)),
    messages: Array.from({ length: prng.int(0, 4) }, () => ({
      group: group(),
      message: randomMessage(prng),
    })),
    heartbeats: Array.from({ length: prng.int(0, 30) }, () => ({
      group: group(),
      term: term(big()),
      commit: logIndex(big()),
      ...(prng.chance(0.3) ? { quiesce: true } : {}),
      ...(prng.chance(0.2) ? { context: randomBytesFrom(prng, 16) } : {}),
    })),
    heartbeatResponses: Array.from({ length: prng.int(0, 30) }, () => ({
      group: group(),
      term: term(big()),
      ...(prng.chance(0.2) ? { context: randomBytesFrom(prng, 16) } : {}),
    })),
  };
}

test('a peer batch round-trips every message, coalesced heartbeat (quiesce, context) and response', (t) => {
  const prng = new Prng(21);
  for (let i = 0; i < 500; i++) {
    const original = randomBatch(prng);
    const encoded = encodePeerBatch(original);
    t.is(encoded[0], PEER_BATCH_CODEC_VERSION);
    t.deepEqual(plain(decodePeerBatch(encoded)), plain(original));
  }
});

test('an empty batch (a node-liveness heartbeat) is 21 bytes and round-trips', (t) => {
  const empty: PeerBatch = {
    from: nodeId(1),
    to: nodeId(2),
    messages: [],
    heartbeats: [],
    heartbeatResponses: [],
  };
  const encoded = encodePeerBatch(empty);
  t.is(encoded.length, 21);
  t.deepEqual(decodePeerBatch(encoded), empty);
});

test('1,000 groups of heartbeats cost 17 bytes each in one batch', (t) => {
  const batch: PeerBatch = {
    from: nodeId(1),
    to: nodeId(2),
    messages: [],
    heartbeats: Array.from({ length: 1000 }, (_, group) => ({
      group,
      term: term(3),
      commit: logIndex(group),
    })),
    heartbeatResponses: [],
  };
  const encoded = encodePeerBatch(batch);
  t.is(encoded.length, 21 + 17 * 1000);
  t.deepEqual(decodePeerBatch(encoded).heartbeats[999], { group: 999, term: 3, commit: 999 });
});

test('values that do not fit the wire are refused at encode time', (t) => {
  const bad: PeerBatch = {
    from: nodeId(1),
    to: nodeId(2),
    messages: [],
    heartbeats: [{ group: 1, term: term(2 ** 48), commit: logIndex(0) }],
    heartbeatResponses: [],
  };
  t.throws(() => encodePeerBatch(bad), { instanceOf: PeerBatchCodecError });
});

test('decoding truncated, mutated, extended or random bytes throws only PeerBatchCodecError', (t) => {
  const prng = new Prng(77);
  let rejected = 0;
  let decoded = 0;
  const attempt = (bytes: Buffer): void => {
    try {
      decodePeerBatch(bytes);
      decoded++;
    } catch (error) {
      if (!(error instanceof PeerBatchCodecError)) throw error;
      rejected++;
    }
  };
  for (let i = 0; i < 2000; i++) {
    const encoded = encodePeerBatch(randomBatch(prng));
    attempt(encoded.subarray(0, prng.int(0, encoded.length - 1)));
    const mutated = Buffer.from(encoded);
    for (let k = prng.int(1, 4); k > 0; k--) mutated[prng.int(0, mutated.length - 1)] = prng.int(0, 255);
    attempt(mutated);
    attempt(randomBytesFrom(prng, 200));
  }
  t.true(rejected >= 2000, `every truncated batch was rejected (${rejected} rejected)`);
  t.true(decoded > 0, 'some mutations still decode (e.g. changed term bytes)');
  const encoded = encodePeerBatch(randomBatch(new Prng(5)));
  for (let cut = 0; cut < encoded.length; cut++)
    t.throws(() => decodePeerBatch(encoded.subarray(0, cut)), { instanceOf: PeerBatchCodecError });
  t.throws(() => decodePeerBatch(Buffer.concat([encoded, Buffer.from([0])])), {
    instanceOf: PeerBatchCodecError,
  });
  // A count claiming more items than bytes remain is refused before allocating.
  const huge = Buffer.from(
    encodePeerBatch({ from: nodeId(1), to: nodeId(2), messages: [], heartbeats: [], heartbeatResponses: [] }),
  );
  huge.writeUInt32BE(0xffff_ffff, 9);
  t.throws(() => decodePeerBatch(huge), { instanceOf: PeerBatchCodecError, message: /exceeds/ });
});
