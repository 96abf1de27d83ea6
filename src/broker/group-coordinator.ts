import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/index.js';

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
  state: GroupStateName;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: Map<string, Member>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined. */
  pendingMemberIds: Set<string>;
  rebalanceTimer: NodeJS.Timeout | null;
}

const MIN_SESSION_TIMEOUT_MS = 1_000;
const MAX_SESSION_TIMEOUT_MS = 30 * 60_000;
const EMPTY = Buffer.alloc(0);

/**
 * Single-node consumer-group coordinator (Kafka's classic group protocol): JoinGroup collects the
 * members of a generation, the leader's SyncGroup hands every member its assignment, Heartbeat
 * keeps sessions alive, a missed session or LeaveGroup starts a new generation. Membership lives
 * in memory (clients rejoin after a broker restart); committed offsets live in the OffsetStore.
 *
 * A rebalance completes as soon as every known member has rejoined (no initial delay), or when the
 * longest rebalance timeout passes, dropping members that did not rejoin.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly logger: Logger) {}

  join(
    request: JoinRequest,
    client: { clientId: string; clientHost: string; requireKnownMemberId: boolean },
  ): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = request.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
    if (request.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (
      request.sessionTimeoutMs < MIN_SESSION_TIMEOUT_MS ||
      request.sessionTimeoutMs > MAX_SESSION_TIMEOUT_MS
    ) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (request.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const group = this.groupFor(request.groupId);
    if (group.members.size > 0 && group.protocolType !== request.protocolType) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (group.members.size > 0 && !this.supportsCommonProtocol(group, request.protocols)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let memberId = request.memberId;
    if (memberId === '') {
      memberId = `${client.clientId}-${randomUUID()}`;
      if (client.requireKnownMemberId) {
        // KIP-394: the client rejoins with this id, so a lost response cannot leak a member.
        group.pendingMemberIds.add(memberId);
        return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (!group.members.has(memberId) && !group.pendingMemberIds.delete(memberId)) {
      return fail(ErrorCode.UNKNOWN_MEMBER_ID);
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
    assignments: Array<{ memberId: string; assignment: Buffer }>;
  }): Promise<{ errorCode: number; assignment: Buffer }> {
    const group = this.groups.get(request.groupId);
    const member = group?.members.get(request.memberId);
    if (group === undefined || member === undefined) {
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
    if (request.memberId === group.leaderId) {
      const byMember = new Map(request.assignments.map((entry) => [entry.memberId, entry.assignment]));
      for (const each of group.members.values()) each.assignment = byMember.get(each.memberId) ?? EMPTY;
      group.state = 'Stable';
      for (const each of group.members.values()) {
        const waiting = each.awaitingSync;
        each.awaitingSync = null;
        waiting?.({ errorCode: ErrorCode.NONE, assignment: each.assignment });
      }
      this.logger.info({ group: group.groupId, generation: group.generationId }, 'consumer group stable');
    }
    return result;
  }

  heartbeat(request: { groupId: string; generationId: number; memberId: string }): number {
    const group = this.groups.get(request.groupId);
    const member = group?.members.get(request.memberId);
    if (group === undefined || member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touchSession(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Removes members; returns an error code per member id. */
  leave(
    groupId: string,
    memberIds: string[],
  ): { errorCode: number; members: Array<{ memberId: string; errorCode: number }> } {
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: memberIds.map((memberId) => ({ memberId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    const members = memberIds.map((memberId) => {
      const member = group.members.get(memberId);
      if (member === undefined) return { memberId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.removeMember(group, member, 'left the group');
      return { memberId, errorCode: ErrorCode.NONE };
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  /** Whether an offset commit from this member/generation may be stored now. */
  checkCommit(groupId: string, generationId: number, memberId: string): number {
    const group = this.groups.get(groupId);
    // Simple (standalone) commits: no membership, allowed while the group has no members.
    if (generationId < 0 && memberId === '') {
      return group === undefined || group.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // A member of the current generation may commit while the group prepares a rebalance (it
    // commits what it processed before rejoining); only a generation without assignments yet
    // (CompletingRebalance) refuses, as in Kafka.
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    // A member already waiting in JoinGroup keeps no session timer (see join).
    if (member.awaitingJoin === null) this.touchSession(group, member);
    return ErrorCode.NONE;
  }

  describe(groupId: string) {
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return { groupState: 'Dead', protocolType: '', protocolData: '', members: [] as object[] };
    }
    const stable = group.state === 'Stable';
    return {
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

  list(): Array<{ groupId: string; protocolType: string }> {
    return [...this.groups.values()].map((group) => ({
      groupId: group.groupId,
      protocolType: group.protocolType ?? '',
    }));
  }

  /** Clears every timer and answers waiting requests (broker stop). */
  shutdown(): void {
    for (const group of this.groups.values()) {
      if (group.rebalanceTimer !== null) clearTimeout(group.rebalanceTimer);
      for (const member of group.members.values()) {
        this.clearSession(member);
        member.awaitingJoin?.({
          ...this.failedJoin(member.memberId),
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        });
        member.awaitingSync?.({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: EMPTY });
      }
    }
    this.groups.clear();
  }

  private groupFor(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = {
        groupId,
        state: 'Empty',
        generationId: 0,
        protocolType: null,
        protocolName: null,
        leaderId: null,
        members: new Map(),
        pendingMemberIds: new Set(),
        rebalanceTimer: null,
      };
      this.groups.set(groupId, group);
    }
    return group;
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
      if (group.members.get(member.memberId) === member) this.removeMember(group, member, 'session expired');
    }, member.sessionTimeoutMs);
  }

  private clearSession(member: Member): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
  }
}
