/**
 * `npm run torture -- --brokers 3 --seconds 120 --seed S --nemesis kill,pause,partition`
 * (several seeds: `--seeds 1..5`). Writes each run's report under `--dir` (default
 * <tmpdir>/goqueue-torture/<time>/seed-S) and prints a summary; exits 1 when any run is invalid.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runTorture, summarize } from './run.js';
import {
  NEMESIS_KINDS,
  type NemesisKind,
  PARTITION_MODES,
  type PartitionMode,
  ROLES,
  type Role,
} from './schedule.js';

function parseSeeds(text: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  if (range !== null) {
    const seeds: number[] = [];
    for (let seed = Number(range[1]); seed <= Number(range[2]); seed++) seeds.push(seed);
    return seeds;
  }
  return text.split(',').map((part) => {
    const seed = Number(part);
    if (!Number.isInteger(seed) || seed < 0)
      throw new RangeError(`--seed ${part} is not a non-negative integer`);
    return seed;
  });
}

function parseNemeses(text: string): NemesisKind[] {
  if (text === 'none' || text === '') return [];
  // `all` leaves out bitrot: it damages committed data, which no replica protocol alone survives.
  if (text === 'all') return NEMESIS_KINDS.filter((kind) => kind !== 'bitrot');
  return text.split(',').map((name) => {
    if (!(NEMESIS_KINDS as readonly string[]).includes(name))
      throw new RangeError(`--nemesis ${name}: one of ${NEMESIS_KINDS.join(', ')}, all or none`);
    return name as NemesisKind;
  });
}

function parseRoles(text: string): Role[] {
  return text.split(',').map((name) => {
    if (!(ROLES as readonly string[]).includes(name))
      throw new RangeError(`--roles ${name}: one of ${ROLES.join(', ')}`);
    return name as Role;
  });
}

function parseModes(text: string): PartitionMode[] {
  return text.split(',').map((name) => {
    if (!(PARTITION_MODES as readonly string[]).includes(name))
      throw new RangeError(`--partition-modes ${name}: one of ${PARTITION_MODES.join(', ')}`);
    return name as PartitionMode;
  });
}

const USAGE = `npm run torture -- [options]
  --brokers N             brokers (default 3)
  --seconds S             workload length of each run (default 60)
  --seed S | --seeds A..B | --seeds A,B,C
                          seeds to run (default: from the time)
  --nemesis LIST          ${NEMESIS_KINDS.join(', ')}, all (everything but bitrot) or none
                          (default kill,pause)
  --roles LIST            whom faults target: ${ROLES.join(', ')}
  --partition-modes LIST  ${PARTITION_MODES.join(', ')}
  --partitions N          partitions of the topic (default 4)
  --groups                consumers in a consumer group too
  --planted-bug           acknowledge before commit, to see the checker catch it
  --keep                  keep the brokers' data directories
  --dir PATH              where reports go (default <tmpdir>/goqueue-torture/<time>)
Exits 1 when any run is invalid.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      brokers: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      nemesis: { type: 'string', default: 'kill,pause' },
      roles: { type: 'string' },
      'partition-modes': { type: 'string' },
      partitions: { type: 'string', default: '4' },
      groups: { type: 'boolean', default: false },
      'planted-bug': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      dir: { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const seeds = parseSeeds(values.seeds ?? values.seed ?? String(Date.now() % 1_000_000));
  const nemeses = parseNemeses(values.nemesis);
  const dir = values.dir ?? join(tmpdir(), 'goqueue-torture', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  let invalid = 0;
  for (const seed of seeds) {
    const report = await runTorture({
      brokers: Number(values.brokers),
      seconds: Number(values.seconds),
      seed,
      nemeses,
      ...(values.roles === undefined ? {} : { roles: parseRoles(values.roles) }),
      ...(values['partition-modes'] === undefined
        ? {}
        : { partitionModes: parseModes(values['partition-modes']) }),
      partitions: Number(values.partitions),
      groups: values.groups,
      plantedBug: values['planted-bug'],
      keep: values.keep,
      runDir: join(dir, `seed-${seed}`),
      progress: (line) => console.error(`[seed ${seed}] ${line}`),
    });
    console.log(summarize(report));
    if (!report.valid) invalid++;
  }
  // Clients of the last run may hold sockets and timers open for a while; nothing is left to do.
  process.exit(invalid === 0 ? 0 : 1);
}

await main().catch((error: unknown) => {
  // A bad option is one line and the usage, not a stack trace.
  const code = (error as { code?: unknown }).code;
  const badOption =
    (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) ||
    (error instanceof RangeError && error.message.startsWith('--'));
  if (badOption) {
    console.error(`torture: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  throw error;
});
