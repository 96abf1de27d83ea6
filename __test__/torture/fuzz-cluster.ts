/**
 * `npm run fuzz -- --frames N [--seed S] [--brokers 3]`: random and mutated request frames of
 * every API and version the broker serves, against a live cluster of real broker processes.
 * Before the storm an RF=3 topic gets known records; after it the run checks that no broker
 * process died or restarted, that every broker still answers, and that the records read back
 * identical. Exits 1 on any failure. Seeded: a failure replays from its seed.
 *
 * Frames go out on many connections at once, each connection one burst and then an ApiVersions
 * probe: a burst is either several well-formed random requests (the broker answers each) or a
 * single mutated or random frame (the broker answers it, or closes only that connection). The
 * probe's answer means the broker went through the burst.
 */
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '../../src/client/client.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { Prng } from '../../src/lib/prng.js';
import { ApiKey, encodeRequest, SERVED_APIS } from '../../src/protocol/index.js';
import { BrokerProcesses } from '../../src/testing/torture/processes.js';
import { kafkaClient } from '../../src/testing/torture/workload.js';
import { randomBody, requestFields } from '../protocol/helpers.js';

const PROBE_CORRELATION_ID = 2_000_000_000;
const KEPT_TOPIC = 'fuzz-kept';
const KEPT_RECORDS = 200;

type Outcome = 'answered' | 'closed' | 'silent';

/** A frame of random bytes with a size prefix that may or may not agree with them. */
function randomFrame(prng: Prng): Buffer {
  const bytes = Buffer.alloc(4 + prng.int(0, 96));
  for (let i = 4; i < bytes.length; i++) bytes[i] = prng.int(0, 255);
  bytes.writeInt32BE(prng.chance(0.9) ? bytes.length - 4 : prng.nextU32() | 0, 0);
  return bytes;
}

/** One of: flipped bits, a cut body with an agreeing size, garbage appended, a lying size, intact. */
function mutate(frame: Buffer, prng: Prng): Buffer {
  const out = Buffer.from(frame);
  switch (prng.int(0, 5)) {
    case 0:
      if (out.length <= 4) return out;
      for (let n = prng.int(1, 8); n > 0; n--) out[prng.int(4, out.length - 1)] ^= 1 << prng.int(0, 7);
      return out;
    case 1: {
      if (out.length < 6) return out;
      const cut = out.subarray(0, prng.int(6, out.length));
      cut.writeInt32BE(cut.length - 4, 0);
      return cut;
    }
    case 2: {
      const tail = Buffer.alloc(prng.int(1, 64));
      for (let i = 0; i < tail.length; i++) tail[i] = prng.int(0, 255);
      const grown = Buffer.concat([out, tail]);
      grown.writeInt32BE(grown.length - 4, 0);
      return grown;
    }
    case 3: // a length or count field somewhere inside made huge or negative
      if (out.length >= 18)
        out.writeInt32BE(prng.chance(0.5) ? 0x7fffffff : -prng.int(1, 1000), prng.int(14, out.length - 4));
      return out;
    case 4:
      return randomFrame(prng);
    default:
      return out;
  }
}

function frameOf(prng: Prng, correlationId: number): Buffer | null {
  const api = prng.pick(SERVED_APIS);
  const version = prng.int(api.minVersion, api.maxVersion);
  try {
    const body = randomBody(requestFields(api.apiKey), version, prng);
    return encodeRequest({ apiKey: api.apiKey, apiVersion: version, correlationId, clientId: 'fuzz' }, body);
  } catch {
    return null; // a random value the encoder itself refuses
  }
}

/** How a burst ended, and how many responses (probe excluded) came back before that. */
function sendBurst(port: number, frames: Buffer[]): Promise<{ outcome: Outcome; responses: number }> {
  const probe = encodeRequest(
    { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: PROBE_CORRELATION_ID, clientId: 'probe' },
    {},
  );
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let responses = 0;
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, responses });
    };
    const timer = setTimeout(() => finish('silent'), 5000);
    socket.on('connect', () => socket.write(Buffer.concat([...frames, probe])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let at = 0;
      while (received.length - at >= 8) {
        const size = received.readInt32BE(at);
        if (received.length - at - 4 < size) break;
        if (received.readInt32BE(at + 4) === PROBE_CORRELATION_ID) return finish('answered');
        responses++;
        at += 4 + size;
      }
      received = received.subarray(at);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish('closed'));
  });
}

async function readKept(bootstrap: string[]): Promise<string[]> {
  const client = new Client({
    brokers: bootstrap,
    clientId: 'fuzz-check',
    retry: { retries: 20, initialMs: 100, maxMs: 1000 },
  });
  try {
    const consumer = new Consumer(client, { maxWaitMs: 0 });
    const values: string[] = [];
    let offset = 0;
    while (values.length < KEPT_RECORDS) {
      const result = await consumer.fetchFrom({ topic: KEPT_TOPIC, partition: 0, offset, maxWaitMs: 0 });
      if (result.nextOffset <= offset) break;
      for (const message of result.messages) values.push(message.value?.toString() ?? '');
      offset = result.nextOffset;
    }
    return values;
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '20261206' },
      brokers: { type: 'string', default: '3' },
      connections: { type: 'string', default: '16' },
      burst: { type: 'string', default: '8' },
    },
  });
  const framesWanted = Number(values.frames);
  const seed = Number(values.seed);
  const burstFrames = Number(values.burst);
  const runDir = join(
    tmpdir(),
    'goqueue-fuzz',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${seed}`,
  );
  const processes = await BrokerProcesses.create({ count: Number(values.brokers), runDir, proxied: false });
  const failures: string[] = [];
  const startedMs = Date.now();
  try {
    await Promise.all(processes.ids.map((id) => processes.start(id)));
    const bootstrap = processes.bootstrap();
    const admin = kafkaClient(bootstrap, 'fuzz-admin').admin();
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.connect();
        await admin.createTopics({
          topics: [
            { topic: KEPT_TOPIC, numPartitions: 1, replicationFactor: Math.min(3, processes.ids.length) },
          ],
          waitForLeaders: true,
        });
        break;
      } catch (error) {
        if (attempt >= 60) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    await admin.disconnect();
    const kept = Array.from({ length: KEPT_RECORDS }, (_, i) => `kept-${i}`);
    const client = new Client({
      brokers: bootstrap,
      clientId: 'fuzz-kept',
      retry: { retries: 20, initialMs: 100, maxMs: 1000 },
    });
    const producer = new Producer(client, { acks: -1 });
    for (let i = 0; i < KEPT_RECORDS; i += 20)
      await producer.produceMessage({
        topic: KEPT_TOPIC,
        partition: 0,
        messages: kept.slice(i, i + 20).map((value) => ({ value })),
      });
    await client.close();
    const startsBefore = new Map(processes.ids.map((id) => [id, processes.member(id).starts]));

    const prng = new Prng(seed);
    const outcomes: Record<Outcome, number> = { answered: 0, closed: 0, silent: 0 };
    let sent = 0;
    let mutatedFrames = 0;
    /** Responses the brokers sent to fuzz frames (each one a frame the broker decoded and handled). */
    let answers = 0;
    let correlationId = 0;
    let nextReportAt = 0;
    const lane = async (lanePrng: Prng): Promise<void> => {
      while (sent < framesWanted && processes.unexpectedExits.length === 0) {
        // A burst is either well-formed random requests (they reach the handlers and are all
        // answered) or one frame that may end its connection, alone: mutated bytes, random bytes,
        // or SaslHandshake (no SASL here: the broker closes the connection after it).
        const frames: Buffer[] = [];
        if (lanePrng.chance(0.3)) {
          let frame: Buffer | null = null;
          while (frame === null) frame = frameOf(lanePrng, correlationId++ % 1_000_000_000);
          const random = lanePrng.chance(0.2);
          if (!random) mutatedFrames++;
          frames.push(random ? randomFrame(lanePrng) : mutate(frame, lanePrng));
        } else
          while (frames.length < burstFrames) {
            const frame = frameOf(lanePrng, correlationId++ % 1_000_000_000);
            if (frame === null) continue;
            if (frame.readInt16BE(4) === ApiKey.SaslHandshake && frames.length > 0) continue;
            frames.push(frame);
            if (frame.readInt16BE(4) === ApiKey.SaslHandshake) break;
          }
        sent += frames.length;
        const member = processes.member(lanePrng.pick(processes.ids));
        const { outcome, responses } = await sendBurst(member.clientPort, frames);
        outcomes[outcome]++;
        answers += responses;
        if (sent >= nextReportAt) {
          nextReportAt += 10_000;
          console.error(
            `${sent} frames, ${JSON.stringify(outcomes)}, ${((Date.now() - startedMs) / 1000).toFixed(0)} s`,
          );
        }
      }
    };
    await Promise.all(
      Array.from({ length: Number(values.connections) }, () => lane(new Prng(prng.nextU32()))),
    );

    for (const exit of processes.unexpectedExits)
      failures.push(`broker ${exit.id} died (${exit.code ?? exit.signal}): ${exit.stderr.slice(-1000)}`);
    for (const id of processes.ids) {
      const member = processes.member(id);
      if (member.state !== 'running' || member.starts !== startsBefore.get(id))
        failures.push(`broker ${id} is ${member.state} after ${member.starts} starts`);
    }
    const readBack = await readKept(bootstrap);
    if (JSON.stringify(readBack) !== JSON.stringify(kept))
      failures.push(
        `the kept records read back differ: ${readBack.length} of ${KEPT_RECORDS}, first ${readBack.slice(0, 3)}`,
      );
    const probes = await Promise.all(
      processes.ids.map((id) => sendBurst(processes.member(id).clientPort, [])),
    );
    probes.forEach(({ outcome }, i) => {
      if (outcome !== 'answered')
        failures.push(`broker ${processes.ids[i]} no longer answers ApiVersions (${outcome})`);
    });
    const elapsedS = (Date.now() - startedMs) / 1000;
    console.log(
      `fuzz seed ${seed}: ${sent} frames (${mutatedFrames} mutated; ${answers} answered) to ` +
        `${processes.ids.length} brokers in ${elapsedS.toFixed(0)} s; bursts ${JSON.stringify(outcomes)}; ` +
        `${failures.length === 0 ? 'no broker died or restarted, kept records intact' : `FAILED:\n  ${failures.join('\n  ')}`}` +
        `\n  broker logs: ${runDir}`,
    );
  } finally {
    await processes.killAll();
    await processes.closeLogs();
  }
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
