/**
 * A real librdkafka (kcat) against a minimal loopback server built only from the codec: kcat
 * opens with ApiVersions v3 (flexible), gets the KIP-511 fallback, retries with v2, then reads
 * our Metadata. Proves the fallback and the Metadata encoding with the client goqueue must serve.
 */
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import test from 'ava';
import {
  decodeRequestBody,
  decodeRequestHeader,
  encodeApiVersionsFallback,
  encodeResponse,
  isSupported,
  SUPPORTED_APIS,
} from '../../src/protocol/index.js';

interface Seen {
  apiKey: number;
  apiVersion: number;
}

function serve(socket: Socket, port: number, seen: Seen[]): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
      pending = pending.subarray(4 + frame.length);
      const header = decodeRequestHeader(frame);
      seen.push({ apiKey: header.apiKey, apiVersion: header.apiVersion });
      if (header.apiKey === 18 && !isSupported(18, header.apiVersion)) {
        socket.write(encodeApiVersionsFallback(header.correlationId));
      } else if (header.apiKey === 18) {
        socket.write(
          encodeResponse(18, header.apiVersion, header.correlationId, {
            errorCode: 0,
            apiKeys: SUPPORTED_APIS,
          }),
        );
      } else if (header.apiKey === 3) {
        decodeRequestBody(3, header.apiVersion, frame, header.bodyOffset);
        socket.write(
          encodeResponse(3, header.apiVersion, header.correlationId, {
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
                  leaderEpoch: 0,
                  replicaNodes: [1],
                  isrNodes: [1],
                  offlineReplicas: [],
                })),
              },
            ],
          }),
        );
      } else {
        socket.destroy();
      }
    }
  });
  socket.on('error', () => {});
}

test('kcat completes the KIP-511 ApiVersions fallback and lists our Metadata', async (t) => {
  const seen: Seen[] = [];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  server.on('connection', (socket) => serve(socket, port, seen));
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const kcat = spawn('kcat', ['-L', '-J', '-b', `127.0.0.1:${port}`, '-m', '10'], { stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      kcat.stdout.on('data', (data) => {
        stdout += data;
      });
      kcat.stderr.on('data', (data) => {
        stderr += data;
      });
      kcat.on('error', reject);
      kcat.on('close', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`kcat exited ${code}: ${stderr}`)),
      );
    });
    const metadata = JSON.parse(output);
    t.deepEqual(metadata.brokers, [{ id: 1, name: `127.0.0.1:${port}` }]);
    t.is(metadata.topics.length, 1);
    t.is(metadata.topics[0].topic, 'alpha');
    t.is(metadata.topics[0].partitions.length, 2);
    const apiVersionsRequests = seen
      .filter((request) => request.apiKey === 18)
      .map((request) => request.apiVersion);
    t.is(apiVersionsRequests[0], 3);
    // The retry uses a version we serve (librdkafka 2.0.2 picks v0).
    t.true(apiVersionsRequests.length >= 2, `ApiVersions versions seen: ${apiVersionsRequests.join(',')}`);
    t.true(isSupported(18, apiVersionsRequests[1]!));
    t.true(seen.some((request) => request.apiKey === 3));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
