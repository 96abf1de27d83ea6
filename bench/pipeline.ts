/**
 * A pipelined raw Kafka connection for broker benchmarks: pre-encoded request frames with up to
 * `inFlight` unanswered; every response is decoded and its error codes checked.
 * Not a `.bench.ts` file, so `bench/run.ts` does not run it.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, ErrorCode } from '../src/protocol/index.js';

/** One connection sending pre-encoded frames with up to IN_FLIGHT unanswered; every response
 * is decoded and its error codes checked. */
export class Pipeline {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiters: Array<(frame: Buffer) => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly inFlight: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiters.shift()!(frame);
      }
    });
  }

  static open(port: number, inFlight: number): Promise<Pipeline> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new Pipeline(socket, inFlight)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  request(frame: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.socket.write(frame);
    });
  }

  async run(apiKey: number, apiVersion: number, frames: Buffer[]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < frames.length) {
        const frame = frames[next++]!;
        check(decodeResponse(apiKey, apiVersion, await this.request(frame)).body as AnyResponse);
      }
    };
    await Promise.all(Array.from({ length: this.inFlight }, worker));
  }

  close(): void {
    this.socket.destroy();
  }
}

interface AnyResponse {
  responses?: Array<{ partitionResponses: Array<{ errorCode: number }> }>;
  topics?: Array<{ errorCode: number; errorMessage?: string | null }>;
}

function check(body: AnyResponse): void {
  for (const topic of body.responses ?? []) {
    for (const partition of topic.partitionResponses) {
      if (partition.errorCode !== ErrorCode.NONE) throw new Error(`produce error ${partition.errorCode}`);
    }
  }
  for (const topic of body.topics ?? []) {
    if (topic.errorCode !== ErrorCode.NONE)
      throw new Error(`topic error ${topic.errorCode} ${topic.errorMessage}`);
  }
}
