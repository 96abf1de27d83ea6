/**
 * A group's generation (every member's metadata and assignment) is stored as one
 * `__consumer_offsets` record. One larger than max_message_size cannot be stored. Before, the
 * coordinator then dropped the group and answered NOT_COORDINATOR, so every member found the same
 * coordinator again, rejoined and synced the same generation: a loop with no error reaching the
 * application. Now SyncGroup answers MESSAGE_TOO_LARGE (Kafka refuses such a group too, with
 * UNKNOWN_SERVER_ERROR), which clients report instead of retrying, and the coordinator keeps
 * serving the group and others.
 */
import test from 'ava';
import { ApiKey, ErrorCode } from '../../src/protocol/index.js';
import { RawClient, startBroker } from './helpers.js';

function joinBody(groupId: string, memberId: string, metadata: Buffer) {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata }],
  };
}

/** Joins `groupId` alone (as `memberId`, or as a new member) and syncs `assignment`: the
 * SyncGroup answer's error code and the member id. */
async function joinAndSync(
  client: RawClient,
  groupId: string,
  metadata: Buffer,
  assignment: Buffer,
  knownMemberId?: string,
): Promise<{ errorCode: number; memberId: string }> {
  let memberId = knownMemberId;
  if (memberId === undefined) {
    const required = await client.request(ApiKey.JoinGroup, 5, joinBody(groupId, '', metadata));
    memberId = required.body.memberId as string;
  }
  const joined = await client.request(ApiKey.JoinGroup, 5, joinBody(groupId, memberId, metadata));
  if (joined.body.errorCode !== ErrorCode.NONE) return { errorCode: joined.body.errorCode, memberId };
  const synced = await client.request(ApiKey.SyncGroup, 3, {
    groupId,
    generationId: joined.body.generationId,
    memberId,
    groupInstanceId: null,
    assignments: [{ memberId, assignment }],
  });
  return { errorCode: synced.body.errorCode, memberId };
}

test('a generation larger than max_message_size is refused with MESSAGE_TOO_LARGE, not a coordinator loop', async (t) => {
  const broker = await startBroker(t);
  const client = await RawClient.open(broker.address.port);
  t.teardown(() => client.close());
  const coordinator = await client.findCoordinator('huge');
  // 700 KB of member metadata and 700 KB of assignment: one generation record above 1 MiB.
  const big = Buffer.alloc(700_000, 7);
  const refused = await joinAndSync(client, 'huge', big, big);
  t.is(refused.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  // The same broker still coordinates the group: FindCoordinator names it, and the member's
  // rejoin with a generation that fits is stored.
  t.is((await client.findCoordinator('huge')).nodeId, coordinator.nodeId);
  const small = Buffer.from('small');
  t.is((await joinAndSync(client, 'huge', small, small, refused.memberId)).errorCode, ErrorCode.NONE);
  t.is((await joinAndSync(client, 'other', small, small)).errorCode, ErrorCode.NONE);
});
