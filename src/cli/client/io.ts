import type { Readable, Writable } from 'node:stream';
import { Client } from '../../client/client.js';
import { GoqueueError } from '../../client/errors.js';
import { CommandError } from '../broker-command.js';

/** Streams the client commands read and write; tests pass their own. */
export interface CommandIo {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export const processIo = (): CommandIo => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

export interface ConnectionFlags {
  bootstrap: string;
  timeout?: string;
}

/** Runs `work` with a client for `--bootstrap`, closing it afterwards. */
export async function withClient<T>(
  flags: ConnectionFlags,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({
    brokers: flags.bootstrap,
    clientId: 'goqueue-cli',
    ...(flags.timeout ? { timeoutMs: Number(flags.timeout) } : {}),
  });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

export function parseInteger(name: string): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed)) throw new UsageError(`${name} must be an integer, not "${value}"`);
    return parsed;
  };
}

/** Writes a line and resolves once the stream took it (so piped output is not cut short). */
export function writeLine(stream: Writable, line: string): Promise<void> | undefined {
  if (stream.write(`${line}\n`)) return undefined;
  return new Promise((resolve) => stream.once('drain', () => resolve()));
}

/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A bad flag value: reported as a usage error (exit 2). */
export class UsageError extends CommandError {
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * Wraps a command action so SDK errors reach the user as one line (exit 1) instead of a stack
 * trace; the message already says what to do.
 */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      if (error instanceof GoqueueError) throw new CommandError(error.message, 1);
      throw error;
    }
  };
}
