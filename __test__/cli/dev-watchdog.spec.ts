/**
 * src/cli/dev-watchdog.ts: a process started with it (as `goqueue dev` starts each broker) stops
 * itself with SIGTERM when its parent is killed with SIGKILL, so no broker outlives the command.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { repositoryRoot } from './helpers.js';

const watchdog = pathToFileURL(join(repositoryRoot, 'src/cli/dev-watchdog.ts')).href;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The parent starts a long-running child with the watchdog (in its own process group, as goqueue
// dev does), prints the child's pid, and waits to be killed.
const parentScript = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, [
  '--import=tsx', '--import=' + process.argv[1] + '?parent=' + process.pid, '-e',
  "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);",
], { detached: true, stdio: 'ignore' });
process.stdout.write(child.pid + '\\n');
setInterval(() => {}, 1000);
`;

test('a child started with the watchdog stops when its parent is killed with SIGKILL', async (t) => {
  t.timeout(120_000);
  const parent = spawn(process.execPath, ['-e', parentScript, watchdog], { cwd: repositoryRoot });
  const childPid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before starting its child`)));
  });
  t.teardown(() => {
    if (alive(childPid)) process.kill(childPid, 'SIGKILL');
  });
  t.true(alive(childPid));

  parent.kill('SIGKILL');
  // The child notices on its next check; wait for it however long a loaded machine takes.
  while (alive(childPid)) await new Promise((resolve) => setTimeout(resolve, 100));
  t.false(alive(childPid), 'the orphaned child stopped itself');
});
