import test from 'ava';
import { crc32c as nativeCrc32c } from '#native';
import { crc32c } from '../../src/protocol/crc32c.js';

test('JS crc32c gives the standard check value for "123456789"', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('native crc32c gives the standard check value for "123456789"', (t) => {
  t.is(nativeCrc32c(Buffer.from('123456789')), 0xe3069283);
});

test('JS and native crc32c agree on every length 0..300 and on a 1 MiB buffer', (t) => {
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  for (let n = 0; n <= 300; n++)
    t.is(crc32c(data.subarray(0, n)), nativeCrc32c(data.subarray(0, n)), `n=${n}`);
  t.is(crc32c(data), nativeCrc32c(data));
});

test('crc32c continues from a previous value', (t) => {
  const whole = Buffer.from('hello, goqueue');
  t.is(crc32c(whole, 5, whole.length, crc32c(whole, 0, 5)), crc32c(whole));
});
