/**
 * A real librdkafka (kcat) against a minimal loopback server built only from the codec — no
 * broker logic, just enough handlers to prove the wire formats with the client goqueue must
 * serve: the KIP-511 ApiVersions fallback, Metadata, a Produce request carrying librdkafka's
 * own record batches (decoded by records.ts, gzip included), and a Fetch response carrying ours.
 */
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import test from 'ava';
import {
  Codec,
  type Codecs,
  decodeRecordBatches,
  decodeRequestBody,
  decodeRequestHeader,
  encodeApiVersionsFallback,
  encodeRecordBatch,
  encodeResponse,
  isSupported,
  type ProduceRequest,
  SUPPORTED_APIS,
} from '../../src/protocol/index.js';

const gzipOnly: Codecs = {
  compress: (codec, data) => {
    if (codec !== Codec.Gzip) throw new Error(`codec ${codec} not in this test`);
    return gzipSync(data);
  },
  decompress: (codec, data) => {
    if (codec !== Codec.Gzip) throw new Error(`codec ${codec} not in this test`);
    return gunzipSync(data);
  },
};

interface Seen {
  apiKey: number;
  apiVersion: number;
  body?: unknown;
}

type Handler = (apiVersion: number, body: Record<string, unknown>) => object;

async function withServer(
  handlers: (port: number) => Record<number, Handler>,
  run: (port: number, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const table = handlers(port);
  server.on('connection', (socket: Socket) => {
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const header = decodeRequestHeader(frame);
        if (header.apiKey === 18 && !isSupported(18, header.apiVersion)) {
          seen.push({ apiKey: 18, apiVersion: header.apiVersion });
          socket.write(encodeApiVersionsFallback(header.correlationId));
          continue;
        }
        const handler = table[header.apiKey];
        if (handler === undefined || !isSupported(header.apiKey, header.apiVersion)) {
          socket.destroy();
          return;
        }
        const body = decodeRequestBody(header.apiKey, header.apiVersion, frame, header.bodyOffset);
        seen.push({ apiKey: header.apiKey, apiVersion: header.apiVersion, body });
        const answer = handler(header.apiVersion, body);
        // acks=0 produce requests get no answer, as in Kafka.
        if (!(header.apiKey === 0 && body.acks === 0))
          socket.write(encodeResponse(header.apiKey, header.apiVersion, header.correlationId, answer));
      }
    });
  });
  try {
    await run(port, seen);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

function kcat(args: string[], input?: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => {
      stdout += data;
    });
    child.stderr.on('data', (data) => {
      stderr += data;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`kcat exited ${code}: ${stderr}`)),
    );
    child.stdin.end(input ?? '');
  });
}

function baseHandlers(port: number): Record<number, Handler> {
  return {
    18: () => ({ errorCode: 0, apiKeys: SUPPORTED_APIS }),
    3: () => ({
      brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
      clusterId: 'codec-test',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'alpha',
          isInternal: false,
          partitions: [0, 1].map((partitionIndex) => ({
            errorCode: 0,
            partitionIndex,
            leaderId: 1,
            leaderEpoch: -1,
            replicaNodes: [1],
            isrNodes: [1],
            offlineReplicas: [],
          })),
        },
      ],
    }),
  };
}

test('kcat gets a real ApiVersions v3 answer (flexible, response header v0) and lists our Metadata', async (t) => {
  await withServer(baseHandlers, async (port, seen) => {
    const metadata = JSON.parse(await kcat(['-L', '-J', '-b', `127.0.0.1:${port}`, '-m', '10']));
    t.deepEqual(metadata.brokers, [{ id: 1, name: `127.0.0.1:${port}` }]);
    t.is(metadata.topics.length, 1);
    t.is(metadata.topics[0].topic, 'alpha');
    t.is(metadata.topics[0].partitions.length, 2);
    const apiVersions = seen.filter((request) => request.apiKey === 18).map((request) => request.apiVersion);
    // v3 is served now: no fallback round (librdkafka would retry with v0 after error 35).
    t.deepEqual(apiVersions, [3]);
    t.true(seen.some((request) => request.apiKey === 3));
  });
});

for (const codec of ['none', 'gzip'] as const) {
  test(`kcat produce (${codec}): our Produce decoder and records.ts read librdkafka's batches`, async (t) => {
    await withServer(
      (port) => ({
        ...baseHandlers(port),
        0: (_version, body) => ({
          responses: (body as unknown as ProduceRequest).topicData.map((topic) => ({
            name: topic.name,
            partitionResponses: topic.partitionData.map((partition) => ({
              index: partition.index,
              errorCode: 0,
              baseOffset: 0,
            })),
          })),
        }),
      }),
      async (port, seen) => {
        const lines = ['k1:v1', 'k2:v2', 'k3:v3'];
        await kcat(
          [
            '-P',
            '-b',
            `127.0.0.1:${port}`,
            '-t',
            'alpha',
            '-p',
            '1',
            '-K',
            ':',
            '-z',
            codec,
            '-H',
            'trace=abc',
            '-m',
            '10',
          ],
          `${lines.join('\n')}\n`,
        );
        const produces = seen.filter((request) => request.apiKey === 0);
        t.true(produces.length >= 1);
        t.true(isSupported(0, produces[0]!.apiVersion));
        const records = produces.flatMap((request) =>
          (request.body as ProduceRequest).topicData.flatMap((topic) =>
            topic.partitionData.flatMap((partition) => {
              t.is(topic.name, 'alpha');
              t.is(partition.index, 1);
              return decodeRecordBatches(partition.records!, gzipOnly).flatMap((batch) => {
                t.is(batch.header.attributes & 0x07, codec === 'gzip' ? Codec.Gzip : Codec.None);
                return batch.records;
              });
            }),
          ),
        );
        t.deepEqual(
          records.map((record) => `${record.key?.toString()}:${record.value?.toString()}`),
          lines,
        );
        t.deepEqual(
          records[0]!.headers.map((header) => `${header.key}=${header.value?.toString()}`),
          ['trace=abc'],
        );
      },
    );
  });
}

for (const codec of [Codec.None, Codec.Gzip]) {
  test(`kcat consume (codec ${codec}): librdkafka reads our Fetch response and record batch`, async (t) => {
    const batch = encodeRecordBatch(
      {
        baseOffset: 0,
        attributes: codec,
        baseTimestamp: 1700000000000,
        records: [
          { key: 'a', value: 'first', headers: [{ key: 'h', value: 'x' }] },
          { key: 'b', value: 'second' },
          { key: null, value: 'third' },
        ],
      },
      gzipOnly,
    );
    await withServer(
      (port) => ({
        ...baseHandlers(port),
        2: (_version, body) => ({
          topics: (
            body.topics as Array<{
              name: string;
              partitions: Array<{ partitionIndex: number; timestamp: number }>;
            }>
          ).map((topic) => ({
            name: topic.name,
            partitions: topic.partitions.map((partition) => ({
              partitionIndex: partition.partitionIndex,
              errorCode: 0,
              timestamp: -1,
              offset: partition.timestamp === -2 ? 0 : 3,
              leaderEpoch: -1,
            })),
          })),
        }),
        1: (_version, body) => ({
          responses: (
            body.topics as Array<{
              topic: string;
              partitions: Array<{ partition: number; fetchOffset: number }>;
            }>
          ).map((topic) => ({
            topic: topic.topic,
            partitions: topic.partitions.map((partition) => ({
              partitionIndex: partition.partition,
              errorCode: 0,
              highWatermark: 3,
              lastStableOffset: 3,
              logStartOffset: 0,
              abortedTransactions: null,
              records: partition.fetchOffset === 0 ? batch : null,
            })),
          })),
        }),
      }),
      async (port) => {
        const output = await kcat([
          '-C',
          '-b',
          `127.0.0.1:${port}`,
          '-t',
          'alpha',
          '-p',
          '0',
          '-o',
          'beginning',
          '-c',
          '3',
          '-f',
          '%o %k=%s %h\\n',
          '-m',
          '10',
        ]);
        t.deepEqual(
          output
            .trim()
            .split('\n')
            .map((line) => line.trimEnd()),
          ['0 a=first h=x', '1 b=second', '2 =third'],
        );
      },
    );
  });
}
