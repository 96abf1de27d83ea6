import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { Broker, type BrokerOptions } from '../../src/broker/broker.js';
import { ApiKey, decodeResponse, ErrorCode, encodeRequest } from '../../src/protocol/index.js';
import { type Codecs, type DecodedBatch, decodeRecordBatches } from '../../src/protocol/records.js';
import { memoryStorage } from './fixtures/memory-storage.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repositoryRoot = join(here, '..', '..');

/** The native storage core is used when it is built; otherwise the in-memory stand-in. */
export const nativeStorageAvailable = existsSync(join(repositoryRoot, 'src', 'storage', 'index.ts'));

export function temporaryDirectory(t: ExecutionContext): string {
  const directory = mkdtempSync(join(tmpdir(), 'goqueue-broker-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** An embedded broker on a free loopback port in a fresh data directory, stopped after the test. */
export async function startBroker(t: ExecutionContext, options: BrokerOptions = {}): Promise<Broker> {
  const broker = await Broker.start({
    dataDir: temporaryDirectory(t),
    host: '127.0.0.1',
    port: 0,
    ...(nativeStorageAvailable ? {} : { storage: memoryStorage }),
    ...options,
  });
  t.teardown(() => broker.stop());
  return broker;
}

export function bootstrap(broker: Broker): string {
  return `${broker.address.host}:${broker.address.port}`;
}

/** A quiet kafkajs client of `broker`. */
export function kafkaFor(broker: Broker): Kafka {
  return new Kafka({
    clientId: 'spec',
    brokers: [bootstrap(broker)],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
}

/** A raw Kafka connection for sending hand-made (and broken) frames. */
export class RawClient {
  private buffered = Buffer.alloc(0);
  private waiting: Array<(frame: Buffer) => void> = [];
  private closeWaiters: Array<() => void> = [];
  closed = false;
  private nextCorrelationId = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiting.shift()?.(frame);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.closeWaiters) wake();
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  nextFrame(): Promise<Buffer> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends a request encoded by the protocol codec; resolves to its decoded response. */
  async request(
    apiKey: number,
    apiVersion: number,
    body: object,
  ): Promise<{ correlationId: number; body: any }> {
    const correlationId = this.nextCorrelationId++;
    this.write(encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'raw' }, body));
    const frame = await this.nextFrame();
    return decodeResponse(apiKey, apiVersion, frame);
  }

  /**
   * FindCoordinator for a group until it names a coordinator, as Kafka clients do before any
   * group request (the first lookup creates the consumer groups topic).
   */
  async findCoordinator(groupId: string, timeoutMs = 30_000): Promise<{ nodeId: number; port: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const answer = await this.request(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0 });
      if (answer.body.errorCode === ErrorCode.NONE) return answer.body;
      if (performance.now() > deadline)
        throw new Error(`no coordinator for ${groupId}: error ${answer.body.errorCode}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Resolves once the broker has closed the connection. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * The batches of fetched `records` a consumer sees: Kafka clients skip control batches
 * (attributes bit 5), which include each Raft leader's no-op.
 */
export function userBatches(records: Buffer, codecs?: Codecs): DecodedBatch[] {
  return decodeRecordBatches(records, codecs).filter((batch) => !batch.isControl);
}

/**
 * ListOffsets latest (the high watermark) of one partition and the leader epoch the broker
 * reports with it, read over `client`.
 */
export async function latestOffset(
  client: RawClient,
  topic: string,
  partition = 0,
): Promise<{ offset: number; leaderEpoch: number }> {
  const response = await client.request(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      { name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] },
    ],
  });
  const answer = response.body.topics[0].partitions[0];
  if (answer.errorCode !== ErrorCode.NONE)
    throw new Error(`ListOffsets ${topic}-${partition} answered error ${answer.errorCode}`);
  return { offset: Number(answer.offset), leaderEpoch: answer.leaderEpoch };
}

/**
 * Waits until this broker leads `partitions` of `topic`, asking ListOffsets as a client asks
 * after NOT_LEADER_OR_FOLLOWER: a restarted broker serves before each partition's Raft group
 * has elected its leader (an election timeout later).
 */
export async function waitForLeadership(client: RawClient, topic: string, partitions = [0]): Promise<void> {
  for (;;) {
    const response = await client.request(ApiKey.ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: topic,
          partitions: partitions.map((partitionIndex) => ({
            partitionIndex,
            currentLeaderEpoch: -1,
            timestamp: -1,
          })),
        },
      ],
    });
    const errors: number[] = response.body.topics[0].partitions.map(
      (p: { errorCode: number }) => p.errorCode,
    );
    if (errors.every((code) => code === ErrorCode.NONE)) return;
    const unexpected = errors.find(
      (code) =>
        code !== ErrorCode.NONE &&
        code !== ErrorCode.NOT_LEADER_OR_FOLLOWER &&
        code !== ErrorCode.LEADER_NOT_AVAILABLE &&
        code !== ErrorCode.OFFSET_NOT_AVAILABLE,
    );
    if (unexpected !== undefined) throw new Error(`ListOffsets ${topic} answered error ${unexpected}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Every record value a consumer reads from one partition, from the log start up to the high
 * watermark (control batches skipped), read over `client` with Fetch v11.
 */
export async function readValues(
  client: RawClient,
  topic: string,
  partition = 0,
  codecs?: Codecs,
): Promise<string[]> {
  const values: string[] = [];
  let offset = 0;
  for (;;) {
    const response = await client.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const answer = response.body.responses[0].partitions[0];
    if (answer.errorCode !== ErrorCode.NONE)
      throw new Error(`Fetch ${topic}-${partition} at ${offset} answered error ${answer.errorCode}`);
    const batches = decodeRecordBatches(answer.records, codecs);
    if (batches.length === 0) return values;
    for (const batch of batches) {
      if (!batch.isControl) for (const record of batch.records) values.push(record.value?.toString() ?? '');
      offset = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
    }
  }
}

/** Runs kcat with `input` on stdin; rejects with its stderr on failure. Asynchronous: the
 * embedded broker runs on this process's event loop. */
export function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(stdout).toString());
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`));
    });
    child.stdin.end(input ?? '');
  });
}

export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Starts `fixtures/broker-process.ts` in a child process and waits for its port. */
export function spawnBroker(options: Record<string, unknown>): Promise<BrokerProcess> {
  const child = spawn(
    process.execPath,
    ['--import=tsx', join(here, 'fixtures', 'broker-process.ts'), JSON.stringify(options)],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined)
        resolve({ child, port: JSON.parse(line).port, exited });
    });
    child.once('exit', (code) =>
      reject(new Error(`broker process exited ${code} before listening: ${stderr}`)),
    );
  });
}
