/**
 * Setup shared by the restart specs: three brokers started together, and the member to kill -9
 * and restart chosen so that it is neither the controller leader nor broker 1 (through which
 * the specs create topics).
 */
import type { ExecutionContext } from 'ava';
import { ProcessCluster } from './harness.js';
import { agreedController, createTopicThrough, ErrorCode } from './requests.js';

export async function threeBrokersOneToRestart(
  t: ExecutionContext,
): Promise<{ cluster: ProcessCluster; restarted: number }> {
  const cluster = await ProcessCluster.create(t, 3);
  await cluster.startAll();
  const controllerId = await agreedController(cluster, 3);
  return { cluster, restarted: [1, 2, 3].find((id) => id !== controllerId && id !== 1) ?? 3 };
}

/** Creates topic `name` (one partition) through broker 1, asserting it was created. */
export async function createThroughFirst(
  t: ExecutionContext,
  cluster: ProcessCluster,
  name: string,
  replicationFactor: number,
): Promise<void> {
  const created = await createTopicThrough(cluster.member(1).clientPort, {
    name,
    partitions: 1,
    replicationFactor,
  });
  t.is(created.errorCode, ErrorCode.NONE, `${name}: ${created.errorMessage}`);
}
