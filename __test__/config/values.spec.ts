import test from 'ava';
import {
  parseAddress,
  parseBoolean,
  parseBrokerId,
  parseChoice,
  parseDuration,
  parseInitialCluster,
  parseInteger,
  parseLabel,
  parsePort,
  parseSize,
  ValueError,
} from '../../src/config/values.js';

test('durations read Go forms (168h, 5s, 1h30m, 100ms, 1.5h), days and plain milliseconds', (t) => {
  t.is(parseDuration('168h'), 168 * 3_600_000);
  t.is(parseDuration('5s'), 5000);
  t.is(parseDuration('1h30m'), 90 * 60_000);
  t.is(parseDuration('100ms'), 100);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('7d'), 7 * 86_400_000);
  t.is(parseDuration('2m3s'), 123_000);
  t.is(parseDuration(' 10s '), 10_000);
  t.is(parseDuration(250), 250);
  t.is(parseDuration('250'), 250);
  t.is(parseDuration(0), 0);
});

test('durations take -1 only where "forever" is allowed', (t) => {
  t.is(parseDuration(-1, { allowForever: true }), -1);
  t.is(parseDuration('-1', { allowForever: true }), -1);
  t.throws(() => parseDuration(-1), { instanceOf: ValueError, message: /negative/ });
  t.throws(() => parseDuration(-2, { allowForever: true }), { message: /only -1/ });
});

test('durations reject unknown units, empty text, fractions of a millisecond and other types', (t) => {
  for (const bad of ['5x', '', 'h', '5 s', '1.5ms', '-5s', '5s3', 'five', true, null, {}, 1.5]) {
    t.throws(() => parseDuration(bad), { instanceOf: ValueError }, `accepted ${JSON.stringify(bad)}`);
  }
  t.throws(() => parseDuration('5x'), { message: /not a duration.*100ms, 5s/ });
});

test('sizes read bytes, SI units (powers of 1000) and IEC units (powers of 1024)', (t) => {
  t.is(parseSize(104857600), 104857600);
  t.is(parseSize('1048576'), 1048576);
  t.is(parseSize('100MB'), 100_000_000);
  t.is(parseSize('1GiB'), 2 ** 30);
  t.is(parseSize('1 gib'), 2 ** 30);
  t.is(parseSize('512KiB'), 512 * 1024);
  t.is(parseSize('1.5KB'), 1500);
  t.is(parseSize('2TB'), 2e12);
  t.is(parseSize('64b'), 64);
  t.is(parseSize(0), 0);
});

test('sizes reject unknown units, fractions of a byte, negatives and other types', (t) => {
  for (const bad of ['10XB', 'abc', '', '1.5B', '1.1KiB', -5, '-1', 1.5, false, null]) {
    t.throws(() => parseSize(bad), { instanceOf: ValueError }, `accepted ${JSON.stringify(bad)}`);
  }
  t.is(parseSize(-1, { allowUnlimited: true }), -1);
  t.throws(() => parseSize('10XB'), { message: /not a size.*1GiB/ });
});

test('booleans read JSON booleans and the usual words from text', (t) => {
  for (const yes of [true, 'true', 'TRUE', '1', 1, 'yes', 'on']) t.true(parseBoolean(yes));
  for (const no of [false, 'false', '0', 0, 'no', 'Off']) t.false(parseBoolean(no));
  for (const bad of ['maybe', '', 2, null]) t.throws(() => parseBoolean(bad), { message: /not a boolean/ });
});

test('integers accept JSON numbers and digit strings only', (t) => {
  t.is(parseInteger(42), 42);
  t.is(parseInteger(' -7 '), -7);
  for (const bad of [1.5, '1e3', '0x10', '', 'ten', Number.MAX_SAFE_INTEGER + 2, '99999999999999999999']) {
    t.throws(() => parseInteger(bad), { message: /whole number/ }, `accepted ${JSON.stringify(bad)}`);
  }
});

test('ports are 0 to 65535, written as numbers or strings (the original go-queue writes "9092")', (t) => {
  t.is(parsePort('9092'), 9092);
  t.is(parsePort(0), 0);
  t.throws(() => parsePort(65536), { message: /not a port/ });
  t.throws(() => parsePort(-1), { message: /not a port/ });
});

test('addresses read host:port, [ipv6]:port and :port (every interface)', (t) => {
  t.deepEqual(parseAddress('127.0.0.1:9092'), { host: '127.0.0.1', port: 9092 });
  t.deepEqual(parseAddress('localhost:7001'), { host: 'localhost', port: 7001 });
  t.deepEqual(parseAddress('[::1]:9092'), { host: '::1', port: 9092 });
  t.deepEqual(parseAddress(':9092'), { host: '0.0.0.0', port: 9092 });
  for (const bad of ['localhost', '9092', 'host:port', 'a b:1', '[nothex]:1', 'host:70000', '::1:9092', 1]) {
    t.throws(() => parseAddress(bad), { instanceOf: ValueError }, `accepted ${JSON.stringify(bad)}`);
  }
});

test('broker ids are int32 whole numbers; go-queue names like "broker1" read as 1', (t) => {
  t.is(parseBrokerId(3), 3);
  t.is(parseBrokerId('3'), 3);
  t.is(parseBrokerId('broker1'), 1);
  t.is(parseBrokerId('Broker-12'), 12);
  t.throws(() => parseBrokerId('node1'), { message: /not a broker id/ });
  t.throws(() => parseBrokerId(-1), { message: /0 to 2147483647/ });
  t.throws(() => parseBrokerId(2 ** 31), { message: /0 to 2147483647/ });
});

test('initial cluster lists read "id=host:port,...", arrays and objects, ids in either form', (t) => {
  const expected = [
    { brokerId: 1, raftHost: 'localhost', raftPort: 7001 },
    { brokerId: 2, raftHost: 'localhost', raftPort: 7002 },
  ];
  t.deepEqual(parseInitialCluster('1=localhost:7001,2=localhost:7002'), expected);
  t.deepEqual(parseInitialCluster(' broker1=localhost:7001 , broker2=localhost:7002 '), expected);
  t.deepEqual(parseInitialCluster(['broker1=localhost:7001', 'broker2=localhost:7002']), expected);
  t.deepEqual(parseInitialCluster({ broker1: 'localhost:7001', broker2: 'localhost:7002' }), expected);
  t.deepEqual(parseInitialCluster({ 1: 'localhost:7001', 2: 'localhost:7002' }), expected);
  t.deepEqual(parseInitialCluster('3=[::1]:7003'), [{ brokerId: 3, raftHost: '::1', raftPort: 7003 }]);
  t.deepEqual(parseInitialCluster(''), []);
  t.deepEqual(parseInitialCluster([]), []);
  t.deepEqual(parseInitialCluster({}), []);
});

test('a bad initial cluster entry is named in the reason', (t) => {
  t.throws(() => parseInitialCluster('1=a:1,1=b:2'), {
    message: 'broker 1 is listed twice ("1=a:1" and "1=b:2")',
  });
  t.throws(() => parseInitialCluster('broker1=a:1,1=b:2'), { message: /broker 1 is listed twice/ });
  t.throws(() => parseInitialCluster('1=a:7001,2=A:7001'), {
    message: '"1=a:7001" and "2=A:7001" give the same Raft address: every member needs its own',
  });
  t.throws(() => parseInitialCluster('1=a:1,1:a:2'), { message: /^entry "1:a:2" is not id=host:port/ });
  t.throws(() => parseInitialCluster('1=a'), { message: /^entry "1=a": "a" is not an address/ });
  t.throws(() => parseInitialCluster('node1=a:1'), {
    message: /^entry "node1=a:1": "node1" is not a broker id/,
  });
  t.throws(() => parseInitialCluster('1=a:1,2=b:0'), { message: /^entry "2=b:0" has port 0/ });
  t.deepEqual(
    parseInitialCluster('1=a:0'),
    [{ brokerId: 1, raftHost: 'a', raftPort: 0 }],
    'alone, port 0 is fine',
  );
  t.throws(() => parseInitialCluster([1]), { message: /^entry 1 is not a string "id=host:port"/ });
  t.throws(() => parseInitialCluster({ broker1: 7001 }), {
    message: /^entry "broker1": 7001 is not a "host:port"/,
  });
  t.throws(() => parseInitialCluster(5), { message: /not a member list/ });
  t.throws(() => parseInitialCluster(null), { message: /not a member list/ });
});

test('labels (racks, tokens) are short printable text', (t) => {
  t.is(parseLabel(' eu-west-1a ', 255), 'eu-west-1a');
  t.throws(() => parseLabel('', 255), { message: /non-empty/ });
  t.throws(() => parseLabel('x'.repeat(256), 255), { message: /longer than 255 characters/ });
  t.throws(() => parseLabel('a\u0001b', 255), { message: /control characters/ });
  t.throws(() => parseLabel(7, 255), { message: /non-empty string/ });
});

test('choices match case-insensitively and list the allowed values when they do not', (t) => {
  t.is(parseChoice('GZIP', ['none', 'gzip'] as const), 'gzip');
  t.throws(() => parseChoice('brotli', ['none', 'gzip'] as const), { message: /not one of none, gzip/ });
});
