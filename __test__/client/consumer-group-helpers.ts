import type { ExecutionContext } from 'ava';
import { Admin } from '../../src/client/admin.js';
import { Client } from '../../src/client/client.js';
import { ConsumerGroup, type ConsumerGroupOptions } from '../../src/client/consumer-group.js';
import type { CoordinatorLink } from '../../src/client/group-coordinator.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';

/** A client closed after the test. */
export function clientFor(t: ExecutionContext, brokers: string): Client {
  const client = new Client({
    brokers,
    clientId: 'group-spec',
    retry: { retries: 8, initialMs: 50, maxMs: 500 },
  });
  t.teardown(() => client.close());
  return client;
}

export async function createTopic(client: Client, name: string, partitions: number): Promise<void> {
  await new Admin(client).createTopic({ name, partitions });
}

/** Produces `count` messages valued `${prefix}-${i}`, spread round-robin over the partitions. */
export async function produceNumbered(
  client: Client,
  topic: string,
  partitions: number,
  prefix: string,
  count: number,
): Promise<string[]> {
  const producer = new Producer(client);
  const values: string[] = [];
  const perPartition = new Map<number, string[]>();
  for (let i = 0; i < count; i++) {
    const value = `${prefix}-${i}`;
    values.push(value);
    const partition = i % partitions;
    const list = perPartition.get(partition) ?? [];
    list.push(value);
    perPartition.set(partition, list);
  }
  await Promise.all(
    [...perPartition].map(([partition, list]) =>
      producer.produceMessage({ topic, partition, messages: list.map((value) => ({ value })) }),
    ),
  );
  return values;
}

/** Fast settings for tests: rebalances are noticed within a heartbeat. */
export const QUICK: Partial<ConsumerGroupOptions> = {
  heartbeatIntervalMs: 100,
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 20_000,
  autoCommitIntervalMs: 100,
  fromBeginning: true,
  maxWaitMs: 100,
};

/**
 * A member that reads in the background and records what it processed. `ownership` (shared by
 * the members of one test) maps partitions to the member owning them; a partition assigned while
 * another member owns it is recorded in `overlaps`.
 */
export class Member {
  readonly group: ConsumerGroup;
  readonly processed: string[] = [];
  private readonly loop: Promise<void>;

  constructor(
    readonly name: string,
    client: Client,
    options: Partial<ConsumerGroupOptions> & { groupId: string },
    topics: string[] | RegExp,
    shared: { ownership: Map<string, string>; overlaps: string[]; seen: Set<string>; onSeen: () => void },
  ) {
    const group = new ConsumerGroup(client, {
      ...QUICK,
      ...options,
      onPartitionsAssigned: (partitions) => {
        for (const { topic, partition } of partitions) {
          const key = `${topic}/${partition}`;
          const owner = shared.ownership.get(key);
          if (owner !== undefined && owner !== name)
            shared.overlaps.push(`${key} to ${name} while ${owner} owns it`);
          shared.ownership.set(key, name);
        }
      },
      onPartitionsRevoked: (partitions) => {
        for (const { topic, partition } of partitions) {
          const key = `${topic}/${partition}`;
          if (shared.ownership.get(key) === name) shared.ownership.delete(key);
        }
      },
    });
    this.group = group;
    group.subscribe(topics);
    this.loop = (async () => {
      for await (const message of group) {
        const value = message.value?.toString() ?? '';
        this.processed.push(value);
        shared.seen.add(value);
        shared.onSeen();
      }
    })();
  }

  async close(): Promise<void> {
    await this.group.close();
    await this.loop;
  }
}

/** Shared bookkeeping of one test's members, and a wait for "every value seen". */
export function sharedState() {
  let wake: () => void = () => undefined;
  const state = {
    ownership: new Map<string, string>(),
    overlaps: [] as string[],
    seen: new Set<string>(),
    onSeen: () => wake(),
    async waitForAll(values: string[]): Promise<void> {
      while (!values.every((value) => state.seen.has(value))) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  return state;
}

/** Resolves once `condition` holds, checking whenever a member reports progress or every 50 ms. */
export async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** The coordinator's DescribeGroups answer for the link's group. */
export async function describeGroup(link: CoordinatorLink): Promise<any> {
  const response = await link.request(ApiKey.DescribeGroups, {
    groups: [link.groupId],
    includeAuthorizedOperations: false,
  });
  return response.groups[0];
}
