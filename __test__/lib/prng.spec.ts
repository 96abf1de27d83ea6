import test from 'ava';
import { Prng } from '../../src/lib/prng.js';

test('the same seed replays the same sequence', (t) => {
  const a = new Prng(42);
  const b = new Prng(42);
  const seqA = Array.from({ length: 100 }, () => a.nextU32());
  const seqB = Array.from({ length: 100 }, () => b.nextU32());
  t.deepEqual(seqA, seqB);
  t.notDeepEqual(
    seqA,
    Array.from({ length: 100 }, () => new Prng(43).nextU32()),
  );
});

test('int stays in range and covers it', (t) => {
  const prng = new Prng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const v = prng.int(3, 9);
    t.true(v >= 3 && v <= 9);
    seen.add(v);
  }
  t.is(seen.size, 7);
});
