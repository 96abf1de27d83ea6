import { createConnection, type Socket } from 'node:net';
import { ApiKey, decodeResponse, encodeRequest, NON_FLEXIBLE_APIS } from '../protocol/index.js';
import { AbortError, ConnectionError, GoqueueError, KafkaProtocolError, TimeoutError } from './errors.js';

/** Options of one broker connection. */
export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string | null;
  /** Limit on opening the socket and negotiating versions. */
  connectTimeoutMs: number;
  /** Requests written but not yet answered; more callers wait in line. */
  maxInFlight?: number;
  /** Largest response frame accepted; a bigger size prefix means a broken stream. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /** Skip ApiVersions (tests of the framing layer); every API then uses our highest version. */
  skipVersionNegotiation?: boolean;
}

export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Produce with acks=0: the broker sends nothing back; resolves once written. */
  expectResponse?: boolean;
  /** Forces a version (otherwise the negotiated one). */
  apiVersion?: number;
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: any) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

interface Waiter {
  start: () => void;
  reject: (error: Error) => void;
}

const DEFAULT_MAX_IN_FLIGHT = 64;
/** Socket reads land in buffers of this size (the size Node itself reads with). */
const READ_CHUNK_BYTES = 64 * 1024;
/** A read of at most this many bytes is copied out so its read buffer can be reused. */
const COPY_READ_BYTES = 4 * 1024;
/** Frames at least this big are read from the socket straight into their own buffer. */
const DIRECT_FRAME_BYTES = 128 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
/** ApiVersions v3+ is flexible; we speak non-flexible versions only (DESIGN decision 1). */
const API_VERSIONS_MAX = 2;

const ourMaxVersion = new Map<number, { min: number; max: number }>();
for (const api of NON_FLEXIBLE_APIS)
  ourMaxVersion.set(api.apiKey, { min: api.minVersion, max: api.maxVersion });

/**
 * One TCP connection to one broker. Requests are pipelined: each gets a correlation id, and
 * responses (which a Kafka broker sends in request order) are matched back by that id. At most
 * `maxInFlight` requests are on the wire; the rest wait. Each request has its own timeout and
 * AbortSignal; a response that arrives after its caller gave up is dropped.
 */
export class Connection {
  readonly host: string;
  readonly port: number;
  /** Version chosen per API key: min(our max, broker max). */
  readonly versions = new Map<number, number>();
  private readonly socket: Socket;
  private readonly clientId: string | null;
  private readonly maxInFlight: number;
  private readonly maxResponseBytes: number;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters: Waiter[] = [];
  private inFlight = 0;
  private nextCorrelationId = 1;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Where the next socket read lands when no large frame is being received. */
  private readBuffer: Buffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
  /** A large frame (the bytes after its size prefix) being filled by socket reads. */
  private largeFrame: Buffer | null = null;
  private largeFrameFilled = 0;
  private closedError: GoqueueError | null = null;
  private readonly closeListeners: Array<(error: GoqueueError | null) => void> = [];

  private constructor(socket: Socket, options: ConnectionOptions, reads: ReadSink) {
    this.socket = socket;
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    reads.nextBuffer = () => this.nextReadBuffer();
    reads.onRead = (bytes, buffer) => this.onRead(bytes, buffer);
    socket.on('error', (error) => this.fail(new ConnectionError(this.address, error.message, error)));
    socket.on('close', () =>
      this.fail(new ConnectionError(this.address, 'the broker closed the connection')),
    );
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Opens the socket and negotiates API versions. */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const address = `${options.host}:${options.port}`;
    if (options.signal?.aborted) throw new AbortError(`connecting to ${address}`, options.signal.reason);
    // Socket reads go into buffers the connection hands out (`onread`), so a large response is
    // read straight into one buffer instead of being gathered from 64 KiB chunks and copied.
    // Nothing arrives before the connection exists: the broker only answers requests.
    const reads: ReadSink = {
      nextBuffer: () => Buffer.allocUnsafeSlow(READ_CHUNK_BYTES),
      onRead: () => undefined,
    };
    const socket = await new Promise<Socket>((resolve, reject) => {
      const socket = createConnection({
        host: options.host,
        port: options.port,
        noDelay: true,
        onread: {
          buffer: () => reads.nextBuffer(),
          callback: (bytes, buffer) => {
            reads.onRead(bytes, buffer);
            return true;
          },
        },
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`connecting to ${address}`, options.connectTimeoutMs));
      }, options.connectTimeoutMs);
      const onAbort = (): void => {
        socket.destroy();
        reject(new AbortError(`connecting to ${address}`, options.signal?.reason));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        socket.removeAllListeners('connect');
      };
      socket.once('connect', () => {
        settle();
        resolve(socket);
      });
      socket.once('error', (error) => {
        settle();
        reject(new ConnectionError(address, error.message, error));
      });
    });
    const connection = new Connection(socket, options, reads);
    if (options.skipVersionNegotiation) {
      for (const [apiKey, range] of ourMaxVersion) connection.versions.set(apiKey, range.max);
      return connection;
    }
    try {
      await connection.negotiateVersions(options.connectTimeoutMs, options.signal);
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  /** Registers a callback run once when the connection closes (error is null on close()). */
  onClose(listener: (error: GoqueueError | null) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /** The version this connection uses for `apiKey`; throws when broker and client share none. */
  versionFor(apiKey: number): number {
    const version = this.versions.get(apiKey);
    if (version === undefined)
      throw new KafkaProtocolError(35, { detail: `API key ${apiKey} at broker ${this.address}` });
    return version;
  }

  /** Sends one request and resolves with the decoded response body. */
  request<T = any>(apiKey: number, body: object, options: RequestOptions): Promise<T> {
    const apiVersion = options.apiVersion ?? this.versionFor(apiKey);
    const what = `request ${apiName(apiKey)} v${apiVersion} to ${this.address}`;
    if (this.closedError) return Promise.reject(this.closedError);
    if (options.signal?.aborted) return Promise.reject(new AbortError(what, options.signal.reason));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let correlationId = -1;
      let waiter: Waiter | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = (error: Error): void => {
        cleanup();
        if (waiter) {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
        }
        if (this.pending.delete(correlationId)) this.release();
        reject(error);
      };
      const onAbort = (): void => giveUp(new AbortError(what, options.signal?.reason));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => giveUp(new TimeoutError(what, options.timeoutMs)), options.timeoutMs);

      const start = (): void => {
        waiter = undefined;
        this.inFlight++;
        correlationId = this.nextCorrelationId;
        this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
        let frame: Buffer;
        try {
          frame = encodeRequest({ apiKey, apiVersion, correlationId, clientId: this.clientId }, body);
        } catch (error) {
          this.release();
          cleanup();
          reject(error as Error);
          return;
        }
        if (options.expectResponse === false) {
          this.socket.write(frame, (error) => {
            this.release();
            cleanup();
            if (error) reject(new ConnectionError(this.address, error.message, error));
            else resolve(undefined as T);
          });
          return;
        }
        this.pending.set(correlationId, {
          apiKey,
          apiVersion,
          resolve: (value) => {
            cleanup();
            resolve(value);
          },
          reject: (error) => {
            cleanup();
            reject(error);
          },
          cleanup,
        });
        this.socket.write(frame);
      };
      if (this.inFlight < this.maxInFlight) start();
      else {
        waiter = { start, reject: giveUp };
        this.waiters.push(waiter);
      }
    });
  }

  /** Closes the socket; requests still waiting fail with a ConnectionError. */
  close(): void {
    this.fail(null);
    this.socket.destroy();
  }

  private release(): void {
    this.inFlight--;
    const next = this.waiters.shift();
    if (next) next.start();
  }

  private async negotiateVersions(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const ours = ourMaxVersion.get(ApiKey.ApiVersions);
    let version = Math.min(API_VERSIONS_MAX, ours?.max ?? 0);
    let response: any;
    for (;;) {
      response = await this.request(ApiKey.ApiVersions, {}, { timeoutMs, signal, apiVersion: version });
      // KIP-511: a broker that does not serve our version answers 35 in a v0 body; retry at v0.
      if (response.errorCode === 35 && version > 0) {
        version = 0;
        continue;
      }
      break;
    }
    if (response.errorCode !== 0)
      throw new KafkaProtocolError(response.errorCode, { detail: `ApiVersions from ${this.address}` });
    for (const api of response.apiKeys as Array<{ apiKey: number; minVersion: number; maxVersion: number }>) {
      const range = ourMaxVersion.get(api.apiKey);
      if (!range) continue;
      const chosen = Math.min(range.max, api.maxVersion);
      if (chosen >= Math.max(range.min, api.minVersion)) this.versions.set(api.apiKey, chosen);
    }
  }

  private nextReadBuffer(): Buffer {
    return this.largeFrame ? this.largeFrame.subarray(this.largeFrameFilled) : this.readBuffer;
  }

  private onRead(bytes: number, buffer: Uint8Array): void {
    const frame = this.largeFrame;
    if (frame !== null && buffer.buffer === frame.buffer) {
      this.largeFrameFilled += bytes;
      if (this.largeFrameFilled < frame.length) return;
      this.largeFrame = null;
      this.onFrame(frame);
      return;
    }
    let chunk: Buffer;
    if (bytes <= COPY_READ_BYTES) {
      // Small reads are copied out (a pooled allocation) and the read buffer is reused.
      chunk = Buffer.allocUnsafe(bytes);
      chunk.set(buffer.subarray(0, bytes));
    } else {
      // Large reads keep their buffer (frames in it are handed out as views); the next read
      // gets a fresh one.
      chunk = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
      this.readBuffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
    }
    this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= 4) {
      let head = this.chunks[0] as Buffer;
      if (head.length < 4) {
        head = Buffer.concat(this.chunks);
        this.chunks = [head];
      }
      const size = head.readInt32BE(0);
      if (size < 4 || size > this.maxResponseBytes) {
        this.failAndDestroy(new ConnectionError(this.address, `invalid response frame size ${size}`));
        return;
      }
      if (this.bufferedBytes < size + 4) {
        if (size >= DIRECT_FRAME_BYTES) this.startLargeFrame(size);
        return;
      }
      if (head.length < size + 4) {
        head = Buffer.concat(this.chunks, this.bufferedBytes);
        this.chunks = [head];
      }
      const frame = head.subarray(4, size + 4);
      if (head.length === size + 4) this.chunks.shift();
      else this.chunks[0] = head.subarray(size + 4);
      this.bufferedBytes -= size + 4;
      this.onFrame(frame);
      if (this.closedError) return;
    }
  }

  /**
   * Moves the buffered start of a large frame (after its size prefix) into a buffer of the
   * frame's size; the following socket reads fill the rest of it directly (nextReadBuffer).
   */
  private startLargeFrame(size: number): void {
    const frame = Buffer.allocUnsafeSlow(size);
    let filled = 0;
    let skip = 4;
    for (const chunk of this.chunks) {
      const from = Math.min(skip, chunk.length);
      skip -= from;
      filled += chunk.copy(frame, filled, from);
    }
    this.chunks = [];
    this.bufferedBytes = 0;
    this.largeFrame = frame;
    this.largeFrameFilled = filled;
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const entry = this.pending.get(correlationId);
    if (!entry) return; // its caller timed out or aborted
    this.pending.delete(correlationId);
    this.release();
    let body: any;
    try {
      body = decodeFrame(entry.apiKey, entry.apiVersion, frame);
    } catch (error) {
      entry.reject(
        new GoqueueError(
          `could not decode ${apiName(entry.apiKey)} v${entry.apiVersion} response from ${this.address}: ${(error as Error).message}`,
          { cause: error },
        ),
      );
      return;
    }
    entry.resolve(body);
  }

  private failAndDestroy(error: GoqueueError): void {
    this.fail(error);
    this.socket.destroy();
  }

  private fail(error: GoqueueError | null): void {
    if (this.closedError) return;
    this.closedError = error ?? new ConnectionError(this.address, 'the connection was closed by the client');
    for (const entry of this.pending.values()) {
      entry.cleanup();
      entry.reject(this.closedError);
    }
    this.pending.clear();
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedError);
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}

/**
 * Decodes a response body. An ApiVersions request the broker does not serve is answered in a
 * v0 body whatever version was asked (KIP-511), so that one falls back to v0.
 */
function decodeFrame(apiKey: number, apiVersion: number, frame: Buffer): any {
  try {
    return decodeResponse(apiKey, apiVersion, frame).body;
  } catch (error) {
    if (apiKey !== ApiKey.ApiVersions || apiVersion === 0) throw error;
    const fallback = decodeResponse(apiKey, 0, frame).body;
    if (fallback.errorCode === 0) throw error;
    return fallback;
  }
}

/** The socket's read callbacks, bound to the connection once it exists. */
interface ReadSink {
  nextBuffer(): Buffer;
  onRead(bytes: number, buffer: Uint8Array): void;
}

/** Names for messages: every API key the protocol layer knows (ApiKey). */
const apiNames: Record<number, string> = Object.fromEntries(
  Object.entries(ApiKey)
    .filter(([, key]) => typeof key === 'number')
    .map(([name, key]) => [key, name]),
);

function apiName(apiKey: number): string {
  return apiNames[apiKey] ?? `api#${apiKey}`;
}
