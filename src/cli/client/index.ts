import type { Command } from 'commander';

/**
 * Registers the client commands (`topic`, `produce`, `consume`, `cluster`, `bench`) on the
 * `goqueue` program. Filled in by the SDK work; `src/cli/main.ts` calls it.
 */
export function registerClientCommands(_program: Command): void {}
