/**
 * Content-hash de-duplication survives a leader change: every replica derives the window from
 * the entries it applies, so the new leader answers a resent batch with the original offset.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  clusterWithTopic,
  ErrorCode,
  produceTo,
  readPartition,
  servingLeader,
  withClient,
} from './requests.js';

test.serial(
  'with deduplication_enabled, a batch resent after kill -9 of the leader is answered by the new leader with the original offset and stored once',
  async (t) => {
    t.timeout(120_000);
    const configDir = mkdtempSync(join(tmpdir(), 'goqueue-dedup-'));
    t.teardown(() => rmSync(configDir, { recursive: true, force: true }));
    const configFile = join(configDir, 'broker.json');
    writeFileSync(configFile, JSON.stringify({ deduplication_enabled: true }));
    const cluster = await clusterWithTopic(
      t,
      { name: 'readings', partitions: 1 },
      { extraArgs: ['--config', configFile] },
    );
    const { leaderId } = await servingLeader(cluster, 'readings', 0);
    const original = await withClient(cluster.member(leaderId).clientPort, (client) =>
      produceTo(client, 'readings', 0, ['sensor-7=21.5']),
    );
    t.is(original.errorCode, ErrorCode.NONE);
    await cluster.kill(leaderId);
    const next = await servingLeader(cluster, 'readings', 0);
    t.not(next.leaderId, leaderId);
    const resent = await withClient(cluster.member(next.leaderId).clientPort, (client) =>
      produceTo(client, 'readings', 0, ['sensor-7=21.5']),
    );
    t.like(resent, { errorCode: ErrorCode.NONE, baseOffset: original.baseOffset });
    const fresh = await withClient(cluster.member(next.leaderId).clientPort, (client) =>
      produceTo(client, 'readings', 0, ['sensor-7=21.6']),
    );
    t.is(fresh.errorCode, ErrorCode.NONE);
    t.deepEqual(await readPartition(cluster, 'readings', 0), ['sensor-7=21.5', 'sensor-7=21.6']);
  },
);
