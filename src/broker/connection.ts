import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { BudgetMember, ConnectionBudget } from './connection-budget.js';
import { FRAME_SIZE_PREFIX_BYTES, FrameError, FrameReader } from './frame-reader.js';

/** Why a connection is being closed on purpose (bad input); carries a message for the log. */
export class CloseConnection extends Error {
  override name = 'CloseConnection';
}

/** A response frame (size prefix included), possibly as chunks for one vectored write (a Fetch
 * response keeps the stored record bytes as separate buffers). */
export type ResponseBytes = Buffer | Buffer[];

/** Turns one request frame into its response, or null when the request gets no response
 * (Produce with acks=0). Rejects with CloseConnection on bad input. */
export type RequestHandler = (frame: Buffer, connection: ConnectionInfo) => Promise<ResponseBytes | null>;

export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
}

interface Slot {
  done: boolean;
  response: ResponseBytes | null;
}

/**
 * One client connection. Kafka's rule: responses leave in request order, even when handlers
 * finish out of order (a long-polling fetch before a metadata request). At most `maxInFlight`
 * requests are being handled at once; past that the socket is paused, which pushes back on the
 * client through TCP. A frame over the size cap, an undecodable header or an unknown API closes
 * this connection only.
 *
 * With a `budget` (the broker's), every byte received is counted there until its request is
 * answered or the connection closes, the socket is also paused while the broker-wide budget is
 * exhausted, and the budget's sweep closes the connection when it idles past
 * `connections_max_idle` or leaves a started frame unfinished past `request_read_timeout`.
 */
export class Connection implements BudgetMember {
  private readonly reader: FrameReader;
  private readonly slots: Slot[] = [];
  private inFlight = 0;
  private paused = false;
  private closed = false;
  /** Last time bytes arrived or a response left (idle timeout). */
  private lastActivityMs = Date.now();
  /** When the first byte of the frame being received arrived; null when none is started. */
  private frameStartedMs: number | null = null;
  readonly info: ConnectionInfo;
  readonly remoteIp: string;

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly handle: RequestHandler,
    private readonly options: {
      maxFrameBytes: number;
      maxInFlight: number;
      logger: Logger;
      budget?: ConnectionBudget;
    },
    private readonly onClose: (connection: Connection) => void,
  ) {
    this.reader = new FrameReader(options.maxFrameBytes);
    this.remoteIp = socket.remoteAddress ?? 'unknown';
    this.info = { id, remoteAddress: `${socket.remoteAddress}:${socket.remotePort}` };
    socket.setNoDelay(true);
    options.budget?.join(this);
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.lastActivityMs = Date.now();
      if (this.reader.pendingBytes === 0) this.frameStartedMs = this.lastActivityMs;
      options.budget?.hold(chunk.length);
      this.reader.push(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', (error) => {
      this.options.logger.debug({ err: error, connection: this.info }, 'connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      // Partial frames go with the connection; frames being handled are released as they finish.
      options.budget?.release(this.reader.clear());
      options.budget?.leave(this);
      this.onClose(this);
    });
  }

  /** The budget has room again: read on (if nothing else holds the socket). */
  resumeFromBudget(): void {
    this.pump();
  }

  /** Whether the budget's sweep must close this connection now, and why. */
  overdue(nowMs: number): 'idle' | 'slow' | null {
    const budget = this.options.budget;
    if (this.closed || budget === undefined) return null;
    if (this.inFlight >= this.options.maxInFlight || this.socket.writableNeedDrain) {
      // The broker (or the client not reading its responses) holds the socket: not the
      // client's sending being slow, so the frame's clock starts over when reading resumes.
      if (this.frameStartedMs !== null) this.frameStartedMs = nowMs;
      return null;
    }
    // A frame's clock runs while the budget parks the socket: frames that are never finished
    // must not hold the budget forever.
    if (this.frameStartedMs !== null && nowMs - this.frameStartedMs > budget.limits.requestReadTimeoutMs)
      return 'slow';
    const quiet = this.reader.pendingBytes === 0 && this.slots.length === 0;
    if (quiet && nowMs - this.lastActivityMs > budget.limits.idleTimeoutMs) return 'idle';
    return null;
  }

  /** Closes the socket; pending handlers finish but their responses are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }

  private pump(): void {
    if (this.closed) return;
    while (this.inFlight < this.options.maxInFlight && !this.socket.writableNeedDrain) {
      let frame: Buffer | null;
      try {
        frame = this.reader.next();
      } catch (error) {
        this.abort(error);
        return;
      }
      if (frame === null) break;
      this.frameStartedMs = this.reader.pendingBytes > 0 ? Date.now() : null;
      this.start(frame);
      if (this.closed) return;
    }
    const budget = this.options.budget;
    const overBudget = budget?.exhausted === true;
    if (overBudget) budget!.park(this);
    const mustWait = this.inFlight >= this.options.maxInFlight || this.socket.writableNeedDrain || overBudget;
    if (mustWait && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!mustWait && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private start(frame: Buffer): void {
    const slot: Slot = { done: false, response: null };
    this.slots.push(slot);
    this.inFlight++;
    // The frame's bytes stay counted in the budget until its handler is done with them.
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.options.budget?.release(frame.length + FRAME_SIZE_PREFIX_BYTES);
    };
    let pending: Promise<ResponseBytes | null>;
    try {
      pending = this.handle(frame, this.info);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => {
        release();
        slot.done = true;
        slot.response = response;
        this.inFlight--;
        this.writeReady();
        this.pump();
      },
      (error: unknown) => {
        release();
        this.inFlight--;
        this.abort(error);
      },
    );
  }

  private writeReady(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.response === null || this.closed) continue;
      this.lastActivityMs = Date.now();
      if (Buffer.isBuffer(slot.response)) {
        this.socket.write(slot.response);
      } else {
        this.socket.cork();
        for (const chunk of slot.response) this.socket.write(chunk);
        this.socket.uncork();
      }
    }
  }

  private abort(error: unknown): void {
    if (this.closed) return;
    const expected = error instanceof CloseConnection || error instanceof FrameError;
    const logger = this.options.logger;
    if (expected) {
      const fields = { connection: this.info, reason: (error as Error).message };
      // A peer can send bad input at will: with a budget the warning is rate-limited.
      if (this.options.budget !== undefined)
        this.options.budget.warnings.warn(fields, 'closing connection on bad input');
      else logger.warn(fields, 'closing connection on bad input');
    } else {
      logger.error({ err: error, connection: this.info }, 'closing connection after an internal error');
    }
    this.close();
  }
}
