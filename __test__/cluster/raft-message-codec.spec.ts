import test from 'ava';
import {
  decodeRaftMessage,
  encodedRaftMessageBytes,
  encodeRaftMessage,
  RaftMessageCodecError,
} from '../../src/cluster/raft-message-codec.js';
import { logIndex, nodeId, term } from '../../src/lib/ids.js';
import { Prng } from '../../src/lib/prng.js';
import { EntryType, MessageType, message } from '../../src/raft/types.js';
import { plain, randomBytesFrom, randomMessage } from './fixtures/random-message.js';

test('every message type round-trips with entries, context and snapshot intact', (t) => {
  const prng = new Prng(11);
  for (let i = 0; i < 1000; i++) {
    const original = randomMessage(prng);
    const encoded = encodeRaftMessage(original);
    t.is(encoded.length, encodedRaftMessageBytes(original));
    t.deepEqual(plain(decodeRaftMessage(encoded)), plain(original));
  }
});

test('an append with a 64 KiB entry keeps its bytes exactly', (t) => {
  const data = Buffer.alloc(65536);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const append = message({
    type: MessageType.Append,
    from: nodeId(1),
    to: nodeId(2),
    term: term(3),
    logTerm: term(2),
    index: logIndex(9),
    commit: logIndex(8),
    entries: [{ index: logIndex(10), term: term(3), type: EntryType.Normal, data }],
  });
  const decoded = decodeRaftMessage(encodeRaftMessage(append));
  t.true(Buffer.from(decoded.entries[0]?.data ?? []).equals(data));
  t.is(decoded.entries[0]?.index, logIndex(10));
  t.is(decoded.type, MessageType.Append);
});

test('an index at or above 2^48 is refused at encode time instead of being corrupted', (t) => {
  const bad = message({ type: MessageType.Heartbeat, commit: logIndex(2 ** 48) });
  t.throws(() => encodeRaftMessage(bad), { instanceOf: RaftMessageCodecError });
});

test('decoding truncated, mutated or random bytes throws only RaftMessageCodecError', (t) => {
  const prng = new Prng(99);
  let rejected = 0;
  let decoded = 0;
  const attempt = (bytes: Buffer): void => {
    try {
      decodeRaftMessage(bytes);
      decoded++;
    } catch (error) {
      if (!(error instanceof RaftMessageCodecError)) throw error;
      rejected++;
    }
  };
  for (let i = 0; i < 3000; i++) {
    const encoded = encodeRaftMessage(randomMessage(prng));
    attempt(encoded.subarray(0, prng.int(0, encoded.length - 1))); // truncated: always invalid
    const mutated = Buffer.from(encoded);
    for (let k = prng.int(1, 4); k > 0; k--) mutated[prng.int(0, mutated.length - 1)] = prng.int(0, 255);
    attempt(mutated);
    attempt(randomBytesFrom(prng, 120));
  }
  t.true(rejected >= 3000, `every truncated message was rejected (${rejected} rejected)`);
  t.true(decoded > 0, 'some mutations still decode (e.g. changed term bytes)');
  // A truncated message never decodes.
  const encoded = encodeRaftMessage(randomMessage(new Prng(1)));
  for (let cut = 0; cut < encoded.length; cut++)
    t.throws(() => decodeRaftMessage(encoded.subarray(0, cut)), { instanceOf: RaftMessageCodecError });
  t.throws(() => decodeRaftMessage(Buffer.concat([encoded, Buffer.from([0])])), {
    instanceOf: RaftMessageCodecError,
  });
});
