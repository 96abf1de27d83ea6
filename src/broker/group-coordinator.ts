import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/index.js';
import type { CommittedOffset, GroupLogRecord, GroupLogState, PersistedGroup } from './group-log.js';

/** Where a group's state lives, as seen from this broker right now (see GroupHomes). */
export type GroupHome =
  | {
      kind: 'owner';
      /** The `__consumer_offsets` partition of the group. */
      partition: number;
      /** That partition's leader epoch: a group loaded in another epoch is stale. */
      epoch: number;
      /** The partition's applied state (every committed record, on every replica). */
      state: GroupLogState;
      /** Proposes a record and resolves once it is committed and applied here. */
      persist(record: GroupLogRecord): Promise<void>;
    }
  | { kind: 'error'; errorCode: number };

export interface GroupHomes {
  lookup(groupId: string): GroupHome;
  /** Partitions this broker leads and has loaded (ListGroups, expiry). */
  owned(): Array<Extract<GroupHome, { kind: 'owner' }>>;
}

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface JoinRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: Array<{ name: string; metadata: Buffer }>;
  assignment: Buffer;
  awaitingJoin: ((result: JoinResult) => void) | null;
  awaitingSync: ((result: { errorCode: number; assignment: Buffer }) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

interface Group {
  groupId: string;
  /** The `__consumer_offsets` partition and its leader epoch this group was loaded in. */
  partition: number;
  epoch: number;
  state: GroupStateName;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: Map<string, Member>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined, with when each lapses (the
   * session timeout after it was handed out, as in Kafka). */
  pendingMemberIds: Map<string, number>;
  rebalanceTimer: NodeJS.Timeout | null;
  /** The generation whose assignments are being made durable (SyncGroup waits for it). */
  persistingGeneration: number;
}

type Acquired = { group: Group; home: Extract<GroupHome, { kind: 'owner' }> } | { errorCode: number };

const MIN_SESSION_TIMEOUT_MS = 1_000;
const MAX_SESSION_TIMEOUT_MS = 30 * 60_000;
const EMPTY = Buffer.alloc(0);
/** How often groups of partitions this broker no longer leads are dropped, and expiry runs. */
const SWEEP_INTERVAL_MS = 1_000;

export interface GroupCoordinatorOptions {
  homes: GroupHomes;
  logger: Logger;
  /** A group without members and without commits for this long is deleted
   * (`offsets_retention_minutes`). */
  offsetsRetentionMs: number;
  /** Wall clock for commit and generation timestamps (records carry them, so replicas agree). */
  nowMs?: () => number;
}

/**
 * Consumer-group coordinator (Kafka's classic group protocol): JoinGroup collects the members of a
 * generation, the leader's SyncGroup hands every member its assignment, Heartbeat keeps sessions
 * alive, a missed session or LeaveGroup starts a new generation.
 *
 * A broker coordinates the groups whose `__consumer_offsets` partition it leads (GroupHomes);
 * elsewhere requests get NOT_COORDINATOR, and COORDINATOR_LOAD_IN_PROGRESS while a new leader has
 * not yet committed an entry of its own term (until then it may not have applied everything its
 * predecessor committed). Membership is in memory; every formed generation (members, protocol,
 * assignments) and every offset commit is a record of that partition, answered only once Raft
 * committed it. A new coordinator loads the last generation from the applied records, so members
 * keep heartbeating with the ids and generation they hold, and commits keep working.
 *
 * A rebalance completes as soon as every known member has rejoined (no initial delay), or when the
 * longest rebalance timeout passes, dropping members that did not rejoin.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly nowMs: () => number;
  private readonly logger: Logger;
  private expiring = false;
  /** The leader epoch each owned `__consumer_offsets` partition's stored groups were loaded in. */
  private readonly loadedEpochs = new Map<number, number>();

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.logger = options.logger;
    this.nowMs = options.nowMs ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  join(
    request: JoinRequest,
    client: { clientId: string; clientHost: string; requireKnownMemberId: boolean },
  ): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = request.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
    if (request.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    // Checked before the group is looked up, so a refused join leaves no group behind.
    if (
      request.sessionTimeoutMs < MIN_SESSION_TIMEOUT_MS ||
      request.sessionTimeoutMs > MAX_SESSION_TIMEOUT_MS
    ) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (request.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const acquired = this.acquire(request.groupId, true);
    if ('errorCode' in acquired) return fail(acquired.errorCode);
    const { group } = acquired;
    // KIP-345: a replaced static instance is fenced first (UNKNOWN_MEMBER_ID would make it
    // rejoin as new and take the slot back).
    if (request.memberId !== '' && fencedInstance(group, request.memberId, request.groupInstanceId))
      return fail(ErrorCode.FENCED_INSTANCE_ID);
    if (group.members.size > 0 && group.protocolType !== request.protocolType) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (group.members.size > 0 && !this.supportsCommonProtocol(group, request.protocols)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let memberId = request.memberId;
    if (memberId === '') {
      // Static membership (KIP-345): a known instance id takes its member's place.
      const staticMember =
        request.groupInstanceId === null
          ? undefined
          : [...group.members.values()].find((m) => m.groupInstanceId === request.groupInstanceId);
      if (staticMember !== undefined) {
        memberId = `${client.clientId}-${randomUUID()}`;
        const unchanged =
          group.state === 'Stable' &&
          staticMember.memberId !== group.leaderId &&
          sameProtocols(staticMember.protocols, request.protocols);
        this.replaceStaticMember(group, staticMember, memberId);
        // KIP-345: a static member coming back with the same subscription takes its place and
        // its assignment without a rebalance (the leader's return still rebalances: only the
        // leader can see subscription changes).
        if (unchanged) return this.rejoinStatic(acquired.home, group, memberId);
      } else {
        memberId = `${client.clientId}-${randomUUID()}`;
        if (client.requireKnownMemberId && request.groupInstanceId === null) {
          // KIP-394: the client rejoins with this id, so a lost response cannot leak a member.
          group.pendingMemberIds.set(memberId, performance.now() + request.sessionTimeoutMs);
          return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
        }
      }
    } else if (!group.members.has(memberId) && !group.pendingMemberIds.delete(memberId)) {
      return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    } else if (request.groupInstanceId !== null) {
      const known = group.members.get(memberId);
      if (known !== undefined && known.groupInstanceId !== request.groupInstanceId)
        return fail(ErrorCode.FENCED_INSTANCE_ID);
    }
    let member = group.members.get(memberId);
    if (member === undefined) {
      member = {
        memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: client.clientId,
        clientHost: client.clientHost,
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs:
          request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
        protocols: request.protocols,
        assignment: EMPTY,
        awaitingJoin: null,
        awaitingSync: null,
        sessionTimer: null,
      };
      group.members.set(memberId, member);
    } else {
      member.protocols = request.protocols;
      member.sessionTimeoutMs = request.sessionTimeoutMs;
    }
    group.protocolType = request.protocolType;
    const joining = member;
    const result = new Promise<JoinResult>((resolve) => {
      joining.awaitingJoin?.({ ...this.failedJoin(memberId), errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
      joining.awaitingJoin = resolve;
    });
    // While it waits for the generation the member's session does not expire.
    this.clearSession(member);
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group, `member ${memberId} joined`);
    this.maybeCompleteJoin(group);
    return result;
  }

  sync(request: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId?: string | null;
    assignments: Array<{ memberId: string; assignment: Buffer }>;
  }): Promise<{ errorCode: number; assignment: Buffer }> {
    const acquired = this.acquire(request.groupId);
    if ('errorCode' in acquired) return Promise.resolve({ errorCode: acquired.errorCode, assignment: EMPTY });
    const { group, home } = acquired;
    const fenced = fencedInstance(group, request.memberId, request.groupInstanceId);
    if (fenced) return Promise.resolve({ errorCode: ErrorCode.FENCED_INSTANCE_ID, assignment: EMPTY });
    const member = group.members.get(request.memberId);
    if (member === undefined) {
      return Promise.resolve({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    }
    if (request.generationId !== group.generationId) {
      return Promise.resolve({ errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY });
    }
    this.touchSession(group, member);
    if (group.state === 'PreparingRebalance') {
      return Promise.resolve({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    }
    if (group.state === 'Stable')
      return Promise.resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
    const result = new Promise<{ errorCode: number; assignment: Buffer }>((resolve) => {
      member.awaitingSync = resolve;
    });
    if (request.memberId === group.leaderId && group.persistingGeneration !== group.generationId) {
      const byMember = new Map(request.assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) each.assignment = byMember.get(each.memberId) ?? EMPTY;
      // The generation is answered only once it is durable, so a new coordinator knows it.
      const generation = group.generationId;
      group.persistingGeneration = generation;
      home
        .persist({ kind: 'group', groupId: group.groupId, group: this.persisted(group) })
        .then(
          () => {
            if (!this.isCurrent(group) || group.generationId !== generation) return;
            if (group.state !== 'CompletingRebalance') return;
            group.state = 'Stable';
            for (const each of group.members.values()) {
              const waiting = each.awaitingSync;
              each.awaitingSync = null;
              waiting?.({ errorCode: ErrorCode.NONE, assignment: each.assignment });
            }
            this.logger.info({ group: group.groupId, generation }, 'consumer group stable');
          },
          (error: unknown) => {
            if (errorCodeOf(error) === ErrorCode.MESSAGE_TOO_LARGE) {
              // Storing it again cannot succeed: the members hear why (clients report it rather
              // than retry), and the group waits for a generation that fits.
              this.logger.warn(
                { err: error, group: group.groupId, generation },
                'a consumer group generation is too large to store; its members are told MESSAGE_TOO_LARGE',
              );
              if (!this.isCurrent(group) || group.generationId !== generation) return;
              for (const each of group.members.values()) {
                const waiting = each.awaitingSync;
                each.awaitingSync = null;
                waiting?.({ errorCode: ErrorCode.MESSAGE_TOO_LARGE, assignment: EMPTY });
              }
              if (group.state === 'CompletingRebalance')
                this.prepareRebalance(group, 'its generation was too large to store');
              return;
            }
            this.logger.warn(
              { err: error, group: group.groupId, generation },
              'storing a consumer group generation failed; members must find the coordinator again',
            );
            if (this.isCurrent(group)) this.discard(group, ErrorCode.NOT_COORDINATOR);
          },
        )
        .finally(() => {
          if (group.persistingGeneration === generation) group.persistingGeneration = -1;
        });
    }
    return result;
  }

  heartbeat(request: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId?: string | null;
  }): number {
    const acquired = this.acquire(request.groupId);
    if ('errorCode' in acquired) return acquired.errorCode;
    const { group } = acquired;
    if (fencedInstance(group, request.memberId, request.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(request.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touchSession(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Removes members; returns an error code per member id. */
  leave(
    groupId: string,
    leaving: Array<{ memberId: string; groupInstanceId: string | null }>,
  ): { errorCode: number; members: Array<{ memberId: string; errorCode: number }> } {
    const acquired = this.acquire(groupId);
    if ('errorCode' in acquired) return { errorCode: acquired.errorCode, members: [] };
    const { group } = acquired;
    const members = leaving.map(({ memberId, groupInstanceId }) => {
      if (fencedInstance(group, memberId, groupInstanceId))
        return { memberId, errorCode: ErrorCode.FENCED_INSTANCE_ID };
      // KIP-345: a static member may leave by its instance id alone (empty member id).
      const member =
        group.members.get(memberId) ??
        (memberId === '' && groupInstanceId !== null
          ? [...group.members.values()].find((m) => m.groupInstanceId === groupInstanceId)
          : undefined);
      if (member === undefined) return { memberId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.removeMember(group, member, 'left the group');
      return { memberId: member.memberId, errorCode: ErrorCode.NONE };
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  /**
   * OffsetCommit: checks the member and generation, then commits the offsets through Raft; the
   * promise resolves with the error code for the whole request once they are committed (an
   * offset is visible to OffsetFetch only from then on).
   */
  async commitOffsets(request: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId?: string | null;
    offsets: Array<{
      topic: string;
      partition: number;
      offset: number;
      leaderEpoch: number;
      metadata: string | null;
    }>;
    /** OffsetCommit v9+: a commit with a generation to a group this coordinator does not know
     * is GROUP_ID_NOT_FOUND (older versions get the unknown member's answer). */
    unknownGroupIsNotFound?: boolean;
  }): Promise<number> {
    if (request.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const acquired = this.acquire(request.groupId);
    if ('errorCode' in acquired) return acquired.errorCode;
    // acquire keeps a group it neither holds nor has stored out of `groups`: it does not exist.
    const exists = this.groups.get(request.groupId) === acquired.group;
    if (request.unknownGroupIsNotFound === true && request.generationId >= 0 && !exists)
      return ErrorCode.GROUP_ID_NOT_FOUND;
    if (fencedInstance(acquired.group, request.memberId, request.groupInstanceId))
      return ErrorCode.FENCED_INSTANCE_ID;
    const membership = this.checkCommit(acquired.group, request.generationId, request.memberId);
    if (membership !== ErrorCode.NONE) return membership;
    if (request.offsets.length === 0) return ErrorCode.NONE;
    try {
      // A commit of many partitions is stored as several records, each well inside the batch
      // limit of the groups topic (one entry per record).
      const commitTimestampMs = this.nowMs();
      for (const offsets of chunksBySize(request.offsets, COMMIT_RECORD_TARGET_BYTES))
        await acquired.home.persist({
          kind: 'offsets',
          groupId: request.groupId,
          commitTimestampMs,
          offsets,
        });
      return ErrorCode.NONE;
    } catch (error) {
      this.logger.debug({ err: error, group: request.groupId }, 'offset commit failed');
      const errorCode = errorCodeOf(error);
      // Kafka's answer to a commit too large to store.
      return errorCode === ErrorCode.MESSAGE_TOO_LARGE ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : errorCode;
    }
  }

  /** OffsetFetch: the committed offsets of a group (all of them when `topics` is null). */
  fetchOffsets(
    groupId: string,
    topics: Array<{ name: string; partitionIndexes: number[] }> | null,
  ):
    | { errorCode: number }
    | {
        errorCode: 0;
        topics: Array<{ name: string; partitions: Array<[number, CommittedOffset | undefined]> }>;
      } {
    const home = this.options.homes.lookup(groupId);
    if (home.kind === 'error') return { errorCode: home.errorCode };
    const wanted =
      topics ??
      home.state.offsets(groupId).map(({ topic, partitions }) => ({
        name: topic,
        partitionIndexes: partitions.map(([partition]) => partition),
      }));
    return {
      errorCode: ErrorCode.NONE,
      topics: wanted.map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map(
          (partition) =>
            [partition, home.state.offset(groupId, topic.name, partition)] as [
              number,
              CommittedOffset | undefined,
            ],
        ),
      })),
    };
  }

  /** DeleteGroups: only a group without members; its offsets go with it. */
  async deleteGroup(groupId: string): Promise<number> {
    const acquired = this.acquire(groupId);
    if ('errorCode' in acquired) return acquired.errorCode;
    const { group, home } = acquired;
    if (group.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    if (!home.state.has(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    try {
      await home.persist({ kind: 'delete-group', groupId, timestampMs: this.nowMs() });
    } catch (error) {
      return errorCodeOf(error);
    }
    if (this.groups.get(groupId) === group && group.members.size === 0) this.discard(group, ErrorCode.NONE);
    return ErrorCode.NONE;
  }

  /** OffsetDelete: removes committed offsets of partitions the group does not consume now. */
  async deleteOffsets(
    groupId: string,
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<{ errorCode: number; partitionErrors: number[] }> {
    const acquired = this.acquire(groupId);
    if ('errorCode' in acquired) return { errorCode: acquired.errorCode, partitionErrors: [] };
    const { group, home } = acquired;
    if (!home.state.has(groupId)) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitionErrors: [] };
    // With members, only topics none of them subscribes to may lose their offsets; the
    // subscription is opaque here, so a group with members refuses every partition.
    const subscribed = group.members.size > 0;
    const partitionErrors = partitions.map(() =>
      subscribed ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE,
    );
    if (!subscribed && partitions.length > 0) {
      try {
        await home.persist({ kind: 'delete-offsets', groupId, partitions });
      } catch (error) {
        return { errorCode: errorCodeOf(error), partitionErrors: [] };
      }
    }
    return { errorCode: ErrorCode.NONE, partitionErrors };
  }

  describe(groupId: string) {
    const acquired = this.acquire(groupId);
    if ('errorCode' in acquired) {
      return {
        errorCode: acquired.errorCode,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [] as object[],
      };
    }
    const { group, home } = acquired;
    if (group.members.size === 0 && !home.state.has(groupId)) {
      this.groups.delete(groupId);
      return {
        errorCode: ErrorCode.NONE,
        groupState: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      };
    }
    const stable = group.state === 'Stable';
    return {
      errorCode: ErrorCode.NONE,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: group.protocolName ?? '',
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        memberMetadata: stable ? (this.metadataFor(member, group.protocolName) ?? EMPTY) : EMPTY,
        memberAssignment: stable ? member.assignment : EMPTY,
      })),
    };
  }

  /** The groups this broker coordinates now (in memory or only in the applied records). */
  list(): Array<{ groupId: string; protocolType: string; groupState: string }> {
    const out = new Map<string, { groupId: string; protocolType: string; groupState: string }>();
    for (const home of this.options.homes.owned()) {
      for (const groupId of home.state.groupIds()) {
        const live = this.groups.get(groupId);
        const persisted = home.state.group(groupId);
        out.set(groupId, {
          groupId,
          protocolType: live?.protocolType ?? persisted?.protocolType ?? 'consumer',
          groupState:
            live?.state ?? (persisted !== null && persisted.members.length > 0 ? 'Stable' : 'Empty'),
        });
      }
    }
    for (const group of this.groups.values()) {
      // A group with no member is listed only when something of it is stored (above).
      if (group.members.size === 0) continue;
      if (this.options.homes.lookup(group.groupId).kind !== 'owner') continue;
      out.set(group.groupId, {
        groupId: group.groupId,
        protocolType: group.protocolType ?? '',
        groupState: group.state,
      });
    }
    return [...out.values()];
  }

  /** Clears every timer and answers waiting requests (broker stop). */
  shutdown(): void {
    clearInterval(this.sweepTimer);
    for (const group of [...this.groups.values()]) this.discard(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    this.groups.clear();
  }

  /**
   * The group, loaded in the current leader epoch of its partition, or the error to answer:
   * NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while a new leader catches up.
   * Only JoinGroup (`create`) or stored state makes a group stay in memory: requests naming
   * groups that do not exist get a throwaway empty group, so they cannot grow this map.
   */
  private acquire(groupId: string, create = false): Acquired {
    const home = this.options.homes.lookup(groupId);
    let group = this.groups.get(groupId);
    if (home.kind === 'error') {
      if (group !== undefined) this.discard(group, home.errorCode);
      return { errorCode: home.errorCode };
    }
    if (group !== undefined && (group.epoch !== home.epoch || group.partition !== home.partition)) {
      this.discard(group, ErrorCode.NOT_COORDINATOR);
      group = undefined;
    }
    if (group === undefined) {
      group = this.load(groupId, home);
      if (create || home.state.has(groupId)) this.groups.set(groupId, group);
    }
    return { group, home };
  }

  /** A group as its last durable generation left it (Empty when none): members keep their ids,
   * generation and assignments, and must heartbeat within their session. */
  private load(groupId: string, home: Extract<GroupHome, { kind: 'owner' }>): Group {
    const persisted = home.state.group(groupId);
    const group: Group = {
      groupId,
      partition: home.partition,
      epoch: home.epoch,
      state: 'Empty',
      generationId: persisted?.generationId ?? 0,
      protocolType: persisted?.protocolType || null,
      protocolName: persisted?.protocolName || null,
      leaderId: persisted?.leaderId || null,
      members: new Map(),
      pendingMemberIds: new Map(),
      rebalanceTimer: null,
      persistingGeneration: -1,
    };
    if (persisted !== null && persisted.members.length > 0) {
      group.state = 'Stable';
      for (const saved of persisted.members) {
        const member: Member = {
          memberId: saved.memberId,
          groupInstanceId: saved.groupInstanceId,
          clientId: saved.clientId,
          clientHost: saved.clientHost,
          sessionTimeoutMs: saved.sessionTimeoutMs,
          rebalanceTimeoutMs: saved.rebalanceTimeoutMs,
          protocols: [{ name: persisted.protocolName, metadata: saved.metadata }],
          assignment: saved.assignment,
          awaitingJoin: null,
          awaitingSync: null,
          sessionTimer: null,
        };
        group.members.set(member.memberId, member);
        this.touchSession(group, member);
      }
      this.logger.info(
        { group: groupId, generation: group.generationId, members: group.members.size },
        'loaded a consumer group from its last stored generation',
      );
    }
    return group;
  }

  private persisted(group: Group): PersistedGroup {
    return {
      generationId: group.generationId,
      protocolType: group.protocolType ?? '',
      protocolName: group.protocolName ?? '',
      leaderId: group.leaderId ?? '',
      timestampMs: this.nowMs(),
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        sessionTimeoutMs: member.sessionTimeoutMs,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        metadata: this.metadataFor(member, group.protocolName) ?? EMPTY,
        assignment: member.assignment,
      })),
    };
  }

  private isCurrent(group: Group): boolean {
    return this.groups.get(group.groupId) === group;
  }

  /** Forgets a group here (its partition moved, or the broker stops): waiting requests get
   * `errorCode`, timers stop. */
  private discard(group: Group, errorCode: number): void {
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = null;
    for (const member of group.members.values()) {
      this.clearSession(member);
      member.awaitingJoin?.({ ...this.failedJoin(member.memberId), errorCode });
      member.awaitingJoin = null;
      member.awaitingSync?.({ errorCode, assignment: EMPTY });
      member.awaitingSync = null;
    }
    if (this.isCurrent(group)) this.groups.delete(group.groupId);
  }

  /** Drops groups whose partition this broker no longer leads; deletes expired empty groups. */
  private sweep(): void {
    const nowMs = performance.now();
    for (const group of [...this.groups.values()]) {
      const home = this.options.homes.lookup(group.groupId);
      if (home.kind === 'error' || home.epoch !== group.epoch || home.partition !== group.partition) {
        this.discard(group, home.kind === 'error' ? home.errorCode : ErrorCode.NOT_COORDINATOR);
        continue;
      }
      for (const [memberId, lapsesAtMs] of group.pendingMemberIds)
        if (lapsesAtMs <= nowMs) group.pendingMemberIds.delete(memberId);
      // A group that holds nothing (no member, no pending join, nothing stored) is forgotten.
      if (group.members.size === 0 && group.pendingMemberIds.size === 0 && !home.state.has(group.groupId))
        this.discard(group, ErrorCode.NONE);
    }
    // A partition led in a new epoch: every group stored with members is loaded at once, so the
    // sessions of members that died with the old coordinator run out and the group can expire.
    for (const home of this.options.homes.owned()) {
      if (this.loadedEpochs.get(home.partition) === home.epoch) continue;
      this.loadedEpochs.set(home.partition, home.epoch);
      for (const groupId of home.state.groupsWithMembers()) this.acquire(groupId);
    }
    if (!this.expiring) {
      this.expiring = true;
      this.expire()
        .catch((error: unknown) => this.logger.debug({ err: error }, 'consumer group expiry failed'))
        .finally(() => {
          this.expiring = false;
        });
    }
  }

  private async expire(): Promise<void> {
    const nowMs = this.nowMs();
    for (const home of this.options.homes.owned()) {
      for (const { groupId, lastActivityMs } of home.state.expired(nowMs, this.options.offsetsRetentionMs)) {
        const live = this.groups.get(groupId);
        if (live !== undefined && (live.members.size > 0 || live.pendingMemberIds.size > 0)) continue;
        // Conditional: a commit or generation that lands before it keeps the group everywhere.
        await home.persist({ kind: 'expire-group', groupId, lastActivityMs });
        const after = this.groups.get(groupId);
        if (after !== undefined && after.members.size === 0 && !home.state.has(groupId))
          this.discard(after, ErrorCode.NONE);
        if (!home.state.has(groupId))
          this.logger.info({ group: groupId }, 'consumer group expired (no members, no commits)');
      }
    }
  }

  /** Whether an offset commit from this member/generation may be stored now. */
  private checkCommit(group: Group, generationId: number, memberId: string): number {
    // Simple (standalone) commits: no membership, allowed while the group has no members.
    if (generationId < 0 && memberId === '') {
      return group.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // A member of the current generation may commit while the group prepares a rebalance (it
    // commits what it processed before rejoining); only a generation without assignments yet
    // (CompletingRebalance) refuses, as in Kafka.
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    // A member already waiting in JoinGroup keeps no session timer (see join).
    if (member.awaitingJoin === null) this.touchSession(group, member);
    return ErrorCode.NONE;
  }

  /** A static member's return to a Stable group with unchanged protocols: the current generation,
   * answered once the new member id is stored (a new coordinator must know it). */
  private async rejoinStatic(
    home: Extract<GroupHome, { kind: 'owner' }>,
    group: Group,
    memberId: string,
  ): Promise<JoinResult> {
    const member = group.members.get(memberId) as Member;
    try {
      await home.persist({ kind: 'group', groupId: group.groupId, group: this.persisted(group) });
    } catch (error) {
      // The member id was already replaced in memory: dropped, the group is loaded again from
      // what is stored (the old member), as Kafka reverts the replacement.
      if (this.isCurrent(group)) this.discard(group, ErrorCode.NOT_COORDINATOR);
      return { ...this.failedJoin(memberId), errorCode: errorCodeOf(error) };
    }
    this.touchSession(group, member);
    this.logger.info(
      { group: group.groupId, member: memberId },
      'static member rejoined without a rebalance',
    );
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolName: group.protocolName ?? '',
      leader: group.leaderId ?? '',
      memberId,
      members: [],
    };
  }

  private replaceStaticMember(group: Group, old: Member, newMemberId: string): void {
    // The old instance's pending requests are fenced; the new id inherits its place.
    this.clearSession(old);
    old.awaitingJoin?.({ ...this.failedJoin(old.memberId), errorCode: ErrorCode.FENCED_INSTANCE_ID });
    old.awaitingSync?.({ errorCode: ErrorCode.FENCED_INSTANCE_ID, assignment: EMPTY });
    group.members.delete(old.memberId);
    if (group.leaderId === old.memberId) group.leaderId = newMemberId;
    group.members.set(newMemberId, { ...old, memberId: newMemberId, awaitingJoin: null, awaitingSync: null });
  }

  private supportsCommonProtocol(group: Group, protocols: JoinRequest['protocols']): boolean {
    const offered = new Set(protocols.map((p) => p.name));
    return [...group.members.values()].every((member) => member.protocols.some((p) => offered.has(p.name)));
  }

  private failedJoin(memberId: string): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: -1,
      protocolName: '',
      leader: '',
      memberId,
      members: [],
    };
  }

  private prepareRebalance(group: Group, reason: string): void {
    // Members waiting for an assignment of the old generation must rejoin.
    for (const member of group.members.values()) {
      const waiting = member.awaitingSync;
      member.awaitingSync = null;
      waiting?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    }
    group.state = 'PreparingRebalance';
    const timeoutMs = Math.max(0, ...[...group.members.values()].map((member) => member.rebalanceTimeoutMs));
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = setTimeout(() => this.rebalanceTimedOut(group), timeoutMs);
    this.logger.info({ group: group.groupId, reason }, 'consumer group rebalancing');
  }

  private rebalanceTimedOut(group: Group): void {
    group.rebalanceTimer = null;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null) {
        this.clearSession(member);
        group.members.delete(member.memberId);
      }
    }
    this.completeJoin(group);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    for (const member of group.members.values()) if (member.awaitingJoin === null) return;
    this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = null;
    group.generationId++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      group.leaderId = null;
      // An emptied group's generation is stored too, so a new coordinator does not bring back
      // members that left (they would only expire after a session).
      const home = this.options.homes.lookup(group.groupId);
      if (home.kind === 'owner' && home.epoch === group.epoch)
        home
          .persist({ kind: 'group', groupId: group.groupId, group: this.persisted(group) })
          .catch((error: unknown) =>
            this.logger.debug({ err: error, group: group.groupId }, 'storing an empty generation failed'),
          );
      return;
    }
    const members = [...group.members.values()];
    if (group.leaderId === null || !group.members.has(group.leaderId)) group.leaderId = members[0]!.memberId;
    const leader = group.members.get(group.leaderId)!;
    group.protocolName =
      leader.protocols.find((protocol) =>
        members.every((m) => m.protocols.some((p) => p.name === protocol.name)),
      )?.name ?? leader.protocols[0]!.name;
    group.state = 'CompletingRebalance';
    const memberList = members.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: this.metadataFor(member, group.protocolName) ?? EMPTY,
    }));
    for (const member of members) {
      const waiting = member.awaitingJoin;
      member.awaitingJoin = null;
      waiting?.({
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolName: group.protocolName,
        leader: group.leaderId,
        memberId: member.memberId,
        members: member.memberId === group.leaderId ? memberList : [],
      });
      this.touchSession(group, member);
    }
  }

  private metadataFor(member: Member, protocolName: string | null): Buffer | undefined {
    return member.protocols.find((protocol) => protocol.name === protocolName)?.metadata;
  }

  private removeMember(group: Group, member: Member, reason: string): void {
    this.clearSession(member);
    member.awaitingJoin?.({ ...this.failedJoin(member.memberId), errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
    member.awaitingSync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    group.members.delete(member.memberId);
    if (group.leaderId === member.memberId) group.leaderId = null;
    this.logger.info(
      { group: group.groupId, member: member.memberId, reason },
      'consumer group member removed',
    );
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group, `member ${reason}`);
    this.maybeCompleteJoin(group);
  }

  private touchSession(group: Group, member: Member): void {
    this.clearSession(member);
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) === member && this.isCurrent(group))
        this.removeMember(group, member, 'session expired');
    }, member.sessionTimeoutMs);
  }

  private clearSession(member: Member): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
  }
}

/** Offset records are split to stay this small (the groups topic's batch limit is at least 1 MiB
 * by default; 256 KiB leaves room for any configured limit down to it). */
const COMMIT_RECORD_TARGET_BYTES = 256 * 1024;

/** Splits offsets into runs whose encoded size stays under `targetBytes` (each at least one). */
function chunksBySize<T extends { topic: string; metadata: string | null }>(
  offsets: T[],
  targetBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const offset of offsets) {
    // Per offset: topic and metadata strings (UTF-8, 2-byte lengths) and 24 fixed bytes.
    const size = 28 + Buffer.byteLength(offset.topic) + Buffer.byteLength(offset.metadata ?? '');
    if (current.length > 0 && bytes + size > targetBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(offset);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** KIP-345: a request carrying an instance id that now belongs to another member id is from a
 * fenced (replaced) instance. */
function fencedInstance(group: Group, memberId: string, groupInstanceId: string | null | undefined): boolean {
  if (groupInstanceId === null || groupInstanceId === undefined || groupInstanceId === '') return false;
  for (const member of group.members.values())
    if (member.groupInstanceId === groupInstanceId) return member.memberId !== memberId && memberId !== '';
  return false;
}

function sameProtocols(
  a: Array<{ name: string; metadata: Buffer }>,
  b: Array<{ name: string; metadata: Buffer }>,
): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  );
}

/** The Kafka error code for a failed group-record proposal. */
function errorCodeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'NOT_LEADER_OR_FOLLOWER' || code === 'UNKNOWN_TOPIC_OR_PARTITION')
    return ErrorCode.NOT_COORDINATOR;
  if (code === 'REQUEST_TIMED_OUT') return ErrorCode.REQUEST_TIMED_OUT;
  // A record above the batch limit (group-homes.ts): storing it again cannot succeed.
  if (code === 'RECORD_TOO_LARGE') return ErrorCode.MESSAGE_TOO_LARGE;
  return ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
