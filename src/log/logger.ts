import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { BrokerConfig } from '../config/types.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Least severe level written; default `info`. */
  level?: BrokerConfig['logLevel'];
  /** Write JSON lines to this file (directories are created) instead of stdout. */
  file?: string | null;
  /**
   * With `file`: where errors are echoed as one line each (default stderr), so that a broker
   * logging to a file still shows its failures on the terminal. Records logged with
   * `{ onTerminal: false }` are not echoed (the caller reports them itself).
   */
  terminal?: { write(text: string): unknown };
  /**
   * Human-readable lines instead of JSON. Default: when stdout is a terminal and no file is
   * given; JSON otherwise, so that pipes and log collectors get one object per line.
   */
  pretty?: boolean;
}

/**
 * The process logger. Writes are synchronous: a broker logs little on its hot paths, and
 * synchronous writes keep the last lines before an exit or a crash.
 */
export function createLogger(options: LoggerOptions = {}): pino.Logger {
  const level = options.level ?? 'info';
  const file = options.file ?? null;
  const usePretty = options.pretty ?? (file === null && process.stdout.isTTY === true);
  if (file !== null) {
    const destination = pino.destination({ dest: file, mkdir: true, sync: true });
    const fileStream = usePretty
      ? pretty({ destination, colorize: false, sync: true, ignore: 'pid,hostname,onTerminal' })
      : destination;
    const echo = errorEcho(options.terminal ?? process.stderr);
    return pino(
      { level },
      pino.multistream([
        { level, stream: fileStream },
        { level: 'error', stream: echo },
      ]),
    );
  }
  if (usePretty) {
    return pino(
      { level },
      pretty({
        colorize: process.stdout.isTTY === true,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino({ level }, pino.destination({ dest: 1, sync: true }));
}

/**
 * A stream that writes each error record it gets as one line (`goqueue: error: <msg>: <cause>`),
 * without the stack: the file has the whole record.
 */
function errorEcho(terminal: { write(text: string): unknown }): { write(line: string): void } {
  return {
    write(line: string): void {
      let record: { level?: number; msg?: string; onTerminal?: boolean; err?: { message?: string } };
      try {
        record = JSON.parse(line);
      } catch {
        return;
      }
      if (record.onTerminal === false) return;
      const severity = (record.level ?? 0) >= 60 ? 'fatal' : 'error';
      const cause =
        record.err?.message && !record.msg?.includes(record.err.message) ? `: ${record.err.message}` : '';
      terminal.write(`goqueue: ${severity}: ${record.msg ?? ''}${cause}\n`);
    },
  };
}
