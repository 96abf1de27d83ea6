/**
 * The multi-group simulator from the command line:
 *   node --import=tsx src/testing/sim-multi/cli.ts --seeds N [--first S]   sweep seeds S..S+N-1
 *   node --import=tsx src/testing/sim-multi/cli.ts --seed S --verbose      replay one seed
 *   ... --plant hard-state-with-entries,quiet-leader-never-wakes          plant known defects
 * A failing seed prints itself and its replay command; the run ends with one summary line and
 * exits 1 when any seed failed.
 */
import { Command } from 'commander';
import type { MultiRaftDefect } from '../../cluster/multi-raft-node.js';
import { describeMultiOptions } from './options.js';
import { MultiSimulation } from './simulation.js';

const program = new Command()
  .name('sim-multi')
  .option('--seeds <count>', 'number of seeds to run', '100')
  .option('--first <seed>', 'first seed of the sweep')
  .option('--seed <seed>', 'replay exactly this seed')
  .option('--plant <defects>', 'comma-separated defects to plant back into MultiRaftNode')
  .option('--verbose', 'print the options and counters of each seed')
  .option('--stop-on-failure', 'stop at the first failing seed')
  .parse();
const opts = program.opts<{
  seeds: string;
  first?: string;
  seed?: string;
  plant?: string;
  verbose?: boolean;
  stopOnFailure?: boolean;
}>();

const defects = (opts.plant ?? '').split(',').filter((name) => name !== '') as MultiRaftDefect[];
const overrides = defects.length > 0 ? { defects } : {};
const plantFlag = defects.length > 0 ? ` --plant ${defects.join(',')}` : '';

const startedMs = performance.now();
let seeds: number[];
if (opts.seed !== undefined) {
  seeds = [Number(opts.seed)];
} else {
  const first = opts.first !== undefined ? Number(opts.first) : (Date.now() % 1_000_000_000) * 10;
  seeds = Array.from({ length: Number(opts.seeds) }, (_, i) => (first + i) >>> 0);
}

let failed = 0;
const totals = {
  acked: 0,
  elections: 0,
  crashes: 0,
  lossyCrashes: 0,
  partitions: 0,
  membershipChanges: 0,
  removals: 0,
  transfers: 0,
  events: 0,
};
for (const seed of seeds) {
  const simulation = new MultiSimulation(seed, overrides);
  if (opts.verbose) console.log(`seed ${seed}: ${describeMultiOptions(simulation.options)}`);
  const result = await simulation.run();
  for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += result[key];
  if (opts.verbose)
    console.log(
      `seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} acked=${result.acked} elections=${result.elections} crashes=${result.crashes} (lossy ${result.lossyCrashes}) partitions=${result.partitions} membership=${result.membershipChanges} removals=${result.removals} transfers=${result.transfers} events=${result.events} virtual=${Math.round(result.virtualMs)}ms`,
    );
  if (!result.ok) {
    failed++;
    console.log(`FAILED seed ${seed}: ${result.failure}`);
    console.log(
      `  replay: node --import=tsx src/testing/sim-multi/cli.ts --seed ${seed}${plantFlag} --verbose`,
    );
    if (opts.stopOnFailure) break;
  }
}
const seconds = (performance.now() - startedMs) / 1000;
console.log(
  `sim-multi: ${seeds.length - failed}/${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]})${plantFlag} passed in ${seconds.toFixed(1)} s ` +
    `(${totals.acked} acknowledged writes, ${totals.elections} elections, ${totals.crashes} crashes of which ${totals.lossyCrashes} lost writes, ${totals.partitions} partitions, ${totals.membershipChanges} membership changes, ${totals.removals} replica removals, ${totals.transfers} transfers, ${totals.events} events)`,
);
process.exit(failed === 0 ? 0 : 1);
