/**
 * The container's health check: exit 0 when the broker is ready, 1 otherwise. With the HTTP
 * listener on (GOQUEUE_SERVER_HTTP_PORT > 0) it asks GET /readyz; without it, it checks that the
 * Kafka listener (GOQUEUE_CLIENT_ADDR) accepts a connection.
 */
import { connect } from 'node:net';

const CHECK_TIMEOUT_MS = 2_000;
const httpPort = Number(process.env.GOQUEUE_SERVER_HTTP_PORT ?? '-1');

/** The address to dial for a listener bound to `hostPort`: loopback for a wildcard bind. */
function dialable(hostPort) {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(colon + 1));
  const wildcard = host === '' || host === '0.0.0.0' || host === '::';
  return { host: wildcard ? '127.0.0.1' : host, port };
}

async function httpReady() {
  const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`, {
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
  });
  return response.ok;
}

function kafkaListening() {
  const { host, port } = dialable(process.env.GOQUEUE_CLIENT_ADDR ?? '0.0.0.0:9092');
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: CHECK_TIMEOUT_MS });
    const done = (ready) => {
      socket.destroy();
      resolve(ready);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

const ready = await (httpPort > 0 ? httpReady() : kafkaListening()).catch(() => false);
process.exit(ready ? 0 : 1);
