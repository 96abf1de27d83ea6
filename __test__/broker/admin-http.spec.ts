/**
 * The admin HTTP listener (`server.http_port`) of an embedded broker: `GET /v1/broker` carries the
 * counters docs/operations.md names for the limits — the disk-space guard, the connection budget,
 * the cache of open segment files, the scrubber — and they describe what the broker is doing.
 */
import test from 'ava';
import type { ConnectionBudgetStats } from '../../src/broker/connection-budget.js';
import type { ScrubberStats } from '../../src/broker/scrubber.js';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import type { DiskSpaceStats } from '../../src/storage/disk-space.js';
import type { SegmentFileCacheStats } from '../../src/storage/native-log.js';
import { nativeStorageAvailable, RawClient, startBroker } from './helpers.js';

interface BrokerView {
  brokerId: number;
  diskSpace: DiskSpaceStats;
  connections: ConnectionBudgetStats;
  segmentFiles: SegmentFileCacheStats;
  scrubber: ScrubberStats;
}

async function brokerView(port: number): Promise<BrokerView> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/broker`);
  if (response.status !== 200) throw new Error(`GET /v1/broker answered ${response.status}`);
  return (await response.json()) as BrokerView;
}

test('GET /v1/broker reports the disk space, connection, open-file and scrubber counters', async (t) => {
  const broker = await startBroker(t, { httpPort: 0 });
  const port = broker.adminHttpPort;
  if (port === null) throw new Error('the admin listener is on');
  const before = await brokerView(port);
  t.is(before.brokerId, broker.brokerId);
  t.is(before.connections.openConnections, 0);
  t.is(before.diskSpace.full, false);
  t.true(before.diskSpace.freeBytes > 0, 'free space of the data disk');
  t.is(before.diskSpace.refusedProduces, 0);
  t.is(typeof before.scrubber.verifiedBytes, 'number');

  const clients = [await RawClient.open(broker.address.port), await RawClient.open(broker.address.port)];
  t.teardown(() => {
    for (const client of clients) client.close();
  });
  const [client] = clients;
  const created = await client!.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: 'seen', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  t.is(created.body.topics[0].errorCode, ErrorCode.NONE);
  const after = await brokerView(port);
  t.is(after.connections.openConnections, 2, 'the two open client connections');
  if (nativeStorageAvailable) {
    t.true(after.segmentFiles.open > before.segmentFiles.open, 'the new partitions opened segment files');
    t.true(after.segmentFiles.capacity >= after.segmentFiles.open);
  }
});

test('GET /v1/broker is absent when server.http_port is off', async (t) => {
  const broker = await startBroker(t);
  t.is(broker.adminHttpPort, null);
});
