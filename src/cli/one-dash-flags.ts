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
