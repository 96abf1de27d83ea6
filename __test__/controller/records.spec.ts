/**
 * The controller record codec: every record type round-trips, and any other input — malformed
 * values, random bytes, mutated encodings — throws only ControllerCodecError naming the field.
 */
import test, { type ExecutionContext } from 'ava';
import {
  CONTROLLER_RECORD_TYPES,
  ControllerCodecError,
  type ControllerRecord,
  decodeRecord,
  encodeRecord,
  KAFKA_ERROR_NAMES,
  RECORD_FORMAT_VERSION,
} from '../../src/controller/index.js';
import { Prng } from '../../src/lib/prng.js';
import { ERROR_TABLE } from '../../src/protocol/errors.js';
import { SAMPLE_RECORDS, topicId } from './fixtures.js';

const encoder = new TextEncoder();

/** Raw bytes of a record as a version byte plus arbitrary JSON text (bypassing encode's checks). */
function rawRecord(json: string, version = RECORD_FORMAT_VERSION): Uint8Array {
  return new Uint8Array([version, ...encoder.encode(json)]);
}

/** Asserts that `run` throws ControllerCodecError and returns it. */
function codecError(t: ExecutionContext, run: () => unknown): ControllerCodecError {
  const error = t.throws<ControllerCodecError>(run, { instanceOf: ControllerCodecError });
  return error ?? new ControllerCodecError('(nothing thrown)', '');
}

test('the samples cover every record type', (t) => {
  t.deepEqual(new Set(SAMPLE_RECORDS.map((record) => record.type)), new Set(CONTROLLER_RECORD_TYPES));
  t.is(CONTROLLER_RECORD_TYPES.length, 14);
});

for (const record of SAMPLE_RECORDS) {
  test(`${record.type} ${JSON.stringify(record).slice(0, 60)} round-trips through the codec`, (t) => {
    const bytes = encodeRecord(record);
    t.is(bytes[0], RECORD_FORMAT_VERSION);
    const decoded = decodeRecord(bytes);
    t.deepEqual(decoded, record);
    t.deepEqual(encodeRecord(decoded), bytes, 'encoding is canonical');
  });
}

test('encoding is canonical: field order of the input does not change the bytes', (t) => {
  const reordered = {
    partitions: [{ replicas: [1], groupId: 4 }],
    topicId: topicId(9),
    type: 'create-partitions',
  } as unknown as ControllerRecord;
  t.deepEqual(
    encodeRecord(reordered),
    encodeRecord({
      type: 'create-partitions',
      topicId: topicId(9),
      partitions: [{ groupId: 4, replicas: [1] }],
    }),
  );
});

test('encode refuses a malformed record before it can reach the log, naming the field', (t) => {
  const error = codecError(t, () =>
    encodeRecord({
      type: 'create-topic',
      name: 'orders',
      topicId: topicId(1),
      configs: {},
      replicationFactor: 1,
      partitions: [
        { groupId: 1, replicas: [1] },
        { groupId: 2, replicas: [1.5] },
      ],
    }),
  );
  t.is(error.field, 'partitions[1].replicas[0]');
  t.regex(error.message, /partitions\[1\]\.replicas\[0\]: must be an integer/);
});

const malformed: Array<{ title: string; bytes: Uint8Array; field: string }> = [
  { title: 'empty input', bytes: new Uint8Array(0), field: 'version' },
  {
    title: 'an unknown format version',
    bytes: rawRecord('{"type":"fence-broker","brokerId":1}', RECORD_FORMAT_VERSION + 1),
    field: 'version',
  },
  { title: 'text that is not JSON', bytes: rawRecord('{"type":'), field: '' },
  { title: 'bytes that are not UTF-8', bytes: new Uint8Array([1, 0x22, 0xff, 0xfe, 0x22]), field: '' },
  { title: 'JSON that is not an object', bytes: rawRecord('[1,2]'), field: '' },
  { title: 'an unknown record type', bytes: rawRecord('{"type":"drop-cluster"}'), field: 'type' },
  { title: 'a missing field', bytes: rawRecord('{"type":"fence-broker"}'), field: 'brokerId' },
  {
    title: 'an unknown field',
    bytes: rawRecord('{"type":"fence-broker","brokerId":1,"reason":"x"}'),
    field: 'reason',
  },
  {
    title: 'a negative broker id',
    bytes: rawRecord('{"type":"fence-broker","brokerId":-1}'),
    field: 'brokerId',
  },
  {
    title: 'a broker id past int32',
    bytes: rawRecord('{"type":"fence-broker","brokerId":2147483648}'),
    field: 'brokerId',
  },
  {
    title: 'a number as a string',
    bytes: rawRecord('{"type":"fence-broker","brokerId":"1"}'),
    field: 'brokerId',
  },
  {
    title: 'an infinite number',
    bytes: rawRecord('{"type":"fence-broker","brokerId":1e999}'),
    field: 'brokerId',
  },
  {
    title: 'a port out of range',
    bytes: rawRecord(
      '{"type":"register-broker","brokerId":1,"raft":{"host":"h","port":70000},"client":{"host":"h","port":1},"rack":null,"incarnationId":"i"}',
    ),
    field: 'raft.port',
  },
  {
    title: 'an empty rack (absent is null)',
    bytes: rawRecord(
      '{"type":"register-broker","brokerId":1,"raft":{"host":"h","port":1},"client":{"host":"h","port":1},"rack":"","incarnationId":"i"}',
    ),
    field: 'rack',
  },
  {
    title: 'a topic id that is not a UUID',
    bytes: rawRecord('{"type":"delete-topic","topicId":"orders"}'),
    field: 'topicId',
  },
  {
    title: 'the nil UUID as a topic id',
    bytes: rawRecord('{"type":"delete-topic","topicId":"00000000-0000-0000-0000-000000000000"}'),
    field: 'topicId',
  },
  {
    title: 'group 0 (the controller group) for a partition',
    bytes: rawRecord(
      `{"type":"create-partitions","topicId":"${topicId(1)}","partitions":[{"groupId":0,"replicas":[1]}]}`,
    ),
    field: 'partitions[0].groupId',
  },
  {
    title: 'no partitions to create',
    bytes: rawRecord(`{"type":"create-partitions","topicId":"${topicId(1)}","partitions":[]}`),
    field: 'partitions',
  },
  {
    title: 'a replica list that is empty',
    bytes: rawRecord('{"type":"partition-replicas","groupId":1,"replicas":[],"learners":[]}'),
    field: 'replicas',
  },
  {
    title: 'a config value that is not a string',
    bytes: rawRecord(
      `{"type":"create-topic","name":"t","topicId":"${topicId(1)}","configs":{"retention.ms":5},"replicationFactor":1,"partitions":[{"groupId":1,"replicas":[1]}]}`,
    ),
    field: 'configs.retention.ms',
  },
  {
    title: 'a null config value where deleting means nothing',
    bytes: rawRecord(
      `{"type":"create-topic","name":"t","topicId":"${topicId(1)}","configs":{"retention.ms":null},"replicationFactor":1,"partitions":[{"groupId":1,"replicas":[1]}]}`,
    ),
    field: 'configs.retention.ms',
  },
  {
    title: 'an unknown config resource',
    bytes: rawRecord('{"type":"alter-configs","resource":"cluster","name":"","configs":{}}'),
    field: 'resource',
  },
  {
    title: 'a broker resource that is not a broker id',
    bytes: rawRecord('{"type":"alter-configs","resource":"broker","name":"01","configs":{}}'),
    field: 'name',
  },
  {
    title: 'a producer id block that runs past safe integers',
    bytes: rawRecord(
      `{"type":"producer-id-block","brokerId":1,"firstProducerId":${Number.MAX_SAFE_INTEGER - 5},"size":10}`,
    ),
    field: 'size',
  },
  {
    title: 'a leader epoch below -1',
    bytes: rawRecord('{"type":"partition-leaders","leaders":[{"groupId":1,"leader":1,"leaderEpoch":-2}]}'),
    field: 'leaders[0].leaderEpoch',
  },
  {
    title: 'an empty leader report',
    bytes: rawRecord('{"type":"partition-leaders","leaders":[]}'),
    field: 'leaders',
  },
];

for (const { title, bytes, field } of malformed) {
  test(`decode refuses ${title} with ControllerCodecError naming "${field}"`, (t) => {
    const error = codecError(t, () => decodeRecord(bytes));
    t.is(error.field, field);
  });
}

test('deeply nested JSON is refused with ControllerCodecError, not a stack overflow', (t) => {
  const depth = 200_000;
  codecError(t, () => decodeRecord(rawRecord('['.repeat(depth) + ']'.repeat(depth))));
  // A valid record shape whose field is a deep value: the error message must not overflow either.
  const deepField = codecError(t, () =>
    decodeRecord(rawRecord(`{"type":"fence-broker","brokerId":${'['.repeat(depth)}${']'.repeat(depth)}}`)),
  );
  t.is(deepField.field, 'brokerId');
});

test('a config named __proto__ stays a plain key and pollutes nothing', (t) => {
  const bytes = rawRecord(
    '{"type":"alter-configs","resource":"broker","name":"","configs":{"__proto__":"x"}}',
  );
  const record = decodeRecord(bytes);
  t.true(record.type === 'alter-configs' && Object.hasOwn(record.configs, '__proto__'));
  t.is(Object.getPrototypeOf(record.type === 'alter-configs' ? record.configs : null), Object.prototype);
  t.deepEqual(encodeRecord(record), bytes);
  t.is(({} as Record<string, unknown>).x, undefined);
});

test('random bytes only ever throw ControllerCodecError', (t) => {
  const prng = new Prng(20_240_901);
  let decoded = 0;
  for (let round = 0; round < 5000; round++) {
    const bytes = new Uint8Array(prng.int(0, 64)).map(() => prng.int(0, 255));
    if (prng.chance(0.5) && bytes.length > 0) bytes[0] = RECORD_FORMAT_VERSION;
    try {
      encodeRecord(decodeRecord(bytes));
      decoded++;
    } catch (error) {
      if (!(error instanceof ControllerCodecError))
        t.fail(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  t.is(decoded, 0, 'random bytes never make a record');
});

test('mutated encodings either decode to a valid record or throw ControllerCodecError', (t) => {
  const prng = new Prng(7);
  const alphabet = encoder.encode('{}[]",:-0123456789 ntrufalse.e');
  let decoded = 0;
  let refused = 0;
  for (let round = 0; round < 20_000; round++) {
    const original = encodeRecord(prng.pick(SAMPLE_RECORDS));
    const bytes = [...original];
    const edits = prng.int(1, 3);
    for (let edit = 0; edit < edits; edit++) {
      const position = prng.int(0, bytes.length - 1);
      const byte = prng.chance(0.7) ? alphabet[prng.int(0, alphabet.length - 1)]! : prng.int(0, 255);
      const kind = prng.int(0, 2);
      if (kind === 0) bytes[position] = byte;
      else if (kind === 1) bytes.splice(position, 0, byte);
      else bytes.splice(position, 1);
    }
    try {
      const record = decodeRecord(new Uint8Array(bytes));
      // Whatever decodes is a record the codec accepts in full.
      t.deepEqual(decodeRecord(encodeRecord(record)), record);
      decoded++;
    } catch (error) {
      if (!(error instanceof ControllerCodecError)) {
        t.fail(`${(error as Error).name}: ${(error as Error).message}`);
        return;
      }
      refused++;
    }
  }
  t.true(refused > 10_000, `most mutations are refused (${refused})`);
  t.true(decoded > 0, `some mutations still make valid records (${decoded}), so the check is not vacuous`);
});

test('every error name apply answers with is a Kafka error in the protocol table', (t) => {
  const known = new Set(ERROR_TABLE.map((info) => info.name));
  for (const name of KAFKA_ERROR_NAMES) t.true(known.has(name), name);
});
