import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { CommandError, registerBrokerCommand } from './broker-command.js';
import { registerClientCommands } from './client/index.js';
import { registerDevCommand } from './dev-command.js';
import { normalizeArguments } from './one-dash-flags.js';

/** Exit code of a usage or configuration error (a bad flag, key or value). */
export const EXIT_USAGE = 2;

/** The `goqueue` program: `broker` plus the client commands. Errors throw instead of exiting. */
export function createProgram(): Command {
  const program = new Command('goqueue')
    .description('goqueue: a Kafka-compatible, Raft-replicated message queue for Node.js')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .showSuggestionAfterError();
  registerBrokerCommand(program);
  registerClientCommands(program);
  registerDevCommand(program);
  return program;
}

/**
 * Runs the CLI with `argv` (`process.argv`: node, script, arguments). Sets `process.exitCode`:
 * 0 on success, 2 for usage and configuration errors, 1 for other failures. User errors print
 * one line on stderr, never a stack trace.
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await createProgram().parseAsync(normalizeArguments(argv), { from: 'node' });
  } catch (error) {
    process.exitCode = report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has printed the message (or the help) already.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`goqueue: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof CommandError) {
    process.stderr.write(`goqueue: ${error.message}\n`);
    return error.exitCode;
  }
  const coded = typeof (error as { code?: unknown } | null)?.code !== 'undefined';
  const message = error instanceof Error ? error.message : String(error);
  // An error with a code (a system or Kafka error) is the user's to act on; anything else is a bug.
  process.stderr.write(
    coded || !(error instanceof Error) ? `goqueue: ${message}\n` : `goqueue: ${error.stack}\n`,
  );
  return 1;
}

function packageVersion(): string {
  // src/cli/main.ts and dist/src/cli/main.js sit at different depths: walk up to package.json.
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'goqueue' && manifest.version) return manifest.version;
    } catch {
      // no package.json at this level
    }
    directory = dirname(directory);
  }
  return 'unknown';
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

// `npx tsx src/cli/main.ts …` and `node --import=tsx src/cli/main.ts …` run the CLI;
// bin/goqueue.js imports this module and calls main itself.
if (invokedDirectly()) await main(process.argv);
