/**
 * A full disk, for real: the broker's data directory is a small tmpfs (mounted by the test,
 * which needs root; skipped otherwise) filled with a filler file. While it is full, produce is
 * answered KAFKA_STORAGE_ERROR (never acknowledged), and once the filler is removed produce
 * works again without a restart; every acknowledged record is read back. min_free_bytes refuses
 * produce before the disk fills, with a log line. SIGTERM while full stops the broker with exit
 * code 0. Before: the first ENOSPC stopped the broker's Raft node, so writes were refused until a
 * restart, and SIGTERM while full exited 1.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, readValues, waitForLeadership } from '../broker/helpers.js';
import { logged, type ObservedBroker, startObservedBroker, until } from './process.js';

const MiB = 2 ** 20;

function tryMount(): string | null {
  const directory = mkdtempSync(join(tmpdir(), 'goqueue-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', directory], { stdio: 'ignore' });
    return directory;
  } catch {
    rmSync(directory, { recursive: true, force: true });
    return null;
  }
}

const probe = tryMount();
if (probe !== null) {
  execFileSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
}
const withTmpfs = probe !== null ? test.serial : test.serial.skip;

/** A 32 MiB tmpfs, unmounted after the test. */
function smallDisk(t: ExecutionContext): string {
  const directory = tryMount();
  if (directory === null) throw new Error('cannot mount a tmpfs');
  t.teardown(() => {
    execFileSync('umount', ['-l', directory]);
    rmSync(directory, { recursive: true, force: true });
  });
  return directory;
}

/** Fills the file system of `directory` until `leaveBytes` are free. */
function fill(directory: string, leaveBytes: number): string {
  const path = join(directory, 'filler');
  const { bavail, bsize } = statfsSync(directory);
  writeFileSync(path, Buffer.alloc(Math.max(0, bavail * bsize - leaveBytes)));
  return path;
}

function batch(value: string, bytes: number): Buffer {
  return encodeRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    attributes: Codec.None,
    records: [{ key: null, value: Buffer.concat([Buffer.from(`${value}:`), Buffer.alloc(bytes, 0x62)]) }],
  });
}

async function produce(client: RawClient, value: string, bytes: number) {
  const response = await client.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 2000,
    topicData: [{ name: 'full', partitionData: [{ index: 0, records: batch(value, bytes) }] }],
  });
  return response.body.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: number };
}

async function startOnSmallDisk(t: ExecutionContext, options: Record<string, unknown>) {
  const disk = smallDisk(t);
  const dataDir = join(disk, 'data');
  mkdirSync(dataDir);
  const broker = await startObservedBroker({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'info',
    ...options,
  });
  t.teardown(() => broker.kill());
  const client = await RawClient.open(broker.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'full', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  await waitForLeadership(client, 'full');
  return { disk, broker, client };
}

/**
 * Produces 64 KiB records until one is refused; returns the acknowledged values. The write that
 * meets the full disk is in flight when it fails: it is never acknowledged (it times out, and is
 * stored later if space comes back); every produce after it is refused at once.
 */
async function produceUntilRefused(
  t: ExecutionContext,
  client: RawClient,
  prefix: string,
): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let i = 0; ; i++) {
    const answer = await produce(client, `${prefix}${i}`, 64 * 1024);
    if (answer.errorCode === ErrorCode.NONE) {
      acknowledged.push(`${prefix}${i}`);
      continue;
    }
    t.true(
      answer.errorCode === ErrorCode.KAFKA_STORAGE_ERROR || answer.errorCode === ErrorCode.REQUEST_TIMED_OUT,
      `produce ${i} while full answered ${answer.errorCode}`,
    );
    const next = await produce(client, `${prefix}refused`, 64 * 1024);
    t.is(next.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'the next produce is refused at once');
    return acknowledged;
  }
}

function valuesOf(values: string[]): string[] {
  return values.map((value) => value.slice(0, value.indexOf(':')));
}

withTmpfs(
  'a full disk refuses produce with KAFKA_STORAGE_ERROR and accepts it again once space is freed, without a restart',
  async (t) => {
    const { disk, broker, client } = await startOnSmallDisk(t, { minFreeBytes: 0 });
    t.deepEqual((await produce(client, 'first', 10)).errorCode, ErrorCode.NONE);
    const filler = fill(disk, 2 * MiB);
    const acknowledged = ['first', ...(await produceUntilRefused(t, client, 'a'))];
    // Still full: refused again.
    t.is((await produce(client, 'still-full', 64 * 1024)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    rmSync(filler);
    // Space is back: produce resumes by itself (checked at a bounded rate).
    await until(async () => (await produce(client, 'after', 10)).errorCode === ErrorCode.NONE);
    acknowledged.push('after');
    const read = valuesOf(await readValues(client, 'full'));
    for (const value of acknowledged) t.true(read.includes(value), `acknowledged ${value} is read back`);
    t.true(await logged(broker, (msg) => msg.includes('disk is full')));
  },
);

withTmpfs(
  'min_free_bytes refuses produce before the disk fills, with a log line, and lifts when space returns',
  async (t) => {
    const { disk, broker, client } = await startOnSmallDisk(t, { minFreeBytes: 8 * MiB });
    t.is((await produce(client, 'first', 10)).errorCode, ErrorCode.NONE);
    const filler = fill(disk, 6 * MiB);
    await until(async () => (await produce(client, 'x', 10)).errorCode === ErrorCode.KAFKA_STORAGE_ERROR);
    t.true(statfsSync(disk).bavail * statfsSync(disk).bsize > 4 * MiB, 'the disk itself never filled');
    t.true(await logged(broker, (msg) => msg.includes('min_free_bytes')));
    rmSync(filler);
    await until(async () => (await produce(client, 'after', 10)).errorCode === ErrorCode.NONE);
    t.deepEqual(
      valuesOf(await readValues(client, 'full')).filter((v) => v !== 'x'),
      ['first', 'after'],
    );
  },
);

withTmpfs('SIGTERM while the disk is full stops the broker with exit code 0', async (t) => {
  const { disk, broker, client } = await startOnSmallDisk(t, { minFreeBytes: 0 });
  t.is((await produce(client, 'first', 10)).errorCode, ErrorCode.NONE);
  fill(disk, 2 * MiB);
  await produceUntilRefused(t, client, 'b');
  const observed: ObservedBroker = broker;
  observed.kill('SIGTERM');
  t.is(await observed.exited, 0);
});
