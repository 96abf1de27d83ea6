/**
 * A cluster of N brokers on this machine, for tests and development: free ports on one host,
 * one data directory per broker under a common root, all founding members of one
 * `initialCluster`. `Broker.startCluster` runs them in this process; `goqueue dev` runs the same
 * layout as separate processes (src/cli/dev-command.ts).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InitialClusterMember } from '../config/types.js';
import { Broker, type BrokerOptions } from './broker.js';
import { freePorts } from './free-ports.js';

/** How long a local cluster's brokers (in process or `goqueue dev`'s) have to register with the controller. */
export const REGISTRATION_TIMEOUT_MS = 60_000;

/** The most brokers one local cluster starts: a guard against a typo, not a real limit. */
export const LOCAL_CLUSTER_BROKERS_MAX = 16;

export interface LocalClusterOptions {
  /** How many brokers (ids 1..brokers), 1 to LOCAL_CLUSTER_BROKERS_MAX; default 3. */
  brokers?: number;
  /** Root of the brokers' data (`<dataDir>/broker-<id>`); default a fresh temporary folder, removed by stop(). */
  dataDir?: string;
  /** Host every listener binds and advertises; default 127.0.0.1. */
  host?: string;
  /** Options given to every broker (a logger, retention, …); ids, ports and folders are the cluster's. */
  brokerOptions?: Omit<BrokerOptions, 'brokerId' | 'dataDir' | 'initialCluster' | 'host' | 'port'>;
}

/** One broker of a local cluster as `goqueue dev` and `Broker.startCluster` lay it out. */
export interface LocalClusterMember {
  brokerId: number;
  host: string;
  clientPort: number;
  raftPort: number;
  dataDir: string;
}

/** The layout of an N-broker local cluster: ids 1..N, free ports, folders under `root`. */
export async function planLocalCluster(options: {
  brokers: number;
  host: string;
  root: string;
}): Promise<LocalClusterMember[]> {
  const { brokers, host, root } = options;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > LOCAL_CLUSTER_BROKERS_MAX)
    throw new RangeError(
      `brokers must be a whole number from 1 to ${LOCAL_CLUSTER_BROKERS_MAX}, got ${brokers}`,
    );
  const ports = await freePorts(host, brokers * 2);
  return Array.from({ length: brokers }, (_, index) => ({
    brokerId: index + 1,
    host,
    clientPort: ports[index * 2]!,
    raftPort: ports[index * 2 + 1]!,
    dataDir: join(root, `broker-${index + 1}`),
  }));
}

/** `--initial-cluster`'s list for the members: every one a founding member. */
export function initialClusterOf(members: readonly LocalClusterMember[]): InitialClusterMember[] {
  return members.map((member) => ({
    brokerId: member.brokerId,
    raftHost: member.host,
    raftPort: member.raftPort,
  }));
}

/** How often a starting local cluster checks that every broker is registered. */
const REGISTRATION_POLL_MS = 50;

/** N brokers in this process forming one Raft cluster. */
export class LocalCluster {
  private stopping: Promise<void> | null = null;

  private constructor(
    /** The brokers, by id order (brokers[0] is broker 1). */
    readonly brokers: readonly Broker[],
    /** Root of the brokers' data directories. */
    readonly dataDir: string,
    private readonly removeDataDir: boolean,
  ) {}

  /** Starts every broker at once (each waits for a quorum of the others); resolves when all are registered. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const host = options.host ?? '127.0.0.1';
    const removeDataDir = options.dataDir === undefined;
    const root = options.dataDir ?? mkdtempSync(join(tmpdir(), 'goqueue-cluster-'));
    mkdirSync(root, { recursive: true });
    const members = await planLocalCluster({ brokers: options.brokers ?? 3, host, root });
    const initialCluster = initialClusterOf(members);
    const started = await Promise.allSettled(
      members.map((member) =>
        Broker.start({
          ...options.brokerOptions,
          brokerId: member.brokerId,
          dataDir: member.dataDir,
          host,
          port: member.clientPort,
          raftHost: host,
          raftPort: member.raftPort,
          initialCluster,
        }),
      ),
    );
    const brokers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(brokers.map((broker) => broker.stop()));
      if (removeDataDir) rmSync(root, { recursive: true, force: true });
      throw failed.reason;
    }
    const cluster = new LocalCluster(brokers, root, removeDataDir);
    try {
      await cluster.registered(REGISTRATION_TIMEOUT_MS);
    } catch (error) {
      await cluster.stop().catch(() => undefined);
      throw error;
    }
    return cluster;
  }

  /**
   * Resolves once every broker's controller state lists all of them as live (a broker listens
   * before its peers have registered; an RF=N topic needs N live brokers). Throws after `timeoutMs`.
   */
  private async registered(timeoutMs: number): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    const count = this.brokers.length;
    for (;;) {
      const seen = Math.min(...this.brokers.map((broker) => broker.liveBrokerCount()));
      if (seen >= count) return;
      if (performance.now() > deadlineMs)
        throw new Error(`${seen} of ${count} brokers registered after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, REGISTRATION_POLL_MS));
    }
  }

  /** `host:port` of every broker, for a client's bootstrap list. */
  get bootstrap(): string[] {
    return this.brokers.map((broker) => `${broker.address.host}:${broker.address.port}`);
  }

  /** Stops every broker; removes the data when the cluster made its own folder. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const results = await Promise.allSettled(this.brokers.map((broker) => broker.stop()));
      if (this.removeDataDir) rmSync(this.dataDir, { recursive: true, force: true });
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    })();
    return this.stopping;
  }
}
