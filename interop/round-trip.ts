/**
 * The round trip the interop/flexible* checks share: a broker started in this process, one client
 * program run against it (its last argument is the broker's address), and the program's output
 * checked. Each program prints
 *   list-offsets max-timestamp offset <n> timestamp <ms>
 *   result ... produced <n> consumed <n> committed-offsets-sum <n> other-group-sum <n>
 * after producing records, reading them in a consumer group that commits, committing offset 3 of
 * partition 0 for a second group and listing the max-timestamp offset. Exits the process: 0 when
 * every record came back, the commits read back and max-timestamp found a record, else 1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Broker } from '../src/broker/broker.js';

export async function runRoundTrip(options: {
  command: string;
  args: string[];
  /** Prints what the client negotiated, from its own log (stderr); stdout is printed anyway. */
  printVersions?: (stderr: string) => void;
}): Promise<never> {
  const dataDir = mkdtempSync(join(tmpdir(), 'goqueue-interop-round-trip-'));
  const broker = await Broker.start({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }) });
  let ok = false;
  try {
    // Asynchronous: the broker runs in this process and must answer meanwhile.
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
      execFile(
        options.command,
        [...options.args, `${broker.address.host}:${broker.address.port}`],
        { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
        (_error, out, err) => resolve({ stdout: out, stderr: err }),
      ),
    );
    options.printVersions?.(stderr);
    console.log(stdout.trim());
    const result = stdout.match(/produced (\d+) consumed (\d+) committed-offsets-sum (\d+) other-group-sum (\d+)/);
    const maxTimestamp = stdout.match(/list-offsets max-timestamp offset (-?\d+)/);
    ok =
      result !== null &&
      result[1] === result[2] &&
      Number(result[3]) >= Number(result[1]) &&
      result[4] === '3' &&
      maxTimestamp !== null &&
      Number(maxTimestamp[1]) >= 0;
    if (!ok) console.log(stderr.trim().split('\n').slice(-20).join('\n'));
  } finally {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(ok ? 'ok' : 'FAIL');
  process.exit(ok ? 0 : 1);
}
