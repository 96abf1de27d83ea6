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
    if (usePretty) {
      return pino({ level }, pretty({ destination, colorize: false, sync: true, ignore: 'pid,hostname' }));
    }
    return pino({ level }, destination);
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
