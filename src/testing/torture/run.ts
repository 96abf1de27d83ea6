/**
 * One torture run: N real broker processes behind raft proxies, the workload, the seeded fault
 * schedule, then heal, drain, read every replica's log from disk, check, report. See
 * docs/reliability.md.
 */
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckResult, check } from './checker.js';
import { parsePartitionDirectory, partitionDirectories, readPartitions } from './disk.js';
import { drainLeaders } from './drain.js';
import { History } from './history.js';
import { type FaultEvent, Nemesis } from './nemesis.js';
import { BrokerProcesses, type UnexpectedExit } from './processes.js';
import { LinkCuts, type RaftProxy, startRaftProxies } from './raft-proxy.js';
import {
  type NemesisKind,
  type PartitionMode,
  type PlannedFault,
  planFaults,
  type Role,
} from './schedule.js';
import { kafkaClient, TOPIC, Workload } from './workload.js';

export interface TortureOptions {
  brokers: number;
  seconds: number;
  seed: number;
  nemeses: readonly NemesisKind[];
  /** Roles faults may target (default all). */
  roles?: readonly Role[];
  /** Kinds of network partition (default all). */
  partitionModes?: readonly PartitionMode[];
  partitions?: number;
  /** KafkaJS group consumers and the committed-offset checks (groups are being reworked). */
  groups?: boolean;
  /** Plants the acknowledge-before-commit bug (TEST_ONLY_GOQUEUE_ACK_BEFORE_COMMIT). */
  plantedBug?: boolean;
  runDir: string;
  /** Keep the data directories and broker logs even when the run is valid. */
  keep?: boolean;
  progress?: (line: string) => void;
}

export interface TortureReport {
  seed: number;
  brokers: number;
  seconds: number;
  nemeses: readonly NemesisKind[];
  plantedBug: boolean;
  groups: boolean;
  /** True when the checker found nothing and the harness itself saw no defect. */
  valid: boolean;
  check: CheckResult;
  schedule: PlannedFault[];
  faults: FaultEvent[];
  /** Things the harness saw that are defects on their own (a crash, a broker that would not start). */
  defects: string[];
  drainIncomplete: Array<{ partition: number; reason: string }>;
  unexpectedExits: UnexpectedExit[];
  elapsedMs: number;
  runDir: string;
}

/** The least time between the end of one fault and the start of the next. */
const HEALED_GAP_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${lastError === '' ? '' : `: ${lastError}`}`);
}

export async function runTorture(options: TortureOptions): Promise<TortureReport> {
  const startedMs = Date.now();
  const partitions = options.partitions ?? 4;
  const say = options.progress ?? (() => undefined);
  const processes = await BrokerProcesses.create({
    count: options.brokers,
    runDir: options.runDir,
    env: options.plantedBug ? { TEST_ONLY_GOQUEUE_ACK_BEFORE_COMMIT: '1' } : {},
  });
  const cuts = new LinkCuts();
  const proxies: RaftProxy[] = [];
  const defects: string[] = [];
  let report: TortureReport | null = null;
  try {
    await startRaftProxies(processes, cuts, proxies);
    say(`starting ${options.brokers} brokers in ${options.runDir}`);
    await Promise.all(processes.ids.map((id) => processes.start(id)));
    const bootstrap = processes.bootstrap();
    const admin = kafkaClient(bootstrap, 'torture-admin').admin();
    await eventually(
      async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length === options.brokers && cluster.controller !== null ? true : undefined;
      },
      120_000,
      `${options.brokers} live brokers`,
    );
    const before = new Set(processes.ids.flatMap((id) => partitionDirectories(processes.member(id).dataDir)));
    await eventually(
      async () => {
        await admin.createTopics({
          topics: [{ topic: TOPIC, numPartitions: partitions, replicationFactor: 3 }],
          waitForLeaders: true,
        });
        return true;
      },
      60_000,
      'the torture topic',
    );
    const topicId = await eventually(
      async () => {
        const counts = new Map<string, number>();
        for (const id of processes.ids)
          for (const name of partitionDirectories(processes.member(id).dataDir)) {
            if (before.has(name)) continue;
            const parsed = parsePartitionDirectory(name);
            if (parsed !== null) counts.set(parsed.topicId, (counts.get(parsed.topicId) ?? 0) + 1);
          }
        return [...counts].find(([, count]) => count >= partitions * 3)?.[0];
      },
      60_000,
      "the torture topic's partition directories",
    );
    await admin.disconnect();

    const history = new History();
    const workloadMs = options.seconds * 1000;
    const schedule = planFaults({
      seed: options.seed,
      nemeses: options.nemeses,
      ...(options.roles === undefined ? {} : { roles: options.roles }),
      ...(options.partitionModes === undefined ? {} : { partitionModes: options.partitionModes }),
      workloadMs,
      partitions,
    });
    const nemesis = new Nemesis(processes, cuts, topicId, () => history.nowMs());
    const workload = new Workload({ bootstrap, partitions, history, groups: options.groups ?? false });
    say(`workload for ${options.seconds} s, ${schedule.length} faults planned (seed ${options.seed})`);
    workload.start();
    let healedAtMs = 0;
    for (const fault of schedule) {
      // A fault that ran long (a slow restart) still leaves the cluster a healthy gap before the
      // next one, so a restarted replica can catch up: faults never overlap.
      const waitMs = Math.max(fault.atMs, healedAtMs + HEALED_GAP_MS) - history.nowMs();
      if (waitMs > 0) await sleep(waitMs);
      if (history.nowMs() >= workloadMs) break;
      say(
        `${(history.nowMs() / 1000).toFixed(1)} s: ${fault.kind} ${fault.role}${fault.kind === 'partition' ? ` ${fault.mode}` : ''}`,
      );
      await nemesis.run(fault);
      healedAtMs = history.nowMs();
    }
    const restMs = workloadMs - history.nowMs();
    if (restMs > 0) await sleep(restMs);
    say('healing');
    for (const error of await nemesis.healAll()) defects.push(`heal: ${error}`);
    // The workload runs on a little after the heal, so writes after faults are checked too.
    await sleep(5000);
    await workload.stop();
    say('draining');
    const drained = await drainLeaders({ bootstrap, partitions, timeoutMs: 90_000 });
    // Followers catch up on the last entries before the brokers stop and their logs are read.
    await sleep(3000);
    await processes.stopAll();
    const replicas = new Map<number, Map<number, Map<number, string>>>();
    const corruptBatches = new Map<number, string[]>();
    for (const id of processes.ids) {
      const replica = await readPartitions(processes.member(id).dataDir, topicId);
      replicas.set(id, replica.records);
      if (replica.corruptBatches.length > 0) corruptBatches.set(id, replica.corruptBatches);
    }
    const result = check(history.operations, { leader: drained.contents, replicas, corruptBatches });

    for (const event of nemesis.events)
      for (const error of event.errors) defects.push(`${event.kind}: ${error}`);
    for (const exit of processes.unexpectedExits)
      defects.push(
        `broker ${exit.id} exited on its own (${exit.code ?? exit.signal}): ${exit.stderr.slice(-500)}`,
      );
    for (const incomplete of drained.incomplete)
      defects.push(`final read of partition ${incomplete.partition} incomplete: ${incomplete.reason}`);
    report = {
      seed: options.seed,
      brokers: options.brokers,
      seconds: options.seconds,
      nemeses: options.nemeses,
      plantedBug: options.plantedBug ?? false,
      groups: options.groups ?? false,
      valid: result.valid && defects.length === 0,
      check: result,
      schedule,
      faults: nemesis.events,
      defects,
      drainIncomplete: drained.incomplete,
      unexpectedExits: processes.unexpectedExits,
      elapsedMs: Date.now() - startedMs,
      runDir: options.runDir,
    };
    writeFileSync(join(options.runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    const historyFile = createWriteStream(join(options.runDir, 'history.jsonl'));
    for (const operation of history.operations) historyFile.write(`${JSON.stringify(operation)}\n`);
    await new Promise<void>((resolve) => historyFile.end(() => resolve()));
    writeFileSync(join(options.runDir, 'summary.txt'), `${summarize(report)}\n`);
    return report;
  } finally {
    await processes.killAll();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await processes.closeLogs();
    if (report?.valid && !options.keep && !options.plantedBug)
      for (const id of processes.ids) rmSync(processes.member(id).dataDir, { recursive: true, force: true });
  }
}

/** A few lines a person reads first: the verdict, the counts, the first example of each anomaly. */
export function summarize(report: TortureReport): string {
  const { check: result } = report;
  const lines = [
    `torture seed ${report.seed}: ${report.brokers} brokers, ${report.seconds} s, nemeses ${report.nemeses.join(',') || 'none'}` +
      `${report.plantedBug ? ', PLANTED BUG (ack before commit)' : ''}${report.groups ? ', groups' : ''}`,
    `verdict: ${report.valid ? 'VALID' : 'INVALID'}  (${(report.elapsedMs / 1000).toFixed(0)} s wall, ${report.faults.length} faults)`,
    `sends: ${result.counts.sendOk} ok, ${result.counts.sendInfo} info, ${result.counts.sendFail} fail; ` +
      `${result.counts.polls} polls (${result.counts.recordsPolled} records); final reads ${result.counts.recordsInFinalReads} records`,
  ];
  for (const [name, anomaly] of Object.entries(result.anomalies))
    lines.push(
      `  ${name.padEnd(31)} ${String(anomaly.count).padStart(6)}${anomaly.count > 0 ? `  e.g. ${JSON.stringify(anomaly.examples[0])}` : ''}`,
    );
  for (const defect of report.defects.slice(0, 10)) lines.push(`  defect: ${defect}`);
  lines.push(`  report: ${join(report.runDir, 'report.json')}`);
  return lines.join('\n');
}
