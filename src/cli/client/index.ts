import type { Command } from 'commander';
import { registerBenchCommands } from './bench.js';
import { registerClusterCommand } from './cluster.js';
import { registerConsumeCommand } from './consume.js';
import { registerGroupCommands } from './group.js';
import { type CommandIo, processIo } from './io.js';
import { registerProduceCommand } from './produce.js';
import { registerTopicCommands } from './topic.js';

/**
 * Registers the client commands (`topic`, `produce`, `consume`, `cluster`, `group`, `bench`) on the
 * `goqueue` program; `src/cli/main.ts` calls it. `io` replaces the process streams in tests.
 */
export function registerClientCommands(program: Command, io: CommandIo = processIo()): void {
  registerTopicCommands(program, io);
  registerProduceCommand(program, io);
  registerConsumeCommand(program, io);
  registerClusterCommand(program, io);
  registerGroupCommands(program, io);
  registerBenchCommands(program, io);
}

export type { CommandIo } from './io.js';
