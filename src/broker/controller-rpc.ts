/**
 * Request/response between brokers over the raft transport, on a channel of its own. Used for
 * what a broker asks the controller leader (register, heartbeat, admin commands) — never for Raft
 * itself. The transport may drop frames (bounded queues, reconnects), so every call has a
 * deadline and callers retry; handlers must be idempotent or tolerate a repeat.
 *
 * Frame payload: JSON `{ k: 'q', id, m, b }` (request: id, method, body) or
 * `{ k: 's', id, ok, b | e }` (response: body or error `{ name, message }`).
 */
import type { NodeId } from '../lib/ids.js';

/** Transport channel (a frame's group id field) reserved for these calls. */
export const CONTROLLER_RPC_CHANNEL = 0xffff_fffe;
/** Largest request or response body accepted (bytes of JSON). */
const MAX_RPC_BYTES = 4 * 1024 * 1024;

/** The transport methods this needs (src/cluster/transport.ts implements them). */
export interface RpcTransport {
  send(to: NodeId, channel: number, payload: Buffer): boolean;
  onMessage(handler: (from: NodeId, channel: number, payload: Buffer) => void): void;
}

/** A handler's refusal, carried back to the caller with a Kafka error name. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type RpcHandler = (from: NodeId, body: unknown) => Promise<unknown>;

interface Waiting {
  resolve(body: unknown): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

export class ControllerRpc {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly handlers = new Map<string, RpcHandler>();
  private closed = false;

  constructor(
    private readonly transport: RpcTransport,
    private readonly logger: { warn(fields: object, message?: string): void },
  ) {
    transport.onMessage((from, channel, payload) => {
      if (channel === CONTROLLER_RPC_CHANNEL) this.receive(from, payload);
    });
  }

  handle(method: string, handler: RpcHandler): void {
    this.handlers.set(method, handler);
  }

  /** Calls `method` on broker `to`; rejects with RpcError (the handler's refusal) or on timeout. */
  call<T>(to: NodeId, method: string, body: unknown, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new RpcError('BROKER_NOT_AVAILABLE', 'broker is stopping'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new RpcError('REQUEST_TIMED_OUT', `no answer from broker ${to} to ${method} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (body: unknown) => void, reject, timer });
      this.transport.send(
        to,
        CONTROLLER_RPC_CHANNEL,
        Buffer.from(JSON.stringify({ k: 'q', id, m: method, b: body })),
      );
    });
  }

  close(): void {
    this.closed = true;
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new RpcError('BROKER_NOT_AVAILABLE', 'broker is stopping'));
      this.waiting.delete(id);
    }
  }

  private receive(from: NodeId, payload: Buffer): void {
    if (this.closed) return;
    let frame: { k?: unknown; id?: unknown; m?: unknown; b?: unknown; ok?: unknown; e?: unknown };
    try {
      if (payload.length > MAX_RPC_BYTES) throw new Error(`${payload.length} bytes is over the limit`);
      frame = JSON.parse(payload.toString('utf8'));
      if (typeof frame !== 'object' || frame === null || typeof frame.id !== 'number')
        throw new Error('no id');
    } catch (error) {
      this.logger.warn(
        { from, reason: (error as Error).message },
        'undecodable controller rpc frame dropped',
      );
      return;
    }
    const id = frame.id as number;
    if (frame.k === 's') {
      const waiting = this.waiting.get(id);
      if (waiting === undefined) return; // timed out already
      this.waiting.delete(id);
      clearTimeout(waiting.timer);
      if (frame.ok === true) waiting.resolve(frame.b);
      else {
        const e = (frame.e ?? {}) as { name?: unknown; message?: unknown };
        waiting.reject(
          new RpcError(
            typeof e.name === 'string' ? e.name : 'UNKNOWN_SERVER_ERROR',
            typeof e.message === 'string' ? e.message : 'controller call failed',
          ),
        );
      }
      return;
    }
    if (frame.k !== 'q' || typeof frame.m !== 'string') return;
    const handler = this.handlers.get(frame.m);
    const answer = (ok: boolean, content: object): void => {
      if (this.closed) return;
      this.transport.send(
        from,
        CONTROLLER_RPC_CHANNEL,
        Buffer.from(JSON.stringify({ k: 's', id, ok, ...content })),
      );
    };
    if (handler === undefined) {
      answer(false, { e: { name: 'INVALID_REQUEST', message: `no controller method ${frame.m}` } });
      return;
    }
    handler(from, frame.b).then(
      (body) => answer(true, { b: body ?? null }),
      (error: unknown) => {
        const code = (error as { code?: unknown }).code;
        answer(false, {
          e: {
            name: typeof code === 'string' ? code : 'UNKNOWN_SERVER_ERROR',
            message: (error as Error).message ?? String(error),
          },
        });
      },
    );
  }
}
