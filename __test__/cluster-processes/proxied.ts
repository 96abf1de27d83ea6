/**
 * Real broker processes whose raft links pass through the fault harness's proxies
 * (src/testing/torture/raft-proxy.ts), so that a spec can cut the link between two brokers both
 * ways; every process, proxy and file goes in the spec's teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { BrokerProcesses } from '../../src/testing/torture/processes.js';
import { LinkCuts, type RaftProxy, startRaftProxies } from '../../src/testing/torture/raft-proxy.js';

export async function proxiedBrokers(
  t: ExecutionContext,
  count: number,
  extraArgs: string[] = [],
): Promise<{ processes: BrokerProcesses; cuts: LinkCuts; runDir: string }> {
  const runDir = mkdtempSync(join(tmpdir(), 'goqueue-proxied-'));
  const processes = await BrokerProcesses.create({ count, runDir, extraArgs });
  const cuts = new LinkCuts();
  const proxies: RaftProxy[] = [];
  t.teardown(async () => {
    await processes.killAll();
    await processes.closeLogs();
    for (const proxy of proxies) await proxy.close();
    rmSync(runDir, { recursive: true, force: true });
  });
  await startRaftProxies(processes, cuts, proxies);
  await Promise.all(processes.ids.map((id) => processes.start(id)));
  return { processes, cuts, runDir };
}
