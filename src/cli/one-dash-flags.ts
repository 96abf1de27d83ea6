import { CONFIG_KEYS } from '../config/keys.js';

/** Long flags of `goqueue broker` (without dashes). */
const oneDashLongFlags = new Set([
  'config',
  ...CONFIG_KEYS.flatMap((spec) => (spec.flag === null ? [] : [spec.flag.replace(/^--/, '')])),
]);

/**
 * The original go-queue wrote long flags with one dash (`-config=b.json -broker-id=broker1`);
 * commander reads one dash as short flags, so those are rewritten to `--config=b.json`. Only
 * known broker flags before a `--` are touched.
 */
export function acceptOneDashFlags(argv: readonly string[]): string[] {
  const result = [...argv];
  for (let i = 2; i < result.length; i++) {
    const arg = result[i]!;
    if (arg === '--') break;
    const match = /^-([a-z][a-z-]+)(=.*)?$/.exec(arg);
    if (match && oneDashLongFlags.has(match[1]!)) result[i] = `-${arg}`;
  }
  return result;
}

/**
 * The original go-queue had no subcommands: `goqueue -config=broker.json` started a broker.
 * A command line that begins with a broker flag (after acceptOneDashFlags) gets `broker`
 * put in front of it; `--help`, `--version` and every subcommand are left alone.
 */
export function acceptBrokerWithoutSubcommand(argv: readonly string[]): string[] {
  const first = argv[2];
  const flag = first === undefined ? undefined : /^--([a-z][a-z-]+)(=.*)?$/.exec(first)?.[1];
  if (flag === undefined || !oneDashLongFlags.has(flag)) return [...argv];
  return [...argv.slice(0, 2), 'broker', ...argv.slice(2)];
}

/** Other tools' names for `--bootstrap`: kafka-console-consumer's and kcat's/rpk's. */
const bootstrapAliases = ['--bootstrap-server', '--brokers'];

/**
 * The client commands take `--bootstrap-server` (Kafka's tools) and `--brokers` (rpk) as
 * `--bootstrap`. Not for `goqueue broker`, whose flags are the configuration table's, nor `goqueue dev`.
 */
export function acceptBootstrapAliases(argv: readonly string[]): string[] {
  const result = [...argv];
  // `goqueue dev --brokers N` is a count of brokers, not a bootstrap list.
  if (result[2] === 'broker' || result[2] === 'dev') return result;
  for (let i = 2; i < result.length; i++) {
    const arg = result[i]!;
    if (arg === '--') break;
    for (const alias of bootstrapAliases) {
      if (arg === alias) result[i] = '--bootstrap';
      else if (arg.startsWith(`${alias}=`)) result[i] = `--bootstrap=${arg.slice(alias.length + 1)}`;
    }
  }
  return result;
}

/** Every rewriting above, in order: what `main` hands to commander. */
export function normalizeArguments(argv: readonly string[]): string[] {
  return acceptBootstrapAliases(acceptBrokerWithoutSubcommand(acceptOneDashFlags(argv)));
}
