import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The environment without the caller's GOQUEUE_* settings, plus `extra`. */
function cleanEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GOQUEUE_')) env[name] = value;
  }
  return { ...env, ...extra };
}

/** `goqueue <args>` from the sources, as `node --import=tsx src/cli/main.ts <args>`. */
export function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import=tsx', 'src/cli/main.ts', ...args], {
    cwd: options.cwd ?? repositoryRoot,
    env: cleanEnvironment(options.env ?? {}),
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects the output of a child until it exits. */
export function finished(child: ChildProcessWithoutNullStreams): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `goqueue <args>` to completion. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) {
  return finished(spawnCli(args, options));
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  /** Every JSON log line read from stdout so far. */
  lines: LogLine[];
  /** Resolves with the whole output when the process exits. */
  exit: Promise<Finished>;
}

/**
 * Starts `goqueue broker <args>` and resolves once a log line on stdout matches `until`
 * (rejects if the process exits first, with its stderr).
 */
export function startCli(
  args: string[],
  until: (line: LogLine) => boolean,
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<RunningCli & { match: LogLine }> {
  const child = spawnCli(args, options);
  const exit = finished(child);
  const lines: LogLine[] = [];
  let pending = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          reject(new Error(`stdout line is not JSON: ${text}`));
          return;
        }
        lines.push(line);
        if (until(line)) resolve({ child, lines, exit, match: line });
      }
    });
    exit.then((result) =>
      reject(
        new Error(
          `goqueue exited (${result.code ?? result.signal}) before the awaited line: ${result.stderr}`,
        ),
      ),
    );
  });
}

/**
 * Sends a Kafka ApiVersions v0 request over a fresh TCP connection and decodes the answer
 * (hand-written bytes, independent of the project's codec).
 */
export function apiVersionsV0(
  port: number,
  correlationId: number,
): Promise<{ correlationId: number; errorCode: number; apiKeys: number[] }> {
  const clientId = Buffer.from('cli-test');
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(18, 4); // ApiVersions
  request.writeInt16BE(0, 6);
  request.writeInt32BE(correlationId, 8);
  request.writeInt16BE(clientId.length, 12);
  clientId.copy(request, 14);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(request));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.end();
      const count = received.readInt32BE(10);
      const apiKeys = Array.from({ length: count }, (_, i) => received.readInt16BE(14 + i * 6));
      resolve({ correlationId: received.readInt32BE(4), errorCode: received.readInt16BE(8), apiKeys });
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed before a full response')));
  });
}

/**
 * Sends a Kafka Metadata v0 request (no topics) over a fresh TCP connection and decodes the
 * brokers it lists (hand-written bytes, independent of the project's codec).
 */
export function metadataBrokersV0(
  port: number,
): Promise<Array<{ nodeId: number; host: string; port: number }>> {
  const clientId = Buffer.from('cli-test');
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(3, 4); // Metadata
  request.writeInt16BE(0, 6);
  request.writeInt32BE(1, 8);
  request.writeInt16BE(clientId.length, 12);
  clientId.copy(request, 14);
  request.writeInt32BE(0, 14 + clientId.length); // no topics named
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(request));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.end();
      const brokers: Array<{ nodeId: number; host: string; port: number }> = [];
      let position = 8; // size, correlation id
      const count = received.readInt32BE(position);
      position += 4;
      for (let i = 0; i < count; i++) {
        const nodeId = received.readInt32BE(position);
        const hostLength = received.readInt16BE(position + 4);
        const host = received.toString('utf8', position + 6, position + 6 + hostLength);
        position += 6 + hostLength;
        brokers.push({ nodeId, host, port: received.readInt32BE(position) });
        position += 4;
      }
      resolve(brokers);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed before a full response')));
  });
}
