import test from 'ava';
import { murmur2, partitionForKey, StickyPartitioner, toPositive } from '../../src/client/partitioner.js';

// Hashes printed by org.apache.kafka.common.utils.Utils.murmur2 (Java client) for these keys.
const javaVectors: Record<string, number> = {
  '0': 971027396,
  '1': -1993445489,
  '128': -326012175,
  '2187': -1508407203,
  '16384': -325739742,
  '78125': -1654490814,
  '279936': 1462227128,
  '823543': -2014198330,
  '2097152': 607668903,
  '4782969': -1182699775,
  '10000000': -1830336757,
  '19487171': -1603849305,
  '35831808': -857013643,
  '62748517': -1167431028,
  '105413504': -381294639,
  '170859375': -1658323481,
  '100:48069': 1009543857,
};

// From Kafka's UtilsTest.testMurmur2 (covers every tail length 0..3 and long inputs).
const kafkaUtilsVectors: Record<string, number> = {
  '21': -973932308,
  foobar: -790332482,
  'a-little-bit-long-string': -985981536,
  'a-little-bit-longer-string': -1486304829,
  lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
  abc: 479470107,
};

test('murmur2 matches the Java client hash for every known vector', (t) => {
  for (const [key, expected] of Object.entries({ ...javaVectors, ...kafkaUtilsVectors })) {
    t.is(murmur2(Buffer.from(key)), expected, `key ${key}`);
  }
});

test('keyed partition equals Java toPositive(murmur2(key)) % partitions', (t) => {
  for (const [key, hash] of Object.entries(javaVectors)) {
    for (const count of [1, 3, 7, 12, 100]) {
      t.is(partitionForKey(Buffer.from(key), count), (hash & 0x7fffffff) % count, `key ${key} over ${count}`);
    }
  }
});

test('toPositive clears the sign bit like Java, so -2^31 maps to 0 (Math.abs would not)', (t) => {
  t.is(toPositive(-2147483648), 0);
  t.is(toPositive(-1), 0x7fffffff);
  t.is(toPositive(5), 5);
});

test('sticky partitioner keeps one partition until a batch is sent, then moves to another', (t) => {
  const draws = [0.5, 0.0, 0.99];
  const sticky = new StickyPartitioner(() => draws.shift() ?? 0);
  const first = sticky.partition('t', 4);
  t.is(first, 2);
  t.is(sticky.partition('t', 4), 2);
  sticky.onBatchSent('t', 4);
  const second = sticky.partition('t', 4);
  t.not(second, first);
  t.is(sticky.partition('t', 4), second);
  sticky.onBatchSent('t', 4);
  t.not(sticky.partition('t', 4), second);
});
