import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameError, FrameReader } from './frame-reader.js';

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
 */
export class Connection {
  private readonly reader: FrameReader;
  private readonly slots: Slot[] = [];
  private inFlight = 0;
  private paused = false;
  private closed = false;
  readonly info: ConnectionInfo;

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly handle: RequestHandler,
    private readonly options: { maxFrameBytes: number; maxInFlight: number; logger: Logger },
    private readonly onClose: (connection: Connection) => void,
  ) {
    this.reader = new FrameReader(options.maxFrameBytes);
    this.info = { id, remoteAddress: `${socket.remoteAddress}:${socket.remotePort}` };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', (error) => {
      this.options.logger.debug({ err: error, connection: this.info }, 'connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
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
      this.start(frame);
      if (this.closed) return;
    }
    const mustWait = this.inFlight >= this.options.maxInFlight || this.socket.writableNeedDrain;
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
    let pending: Promise<ResponseBytes | null>;
    try {
      pending = this.handle(frame, this.info);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => {
        slot.done = true;
        slot.response = response;
        this.inFlight--;
        this.writeReady();
        this.pump();
      },
      (error: unknown) => {
        this.inFlight--;
        this.abort(error);
      },
    );
  }

  private writeReady(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.response === null || this.closed) continue;
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
      logger.warn(
        { connection: this.info, reason: (error as Error).message },
        'closing connection on bad input',
      );
    } else {
      logger.error({ err: error, connection: this.info }, 'closing connection after an internal error');
    }
    this.close();
  }
}
