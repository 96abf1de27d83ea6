/**
 * The Java client 4.4 on flexible versions: a round trip (admin create topic and describe
 * cluster, idempotent produce, consumer group with a commit, a second group's standalone commit,
 * both groups' offsets in one admin call, ListOffsets max-timestamp / earliest-local /
 * latest-tiered / latest) against a broker started here, printing the versions the client
 * negotiated (its own log line). Exits 1 unless every record comes back, the committed offsets
 * cover them, the second group's offset reads back and max-timestamp finds a record.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRoundTrip } from '../round-trip.js';

const here = dirname(fileURLToPath(import.meta.url));
const javaDir = join(here, 'java');
const classpathFile = join(tmpdir(), 'goqueue-interop-flexible-classpath.txt');
const build = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
  cwd: javaDir,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (build.status !== 0) throw new Error('mvn dependency:build-classpath failed');
const classpath = readFileSync(classpathFile, 'utf8').trim();

await runRoundTrip({
  command: 'java',
  args: ['-cp', classpath, join(javaDir, 'RoundTrip.java')],
  printVersions(stderr) {
    // NetworkClient logs (DEBUG) "... API versions: (Produce(0): 0 to 13 [usable: 13], ...)".
    const versions = stderr.match(/API versions: \(([^\n]*)\)/);
    if (versions === null) {
      console.log(`no version line in the client log (${stderr.split('\n').slice(0, 3).join(' | ')})`);
      return;
    }
    const usable = [...versions[1]!.matchAll(/(\w+)\((\d+)\): (\d+) to (\d+) \[usable: (\d+)\]/g)];
    console.log('negotiated (API: ours → Java uses):');
    for (const [, name, key, , max, used] of usable) console.log(`  ${name} (${key}): ${max} → ${used}`);
  },
});
