/**
 * franz-go (the Go client) on the versions it negotiates with goqueue: the shared round trip
 * (interop/round-trip.ts); prints the versions it wrote (its own debug log).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRoundTrip } from '../round-trip.js';

const here = dirname(fileURLToPath(import.meta.url));
const binary = join(mkdtempSync(join(tmpdir(), 'goqueue-interop-franz-')), 'franzgo');
const build = spawnSync('go', ['build', '-o', binary, '.'], { cwd: join(here, 'go'), stdio: 'inherit' });
if (build.status !== 0) throw new Error('go build failed');
await runRoundTrip({ command: binary, args: [] });
