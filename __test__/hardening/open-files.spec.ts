/**
 * The broker runs with its soft open-file limit (RLIMIT_NOFILE) at the hard limit and logs the
 * budget: a broker started under a soft limit of 512 with a hard limit of 4096 runs with 4096
 * (checked in /proc/<pid>/limits) and says so; segment files past its budget stay closed.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { fileBudget } from '../../src/storage/file-limit.js';
import { RawClient, temporaryDirectory, waitForLeadership } from '../broker/helpers.js';
import { startObservedBroker } from './process.js';

function hasPrlimit(): boolean {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

(hasPrlimit() ? test : test.skip)(
  'a broker started with a soft open-file limit below the hard one runs at the hard limit and logs it',
  async (t) => {
    const broker = await startObservedBroker(
      { dataDir: temporaryDirectory(t), host: '127.0.0.1', port: 0, logLevel: 'info' },
      { command: ['prlimit', '--nofile=512:4096', '--'] },
    );
    t.teardown(() => broker.kill());
    const limits = readFileSync(`/proc/${broker.pid}/limits`, 'utf8');
    t.regex(limits, /Max open files\s+4096\s+4096/);
    // Node itself raises the soft limit at start-up on POSIX, so the broker usually finds it
    // raised already; either way the budget is logged.
    const line = broker.lines.find(
      (l) => l.msg === 'raised the open file limit to the hard limit' || l.msg === 'open file limit',
    );
    t.truthy(line);
    t.is(line!.soft, 4096);
    t.is(line!.hard, 4096);
  },
);

test('segment files beyond the budget stay closed: 100 partitions (300 files) under a limit of 320 hold at most the 64 the budget gives them', async (t) => {
  const limit = 320;
  const budget = fileBudget(limit);
  t.is(budget.segmentFiles, 64);
  const broker = await startObservedBroker(
    { dataDir: temporaryDirectory(t), host: '127.0.0.1', port: 0, logLevel: 'info' },
    { command: ['bash', '-c', `ulimit -n ${limit} && exec "$@"`, 'bash'] },
  );
  t.teardown(() => broker.kill());
  t.is(broker.lines.find((l) => l.msg === 'open file limit')?.segmentFiles, budget.segmentFiles);
  const client = await RawClient.open(broker.port);
  t.teardown(() => client.close());
  const openFiles = () => readdirSync(`/proc/${broker.pid}/fd`).length;
  const before = openFiles();
  const created = await client.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'many', numPartitions: 100, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 60_000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  await waitForLeadership(
    client,
    'many',
    Array.from({ length: 100 }, (_, i) => i),
  );
  const added = openFiles() - before;
  // Before the handle cache: one per partition (its .log) at rest, three while syncing, so 100
  // here and an EMFILE somewhere past ~300 partitions under this limit.
  t.true(added <= budget.segmentFiles + 8, `${added} files opened for 100 partitions`);
});
