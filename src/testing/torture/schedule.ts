/**
 * The fault schedule of a run, drawn from its seed alone (src/lib/prng.ts): the same seed gives
 * the same list of faults — when, which kind, for how long, which role it targets and every
 * random choice inside it. Which broker holds a role (a partition's leader, the controller
 * leader) is found when the fault starts, so the concrete broker ids may differ between two runs
 * of one seed; the report lists both.
 */
import { Prng } from '../../lib/prng.js';

export const NEMESIS_KINDS = ['kill', 'pause', 'partition', 'lost-writes', 'corrupt', 'bitrot'] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

export const ROLES = ['partition-leader', 'controller-leader', 'follower', 'any'] as const;
export type Role = (typeof ROLES)[number];

export const PARTITION_MODES = ['majority-minority', 'bridge', 'one-way-out', 'one-way-in'] as const;
export type PartitionMode = (typeof PARTITION_MODES)[number];

export interface PlannedFault {
  /** When it starts, in ms after the workload started (later if the previous fault ran long). */
  atMs: number;
  kind: NemesisKind;
  /** How long the fault lasts (a killed broker's downtime, a pause, a cut). */
  durationMs: number;
  role: Role;
  /** The partition whose leader or follower is meant (for those roles). */
  partition: number;
  /** Chooses among candidates (followers, brokers) at run time: candidate[pick % count]. */
  pick: number;
  mode: PartitionMode;
  /** Seed of the fault's own choices (disk faults). */
  seed: number;
}

export interface ScheduleOptions {
  seed: number;
  nemeses: readonly NemesisKind[];
  /** Roles faults may target (default all). */
  roles?: readonly Role[];
  /** Kinds of network partition (default all). */
  partitionModes?: readonly PartitionMode[];
  workloadMs: number;
  partitions: number;
  /** Faults start after this (the workload warms up). */
  warmupMs?: number;
  /** No fault starts in the last this-many ms (the run heals before the drain anyway). */
  quietTailMs?: number;
  faultMsMin?: number;
  faultMsMax?: number;
  gapMsMin?: number;
  gapMsMax?: number;
}

export function planFaults(options: ScheduleOptions): PlannedFault[] {
  const prng = new Prng(options.seed);
  const faults: PlannedFault[] = [];
  if (options.nemeses.length === 0) return faults;
  const faultMsMin = options.faultMsMin ?? 2000;
  const faultMsMax = options.faultMsMax ?? 7000;
  const gapMsMin = options.gapMsMin ?? 2000;
  const gapMsMax = options.gapMsMax ?? 5000;
  let atMs = options.warmupMs ?? 3000;
  const lastStartMs = options.workloadMs - (options.quietTailMs ?? 2000);
  while (atMs <= lastStartMs) {
    const durationMs = prng.int(faultMsMin, faultMsMax);
    faults.push({
      atMs,
      kind: prng.pick(options.nemeses),
      durationMs,
      role: prng.pick(options.roles ?? ROLES),
      partition: prng.int(0, options.partitions - 1),
      pick: prng.nextU32(),
      mode: prng.pick(options.partitionModes ?? PARTITION_MODES),
      seed: prng.nextU32(),
    });
    atMs += durationMs + prng.int(gapMsMin, gapMsMax);
  }
  return faults;
}
