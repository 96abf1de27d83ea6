/**
 * Transactions are not served: each real client's transactional producer must stop at its first
 * request with a fatal error, not wait out a timeout (docs/protocol.md, "Transactions"). Starts a
 * broker, then the Java client (kafka-clients from Maven), librdkafka (confluent-kafka from PyPI),
 * franz-go and sarama (Go modules), each allowed CLIENT_TIMEOUT_MS; prints what each did and
 * exits 1 if one timed out or said something else than recorded.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Long enough that a client retrying a retriable answer would be seen timing out. */
const CLIENT_TIMEOUT_MS = 30_000;

interface Client {
  name: string;
  /** Builds the client once (downloads its dependencies); returns the command to run it. */
  prepare(): string[];
  /** What the client's error must say. */
  expected: RegExp;
}

const clients: Client[] = [
  {
    name: 'Java kafka-clients 4.4.0',
    prepare() {
      const classpathFile = join(tmpdir(), 'goqueue-interop-transactions-classpath.txt');
      run('mvn', ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], join(here, 'java'));
      const classpath = readFileSync(classpathFile, 'utf8').trim();
      return ['java', '-cp', classpath, join(here, 'java', 'Transactions.java')];
    },
    expected: /KafkaException: .*unexpected error: goqueue does not support transactions/,
  },
  {
    name: 'librdkafka (confluent-kafka)',
    prepare() {
      const probe = spawnSync('python3', ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
      if (probe.status !== 0) run('python3', ['-m', 'pip', 'install', '--quiet', 'confluent-kafka'], here);
      return ['python3', join(here, 'librdkafka.py')];
    },
    expected: /CLUSTER_AUTHORIZATION_FAILED \(fatal\): .*goqueue does not support transactions/,
  },
  {
    name: 'franz-go',
    prepare: () => [...goProgram(), 'franz-go'],
    expected: /fatal, unrecoverable error.*CLUSTER_AUTHORIZATION_FAILED/,
  },
  {
    name: 'sarama',
    prepare: () => [...goProgram(), 'sarama'],
    expected: /kafka server: The client is not authorized to send this request type/,
  },
];

let goBinary: string | undefined;
function goProgram(): string[] {
  if (goBinary === undefined) {
    goBinary = join(mkdtempSync(join(tmpdir(), 'goqueue-interop-')), 'transactions');
    run('go', ['build', '-o', goBinary, '.'], join(here, 'go'));
  }
  return [goBinary];
}

function runClient(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: CLIENT_TIMEOUT_MS * 3 }, (_error, stdout, stderr) =>
      resolve({ stdout, stderr }),
    );
  });
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-interop-transactions-'));
const broker = await Broker.start({
  dataDir,
  host: '127.0.0.1',
  port: 0,
  autoCreateTopics: true,
  logger: pino({ level: 'warn' }),
});
const address = `${broker.address.host}:${broker.address.port}`;
let failures = 0;
try {
  for (const client of clients) {
    const [command, ...args] = client.prepare();
    // franz-go and sarama take the client name first, then the address; the others the address.
    // Asynchronous: the broker runs in this process and must answer meanwhile.
    const result = await runClient(command!, [...args, address, String(CLIENT_TIMEOUT_MS)]);
    const line = result.stdout.trim().split('\n').at(-1) ?? '';
    const [outcome, elapsedMs, ...rest] = line.split(' ');
    const message = rest.join(' ');
    const ok = outcome === 'failed' && client.expected.test(message);
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${client.name}: ${outcome ?? 'no output'} after ${elapsedMs} ms: ${message}`);
    if (!ok && result.stderr) console.log(result.stderr.trim().split('\n').slice(-5).join('\n'));
  }
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
