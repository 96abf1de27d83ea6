/**
 * RateLimitedLog: one line per message per window, the rest counted and reported with the next
 * line of that message (`suppressed`) or by `flush` (a `(summary)` line).
 */
import test from 'ava';
import { pino } from 'pino';
import { RateLimitedLog } from '../../src/log/rate-limited.js';

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

test('1,000 identical warnings within a window give one line; the next window says how many were left out', (t) => {
  const { logger, lines } = capture();
  let nowMs = 0;
  const log = new RateLimitedLog(logger, 10_000, () => nowMs);
  for (let i = 0; i < 1000; i++) log.warn({ connection: i }, 'closing connection on bad input');
  log.warn({ other: true }, 'another message');
  t.is(lines.length, 2);
  t.is(lines[0]!.connection, 0);
  nowMs = 10_000;
  log.warn({ connection: 1000 }, 'closing connection on bad input');
  t.is(lines.length, 3);
  t.is(lines[2]!.suppressed, 999);
  t.is(log.count('closing connection on bad input'), 1001);
});

test('flush writes a summary of what each window left out', (t) => {
  const { logger, lines } = capture();
  const log = new RateLimitedLog(logger, 10_000, () => 0);
  for (let i = 0; i < 5; i++) log.warn({ attempt: i }, 'refusing a connection over the connection limit');
  log.flush();
  t.is(lines.length, 2);
  t.is(lines[1]!.msg, 'refusing a connection over the connection limit (summary)');
  t.is(lines[1]!.suppressed, 4);
  t.is(lines[1]!.attempt, 4);
});
