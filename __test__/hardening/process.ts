/**
 * A broker in a child process (`__test__/broker/fixtures/broker-process.ts`) whose JSON log
 * lines are collected, with its memory figures from /proc: what the hardening specs observe
 * from outside, as an operator would.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../broker/helpers.js';
import { type LogLine, readLogLines } from '../cluster-processes/harness.js';

export interface ObservedBroker {
  pid: number;
  port: number;
  lines: LogLine[];
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts a broker process with `options` (Broker.start options plus `logLevel`). */
export function startObservedBroker(
  options: Record<string, unknown>,
  spawnOptions: { command?: string[] } = {},
): Promise<ObservedBroker> {
  const script = join(repositoryRoot, '__test__', 'broker', 'fixtures', 'broker-process.ts');
  const [command, ...prefix] = spawnOptions.command ?? [process.execPath];
  const child = spawn(
    command!,
    [
      ...prefix,
      ...(spawnOptions.command ? [process.execPath] : []),
      '--import=tsx',
      script,
      JSON.stringify({ logLevel: 'info', ...options }),
    ],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: LogLine[] = [];
  readLogLines(child.stderr!, (line) => lines.push(line));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      const { port } = JSON.parse(stdout.slice(0, newline)) as { port: number };
      resolve({
        pid: child.pid!,
        port,
        lines,
        exited,
        kill: (signal = 'SIGKILL') => {
          child.kill(signal);
        },
      });
    });
    child.once('exit', (code) =>
      reject(new Error(`broker exited ${code} before listening: ${lines.map((l) => l.msg).join('; ')}`)),
    );
  });
}

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now, VmHWM: the peak so far). */
export function memoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Waits until `check` holds, polling every 50 ms (the spec's own timeout bounds the wait). */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Whether `broker` logs a line `matches` within `withinMs`: its output arrives through a pipe,
 * after answers the broker sent on a socket at the same moment, so a line is awaited, not read
 * at once.
 */
export async function logged(
  broker: ObservedBroker,
  matches: (message: string) => boolean,
  withinMs = 15_000,
): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    if (broker.lines.some((line) => matches(line.msg))) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
