import { type Command, Option } from 'commander';
import type { Logger } from 'pino';
import { ClusterIdentityError } from '../broker/cluster-identity.js';
import {
  advertisedAddressFor,
  type BrokerFlags,
  CONFIG_KEYS,
  ConfigError,
  loadConfig,
} from '../config/load.js';
import type { BrokerConfig } from '../config/types.js';
import { createLogger } from '../log/logger.js';

/** What the broker command needs of a started broker (see `Broker` in src/broker/broker.ts). */
interface RunningBroker {
  readonly address: { host: string; port: number };
  readonly brokerId: number;
  stop(): Promise<void>;
  /** Resolves once the broker failed and stopped by itself. */
  failed(): Promise<unknown>;
}

/** A user-facing failure: main prints the message as one line and exits with `exitCode`. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const placeholders: Record<string, string> = {
  '--broker-id': '<id>',
  '--data-dir': '<dir>',
  '--client-addr': '<host:port>',
  '--advertised-addr': '<host:port>',
  '--raft-addr': '<host:port>',
  '--initial-cluster': '<id=host:port,...>',
  '--initial-cluster-token': '<token>',
  '--join': '<host:port>',
  '--rack': '<rack>',
  '--broker-session-timeout': '<duration>',
  '--log-level': '<level>',
  '--log-file': '<file>',
};

const defaultsShown: Record<string, string> = {
  '--broker-id': '1',
  '--data-dir': './goqueue-data',
  '--client-addr': '127.0.0.1:9092',
  '--advertised-addr': 'the client address',
  '--raft-addr': '127.0.0.1:9093',
  '--initial-cluster': 'a cluster of this broker alone',
  '--initial-cluster-token': 'goqueue-cluster',
  '--join': 'none',
  '--rack': 'none',
  '--broker-session-timeout': '9s',
  '--log-level': 'info',
  '--log-file': 'stdout',
};

/** What `goqueue broker` does with its parsed options (tests replace it to inspect them). */
export type BrokerAction = (options: BrokerOptions, env: Record<string, string | undefined>) => Promise<void>;

/** `goqueue broker`'s options as commander hands them over: the flags plus `--config`. */
export type BrokerOptions = BrokerFlags & { config?: string };

/** Adds `goqueue broker`: its options come from the configuration key table. */
export function registerBrokerCommand(program: Command, action: BrokerAction = runBroker): Command {
  const command = program
    .command('broker')
    .description(
      'Run a broker. Settings come from defaults < --config file < GOQUEUE_* environment < flags ' +
        '(see docs/configuration.md).',
    )
    .option('--config <file>', 'JSON config file with the go-queue keys (env GOQUEUE_CONFIG)');
  for (const spec of CONFIG_KEYS) {
    if (spec.flag === null) continue;
    const env = `env ${spec.env}`;
    if (spec.type === 'boolean') {
      command.addOption(new Option(spec.flag, `${spec.description} (${env}; default off)`));
      command.addOption(new Option(spec.flag.replace(/^--/, '--no-'), `Do not: ${spec.flag}`).hideHelp());
      continue;
    }
    const shown = defaultsShown[spec.flag];
    const help = `${spec.description} (${env}${shown ? `; default ${shown}` : ''})`;
    command.addOption(new Option(`${spec.flag} ${placeholders[spec.flag] ?? '<value>'}`, help));
  }
  command.action(async (options: BrokerOptions) => {
    await action(options, process.env);
  });
  return command;
}

/**
 * The configuration `goqueue broker` runs with: `--config` (or `GOQUEUE_CONFIG`), then the
 * environment, then the flags. Throws ConfigError; things worth a warning go to `onWarning`.
 */
export function loadBrokerConfig(
  options: BrokerOptions,
  env: Record<string, string | undefined>,
  onWarning: (message: string) => void = () => {},
): BrokerConfig {
  const { config: file, ...flags } = options;
  const configFile = file ?? (env.GOQUEUE_CONFIG || undefined);
  return loadConfig({ ...(configFile !== undefined ? { file: configFile } : {}), env, flags, onWarning });
}

/**
 * Loads the configuration, starts the broker (which refuses a data directory of another cluster
 * or broker id: src/broker/cluster-identity.ts) and keeps it running until SIGINT or SIGTERM; the first signal stops it
 * cleanly (flush, close files and sockets) and exits 0, a second one exits at once.
 */
export async function runBroker(
  options: BrokerOptions,
  env: Record<string, string | undefined>,
): Promise<void> {
  const warnings: string[] = [];
  const config = loadBrokerConfig(options, env, (message) => warnings.push(message));
  await requireNativeModule();
  const logger = createLogger({ level: config.logLevel, file: config.logFile });
  for (const warning of warnings) logger.warn(warning);
  logger.debug({ config }, 'configuration');

  const broker = await startBroker(config, logger);
  const { host, port } = broker.address;
  const listening = `broker ${broker.brokerId} listening on ${formatAddress(host, port)}`;
  logger.info({ brokerId: broker.brokerId, host, port, dataDir: config.dataDir }, listening);
  // With a log file the terminal would show nothing at all: say that it runs and where it logs
  // (errors are echoed there too, see createLogger).
  if (config.logFile !== null) process.stdout.write(`goqueue: ${listening}; logging to ${config.logFile}\n`);
  stopOnSignals(broker, logger);
  exitOnCrash(logger);
  void broker.failed().then((error) => {
    process.stderr.write(
      `goqueue: the broker stopped after a fatal error: ${(error as Error)?.message ?? error}\n`,
    );
    process.exit(1);
  });
}

/**
 * A broker stores on the native core: without it (its platform package not installed), stop
 * with one line naming the platform and the package, before any log output.
 */
export async function requireNativeModule(): Promise<void> {
  const { requireNativeStorage, NativeModuleMissingError } = await import('../broker/native-storage.js');
  try {
    requireNativeStorage();
  } catch (error) {
    if (error instanceof NativeModuleMissingError)
      throw new CommandError(`cannot start the broker: ${error.message}`, 1);
    throw error;
  }
}

/** A bug that escapes every handler ends the process (state may be broken), but logged first. */
function exitOnCrash(logger: Logger): void {
  const crash = (error: unknown): void => {
    logger.fatal({ err: error, onTerminal: false }, 'uncaught error; exiting');
    process.stderr.write(`goqueue: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

async function startBroker(config: BrokerConfig, logger: Logger): Promise<RunningBroker> {
  // Loaded on demand so that `goqueue --help` and the client commands stay quick.
  const { Broker } = await import('../broker/broker.js');
  // An advertised address equal to the derived default is left out, so that the broker
  // advertises the port it actually bound (port 0 picks a free one).
  const { advertisedHost, advertisedPort, ...rest } = config;
  const derived = advertisedAddressFor(config.clientHost, config.clientPort);
  const advertisedGiven = advertisedHost !== derived.host || advertisedPort !== derived.port;
  try {
    return await Broker.start({
      ...rest,
      ...(advertisedGiven ? { advertisedHost, advertisedPort } : {}),
      logger,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = describeStartFailure(error, config);
    // The terminal gets main's one line and nothing else (no stack trace); a log file keeps
    // the whole error.
    if (config.logFile !== null)
      logger.error({ err: error, onTerminal: false }, `cannot start the broker: ${reason}`);
    throw new CommandError(`cannot start the broker: ${reason}`, 1);
  }
}

function describeStartFailure(error: unknown, config: BrokerConfig): string {
  // A data directory of another cluster or broker: the message names both sides and what to do.
  if (error instanceof ClusterIdentityError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'EADDRINUSE')
    return `an address is already in use (${message}); choose another --client-addr or --raft-addr`;
  if (code === 'EADDRNOTAVAIL') return `an address is not on this machine (${message})`;
  if (code === 'EACCES' || code === 'EPERM')
    return `permission denied (${message}); check data_dir ${config.dataDir} and the ports`;
  return message;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function stopOnSignals(broker: RunningBroker, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without a clean stop');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info({ signal }, 'stopping the broker');
    broker.stop().then(
      () => {
        logger.info('stopped cleanly, exiting');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'the broker did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
