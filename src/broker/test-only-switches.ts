/**
 * Switches for the fault harness (src/testing/torture, docs/reliability.md) and nothing else.
 * They are read once, when the broker process loads this module, from environment variables
 * whose names start with `TEST_ONLY_GOQUEUE_` (not `GOQUEUE_`: they are not configuration, and
 * a user setting `GOQUEUE_*` can never reach them by accident). Unset, they change nothing.
 *
 * - `TEST_ONLY_GOQUEUE_ACK_BEFORE_COMMIT=1` plants a durability bug on purpose: a partition
 *   leader acknowledges a produce as soon as it has proposed the batch, before the Raft commit
 *   (before a quorum's disks hold it). The harness must catch the writes this loses when a
 *   leader dies, so that a clean run means something. Never set it anywhere else.
 * - `TEST_ONLY_GOQUEUE_RAFT_LISTEN=host:port` makes the raft listener bind there instead of the
 *   broker's raft address. The harness lists a fault-injecting proxy's address in
 *   `--initial-cluster` (so peers dial the proxy, and the cluster id and registered addresses
 *   are the proxy's) and the proxy forwards to this listener.
 */

export interface TestOnlySwitches {
  acknowledgeBeforeCommit: boolean;
  raftListen: { host: string; port: number } | null;
}

function readSwitches(env: NodeJS.ProcessEnv): TestOnlySwitches {
  const listen = env.TEST_ONLY_GOQUEUE_RAFT_LISTEN;
  let raftListen: TestOnlySwitches['raftListen'] = null;
  if (listen !== undefined && listen !== '') {
    const colon = listen.lastIndexOf(':');
    const port = Number(listen.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
      throw new RangeError(`TEST_ONLY_GOQUEUE_RAFT_LISTEN=${listen} is not host:port`);
    raftListen = { host: listen.slice(0, colon), port };
  }
  return { acknowledgeBeforeCommit: env.TEST_ONLY_GOQUEUE_ACK_BEFORE_COMMIT === '1', raftListen };
}

export const testOnlySwitches: TestOnlySwitches = readSwitches(process.env);
