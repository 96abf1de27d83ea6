import test from 'ava';
import { backoffMs } from '../../src/client/backoff.js';

const retry = { retries: 10, initialMs: 100, maxMs: 1_000 };

test('backoff ceiling doubles per attempt and stops at maxMs', (t) => {
  const almostOne = () => 0.999_999;
  t.deepEqual(
    [0, 1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, retry, almostOne)),
    [99, 199, 399, 799, 999, 999],
  );
});

test('full jitter: the wait is the random draw scaled to the ceiling, zero included', (t) => {
  t.is(
    backoffMs(2, retry, () => 0),
    0,
  );
  t.is(
    backoffMs(2, retry, () => 0.5),
    200,
  );
  t.is(
    backoffMs(0, retry, () => 0.25),
    25,
  );
});

test('huge attempt numbers do not overflow to Infinity or NaN', (t) => {
  t.is(
    backoffMs(10_000, retry, () => 0.5),
    500,
  );
});
