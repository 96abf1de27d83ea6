/**
 * The broker runs with its soft open-file limit (RLIMIT_NOFILE) at the hard limit and logs the
 * budget: a broker started under a soft limit of 512 with a hard limit of 4096 runs with 4096
 * (checked in /proc/<pid>/limits) and says so.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { temporaryDirectory } from '../broker/helpers.js';
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
