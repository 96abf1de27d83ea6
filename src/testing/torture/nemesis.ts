/**
 * Carries out planned faults (schedule.ts) on the running brokers, one at a time: start, hold for
 * the fault's duration, heal. Every fault is written to the event list with the brokers it hit.
 *
 * - kill: kill -9 the target; start it again when the fault ends.
 * - pause: SIGSTOP the target; SIGCONT when the fault ends.
 * - partition: cut raft links through the proxies (raft-proxy.ts): majority/minority (the target
 *   alone, or with one more broker of five, against the rest), bridge (the target's side and the
 *   rest both reach one bridge broker but not each other), one-way-out (the target's messages to
 *   every peer are dropped, it still hears them) or one-way-in (the reverse). Clients still reach
 *   every broker.
 * - lost-writes: kill -9 the target, drop the unsynced tail of the partition logs it follows
 *   (disk.ts), start it again.
 * - corrupt: kill -9 the target, tear or bit-flip the tail of the partition logs it follows
 *   after their stored commit, start it again. bitrot: the same anywhere in the last 512 bytes,
 *   committed entries included (disk corruption, beyond what Raft alone survives).
 */

import type { ClusterMetadata } from '../../client/client.js';
import { Client } from '../../client/client.js';
import { Prng } from '../../lib/prng.js';
import { corruptTail, type DiskFaultResult, loseUnsyncedTail } from './disk.js';
import type { BrokerProcesses } from './processes.js';
import type { LinkCuts } from './raft-proxy.js';
import type { PlannedFault } from './schedule.js';
import { TOPIC } from './workload.js';

export interface FaultEvent {
  kind: PlannedFault['kind'];
  role: PlannedFault['role'];
  mode?: PlannedFault['mode'];
  targets: number[];
  startMs: number;
  endMs: number;
  details: string[];
  /** Something the harness could not do (a broker that would not start again is a defect). */
  errors: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Nemesis {
  readonly events: FaultEvent[] = [];

  constructor(
    private readonly processes: BrokerProcesses,
    private readonly cuts: LinkCuts,
    private readonly topicId: string,
    private readonly nowMs: () => number,
  ) {}

  async run(fault: PlannedFault): Promise<void> {
    const metadata = await this.metadata();
    const target = this.resolve(fault, metadata);
    const event: FaultEvent = {
      kind: fault.kind,
      role: fault.role,
      targets: [target],
      startMs: this.nowMs(),
      endMs: -1,
      details: [],
      errors: [],
    };
    this.events.push(event);
    const followed = this.followedPartitions(target, metadata);
    const prng = new Prng(fault.seed);
    switch (fault.kind) {
      case 'kill':
        await this.processes.kill(target);
        await sleep(fault.durationMs);
        await this.restart(target, event);
        break;
      case 'pause':
        this.processes.pause(target);
        await sleep(fault.durationMs);
        this.processes.resume(target);
        break;
      case 'partition':
        event.mode = fault.mode;
        this.cut(fault, target, event);
        await sleep(fault.durationMs);
        this.cuts.healAll();
        break;
      case 'lost-writes':
      case 'corrupt':
      case 'bitrot': {
        await this.processes.kill(target);
        const dataDir = this.processes.member(target).dataDir;
        let results: DiskFaultResult[] = [];
        try {
          results =
            fault.kind === 'lost-writes'
              ? await loseUnsyncedTail({
                  dataDir,
                  topicId: this.topicId,
                  partitions: followed,
                  prng,
                  entriesMax: 20,
                })
              : corruptTail({
                  dataDir,
                  topicId: this.topicId,
                  partitions: followed,
                  prng,
                  committedToo: fault.kind === 'bitrot',
                });
        } catch (error) {
          event.errors.push(`disk fault failed: ${(error as Error).message}`);
        }
        for (const result of results) event.details.push(`partition ${result.partition}: ${result.what}`);
        await sleep(fault.durationMs);
        await this.restart(target, event);
        break;
      }
    }
    event.endMs = this.nowMs();
  }

  /** Ends every fault still in force: cuts healed, paused brokers resumed, stopped ones started. */
  async healAll(): Promise<string[]> {
    const errors: string[] = [];
    this.cuts.healAll();
    for (const id of this.processes.ids) {
      const member = this.processes.member(id);
      if (member.state === 'paused') this.processes.resume(id);
      if (member.state === 'stopped')
        await this.processes.start(id).catch((error: Error) => errors.push(`broker ${id}: ${error.message}`));
    }
    return errors;
  }

  private async restart(id: number, event: FaultEvent): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.processes.start(id);
        return;
      } catch (error) {
        event.errors.push(
          `restart ${attempt} of broker ${id} failed: ${(error as Error).message.slice(0, 1500)}`,
        );
        await sleep(1000);
      }
    }
  }

  private cut(fault: PlannedFault, target: number, event: FaultEvent): void {
    const others = this.processes.ids.filter((id) => id !== target);
    const rotated = others.map((_, i) => others[(i + fault.pick) % others.length] as number);
    switch (fault.mode) {
      case 'majority-minority': {
        const minority = others.length >= 4 ? [target, rotated[0] as number] : [target];
        const majority = this.processes.ids.filter((id) => !minority.includes(id));
        this.cuts.cutBetween(minority, majority);
        event.targets = minority;
        event.details.push(`minority ${minority.join(',')} | majority ${majority.join(',')}`);
        break;
      }
      case 'bridge': {
        const bridge = rotated[0] as number;
        const rest = rotated.slice(1);
        const targetSide = [target, ...rest.slice(0, Math.floor((rest.length - 1) / 2))];
        const otherSide = rest.filter((id) => !targetSide.includes(id));
        this.cuts.cutBetween(targetSide, otherSide);
        event.targets = targetSide;
        event.details.push(`${targetSide.join(',')} <- bridge ${bridge} -> ${otherSide.join(',')}`);
        break;
      }
      case 'one-way-out':
        for (const other of others) this.cuts.cutOneWay(target, other);
        event.details.push(`${target} cannot send to ${others.join(',')}`);
        break;
      case 'one-way-in':
        for (const other of others) this.cuts.cutOneWay(other, target);
        event.details.push(`${target} cannot hear ${others.join(',')}`);
        break;
    }
  }

  /** The broker a fault aims at: the role's holder when it is known and running, else a pick. */
  private resolve(fault: PlannedFault, metadata: ClusterMetadata | null): number {
    const running = this.processes.ids.filter((id) => this.processes.member(id).state === 'running');
    const candidates = running.length > 0 ? running : this.processes.ids;
    const fallback = candidates[fault.pick % candidates.length] as number;
    const partition = metadata?.topics.get(TOPIC)?.partitions.find((p) => p.partition === fault.partition);
    let chosen: number | undefined;
    switch (fault.role) {
      case 'partition-leader':
        chosen = partition?.leader;
        break;
      case 'controller-leader':
        chosen = metadata?.controllerId;
        break;
      case 'follower': {
        const followers = (partition?.replicas ?? []).filter((id) => id !== partition?.leader).sort();
        chosen = followers[fault.pick % Math.max(1, followers.length)];
        break;
      }
      case 'any':
        chosen = fallback;
        break;
    }
    return chosen !== undefined && candidates.includes(chosen) ? chosen : fallback;
  }

  /** Partitions of the torture topic `id` holds a replica of but does not lead. */
  private followedPartitions(id: number, metadata: ClusterMetadata | null): number[] {
    const partitions = metadata?.topics.get(TOPIC)?.partitions ?? [];
    return partitions
      .filter((p) => p.leader !== id && p.leader >= 0 && p.replicas.includes(id))
      .map((p) => p.partition);
  }

  private async metadata(): Promise<ClusterMetadata | null> {
    const running = this.processes.ids.filter((id) => this.processes.member(id).state === 'running');
    const client = new Client({
      brokers: running.map((id) => `127.0.0.1:${this.processes.member(id).clientPort}`),
      clientId: 'nemesis',
      timeoutMs: 3000,
      retry: { retries: 2, initialMs: 100, maxMs: 500 },
    });
    try {
      return await client.metadata([TOPIC]);
    } catch {
      return null;
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}
