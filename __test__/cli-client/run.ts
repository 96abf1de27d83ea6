import { PassThrough, Readable } from 'node:stream';
import { Command } from 'commander';
import { registerClientCommands } from '../../src/cli/client/index.js';

/** Runs `goqueue <args>` in-process with captured stdout/stderr and the given stdin. */
export async function run(
  args: string[],
  stdin = '',
  tty = false,
): Promise<{ stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  const program = new Command('goqueue').exitOverride();
  registerClientCommands(program, { stdin: Readable.from([stdin]), stdout, stderr });
  await program.parseAsync(args, { from: 'user' });
  return { stdout: out, stderr: err };
}
