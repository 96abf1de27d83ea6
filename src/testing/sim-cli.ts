/**
 * `npm run sim -- --seeds N [--first S]` sweeps seeds S..S+N-1 (default: a start derived from
 * the time, printed so the sweep can be repeated); `npm run sim -- --seed S [--verbose]`
 * replays one seed. Ends with one summary line; a failing seed prints itself and its replay
 * command, and the exit code is 1.
 */
import { Command } from 'commander';
import { describeOptions } from './sim/options.js';
import { runSeed, Simulation } from './sim/simulation.js';

const program = new Command()
  .name('sim')
  .option('--seeds <count>', 'number of seeds to run', '100')
  .option('--first <seed>', 'first seed of the sweep')
  .option('--seed <seed>', 'replay exactly this seed')
  .option('--verbose', 'print the options of each seed')
  .option('--stop-on-failure', 'stop at the first failing seed')
  .parse();
const opts = program.opts<{
  seeds: string;
  first?: string;
  seed?: string;
  verbose?: boolean;
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

let failed = 0;
let acked = 0;
let events = 0;
let elections = 0;
let crashes = 0;
for (const seed of seeds) {
  if (opts.verbose) console.log(`seed ${seed}: ${describeOptions(new Simulation(seed).options)}`);
  const result = runSeed(seed);
  acked += result.acked;
  events += result.events;
  elections += result.elections;
  crashes += result.crashes;
  if (opts.verbose)
    console.log(
      `seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} acked=${result.acked} committed=${result.committedIndex} elections=${result.elections} crashes=${result.crashes} snapshots=${result.snapshotsSent} reads=${result.reads} events=${result.events}`,
    );
  if (!result.ok) {
    failed++;
    console.log(`FAILED seed ${seed}: ${result.failure}`);
    console.log(`  replay: npm run sim -- --seed ${seed} --verbose`);
    if (opts.stopOnFailure) break;
  }
}
const seconds = (performance.now() - startedMs) / 1000;
console.log(
  `sim: ${seeds.length - failed}/${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]}) passed in ${seconds.toFixed(1)} s ` +
    `(${acked} acknowledged writes, ${elections} elections, ${crashes} crashes, ${events} events)`,
);
process.exit(failed === 0 ? 0 : 1);
