/**
 * The torture checker on small hand-made histories: each anomaly is found where it is, and a
 * clean history has none.
 */
import test from 'ava';
import { check, type FinalReads } from '../../src/testing/torture/checker.js';
import type { Operation } from '../../src/testing/torture/history.js';

let clock = 0;
function op(fields: Omit<Operation, 'timeMs'>): Operation {
  return { ...fields, timeMs: clock++ };
}

function send(process: string, value: string, partition: number, offset: number): Operation[] {
  return [
    op({ process, type: 'invoke', kind: 'send', partition, value }),
    op({ process, type: 'ok', kind: 'send', partition, value, offset }),
  ];
}

function final(
  leader: Record<number, Array<[number, string]>>,
  replicas: Record<number, Record<number, Array<[number, string]>>> = {},
): FinalReads {
  const toContents = (byPartition: Record<number, Array<[number, string]>>) =>
    new Map(Object.entries(byPartition).map(([partition, records]) => [Number(partition), new Map(records)]));
  return {
    leader: toContents(leader),
    replicas: new Map(
      Object.entries(replicas).map(([broker, contents]) => [Number(broker), toContents(contents)]),
    ),
  };
}

/** The two values `sdk-0` sends in the first tests, at offsets 1 and 2. */
const SDK_RECORDS: Array<[number, string]> = [
  [1, 'sdk-0-0'],
  [2, 'sdk-0-1'],
];

test('a clean history has no anomaly and is valid', (t) => {
  const history = [
    ...send('sdk-0', 'sdk-0-0', 0, 1),
    ...send('sdk-0', 'sdk-0-1', 0, 2),
    op({ process: 'assign-0', type: 'ok', kind: 'poll', partition: 0, records: SDK_RECORDS }),
  ];
  const result = check(
    history,
    final(
      {
        0: SDK_RECORDS,
      },
      {
        1: { 0: SDK_RECORDS },
      },
    ),
  );
  t.true(result.valid);
  t.true(Object.values(result.anomalies).every((anomaly) => anomaly.count === 0));
});

test('lost, unexpected, inconsistent offsets and idempotent duplicates are each found', (t) => {
  const history = [
    ...send('sdk-0', 'sdk-0-0', 0, 1),
    ...send('sdk-0', 'sdk-0-1', 0, 2), // acknowledged, missing from the final reads: lost
    ...send('kafkajs-idempotent-0', 'kafkajs-idempotent-0-0', 1, 1),
    ...send('kafkajs-plain-0', 'kafkajs-plain-0-0', 1, 3),
    op({ process: 'assign-0', type: 'ok', kind: 'poll', partition: 0, records: SDK_RECORDS }),
  ];
  const result = check(
    history,
    final({
      0: [
        [1, 'sdk-0-0'],
        [2, 'ghost'],
      ],
      1: [
        [1, 'kafkajs-idempotent-0-0'],
        [2, 'kafkajs-idempotent-0-0'],
        [3, 'kafkajs-plain-0-0'],
        [4, 'kafkajs-plain-0-0'],
      ],
    }),
  );
  t.false(result.valid);
  t.is(result.anomalies.lost.count, 1);
  t.is(result.anomalies.unexpected.count, 1, 'ghost was never sent');
  t.is(
    result.anomalies['inconsistent-offsets'].count,
    1,
    'offset 0:2 holds sdk-0-1 (acknowledged and polled) and ghost',
  );
  t.is(result.anomalies['duplicated-idempotent'].count, 1);
  t.is(result.anomalies['duplicated-other'].count, 1);
});

test('nonmonotonic send and poll, poll skips, committed offsets going back and lagging replicas are found', (t) => {
  const history = [
    ...send('sdk-0', 'sdk-0-0', 0, 3),
    ...send('sdk-0', 'sdk-0-1', 0, 2),
    op({ process: 'assign-0', type: 'ok', kind: 'poll', partition: 0, records: [[2, 'sdk-0-1']] }),
    op({ process: 'assign-0', type: 'ok', kind: 'poll', partition: 0, records: [[1, 'x-0']] }),
    op({
      process: 'assign-1',
      type: 'ok',
      kind: 'poll',
      partition: 0,
      records: [
        [1, 'x-0'],
        [3, 'sdk-0-0'],
      ],
    }),
    op({ process: 'torture-group', type: 'ok', kind: 'committed-offset', partition: 0, offset: 3 }),
    op({ process: 'torture-group', type: 'ok', kind: 'committed-offset', partition: 0, offset: 2 }),
    op({ process: 'x', type: 'invoke', kind: 'send', partition: 0, value: 'x-0' }),
  ];
  const result = check(
    history,
    final(
      {
        0: [
          [1, 'x-0'],
          [2, 'sdk-0-1'],
          [3, 'sdk-0-0'],
        ],
      },
      {
        2: {
          0: [
            [1, 'x-0'],
            [2, 'sdk-0-1'],
          ],
        },
      },
    ),
  );
  t.is(result.anomalies['nonmonotonic-send'].count, 1);
  t.is(result.anomalies['nonmonotonic-poll'].count, 1);
  t.is(result.anomalies['poll-skip'].count, 1, 'assign-1 went from 1 to 3 past offset 2');
  t.is(result.anomalies['committed-offsets-out-of-order'].count, 1);
  t.is(result.anomalies['replica-divergent'].count, 1, 'broker 2 lacks offset 3');
  t.is(result.anomalies.lost.count, 0);
});
