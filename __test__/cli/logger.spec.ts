import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createLogger } from '../../src/log/logger.js';

const directory = mkdtempSync(join(tmpdir(), 'goqueue-logger-'));
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

function lines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

test('a log file gets one JSON object per line at or above the level, directories created', (t) => {
  const file = join(directory, 'nested', 'dir', 'broker.log');
  // The terminal echo of errors is checked below; here it goes nowhere.
  const logger = createLogger({ level: 'warn', file, terminal: { write: () => true } });
  logger.info('not written');
  logger.warn({ port: 9092 }, 'written');
  logger.error(new Error('boom'), 'failed');
  const written = lines(file).map(
    (line) => JSON.parse(line) as { level: number; msg: string; port?: number },
  );
  t.deepEqual(
    written.map(({ level, msg }) => ({ level, msg })),
    [
      { level: 40, msg: 'written' },
      { level: 50, msg: 'failed' },
    ],
  );
  t.is(written[0]!.port, 9092);
});

test('pretty output is readable text, not JSON', (t) => {
  const file = join(directory, 'pretty.log');
  const logger = createLogger({ level: 'info', file, pretty: true });
  logger.info({ port: 9092 }, 'listening');
  const text = readFileSync(file, 'utf8');
  t.regex(text, /INFO.*listening/);
  t.throws(() => JSON.parse(lines(file)[0]!));
});

test('level silent writes nothing', (t) => {
  const file = join(directory, 'silent.log');
  const logger = createLogger({ level: 'silent', file });
  logger.fatal('nothing');
  t.deepEqual(lines(file), []);
});

test('with a log file, errors are echoed to the terminal as one line each, without the stack; other levels and onTerminal: false are not', (t) => {
  const file = join(directory, 'echo.log');
  let terminal = '';
  const logger = createLogger({
    level: 'info',
    file,
    terminal: {
      write: (text: string) => {
        terminal += text;
      },
    },
  });
  logger.info('started');
  logger.warn('slow disk');
  logger.error({ err: new Error('disk full') }, 'append failed');
  logger.error({ onTerminal: false }, 'reported elsewhere');
  logger.fatal('crashed');
  t.is(terminal, 'goqueue: error: append failed: disk full\ngoqueue: fatal: crashed\n');
  t.deepEqual(
    lines(file).map((line) => (JSON.parse(line) as { msg: string }).msg),
    ['started', 'slow disk', 'append failed', 'reported elsewhere', 'crashed'],
  );
});
