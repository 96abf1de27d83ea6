/**
 * `npm run sim -- --seeds N [--first S]` sweeps seeds S..S+N-1 (default: a start derived from
 * the time, printed so the sweep can be repeated); `npm run sim -- --seed S [--verbose]`
 * replays one seed, and `--trace` prints its faults as they happen. `--plant D` runs the core
 * with a test-only defect planted back (to see which seeds catch it). Ends with one summary
 * line; a failing seed prints itself and its replay command, and the exit code is 1.
 */
import { Command } from 'commander';
import type { TestOnlyDefect } from '../raft/raft.js';
import { describeOptions } from './sim/options.js';
import { runSeed, type SimSetup, Simulation } from './sim/simulation.js';

const program = new Command()
  .name('sim')
  .option('--seeds <count>', 'number of seeds to run', '100')
  .option('--first <seed>', 'first seed of the sweep')
  .option('--seed <seed>', 'replay exactly this seed')
  .option('--verbose', 'print the options and outcome of each seed')
  .option('--trace', 'print every fault, election and phase of each seed')
  .option(
    '--plant <defect...>',
    'plant fixed core defects back (RawNodeOptions.testOnlyDefects): single-voter-read, keep-no-progress-for-removed, restart-timer-on-higher-term, silent-to-stale-leader',
  )
  .option('--stop-on-failure', 'stop at the first failing seed')
  .parse();
const opts = program.opts<{
  seeds: string;
  first?: string;
  seed?: string;
  verbose?: boolean;
  trace?: boolean;
  plant?: string[];
  stopOnFailure?: boolean;
}>();

const startedMs = performance.now();
let seeds: number[];
if (opts.seed !== undefined) {
  seeds = [Number(opts.seed)];
} else {
  const first = opts.first !== undefined ? Number(opts.first) : (Date.now() % 1_000_000_000) * 10;
  seeds = Array.from({ length: Number(opts.seeds) }, (_, i) => (first + i) >>> 0);
}
const plantable = [
  'single-voter-read',
  'keep-no-progress-for-removed',
  'restart-timer-on-higher-term',
  'silent-to-stale-leader',
] satisfies TestOnlyDefect[];
const unknown = (opts.plant ?? []).filter((d) => !(plantable as string[]).includes(d));
if (unknown.length > 0)
  program.error(`--plant: unknown defect ${unknown.join(', ')} (known: ${plantable.join(', ')})`);
const setup: SimSetup = {};
if (opts.plant) setup.coreDefects = new Set(opts.plant as TestOnlyDefect[]);
if (opts.trace) setup.trace = (line) => console.log(line);
const plantFlag = opts.plant ? ` --plant ${opts.plant.join(' ')}` : '';

let failed = 0;
const totals = {
  acked: 0,
  events: 0,
  elections: 0,
  crashes: 0,
  crashesMidReady: 0,
  crashesLosingWrites: 0,
  partitions: 0,
  removals: 0,
};
for (const seed of seeds) {
  if (opts.verbose) console.log(`seed ${seed}: ${describeOptions(new Simulation(seed).options)}`);
  const result = runSeed(seed, {}, setup);
  for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += result[key];
  if (opts.verbose)
    console.log(
      `seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} acked=${result.acked} committed=${result.committedIndex} ` +
        `elections=${result.elections} crashes=${result.crashes} (mid-Ready ${result.crashesMidReady}, losing writes ${result.crashesLosingWrites}) ` +
        `partitions=${result.partitions} stalls=${result.stalls} removals=${result.removals} ` +
        `snapshots=${result.snapshotsSent} reads=${result.reads} events=${result.events}`,
    );
  if (!result.ok) {
    failed++;
    console.log(`FAILED seed ${seed}: ${result.failure}`);
    console.log(`  replay: npm run sim -- --seed ${seed} --verbose --trace${plantFlag}`);
    if (opts.stopOnFailure) break;
  }
}
const seconds = (performance.now() - startedMs) / 1000;
const percent = (part: number) => (totals.crashes > 0 ? Math.round((100 * part) / totals.crashes) : 0);
console.log(
  `sim: ${seeds.length - failed}/${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]}) passed in ${seconds.toFixed(1)} s ` +
    `(${totals.acked} acknowledged writes, ${totals.elections} elections, ${totals.crashes} crashes (${percent(totals.crashesMidReady)}% mid-Ready, ${percent(totals.crashesLosingWrites)}% losing writes), ` +
    `${totals.partitions} partitions, ${totals.removals} removals, ${totals.events} events)`,
);
process.exit(failed === 0 ? 0 : 1);
