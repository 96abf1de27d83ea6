/**
 * Acknowledged writes survive partition leaders being killed under real clients: three broker
 * processes, then for each client (librdkafka via confluent-kafka, franz-go, the Java client
 * kafka-clients) an idempotent acks=all producer sending "<client>-<seq>" round-robin over three
 * partitions (RF 3) for PRODUCE_MS while this driver kills -9 the leader of partition 0, restarts
 * it, then kills -9 the (maybe new) leader of partition 1 and restarts it. Once the producer is
 * done, the leader of partition 2 is killed -9 and restarted too (a failover with no writes: its
 * control batch ends the partition). Afterwards the same client reads every partition from its
 * start to the high watermark. Every acknowledged value must be read exactly once at the
 * offset its delivery report named, no value twice (idempotence), and each partition's
 * acknowledged values in send order. Failed deliveries are allowed and counted.
 *
 * Then a consumer group keeps consuming while its coordinator is killed (see checkGroup): one
 * librdkafka member and one Java member process a pre-filled topic, a franz-go member joins after
 * the coordinator moved and the second coordinator is killed during that rebalance; no record may
 * be skipped, the committed offsets may not go backwards and must end past the last records.
 *
 * Exits 1 on any lost, duplicated, misplaced or reordered record, a skipped group record, a
 * client that did not finish. GOQUEUE_INTEROP_FAILOVER_ONLY=<client name or "group"> runs one part.
 *
 * Broker and client logs go to a run directory, removed at the end (failed or not) unless
 * GOQUEUE_INTEROP_KEEP_RUN_DIR=1: `GOQUEUE_INTEROP_KEEP_RUN_DIR=1 npm run interop -- failover`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { BrokerProcesses } from '../../src/testing/torture/processes.js';
import { kafkaClient, sdkClient } from '../../src/testing/torture/workload.js';
import type { Client } from '../../src/client/client.js';
import { findCoordinator } from '../../src/client/group-coordinator.js';

const here = dirname(fileURLToPath(import.meta.url));
const PARTITIONS = 3;
const PRODUCE_MS = 25_000;
/** Fault times, counted from the producer's first acknowledged record. */
const KILL_LEADER_0_MS = 6_000;
const RESTART_0_MS = 12_000;
const KILL_LEADER_1_MS = 16_000;
const RESTART_1_MS = 20_000;
/** The producer's own delivery timeout is 120 s; a machine shared by many is slow. */
const PRODUCER_TIMEOUT_MS = PRODUCE_MS + 240_000;
const CONSUMER_TIMEOUT_MS = 240_000;
const keepRunDir = process.env.GOQUEUE_INTEROP_KEEP_RUN_DIR === '1';

interface ClientProgram {
  name: string;
  /** The command line before the mode and its arguments. */
  command: string[];
}

interface Placement {
  partition: number;
  offset: number;
}

const runDir = join(tmpdir(), 'goqueue-interop-failover', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(runDir, { recursive: true });
const children = new Set<ChildProcess>();
let processes: BrokerProcesses | undefined;
let cleaned = false;

async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) child.kill('SIGKILL');
  if (processes !== undefined) {
    await processes.killAll();
    await processes.closeLogs();
  }
  if (keepRunDir) console.log(`run directory kept: ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });

function prepareClients(): ClientProgram[] {
  const probe = spawnSync('python3', ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    const install = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', 'confluent-kafka'], {
      stdio: 'inherit',
    });
    if (install.status !== 0) throw new Error('pip install confluent-kafka failed');
  }
  const goBinary = join(runDir, 'failover-franz-go');
  const build = spawnSync('go', ['build', '-o', goBinary, '.'], { cwd: join(here, 'go'), stdio: 'inherit' });
  if (build.status !== 0) throw new Error('go build failed');
  // The Java client from ~/.m2 (Maven offline when it is there), compiled once into the run directory.
  const classpathFile = join(runDir, 'java-classpath.txt');
  const resolve = spawnSync(
    'mvn',
    ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`],
    { cwd: join(here, 'java'), stdio: 'inherit' },
  );
  if (resolve.status !== 0) throw new Error('mvn dependency:build-classpath failed');
  const classpath = readFileSync(classpathFile, 'utf8').trim();
  const classes = join(runDir, 'java-classes');
  const compile = spawnSync('javac', ['-cp', classpath, '-d', classes, join(here, 'java', 'Failover.java')], {
    stdio: 'inherit',
  });
  if (compile.status !== 0) throw new Error('javac failed');
  return [
    { name: 'librdkafka', command: ['python3', join(here, 'librdkafka.py')] },
    { name: 'franz-go', command: [goBinary] },
    {
      name: 'java',
      // The C1 compiler only and a serial collector: the machine is shared, the load is light.
      command: [
        'java',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-cp',
        `${classes}:${classpath}`,
        'Failover',
      ],
    },
  ];
}

/**
 * Runs a client program, handing each stdout line to `onLine`; its stderr goes to `logPath`.
 * Resolves with its exit code (null when it was killed at `timeoutMs`). With `stdin`, the
 * program's stdin is a pipe handed to `onStart` (a group member stops when it closes).
 */
function runProgram(
  command: string[],
  logPath: string,
  timeoutMs: number,
  onLine: (line: string) => void,
  onStart?: (child: ChildProcess) => void,
): Promise<number | null> {
  const [executable, ...args] = command;
  const child = spawn(executable, args, {
    stdio: [onStart === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  onStart?.(child);
  const log = createWriteStream(logPath);
  child.stderr?.pipe(log);
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
  const timer = setTimeout(() => {
    log.write(`\n--- killed after ${timeoutMs} ms ---\n`);
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (pending !== '') onLine(pending);
      resolve(code);
    });
  });
}

async function retry<T>(what: string, action: () => Promise<T>, attempts = 120): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= attempts) throw new Error(`${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function leaderOf(admin: Admin, topic: string, partition: number): Promise<number> {
  return retry(`leader of ${topic}/${partition}`, async () => {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const leader = metadata.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
    if (leader === undefined || leader < 0) throw new Error('no leader');
    return leader;
  });
}

function sleepUntil(startMs: number, atMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, startMs + atMs - Date.now())));
}

/** The faults for one client's run, from its first acknowledged record on. */
async function injectFaults(
  admin: Admin,
  brokers: BrokerProcesses,
  topic: string,
  startMs: number,
): Promise<void> {
  for (const [partition, killAtMs, restartAtMs] of [
    [0, KILL_LEADER_0_MS, RESTART_0_MS],
    [1, KILL_LEADER_1_MS, RESTART_1_MS],
  ]) {
    await sleepUntil(startMs, killAtMs);
    const leader = await leaderOf(admin, topic, partition);
    console.log(`  ${Date.now() - startMs} ms: kill -9 broker ${leader} (leader of partition ${partition})`);
    await brokers.kill(leader);
    await sleepUntil(startMs, restartAtMs);
    await brokers.start(leader);
    console.log(`  ${Date.now() - startMs} ms: broker ${leader} restarted`);
  }
}

/** Returns the failures found for `client`; prints its summary. */
async function checkClient(client: ClientProgram, admin: Admin, brokers: BrokerProcesses): Promise<string[]> {
  const topic = `failover-${client.name}`;
  const bootstrap = brokers.bootstrap().join(',');
  await retry(`create ${topic}`, () =>
    admin.createTopics({
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }],
      waitForLeaders: true,
    }),
  );
  console.log(`${client.name}: producing to ${topic} for ${PRODUCE_MS} ms`);

  const acknowledged = new Map<string, Placement>();
  const failed = new Map<string, string>();
  const failures: string[] = [];
  let producerDone = false;
  // How long each partition went without an acknowledgement: shows the failovers took place.
  const lastAcknowledgedMs = new Map<number, number>();
  const longestPauseMs = new Map<number, number>();
  let firstAcknowledged: (() => void) | undefined;
  const firstAcknowledgedPromise = new Promise<void>((resolve) => {
    firstAcknowledged = resolve;
  });
  const producerExit = runProgram(
    [...client.command, 'produce', bootstrap, topic, client.name, String(PARTITIONS), String(PRODUCE_MS)],
    join(runDir, `${client.name}-produce.log`),
    PRODUCER_TIMEOUT_MS,
    (line) => {
      const [kind, ...fields] = line.split(' ');
      if (kind === 'ok') {
        const [partition, offset, value] = fields;
        if (acknowledged.has(value)) failures.push(`${value} acknowledged twice`);
        acknowledged.set(value, { partition: Number(partition), offset: Number(offset) });
        const nowMs = Date.now();
        const lastMs = lastAcknowledgedMs.get(Number(partition));
        if (lastMs !== undefined)
          longestPauseMs.set(
            Number(partition),
            Math.max(longestPauseMs.get(Number(partition)) ?? 0, nowMs - lastMs),
          );
        lastAcknowledgedMs.set(Number(partition), nowMs);
        firstAcknowledged?.();
      } else if (kind === 'fail') {
        failed.set(fields[0], fields.slice(1).join(' '));
      } else if (kind === 'done') producerDone = true;
      else console.log(`  producer: ${line}`);
    },
  );
  const producerOver = producerExit.then(() => undefined);
  await Promise.race([firstAcknowledgedPromise, producerOver]);
  if (acknowledged.size > 0) await injectFaults(admin, brokers, topic, Date.now());
  const producerCode = await producerExit;
  if (!producerDone || producerCode !== 0)
    failures.push(`producer did not finish (exit ${producerCode}); see ${client.name}-produce.log`);

  // One more failover with no writes: the new leader's control batch is then the last offset
  // below the high watermark, which the consumers must read past to reach it.
  const idleLeader = await leaderOf(admin, topic, 2);
  console.log(`  after the producer: kill -9 broker ${idleLeader} (leader of partition 2)`);
  await brokers.kill(idleLeader);
  const newLeader = await retry(
    `a new leader of ${topic}/2`,
    async () => {
      const leader = await leaderOf(admin, topic, 2);
      if (leader === idleLeader) throw new Error(`still ${leader}`);
      return leader;
    },
    240,
  );
  await brokers.start(idleLeader);
  console.log(`  broker ${newLeader} leads partition 2; broker ${idleLeader} restarted`);

  const watermarks = await retry(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
  const highs = Array.from({ length: PARTITIONS }, (_, partition) =>
    Number(watermarks.find((entry) => entry.partition === partition)?.high ?? 0),
  );
  const read = new Map<string, Placement[]>();
  let consumerDone = false;
  const consumerCode = await runProgram(
    [...client.command, 'consume', bootstrap, topic, highs.join(',')],
    join(runDir, `${client.name}-consume.log`),
    CONSUMER_TIMEOUT_MS,
    (line) => {
      const [kind, partition, offset, value] = line.split(' ');
      if (kind === 'rec') {
        const placements = read.get(value) ?? [];
        placements.push({ partition: Number(partition), offset: Number(offset) });
        read.set(value, placements);
      } else if (kind === 'done') consumerDone = true;
      else console.log(`  consumer: ${line}`);
    },
  );
  if (!consumerDone || consumerCode !== 0)
    failures.push(`consumer did not finish (exit ${consumerCode}); see ${client.name}-consume.log`);

  let lost = 0;
  let misplaced = 0;
  for (const [value, placement] of acknowledged) {
    const placements = read.get(value);
    if (placements === undefined) {
      lost++;
      if (lost <= 10)
        failures.push(`lost ${value} (acknowledged at ${placement.partition}/${placement.offset})`);
    } else if (placements[0].partition !== placement.partition || placements[0].offset !== placement.offset) {
      misplaced++;
      if (misplaced <= 10)
        failures.push(
          `${value} acknowledged at ${placement.partition}/${placement.offset}, read at ${placements[0].partition}/${placements[0].offset}`,
        );
    }
  }
  let duplicated = 0;
  let unacknowledgedRead = 0;
  for (const [value, placements] of read) {
    if (placements.length > 1) {
      duplicated++;
      if (duplicated <= 10)
        failures.push(
          `${value} read ${placements.length} times: ${placements.map((p) => `${p.partition}/${p.offset}`)}`,
        );
    }
    if (!acknowledged.has(value)) unacknowledgedRead++;
  }
  // Per partition, acknowledged values in send order must have rising offsets.
  let reordered = 0;
  const sequenceOf = (value: string) => Number(value.slice(value.lastIndexOf('-') + 1));
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const inPartition = [...acknowledged]
      .filter(([, placement]) => placement.partition === partition)
      .sort(([a], [b]) => sequenceOf(a) - sequenceOf(b));
    for (let i = 1; i < inPartition.length; i++)
      if (inPartition[i][1].offset <= inPartition[i - 1][1].offset) {
        reordered++;
        if (reordered <= 10)
          failures.push(
            `partition ${partition}: ${inPartition[i][0]} at offset ${inPartition[i][1].offset} after ${inPartition[i - 1][0]} at ${inPartition[i - 1][1].offset}`,
          );
      }
  }
  const recordsRead = [...read.values()].reduce((sum, placements) => sum + placements.length, 0);
  const failureKinds = new Map<string, number>();
  for (const error of failed.values()) failureKinds.set(error, (failureKinds.get(error) ?? 0) + 1);
  console.log(
    `${client.name}: acknowledged ${acknowledged.size}, failed ${failed.size}, read ${recordsRead}` +
      ` (high watermarks ${highs.join(',')}), lost ${lost}, duplicated ${duplicated},` +
      ` misplaced ${misplaced}, reordered ${reordered}, read but not acknowledged ${unacknowledgedRead}`,
  );
  console.log(
    `  longest pause between acknowledgements: ${[...longestPauseMs]
      .sort(([a], [b]) => a - b)
      .map(([partition, ms]) => `partition ${partition} ${ms} ms`)
      .join(', ')}`,
  );
  for (const [error, count] of failureKinds) console.log(`  failed ${count}x: ${error}`);
  if (lost + duplicated + misplaced + reordered > 0)
    failures.push(`lost ${lost}, duplicated ${duplicated}, misplaced ${misplaced}, reordered ${reordered}`);
  return failures.map((failure) => `${client.name}: ${failure}`);
}

/** The consumer-group scenario: records pre-filled, members, faults from the first processed record. */
const GROUP_RECORDS = 9000;
/** Each member pauses this long after each record, so the group is still consuming during the faults. */
const GROUP_PAUSE_MS = 10;
const KILL_COORDINATOR_MS = 4_000;
const RESTART_COORDINATOR_MS = 10_000;
/** A member joins (a rebalance on the second coordinator), which is killed this soon after. */
const JOIN_LATE_MS = 14_000;
const KILL_IN_REBALANCE_AFTER_MS = 800;
const RESTART_SECOND_COORDINATOR_MS = 20_000;
const KILL_GROUP_LEADER_MS = 24_000;
const RESTART_GROUP_LEADER_MS = 30_000;
/** Until every record is processed and committed; session timeouts (45 s) may take part. */
const GROUP_TIMEOUT_MS = 300_000;

type Offsets = Map<number, number>;

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Offsets> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map(entry.partitions.map((p) => [p.partition, Number(p.offset)]));
}

async function coordinatorOf(client: Client, groupId: string): Promise<number> {
  return retry(`coordinator of ${groupId}`, async () => (await findCoordinator(client, groupId)).nodeId, 240);
}

/**
 * Consumer-group members keep consuming while the group coordinator and a partition leader are
 * killed -9 and restarted: a topic of 3 partitions (RF 3) is filled with "group-<i>" for i below
 * GROUP_RECORDS, then one member per client in `members` consumes it in one group (pausing after
 * each record) while this driver kills the coordinator (FindCoordinator) and restarts it, has
 * `lateMember` join (a rebalance on the second coordinator) and kills that coordinator during the
 * rebalance, restarts it, then kills and restarts the leader of a partition the coordinator
 * then does not lead. Every record must be
 * processed at least once (duplicates are counted: at least once), the committed offsets must
 * never go backwards and must end past each partition's last record (at the high watermark, or
 * below it only by control batches), and every member must leave cleanly.
 */
async function checkGroup(
  members: ClientProgram[],
  lateMember: ClientProgram | undefined,
  admin: Admin,
  brokers: BrokerProcesses,
): Promise<string[]> {
  const topic = 'failover-group';
  const groupId = 'interop-failover-group';
  const bootstrap = brokers.bootstrap().join(',');
  const failures: string[] = [];
  await retry(`create ${topic}`, () =>
    admin.createTopics({
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }],
      waitForLeaders: true,
    }),
  );
  const producer = kafkaClient(brokers.bootstrap(), 'interop-failover-fill').producer();
  await producer.connect();
  // Small batches (20 records a partition): the members fetch about one batch at a time.
  for (let start = 0; start < GROUP_RECORDS; start += 60) {
    const messages = Array.from({ length: Math.min(60, GROUP_RECORDS - start) }, (_, i) => ({
      partition: (start + i) % PARTITIONS,
      value: `group-${start + i}`,
    }));
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
  const filled = await admin.fetchTopicOffsets(topic);
  console.log(
    `group: ${topic} filled with ${GROUP_RECORDS} records (high watermarks ${filled.map((p) => p.high)})`,
  );

  const sdk = sdkClient(brokers.bootstrap(), 'interop-failover-coordinator');
  const processed = new Map<string, number>();
  const processedBy = new Map<string, number>();
  const processedAfterKill = new Map<string, number>();
  const lastDataOffset = new Map<number, number>();
  let unknownValues = 0;
  let coordinatorKilledMs: number | undefined;
  let startMs = 0;
  let lastProcessedMs: number | undefined;
  let longestStall = { ms: 0, endedAtMs: 0 };
  const memberLast = new Map<string, number>();
  const memberLongest = new Map<string, { ms: number; endedAtMs: number }>();
  let allProcessed: (() => void) | undefined;
  const allProcessedPromise = new Promise<void>((resolve) => {
    allProcessed = resolve;
  });
  let firstProcessed: (() => void) | undefined;
  const firstProcessedPromise = new Promise<void>((resolve) => {
    firstProcessed = resolve;
  });
  const done = new Set<string>();
  const stdins: ChildProcess[] = [];
  const started: ClientProgram[] = [];
  const exits: Array<Promise<number | null>> = [];
  const startMember = (member: ClientProgram) => {
    started.push(member);
    const exit = runProgram(
      [...member.command, 'group', bootstrap, topic, groupId, String(GROUP_PAUSE_MS)],
      join(runDir, `${member.name}-group.log`),
      GROUP_TIMEOUT_MS + 120_000,
      (line) => {
        const [kind, partition, offset, value] = line.split(' ');
        if (kind === 'rec') {
          const nowMs = Date.now();
          if (!/^group-\d+$/.test(value) || Number(value.slice(6)) >= GROUP_RECORDS) unknownValues++;
          processed.set(value, (processed.get(value) ?? 0) + 1);
          processedBy.set(member.name, (processedBy.get(member.name) ?? 0) + 1);
          if (coordinatorKilledMs !== undefined)
            processedAfterKill.set(member.name, (processedAfterKill.get(member.name) ?? 0) + 1);
          lastDataOffset.set(
            Number(partition),
            Math.max(lastDataOffset.get(Number(partition)) ?? -1, Number(offset)),
          );
          if (processed.size < GROUP_RECORDS || processed.get(value) === 1) {
            if (lastProcessedMs !== undefined && nowMs - lastProcessedMs > longestStall.ms)
              longestStall = { ms: nowMs - lastProcessedMs, endedAtMs: nowMs - startMs };
            const memberLastMs = memberLast.get(member.name);
            if (
              memberLastMs !== undefined &&
              nowMs - memberLastMs > (memberLongest.get(member.name)?.ms ?? 0)
            )
              memberLongest.set(member.name, { ms: nowMs - memberLastMs, endedAtMs: nowMs - startMs });
            memberLast.set(member.name, nowMs);
            lastProcessedMs = nowMs;
          }
          firstProcessed?.();
          if (processed.size >= GROUP_RECORDS) allProcessed?.();
        } else if (kind === 'done') done.add(member.name);
        else console.log(`  ${member.name} member: ${line}`);
      },
      (child) => stdins.push(child),
    );
    exits.push(exit);
  };
  for (const member of members) startMember(member);
  const membersOver = Promise.all(exits).then(() => undefined);

  // The committed offsets, sampled each second: they must never go backwards.
  const committedHigh = new Map<number, number>();
  let backwards = 0;
  let sampling = true;
  let fetchOffsetsErrors = 0;
  const sampler = (async () => {
    while (sampling) {
      try {
        for (const [partition, offset] of await committedOffsets(admin, groupId, topic)) {
          const high = committedHigh.get(partition) ?? -1;
          if (offset < high) {
            backwards++;
            if (backwards <= 10)
              failures.push(
                `group: committed offset of partition ${partition} went back from ${high} to ${offset}`,
              );
          } else committedHigh.set(partition, offset);
        }
      } catch {
        fetchOffsetsErrors++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();

  await Promise.race([firstProcessedPromise, membersOver]);
  startMs = Date.now();
  let newCoordinator: number | undefined;
  if (processed.size > 0) {
    // Kills the group's coordinator; resolves with it and the broker that coordinates next.
    const killCoordinator = async (why: string): Promise<[number, number]> => {
      const coordinator = await coordinatorOf(sdk, groupId);
      coordinatorKilledMs ??= Date.now();
      console.log(
        `  ${Date.now() - startMs} ms: kill -9 broker ${coordinator} (coordinator of ${groupId}${why})`,
      );
      await brokers.kill(coordinator);
      const next = await retry(
        `a new coordinator of ${groupId}`,
        async () => {
          const found = await coordinatorOf(sdk, groupId);
          if (found === coordinator) throw new Error(`still ${found}`);
          return found;
        },
        240,
      );
      console.log(`  ${Date.now() - startMs} ms: broker ${next} coordinates ${groupId}`);
      return [coordinator, next];
    };
    await sleepUntil(startMs, KILL_COORDINATOR_MS);
    const [first] = await killCoordinator('');
    await sleepUntil(startMs, RESTART_COORDINATOR_MS);
    await brokers.start(first);
    console.log(`  ${Date.now() - startMs} ms: broker ${first} restarted`);
    await sleepUntil(startMs, JOIN_LATE_MS);
    if (lateMember !== undefined) {
      // A rebalance on the second coordinator, which dies during it: partitions move, their new
      // owners start from the offsets committed before and after the failovers.
      startMember(lateMember);
      console.log(`  ${Date.now() - startMs} ms: ${lateMember.name} member joins the group`);
      await sleepUntil(startMs, JOIN_LATE_MS + KILL_IN_REBALANCE_AFTER_MS);
    }
    const [second, third] = await killCoordinator(lateMember === undefined ? '' : ', in the rebalance');
    newCoordinator = third;
    await sleepUntil(startMs, RESTART_SECOND_COORDINATOR_MS);
    await brokers.start(second);
    console.log(`  ${Date.now() - startMs} ms: broker ${second} restarted`);
    await sleepUntil(startMs, KILL_GROUP_LEADER_MS);
    const leaders = [];
    for (let partition = 0; partition < PARTITIONS; partition++)
      leaders.push(await leaderOf(admin, topic, partition));
    const currentCoordinator = await coordinatorOf(sdk, groupId);
    const partition = Math.max(
      0,
      leaders.findIndex((leader) => leader !== currentCoordinator),
    );
    console.log(
      `  ${Date.now() - startMs} ms: kill -9 broker ${leaders[partition]} (leader of partition ${partition})`,
    );
    await brokers.kill(leaders[partition]);
    await sleepUntil(startMs, RESTART_GROUP_LEADER_MS);
    await brokers.start(leaders[partition]);
    console.log(`  ${Date.now() - startMs} ms: broker ${leaders[partition]} restarted`);
  }
  const allInTime = await Promise.race([
    allProcessedPromise.then(() => true),
    membersOver.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), GROUP_TIMEOUT_MS)),
  ]);
  const allProcessedAtMs = Date.now() - startMs;
  if (!allInTime)
    failures.push(`group: only ${processed.size} of ${GROUP_RECORDS} records processed in time`);

  // The members commit what they processed: wait for the commits to pass each partition's last record.
  const committedPastRecords = (offsets: Offsets) =>
    [...lastDataOffset].every(([partition, offset]) => (offsets.get(partition) ?? -1) > offset);
  let committedInTime = false;
  for (let attempt = 0; attempt < 120 && allInTime; attempt++) {
    const offsets = await committedOffsets(admin, groupId, topic).catch(() => new Map<number, number>());
    if (committedPastRecords(offsets)) {
      committedInTime = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (allInTime && !committedInTime)
    failures.push('group: the committed offsets did not reach the last records in time');
  for (const child of stdins) child.stdin?.end();
  const codes = await Promise.all(exits);
  sampling = false;
  await sampler;
  await sdk.close();
  started.forEach((member, i) => {
    if (!done.has(member.name) || codes[i] !== 0)
      failures.push(
        `group: ${member.name} member did not finish (exit ${codes[i]}); see ${member.name}-group.log`,
      );
  });

  const final = await retry('committed offsets', () => committedOffsets(admin, groupId, topic));
  const watermarks = await retry(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
  const highs = new Map(watermarks.map((p) => [p.partition, Number(p.high)]));
  let skipped = 0;
  for (let i = 0; i < GROUP_RECORDS; i++)
    if (!processed.has(`group-${i}`)) {
      skipped++;
      if (skipped <= 10) failures.push(`group: group-${i} never processed`);
    }
  const duplicates = [...processed.values()].reduce((sum, count) => sum + count - 1, 0);
  const offsetLines: string[] = [];
  let atHighWatermark = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const committed = final.get(partition) ?? -1;
    const high = highs.get(partition) ?? 0;
    const pastLast = (lastDataOffset.get(partition) ?? -1) + 1;
    offsetLines.push(
      `partition ${partition} committed ${committed} / high watermark ${high} / last record ${pastLast - 1}`,
    );
    if (committed === high) atHighWatermark++;
    if (committed > high)
      failures.push(`group: partition ${partition} committed ${committed} past the high watermark ${high}`);
    if (committed < pastLast)
      failures.push(
        `group: partition ${partition} committed ${committed}, below its last record ${pastLast - 1} + 1`,
      );
    // Below the high watermark only by control batches: every record was read (pastLast <= committed).
  }
  if (skipped + unknownValues + backwards > 0)
    failures.push(
      `group: skipped ${skipped}, unknown values ${unknownValues}, committed offsets backwards ${backwards}`,
    );
  console.log(
    `group: processed ${[...processed.values()].reduce((sum, count) => sum + count, 0)} (distinct ${processed.size} of ${GROUP_RECORDS}),` +
      ` skipped ${skipped}, duplicates processed ${duplicates}, all processed at ${allProcessedAtMs} ms,` +
      ` committed offsets backwards ${backwards} (fetchOffsets failed ${fetchOffsetsErrors}x during the faults)`,
  );
  console.log(
    `  committed at the end (${atHighWatermark} of ${PARTITIONS} partitions at the high watermark): ${offsetLines.join('; ')}`,
  );
  console.log(
    `  longest stall of the group: ${longestStall.ms} ms (ended ${longestStall.endedAtMs} ms after the first record);` +
      ` per member: ${started
        .map(
          (m) =>
            `${m.name} processed ${processedBy.get(m.name) ?? 0}` +
            ` (${processedAfterKill.get(m.name) ?? 0} after the coordinator was killed), longest pause ${memberLongest.get(m.name)?.ms ?? 0} ms (ended at ${memberLongest.get(m.name)?.endedAtMs ?? 0} ms)`,
        )
        .join('; ')}`,
  );
  if (newCoordinator === undefined) failures.push('group: no fault injected (no record processed)');
  return failures;
}

const failures: string[] = [];
try {
  const clients = prepareClients();
  const brokers = await BrokerProcesses.create({ count: 3, runDir, proxied: false });
  processes = brokers;
  await Promise.all(brokers.ids.map((id) => brokers.start(id)));
  const admin = kafkaClient(brokers.bootstrap(), 'interop-failover-admin').admin();
  await retry('connect', () => admin.connect());
  await retry('three live brokers', async () => {
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length < 3) throw new Error(`only ${cluster.brokers.length} brokers`);
  });
  const only = process.env.GOQUEUE_INTEROP_FAILOVER_ONLY;
  for (const client of clients) {
    if (only !== undefined && only !== client.name) continue;
    try {
      failures.push(...(await checkClient(client, admin, brokers)));
    } catch (error) {
      failures.push(`${client.name}: ${(error as Error).stack}`);
    }
  }
  if (only === undefined || only === 'group')
    try {
      const members = clients.filter((client) => client.name === 'librdkafka' || client.name === 'java');
      const lateMember = clients.find((client) => client.name === 'franz-go');
      failures.push(...(await checkGroup(members, lateMember, admin, brokers)));
    } catch (error) {
      failures.push(`group: ${(error as Error).stack}`);
    }
  await admin.disconnect();
  for (const exit of brokers.unexpectedExits)
    failures.push(`broker ${exit.id} exited (code ${exit.code}, signal ${exit.signal}): ${exit.stderr}`);
} catch (error) {
  failures.push((error as Error).stack ?? String(error));
} finally {
  if (failures.length > 0) console.log(`FAIL\n${failures.join('\n')}`);
  await cleanUp();
}
console.log(failures.length === 0 ? 'ok' : 'FAIL');
process.exit(failures.length === 0 ? 0 : 1);
