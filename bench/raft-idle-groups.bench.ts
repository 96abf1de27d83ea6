/**
 * What idle Raft groups cost (DESIGN decision 6): two nodes sharing 1, 100 or 10,000 idle
 * groups, with quiescence (the default) vs without. Reports, per simulated second (tick = 100 ms,
 * heartbeat every tick, election timeout 10 ticks), the batches the two nodes exchange, the
 * group heartbeats inside them, and the CPU the hosts spend. Prints the 10,000-vs-1 ratio for
 * each mode: with quiescence the network cost must stay flat.
 *
 *   npm run bench -- raft-idle
 */
import { MultiCluster } from '../src/testing/multi-cluster.js';

const TICK_MS = 100;

interface Cost {
  batchesPerSecond: number;
  heartbeatsPerSecond: number;
  cpuMsPerSecond: number;
}

function measure(groups: number, quiesce: boolean, ticks: number): Cost {
  const cluster = new MultiCluster({
    nodes: 2,
    quiesce,
    groupOptions: { electionTicks: 10, heartbeatTicks: 1, maxInflightMessages: 16 },
  });
  for (let g = 1; g <= groups; g++) cluster.addGroup(g);
  for (let g = 1; g <= groups; g++) cluster.host(1 + (g % 2)).campaign(g);
  cluster.flush();
  for (let i = 0; i < 100; i++) {
    cluster.tick();
    cluster.flush();
  }
  cluster.resetCounters();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < ticks; i++) {
    cluster.tick();
    cluster.flush();
  }
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (ticks * TICK_MS) / 1000;
  return {
    batchesPerSecond: cluster.counters.batches / seconds,
    heartbeatsPerSecond: (cluster.counters.heartbeats + cluster.counters.heartbeatResponses) / seconds,
    cpuMsPerSecond: (cpu.user + cpu.system) / 1000 / seconds,
  };
}

const show = (label: string, c: Cost) =>
  console.log(
    `${label.padEnd(34)} ${c.batchesPerSecond.toFixed(1).padStart(8)} batches/s ${Math.round(
      c.heartbeatsPerSecond,
    )
      .toString()
      .padStart(8)} group heartbeats/s ${c.cpuMsPerSecond.toFixed(2).padStart(8)} CPU ms/s`,
  );

for (const quiesce of [true, false]) {
  const results = new Map<number, Cost>();
  for (const groups of [1, 100, 10_000]) {
    const cost = measure(groups, quiesce, quiesce ? 300 : 50);
    results.set(groups, cost);
    show(`${quiesce ? 'quiescent' : 'always awake'}, ${groups} groups:`, cost);
  }
  const one = results.get(1)!;
  const many = results.get(10_000)!;
  console.log(
    `  ${quiesce ? 'quiescent' : 'always awake'} 10,000 vs 1 group: batches ×${(many.batchesPerSecond / one.batchesPerSecond).toFixed(2)}, ` +
      `CPU ×${(many.cpuMsPerSecond / Math.max(one.cpuMsPerSecond, 0.001)).toFixed(1)}`,
  );
}
