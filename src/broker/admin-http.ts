/**
 * The broker's admin HTTP listener (`server.http_port`; -1, the default, turns it off): what an
 * operator's tools ask a broker that the Kafka protocol has no words for. JSON in and out; any
 * broker answers, forwarding to the controller leader where needed.
 *
 *   GET    /v1/health                          {"ok":true}
 *   GET    /v1/broker                          this broker: id and counters (follower reads, scrubber,
 *                                              disk space, connections, open segment files)
 *   GET    /v1/cluster                         brokers, controller, moves in progress, under-replicated
 *                                              and offline partitions (ClusterStatus)
 *   POST   /v1/brokers/<id>/decommission       start moving every replica off broker <id>
 *   DELETE /v1/brokers/<id>/decommission       stop that (the broker takes new replicas again)
 *
 * Errors answer `{"error": <Kafka error name>, "message": ...}` with 400 (bad request), 404
 * (unknown broker or path), 409 (refused: the other brokers cannot hold the replicas) or 503 (no
 * controller leader answered). No authentication: bind it to a private address.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ControllerTasks } from './controller-tasks.js';
import type { FollowerReadStats } from './follower-read.js';

export interface AdminHttp {
  readonly port: number;
  close(): Promise<void>;
}

const STATUS_BY_ERROR: Record<string, number> = {
  INVALID_REQUEST: 400,
  BROKER_NOT_AVAILABLE: 404,
  INVALID_REPLICATION_FACTOR: 409,
  NOT_CONTROLLER: 503,
  REQUEST_TIMED_OUT: 503,
};

export async function startAdminHttp(options: {
  host: string;
  port: number;
  tasks: ControllerTasks;
  logger: Logger;
  /** This broker's own view (`GET /v1/broker`). */
  broker: () => { brokerId: number; followerReads: FollowerReadStats } & Record<string, unknown>;
}): Promise<AdminHttp> {
  const { tasks, logger } = options;
  const server: Server = createServer((request, response) => {
    route(request, tasks, options.broker).then(
      (body) => answer(response, 200, body),
      (error: unknown) => {
        const code =
          typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
        const status = STATUS_BY_ERROR[code] ?? (code === 'NOT_FOUND' ? 404 : 500);
        if (status === 500) logger.error({ err: error, url: request.url }, 'admin request failed');
        answer(response, status, {
          error: code || 'UNKNOWN_SERVER_ERROR',
          message: (error as Error).message,
        });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  logger.info({ address: `${options.host}:${port}` }, 'admin http listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(
  request: IncomingMessage,
  tasks: ControllerTasks,
  broker: () => unknown,
): Promise<unknown> {
  // Requests carry no body we read: drain whatever was sent.
  request.resume();
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  if (request.method === 'GET' && path === '/v1/health') return { ok: true };
  if (request.method === 'GET' && path === '/v1/cluster') return tasks.status();
  if (request.method === 'GET' && path === '/v1/broker') return broker();
  const decommission = /^\/v1\/brokers\/(\d{1,10})\/decommission$/.exec(path);
  if (decommission !== null && (request.method === 'POST' || request.method === 'DELETE')) {
    await tasks.decommission(Number(decommission[1]), request.method === 'POST');
    return { ok: true };
  }
  throw Object.assign(new Error(`no admin route ${request.method} ${path}`), { code: 'NOT_FOUND' });
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
