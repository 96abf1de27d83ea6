/**
 * The Java client 4.4 on flexible versions: a round trip (admin create topic and describe
 * cluster, idempotent produce, consumer group with a commit, a second group's standalone commit,
 * both groups' offsets in one admin call, ListOffsets max-timestamp / earliest-local /
 * latest-tiered / latest) against a broker started here, printing the versions the client
 * negotiated (its own log line). Exits 1 unless every record comes back, the committed offsets
 * cover them, the second group's offset reads back and max-timestamp finds a record.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';

const here = dirname(fileURLToPath(import.meta.url));
const javaDir = join(here, 'java');
const classpathFile = join(tmpdir(), 'goqueue-interop-flexible-classpath.txt');
const build = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
  cwd: javaDir,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (build.status !== 0) throw new Error('mvn dependency:build-classpath failed');
const classpath = readFileSync(classpathFile, 'utf8').trim();

const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-interop-flexible-'));
const broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }) });
let ok = false;
try {
  // Asynchronous: the broker runs in this process and must answer meanwhile.
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(
      'java',
      ['-cp', classpath, join(javaDir, 'RoundTrip.java'), `${broker.address.host}:${broker.address.port}`],
      { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
      (_error, out, err) => resolve({ stdout: out, stderr: err }),
    ),
  );
  // NetworkClient logs (DEBUG) "... API versions: (Produce(0): 0 to 13 [usable: 13], ...)".
  const versions = stderr.match(/API versions: \(([^\n]*)\)/);
  if (versions) {
    const usable = [...versions[1]!.matchAll(/(\w+)\((\d+)\): (\d+) to (\d+) \[usable: (\d+)\]/g)];
    console.log('negotiated (API: ours → Java uses):');
    for (const [, name, key, , max, used] of usable) console.log(`  ${name} (${key}): ${max} → ${used}`);
  } else console.log(`no version line in the client log (${stderr.split("\n").slice(0, 3).join(" | ")})`);
  const lines = stdout.trim().split('\n');
  for (const line of lines) console.log(line);
  const result = lines.at(-1) ?? '';
  const match = result.match(/produced (\d+) consumed (\d+) committed-offsets-sum (\d+)/);
  const maxTimestamp = stdout.match(/list-offsets max-timestamp offset (-?\d+)/);
  ok =
    match !== null &&
    match[1] === match[2] &&
    Number(match[3]) >= Number(match[1]) &&
    stdout.includes('other group offset 3') &&
    maxTimestamp !== null &&
    Number(maxTimestamp[1]) >= 0;
  if (!ok) console.log(stderr.trim().split('\n').slice(-20).join('\n'));
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(ok ? 'ok' : 'FAIL');
process.exit(ok ? 0 : 1);
