import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeRequestBody,
  decodeRequestHeader,
  encodeApiVersionsFallback,
  encodeResponse,
  SERVED_APIS,
} from '../../src/protocol/index.js';

export interface FakeRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  body: any;
  socket: Socket;
  /** Sends the response body (encoded for the request's version). */
  reply(body: object): void;
}

export interface FakeBrokerOptions {
  /** Version ranges the fake advertises (default: everything the codec serves). */
  apis?: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>;
  /** Largest ApiVersions version it answers; above it, the KIP-511 fallback. */
  apiVersionsMax?: number;
  /** Handler for every request except ApiVersions. */
  onRequest(request: FakeRequest): void;
  /** Writes responses in chunks of this many bytes (frame-splitting tests). */
  chunkBytes?: number;
}

/**
 * A minimal Kafka-speaking TCP server on 127.0.0.1 port 0, for testing the connection layer
 * (framing, correlation, in-flight bounds, timeouts) without a broker.
 */
export class FakeBroker {
  readonly sockets = new Set<Socket>();
  /** Versions of the ApiVersions requests received, in order. */
  readonly apiVersionsRequests: number[] = [];
  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: FakeBrokerOptions): Promise<FakeBroker> {
    const sockets = new Set<Socket>();
    const apiVersionsRequests: number[] = [];
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffered = Buffer.alloc(0);
      const write = (bytes: Buffer): void => {
        if (!options.chunkBytes) {
          socket.write(bytes);
          return;
        }
        for (let at = 0; at < bytes.length; at += options.chunkBytes) {
          socket.write(bytes.subarray(at, at + options.chunkBytes));
        }
      };
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
          const size = buffered.readInt32BE(0);
          const frame = buffered.subarray(4, 4 + size);
          buffered = buffered.subarray(4 + size);
          const header = decodeRequestHeader(frame);
          if (header.apiKey === 18) {
            apiVersionsRequests.push(header.apiVersion);
            if (header.apiVersion > (options.apiVersionsMax ?? 2)) {
              write(encodeApiVersionsFallback(header.correlationId));
              continue;
            }
            write(
              encodeResponse(18, header.apiVersion, header.correlationId, {
                errorCode: 0,
                apiKeys: options.apis ?? SERVED_APIS,
                throttleTimeMs: 0,
              }),
            );
            continue;
          }
          const body = decodeRequestBody(header.apiKey, header.apiVersion, frame, header.bodyOffset);
          options.onRequest({
            apiKey: header.apiKey,
            apiVersion: header.apiVersion,
            correlationId: header.correlationId,
            body,
            socket,
            reply: (response) =>
              write(encodeResponse(header.apiKey, header.apiVersion, header.correlationId, response)),
          });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const fake = new FakeBroker(server, address.port);
    Object.assign(fake, { sockets, apiVersionsRequests });
    return fake;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A Metadata response naming the requested topics back, for correlation checks. */
export function echoMetadata(body: any): object {
  return {
    throttleTimeMs: 0,
    brokers: [],
    clusterId: null,
    controllerId: -1,
    topics: (body.topics ?? []).map((t: { name: string }) => ({
      errorCode: 3,
      name: t.name,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: 0,
    })),
    clusterAuthorizedOperations: 0,
  };
}

/** A Metadata response for a one-broker cluster (the fake itself, node 1, at `port`) leading every
 * partition of `topic`. */
export function singleBrokerMetadata(port: number, topic: string, partitionCount: number): object {
  return {
    brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
    clusterId: 'fake',
    controllerId: 1,
    topics: [
      {
        errorCode: 0,
        name: topic,
        isInternal: false,
        partitions: Array.from({ length: partitionCount }, (_, partitionIndex) => ({
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
  };
}
