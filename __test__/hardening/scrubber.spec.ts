/**
 * Integrity on a broker process: a byte flipped inside a sealed segment (data the recovery point
 * covers, which a restart never re-reads) is found by the scrubber, logged with the partition's
 * directory, offset and byte position, and fetches from that offset fail with CORRUPT_MESSAGE
 * while the batches before it are still served. Before: the broker served the flipped bytes as
 * stored (kcat printed the corrupt value). Also: a corrupt sealed segment found by a full scan at
 * open keeps every later segment in quarantine/ (before: they were deleted).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { Codec } from '../../src/protocol/record-batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records.js';
import { RawClient, temporaryDirectory, waitForLeadership } from '../broker/helpers.js';
import { startObservedBroker, until } from './process.js';

async function fetchAt(client: RawClient, offset: number) {
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
        topic: 'scrubbed',
        partitions: [
          {
            partition: 0,
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
  return response.body.responses[0].partitions[0] as { errorCode: number; records: Buffer | null };
}

/** Writes 60 records of 200 bytes (one batch each) to a topic of 1 KiB segments. */
async function fill(client: RawClient): Promise<number[]> {
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [
      {
        name: 'scrubbed',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'segment.bytes', value: '1024' }],
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  if (created.body.topics[0].errorCode !== ErrorCode.NONE) throw new Error('create failed');
  await waitForLeadership(client, 'scrubbed');
  const offsets: number[] = [];
  for (let i = 0; i < 60; i++) {
    const records = encodeRecordBatch({
      baseTimestamp: 1_700_000_000_000 + i,
      attributes: Codec.None,
      records: [{ key: null, value: Buffer.alloc(200, 0x61 + (i % 26)) }],
    });
    const response = await client.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: 'scrubbed', partitionData: [{ index: 0, records }] }],
    });
    const answer = response.body.responses[0].partitionResponses[0];
    if (answer.errorCode !== ErrorCode.NONE) throw new Error(`produce answered ${answer.errorCode}`);
    offsets.push(Number(answer.baseOffset));
  }
  return offsets;
}

function partitionDirectory(dataDir: string): string {
  const partitions = join(dataDir, 'partitions');
  const name = readdirSync(partitions).find((entry) => entry.endsWith('-0') && !entry.startsWith('__'));
  if (name === undefined) throw new Error('no partition directory');
  return join(partitions, name);
}

function segments(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

/** Flips one byte in the value of the second batch of `segment`; returns that batch's offset. */
function flipSecondBatch(path: string): number {
  const bytes = readFileSync(path);
  const second = 12 + bytes.readInt32BE(8);
  bytes[second + 61 + 20] ^= 0x01;
  writeFileSync(path, bytes);
  return Number(bytes.readBigInt64BE(second));
}

test('the scrubber finds a flipped byte in a sealed segment; fetches from it fail with CORRUPT_MESSAGE, earlier ones are served', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = { dataDir, host: '127.0.0.1', port: 0, logLevel: 'info' };
  const first = await startObservedBroker({ ...options, scrubBytesPerSecond: 0 });
  const client = await RawClient.open(first.port);
  const offsets = await fill(client);
  client.close();
  first.kill('SIGTERM');
  t.is(await first.exited, 0);
  const directory = partitionDirectory(dataDir);
  const files = segments(directory);
  t.true(files.length >= 4, `${files.length} segments`);
  const damagedOffset = flipSecondBatch(join(directory, files[1]!));
  t.true(offsets.includes(damagedOffset));

  const second = await startObservedBroker({ ...options, scrubBytesPerSecond: 64 * 1024 * 1024 });
  t.teardown(() => second.kill());
  // Reopening trusts the segment (it lies before the recovery point): nothing is cut.
  t.false(second.lines.some((line) => line.msg.startsWith('cut a torn or corrupt log tail')));
  // Found by the scrubber, or first by the replay of the last entries at start (a Raft read
  // re-checks each batch).
  const detected = (line: { msg: string }): boolean =>
    line.msg.startsWith('scrubber found a corrupt batch') ||
    line.msg.startsWith('a read found a corrupt batch');
  await until(() => second.lines.some(detected));
  const found = second.lines.find(detected)!;
  t.is(found.offset, damagedOffset);
  t.true(String(found.directory).startsWith(directory));
  t.is(typeof (found.msg.startsWith('scrubber') ? found.position : found.index), 'number');
  const reader = await RawClient.open(second.port);
  t.teardown(() => reader.close());
  await waitForLeadership(reader, 'scrubbed');
  t.is((await fetchAt(reader, damagedOffset)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  t.is((await fetchAt(reader, offsets[offsets.length - 1]!)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  const before = await fetchAt(reader, offsets[0]!);
  t.is(before.errorCode, ErrorCode.NONE);
  t.true((before.records?.length ?? 0) > 0);
});

test('a full scan that finds a corrupt sealed segment moves the later segments to quarantine instead of deleting them', async (t) => {
  const dataDir = temporaryDirectory(t);
  const options = { dataDir, host: '127.0.0.1', port: 0, logLevel: 'info', scrubBytesPerSecond: 0 };
  const first = await startObservedBroker(options);
  const client = await RawClient.open(first.port);
  await fill(client);
  client.close();
  first.kill('SIGTERM');
  t.is(await first.exited, 0);
  const directory = partitionDirectory(dataDir);
  const files = segments(directory);
  flipSecondBatch(join(directory, files[1]!));
  rmSync(join(directory, 'recovery-point')); // a lost point: open scans every segment
  const second = await startObservedBroker(options);
  t.teardown(() => second.kill());
  await until(() => second.lines.some((line) => line.msg.startsWith('moved what recovery cut off')));
  for (const name of files.slice(2)) {
    t.true(existsSync(join(directory, 'quarantine', name)), `${name} kept in quarantine`);
    t.false(existsSync(join(directory, name)));
  }
});
