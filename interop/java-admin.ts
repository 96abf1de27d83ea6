/**
 * Runs one Java AdminClient program (a single source file, run with `java` on the classpath of
 * interop/flexible/java's Maven dependencies: kafka-clients 4.4) against a goqueue cluster and
 * checks its stdout, one line per step, against the lines expected: what the interop checks
 * that drive the Java admin share.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The classpath of kafka-clients 4.4 and its dependencies (Maven resolves it, once cached). */
export function javaClasspath(name: string): string {
  const classpathFile = join(tmpdir(), `goqueue-interop-${name}-classpath.txt`);
  const build = spawnSync('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
    cwd: join(here, 'flexible', 'java'),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.status !== 0) throw new Error('mvn dependency:build-classpath failed');
  return readFileSync(classpathFile, 'utf8').trim();
}

/**
 * Runs the check against the cluster that `stop` shuts down (stopped whatever happens), prints
 * `ok` or `FAIL` and exits the process with 0 or 1.
 */
export async function checkAndExit(
  options: Parameters<typeof javaStepsPass>[0] & { stop: () => Promise<void> },
): Promise<never> {
  let ok = false;
  try {
    ok = await javaStepsPass(options);
  } finally {
    await options.stop();
  }
  console.log(ok ? 'ok' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

/**
 * Runs `source` with `bootstrap` as its argument; prints its stdout, and on a miss the lines not
 * found and the end of its stderr. True when every `expected` line is there.
 */
export async function javaStepsPass(options: {
  classpath: string;
  source: string;
  bootstrap: string;
  expected: readonly RegExp[];
}): Promise<boolean> {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(
      'java',
      ['-cp', options.classpath, options.source, options.bootstrap],
      { timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
      (_error, out, err) => resolve({ stdout: out, stderr: err }),
    ),
  );
  console.log(stdout.trim());
  const missing = options.expected.filter((line) => !line.test(stdout));
  if (missing.length > 0) {
    console.log(`missing: ${missing.map(String).join(', ')}`);
    console.log(stderr.trim().split('\n').slice(-30).join('\n'));
  }
  return missing.length === 0;
}
