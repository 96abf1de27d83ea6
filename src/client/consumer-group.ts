import { ApiKey } from '../protocol/index.js';
import { BUILT_IN_ASSIGNORS } from './assignors/index.js';
import type { Assignor, AssignorMember, RebalanceProtocol } from './assignors/types.js';
import { backoffMs } from './backoff.js';
import type { Client } from './client.js';
import type { MessageBatch } from './consumer.js';
import { AbortError, GoqueueError, isRetriable, KafkaProtocolError } from './errors.js';
import { CoordinatorLink, coordinatorLost, withCoordinator } from './group-coordinator.js';
import { GroupFetcher, type ReadyBatch } from './group-fetcher.js';
import { commitOffsets, fetchCommittedOffsets, type TopicPartitionOffset } from './group-offsets.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  CONSUMER_PROTOCOL_VERSION,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  fromTopicPartitions,
  parsePartitionKey,
  partitionKey,
  toTopicPartitions,
} from './group-protocol.js';
import type { Message } from './records.js';

export interface GroupPartition {
  topic: string;
  partition: number;
}

/** Called with the partitions that changed hands; the group waits for the returned promise. */
export type PartitionsListener = (partitions: GroupPartition[], group: ConsumerGroup) => void | Promise<void>;

export interface ConsumerGroupOptions {
  groupId: string;
  /** Static membership (KIP-345): a restart with the same id takes the member's place back. */
  groupInstanceId?: string;
  /**
   * Assignors by preference, built-in names ('range', 'roundrobin', 'cooperative-sticky') or
   * objects. Default ['range', 'cooperative-sticky'], the Java client's default. The group uses
   * the cooperative protocol only when every assignor listed is cooperative.
   */
  assignors?: Array<string | Assignor>;
  /** The coordinator drops a member silent this long (default 45 000 ms, Java's). */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin in a rebalance (default 60 000 ms). */
  rebalanceTimeoutMs?: number;
  /** Heartbeat period (default 3 000 ms); keep it well under sessionTimeoutMs. */
  heartbeatIntervalMs?: number;
  /** Commit processed offsets every autoCommitIntervalMs (default true, 5 000 ms). */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Where partitions without a committed offset start (default 'latest'). */
  autoOffsetReset?: 'earliest' | 'latest';
  /** Shorthand for autoOffsetReset: 'earliest'. */
  fromBeginning?: boolean;
  /** Topic list and leader's partition-count check period; RegExp subscriptions re-match then. */
  metadataRefreshMs?: number;
  /** Bytes per Fetch request (default 50 MiB) and per partition in it (default 1 MiB). */
  maxBytes?: number;
  maxBytesPerPartition?: number;
  maxWaitMs?: number;
  minBytes?: number;
  /**
   * The member's rack (Kafka's `client.rack`): sent in the subscription (v3) for rack-aware
   * assignors and in every Fetch, where a leader with follower reads on may name a replica in
   * this rack to read from (KIP-392; used until it answers an error or the lease ends).
   */
  rackId?: string;
  /** How long a named read replica is used before the leader is asked again (default 300 000 ms). */
  readReplicaLeaseMs?: number;
  onPartitionsAssigned?: PartitionsListener;
  /** Before the group commits them and lets them go (rebalance, close). */
  onPartitionsRevoked?: PartitionsListener;
  /** Partitions taken away without a chance to commit (the member was dropped); default: onPartitionsRevoked. */
  onPartitionsLost?: PartitionsListener;
}

type MemberState = 'idle' | 'joining' | 'stable' | 'closed';

/** A message or batch the caller holds: processed once the caller asks for the next. */
interface InHand {
  ready: ReadyBatch;
  /** The partition's seekEpoch when handed out. */
  seekEpoch: number;
  /** Next offset once this item is processed. */
  processedTo: number;
}

/**
 * A member of a Kafka consumer group (the classic protocol: FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch). The group's partitions are
 * shared among its members by the leader's assignor; this member reads its share through
 * `for await (const message of group)` or `group.batches()`.
 *
 * Background loops, independent of how fast the caller handles messages: heartbeats, rejoining
 * after a rebalance, auto-commit, and a metadata check (RegExp subscriptions, partition counts).
 * A message counts as processed once the caller asks for the next one (or calls
 * `markProcessed`); commits store processed offsets, so delivery is at-least-once.
 */
export class ConsumerGroup {
  readonly groupId: string;
  private readonly client: Client;
  private readonly options: Required<
    Pick<
      ConsumerGroupOptions,
      | 'sessionTimeoutMs'
      | 'rebalanceTimeoutMs'
      | 'heartbeatIntervalMs'
      | 'autoCommit'
      | 'autoCommitIntervalMs'
      | 'metadataRefreshMs'
    >
  > &
    ConsumerGroupOptions;
  private readonly assignors: Assignor[];
  private readonly protocol: RebalanceProtocol;
  private readonly link: CoordinatorLink;
  private readonly fetcher: GroupFetcher;
  private readonly lifetime = new AbortController();
  private subscription: string[] | RegExp = [];
  private topics: string[] = [];
  private state: MemberState = 'idle';
  private memberIdValue = '';
  private generationIdValue = -1;
  private leaderId = '';
  /** Partitions this member owns in the current generation. */
  private readonly owned = new Set<string>();
  /** The leader's view of the partition counts it assigned from (absent: the topic did not exist). */
  private assignedCounts = new Map<string, number>();
  /** Every topic some member subscribed to at the last assignment this member made as leader. */
  private groupTopics: string[] = [];
  private rejoinNeeded = false;
  private partitionsLost = false;
  private wakeMembership: (() => void) | null = null;
  private inHand: InHand | null = null;
  private handWaiters: Array<() => void> = [];
  private commitChain: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private loops: Promise<unknown>[] = [];
  private closing: Promise<void> | null = null;
  /** Set first thing in close(): every loop and wait checks it. */
  private closeRequested = false;
  private firstJoin: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };
  private joinInFlight = false;
  private iterating = false;

  constructor(client: Client, options: ConsumerGroupOptions) {
    if (!options.groupId) throw new GoqueueError('a consumer group needs a groupId');
    this.client = client;
    this.groupId = options.groupId;
    this.options = {
      sessionTimeoutMs: 45_000,
      rebalanceTimeoutMs: 60_000,
      heartbeatIntervalMs: 3_000,
      autoCommit: true,
      autoCommitIntervalMs: 5_000,
      metadataRefreshMs: 30_000,
      ...options,
    };
    if (this.options.heartbeatIntervalMs >= this.options.sessionTimeoutMs)
      throw new GoqueueError('heartbeatIntervalMs must be below sessionTimeoutMs (a third of it is usual)');
    this.assignors = (options.assignors ?? ['range', 'cooperative-sticky']).map((entry) => {
      if (typeof entry !== 'string') return entry;
      const found = BUILT_IN_ASSIGNORS.get(entry);
      if (found === undefined)
        throw new GoqueueError(
          `unknown assignor "${entry}": use ${[...BUILT_IN_ASSIGNORS.keys()].join(', ')} or pass an Assignor`,
        );
      return found;
    });
    if (this.assignors.length === 0) throw new GoqueueError('a consumer group needs at least one assignor');
    this.protocol = this.assignors.every((assignor) => assignor.rebalanceProtocol === 'cooperative')
      ? 'cooperative'
      : 'eager';
    this.link = new CoordinatorLink(client, this.groupId);
    this.fetcher = new GroupFetcher(client, {
      maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      autoOffsetReset: options.autoOffsetReset ?? (options.fromBeginning ? 'earliest' : 'latest'),
      rack: options.rackId ?? '',
      readReplicaLeaseMs: options.readReplicaLeaseMs ?? 300_000,
    });
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.firstJoin = { promise, resolve, reject };
  }

  /** This member's id in the group ('' before the first join). */
  get memberId(): string {
    return this.memberIdValue;
  }

  /** The generation this member belongs to (-1 when none). */
  get generationId(): number {
    return this.generationIdValue;
  }

  /** Whether this member leads the group (runs the assignor). */
  get isLeader(): boolean {
    return this.leaderId !== '' && this.leaderId === this.memberIdValue;
  }

  /** The rebalance protocol this member speaks: cooperative when every assignor is. */
  get rebalanceProtocol(): RebalanceProtocol {
    return this.protocol;
  }

  /** The partitions this member owns now, sorted. */
  assignment(): GroupPartition[] {
    return [...this.owned].sort().map(parsePartitionKey);
  }

  /**
   * Topics to read: names, or a RegExp matched against the cluster's topics (internal ones
   * excluded) again on every metadata check. Replaces the previous subscription; a running
   * member rejoins.
   */
  subscribe(topics: string | string[] | RegExp): this {
    this.subscription = typeof topics === 'string' ? [topics] : Array.isArray(topics) ? [...topics] : topics;
    if (this.state === 'stable') this.requestRejoin();
    return this;
  }

  /**
   * Joins the group (idempotent) and resolves once this member has its first assignment.
   * Iterating starts it too.
   */
  start(): Promise<void> {
    if (this.closeRequested) return Promise.reject(new GoqueueError('the consumer group is closed'));
    if (this.loops.length === 0) {
      this.requestRejoin();
      this.loops = [
        this.membershipLoop(),
        this.heartbeatLoop(),
        this.autoCommitLoop(),
        this.metadataLoop(),
      ].map((loop) => loop.catch((error) => this.fail(error)));
    }
    return this.firstJoin.promise;
  }

  /** Every message of the assigned partitions, one at a time. */
  async *messages(): AsyncGenerator<Message, void, undefined> {
    for await (const ready of this.readyBatches()) {
      const messages = ready.batch.messages;
      const state = ready.state;
      // One hand object per batch: this loop runs per message.
      const hand: InHand = { ready, seekEpoch: state.seekEpoch, processedTo: 0 };
      for (let index = 0; index < messages.length; index++) {
        if (state.epoch !== ready.epoch || state.paused) break;
        const message = messages[index] as Message;
        state.consumed = message.offset + 1;
        hand.processedTo = message.offset + 1;
        this.inHand = hand;
        yield message;
        this.release();
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    return this.messages();
  }

  /** The assigned partitions' messages, one fetched batch (of one partition) at a time. */
  async *batches(): AsyncGenerator<MessageBatch, void, undefined> {
    for await (const ready of this.readyBatches()) {
      const last = ready.batch.messages[ready.batch.messages.length - 1] as Message;
      ready.state.consumed = last.offset + 1;
      this.inHand = { ready, seekEpoch: ready.state.seekEpoch, processedTo: last.offset + 1 };
      yield ready.batch;
      this.release();
    }
  }

  /** Counts `message` (and everything before it in its partition) as processed. */
  markProcessed(message: { topic: string; partition: number; offset: number }): void {
    const state = this.fetcher.partitions.get(partitionKey(message.topic, message.partition));
    if (state === undefined) return;
    if (state.processed === null || state.processed < message.offset + 1)
      state.processed = message.offset + 1;
  }

  /**
   * Commits processed offsets now, or the given ones (`offset` = the next offset to read, as in
   * Kafka). Fails with KafkaProtocolError REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION /
   * UNKNOWN_MEMBER_ID when this member no longer owns its partitions (it rejoins by itself).
   */
  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    if (offsets === undefined) return this.commitProcessed(null);
    await this.commitSerialized(offsets);
    for (const entry of offsets) {
      const state = this.fetcher.partitions.get(partitionKey(entry.topic, entry.partition));
      if (state !== undefined) state.committed = entry.offset;
    }
  }

  /** The group's committed offsets for the given partitions (default: this member's). */
  async committed(partitions?: GroupPartition[]): Promise<TopicPartitionOffset[]> {
    return withCoordinator(this.link, this.client, () =>
      fetchCommittedOffsets(this.link, partitions ?? this.assignment()),
    );
  }

  /** Stops fetching these partitions until `resume`; what was fetched ahead is fetched again later. */
  pause(partitions: GroupPartition[]): void {
    for (const { topic, partition } of partitions) this.fetcher.pause(partitionKey(topic, partition));
  }

  resume(partitions: GroupPartition[]): void {
    for (const { topic, partition } of partitions) this.fetcher.resume(partitionKey(topic, partition));
  }

  paused(): GroupPartition[] {
    return [...this.fetcher.partitions.values()]
      .filter((state) => state.paused)
      .map(({ topic, partition }) => ({ topic, partition }));
  }

  /** The next message of the partition will be at `offset`; data fetched before is dropped. */
  seek(target: { topic: string; partition: number; offset: number }): void {
    if (!Number.isInteger(target.offset) || target.offset < 0)
      throw new GoqueueError(`seek offset must be a non-negative integer, not ${target.offset}`);
    this.fetcher.seek(partitionKey(target.topic, target.partition), target.offset);
  }

  /**
   * Leaves the group: ends the iterators, calls onPartitionsRevoked, commits processed offsets
   * (auto-commit), and sends LeaveGroup so the others rebalance at once instead of after the
   * session timeout. A static member (groupInstanceId) stays registered, as in Kafka, so its
   * restart within the session timeout takes its partitions back without a rebalance.
   */
  close(): Promise<void> {
    this.closeRequested = true;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------
  // Delivery

  private async *readyBatches(): AsyncGenerator<ReadyBatch, void, undefined> {
    if (this.iterating) throw new GoqueueError('a consumer group has one iterator at a time');
    this.iterating = true;
    try {
      void this.start().catch(() => undefined);
      for (;;) {
        if (this.failure) throw this.failure;
        if (this.closeRequested) return;
        const ready = await this.fetcher.next();
        if (ready === null) {
          if (this.failure) throw this.failure;
          return;
        }
        yield ready;
      }
    } finally {
      this.iterating = false;
      // Left without asking for the next: the item in hand is not counted as processed.
      this.inHand = null;
      this.wakeHand();
    }
  }

  private release(): void {
    const hand = this.inHand;
    this.inHand = null;
    // Finished work counts even if the partition was paused or is being revoked meanwhile (the
    // revocation waits for exactly this), but not once a seek moved or a removal dropped it.
    if (hand !== null && hand.ready.state.seekEpoch === hand.seekEpoch) {
      const state = hand.ready.state;
      if (state.processed === null || state.processed < hand.processedTo) state.processed = hand.processedTo;
    }
    if (this.handWaiters.length > 0) this.wakeHand();
  }

  private wakeHand(): void {
    const waiting = this.handWaiters;
    this.handWaiters = [];
    for (const resolve of waiting) resolve();
  }

  /** Waits (at most the rebalance timeout) until the caller holds nothing of `keys`. */
  private async handReleased(keys: Set<string>): Promise<void> {
    const deadline = this.client.clock.nowMs() + this.options.rebalanceTimeoutMs;
    while (this.inHand !== null && keys.has(this.inHand.ready.state.key)) {
      const remainingMs = deadline - this.client.clock.nowMs();
      if (remainingMs <= 0) return;
      await Promise.race([
        new Promise<void>((resolve) => this.handWaiters.push(resolve)),
        this.client.clock.sleep(Math.min(remainingMs, 1_000)).catch(() => undefined),
      ]);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Membership

  private requestRejoin(options: { lost?: boolean } = {}): void {
    this.rejoinNeeded = true;
    if (options.lost) this.partitionsLost = true;
    const wake = this.wakeMembership;
    this.wakeMembership = null;
    wake?.();
  }

  private fail(error: unknown): void {
    if (error instanceof AbortError && this.closeRequested) return;
    this.failure ??= error instanceof Error ? error : new GoqueueError(String(error));
    this.firstJoin.reject(this.failure);
    this.fetcher.stop();
  }

  private async membershipLoop(): Promise<void> {
    let failures = 0;
    while (!this.closeRequested && this.failure === null) {
      if (!this.rejoinNeeded) {
        await new Promise<void>((resolve) => {
          this.wakeMembership = resolve;
        });
        continue;
      }
      try {
        await this.rebalance();
        failures = 0;
      } catch (error) {
        if (this.closeRequested) return;
        // INCONSISTENT_GROUP_PROTOCOL, FENCED_INSTANCE_ID, an assignor this member lacks, …: the
        // Java client gives up on these too. Coordinator moves and timeouts are retried.
        if (!isRetriable(error)) throw error;
        this.rejoinNeeded = true;
        await this.sleep(backoffMs(failures++, this.client.retryOptions, this.client.random));
      }
    }
  }

  /** One pass: give up what must go, JoinGroup, (leader: assign), SyncGroup, take the assignment. */
  private async rebalance(): Promise<void> {
    this.rejoinNeeded = false;
    if (this.partitionsLost) {
      this.partitionsLost = false;
      await this.dropOwned([...this.owned], 'lost');
    } else if (this.protocol === 'eager' && this.owned.size > 0) {
      await this.dropOwned([...this.owned], 'revoked');
    }
    if (this.closeRequested) return;
    await this.resolveTopics();
    this.state = 'joining';
    const join = await this.joinGroup();
    if (join === null) return;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (join.leader === this.memberIdValue) assignments = await this.assign(join.protocolName, join.members);
    const sync = await this.syncGroup(assignments);
    if (sync === null) return;
    const assigned = new Set(
      fromTopicPartitions(decodeAssignment(sync).partitions).filter((key) =>
        this.topics.includes(parsePartitionKey(key).topic),
      ),
    );
    this.state = 'stable';
    const revoked = [...this.owned].filter((key) => !assigned.has(key));
    const added = [...assigned].filter((key) => !this.owned.has(key));
    if (revoked.length > 0) {
      // Cooperative: give these up, then rejoin so the leader can hand them to their new owner.
      await this.dropOwned(revoked, 'revoked');
      this.requestRejoin();
    }
    if (added.length > 0) {
      const partitions = added.map(parsePartitionKey);
      const committed = await withCoordinator(this.link, this.client, () =>
        fetchCommittedOffsets(this.link, partitions),
      );
      const offsets = new Map(
        committed.map((entry) => [partitionKey(entry.topic, entry.partition), entry.offset]),
      );
      for (const key of added) this.owned.add(key);
      this.fetcher.assign(partitions, offsets);
    }
    if (added.length > 0 || this.protocol === 'eager')
      await this.callListener(this.options.onPartitionsAssigned, added);
    this.firstJoin.resolve();
  }

  /** Topics of the subscription; a RegExp is matched against the cluster's topics now. */
  private async resolveTopics(): Promise<void> {
    if (Array.isArray(this.subscription)) {
      this.topics = [...new Set(this.subscription)].sort();
      return;
    }
    const pattern = this.subscription;
    const metadata = await this.client.refreshMetadata(undefined, { allTopics: true });
    this.topics = [...metadata.topics.values()]
      .filter((topic) => !topic.isInternal && pattern.test(topic.name))
      .map((topic) => topic.name)
      .sort();
  }

  /** JoinGroup until this member is in a generation; null when the member must start over. */
  private async joinGroup(): Promise<{
    protocolName: string;
    leader: string;
    members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
  } | null> {
    for (let attempt = 0; ; attempt++) {
      if (this.closeRequested) return null;
      const owned = toTopicPartitions(this.owned);
      const protocols = this.assignors.map((assignor) => ({
        name: assignor.name,
        metadata: encodeSubscription({
          version: CONSUMER_PROTOCOL_VERSION,
          topics: this.topics,
          userData: assignor.subscriptionUserData({ generationId: this.generationIdValue, owned }),
          ownedPartitions: owned,
          generationId: this.generationIdValue,
          rackId: this.options.rackId ?? null,
        }),
      }));
      const response = await this.rebalanceRequest(ApiKey.JoinGroup, {
        groupId: this.groupId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        memberId: this.memberIdValue,
        groupInstanceId: this.options.groupInstanceId ?? null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols,
      });
      if (response === null) {
        if (this.closeRequested) return null;
        await this.sleep(backoffMs(attempt, this.client.retryOptions, this.client.random));
        continue;
      }
      switch (response.errorCode) {
        case 0:
          this.memberIdValue = response.memberId;
          this.generationIdValue = response.generationId;
          this.leaderId = response.leader;
          return {
            protocolName: response.protocolName,
            leader: response.leader,
            members: response.members ?? [],
          };
        case 79: // MEMBER_ID_REQUIRED (KIP-394): rejoin at once with the id given.
          this.memberIdValue = response.memberId;
          continue;
        case 25: // UNKNOWN_MEMBER_ID: start over as a new member.
          this.memberIdValue = '';
          this.generationIdValue = -1;
          continue;
        case 22: // ILLEGAL_GENERATION
          this.generationIdValue = -1;
          continue;
        case 15: // COORDINATOR_NOT_AVAILABLE
        case 16: // NOT_COORDINATOR
          this.link.reset();
          await this.sleep(backoffMs(attempt, this.client.retryOptions, this.client.random));
          continue;
        case 14: // COORDINATOR_LOAD_IN_PROGRESS
        case 27: // REBALANCE_IN_PROGRESS
          await this.sleep(backoffMs(attempt, this.client.retryOptions, this.client.random));
          continue;
        default:
          throw new KafkaProtocolError(response.errorCode, { detail: `joining group "${this.groupId}"` });
      }
    }
  }

  /** SyncGroup; the assignment bytes, or null when the member must rejoin. */
  private async syncGroup(
    assignments: Array<{ memberId: string; assignment: Buffer }>,
  ): Promise<Buffer | null> {
    const response = await this.rebalanceRequest(ApiKey.SyncGroup, {
      groupId: this.groupId,
      generationId: this.generationIdValue,
      memberId: this.memberIdValue,
      groupInstanceId: this.options.groupInstanceId ?? null,
      assignments,
    });
    if (response === null) {
      if (!this.closeRequested) this.requestRejoin();
      return null;
    }
    switch (response.errorCode) {
      case 0:
        return response.assignment ?? Buffer.alloc(0);
      case 27: // REBALANCE_IN_PROGRESS: another member joined meanwhile.
        this.requestRejoin();
        return null;
      case 25: // UNKNOWN_MEMBER_ID
        this.memberIdValue = '';
        this.generationIdValue = -1;
        this.requestRejoin({ lost: true });
        return null;
      case 22: // ILLEGAL_GENERATION
        this.generationIdValue = -1;
        this.requestRejoin({ lost: true });
        return null;
      case 15:
      case 16:
        this.link.reset();
        this.requestRejoin();
        return null;
      default:
        throw new KafkaProtocolError(response.errorCode, { detail: `syncing group "${this.groupId}"` });
    }
  }

  /**
   * JoinGroup or SyncGroup: the coordinator holds either until the generation forms, so the
   * limit is the rebalance timeout plus 5 s (Java's). Null when closing or when the coordinator
   * was lost (the link is reset: the next try finds it again).
   */
  private async rebalanceRequest(apiKey: number, body: object): Promise<any | null> {
    this.joinInFlight = true;
    try {
      return await this.link.request(apiKey, body, {
        timeoutMs: this.options.rebalanceTimeoutMs + 5_000,
        signal: this.lifetime.signal,
      });
    } catch (error) {
      if (this.closeRequested) return null;
      if (!coordinatorLost(error)) throw error;
      this.link.reset();
      return null;
    } finally {
      this.joinInFlight = false;
    }
  }

  /** The leader's job: run the chosen assignor over every member's subscription. */
  private async assign(
    protocolName: string,
    joined: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>,
  ): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const assignor = this.assignors.find((candidate) => candidate.name === protocolName);
    if (assignor === undefined)
      throw new GoqueueError(`the group chose assignor "${protocolName}", which this member did not offer`);
    const members: AssignorMember[] = joined.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId ?? null,
      subscription: decodeSubscription(member.metadata, member.memberId),
    }));
    const topics = [...new Set(members.flatMap((member) => member.subscription.topics))];
    const metadata = await this.client.retrying(() => this.client.refreshMetadata(topics));
    const partitionCounts = new Map<string, number>();
    for (const topic of topics) {
      const found = metadata.topics.get(topic);
      if (found !== undefined && found.partitions.length > 0)
        partitionCounts.set(topic, found.partitions.length);
    }
    this.assignedCounts = partitionCounts;
    this.groupTopics = topics;
    const result = assignor.assign({ members, partitionCounts });
    return members.map((member) => ({
      memberId: member.memberId,
      assignment: encodeAssignment({
        version: Math.min(CONSUMER_PROTOCOL_VERSION, member.subscription.version),
        partitions: result.get(member.memberId) ?? [],
        userData: null,
      }),
    }));
  }

  /**
   * Gives partitions up. Revoked: stop handing them out, wait until the caller is done with
   * what it holds of them, call onPartitionsRevoked, then commit (auto-commit). Lost (this
   * member was dropped from the generation): onPartitionsLost, nothing committed.
   */
  private async dropOwned(keys: string[], how: 'revoked' | 'lost'): Promise<void> {
    if (keys.length === 0) return;
    const set = new Set(keys);
    this.fetcher.fence(set);
    if (how === 'revoked') {
      if (!this.closeRequested) await this.handReleased(set);
      await this.callListener(this.options.onPartitionsRevoked, keys);
      if (this.options.autoCommit) await this.commitProcessed(set).catch(() => undefined);
    } else {
      await this.callListener(this.options.onPartitionsLost ?? this.options.onPartitionsRevoked, keys);
    }
    this.fetcher.remove(set);
    for (const key of keys) this.owned.delete(key);
  }

  private async callListener(listener: PartitionsListener | undefined, keys: string[]): Promise<void> {
    if (listener === undefined) return;
    await listener([...keys].sort().map(parsePartitionKey), this);
  }

  // ---------------------------------------------------------------------------------------
  // Background loops

  /** Sleeps on the client clock; false once the group closes. */
  private async sleep(ms: number): Promise<boolean> {
    try {
      await this.client.clock.sleep(ms, this.lifetime.signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Heartbeats every heartbeatIntervalMs while in a generation, whatever the caller is doing. */
  private async heartbeatLoop(): Promise<void> {
    while (await this.sleep(this.options.heartbeatIntervalMs)) {
      if (this.closeRequested || this.failure) return;
      if (this.state !== 'stable' || this.generationIdValue < 0 || this.joinInFlight) continue;
      const generationId = this.generationIdValue;
      const memberId = this.memberIdValue;
      let errorCode: number;
      try {
        const response = await this.link.request(
          ApiKey.Heartbeat,
          {
            groupId: this.groupId,
            generationId,
            memberId,
            groupInstanceId: this.options.groupInstanceId ?? null,
          },
          {
            timeoutMs: Math.min(this.options.sessionTimeoutMs, this.client.timeoutMs),
            signal: this.lifetime.signal,
          },
        );
        errorCode = response.errorCode;
      } catch (error) {
        if (this.closeRequested) return;
        // Find the coordinator again on the next beat; a new one that does not know this
        // member answers UNKNOWN_MEMBER_ID and the member rejoins.
        if (coordinatorLost(error)) this.link.reset();
        continue;
      }
      // An answer about a generation this member has left since is stale.
      if (generationId !== this.generationIdValue || memberId !== this.memberIdValue) continue;
      this.onHeartbeatError(errorCode);
    }
  }

  private onHeartbeatError(errorCode: number): void {
    switch (errorCode) {
      case 0:
        return;
      case 27: // REBALANCE_IN_PROGRESS
        this.requestRejoin();
        return;
      case 22: // ILLEGAL_GENERATION: partitions are lost, the member id stays.
        this.generationIdValue = -1;
        this.requestRejoin({ lost: true });
        return;
      case 25: // UNKNOWN_MEMBER_ID: the session expired (or the coordinator forgot us).
        this.memberIdValue = '';
        this.generationIdValue = -1;
        this.requestRejoin({ lost: true });
        return;
      case 15: // COORDINATOR_NOT_AVAILABLE
      case 16: // NOT_COORDINATOR
        this.link.reset();
        return;
      case 82: // FENCED_INSTANCE_ID: another process took this static member's place.
        this.fail(
          new KafkaProtocolError(82, { detail: `group instance id "${this.options.groupInstanceId}"` }),
        );
        return;
      default:
        // COORDINATOR_LOAD_IN_PROGRESS and the like: the next beat tries again.
        return;
    }
  }

  private async autoCommitLoop(): Promise<void> {
    if (!this.options.autoCommit) return;
    while (await this.sleep(this.options.autoCommitIntervalMs)) {
      if (this.closeRequested || this.failure) return;
      if (this.state !== 'stable') continue;
      await this.commitProcessed(null).catch(() => undefined);
    }
  }

  /** Re-matches a RegExp subscription; the leader also watches its topics' partition counts. */
  private async metadataLoop(): Promise<void> {
    while (await this.sleep(this.options.metadataRefreshMs)) {
      if (this.closeRequested || this.failure) return;
      if (this.state !== 'stable' || this.rejoinNeeded) continue;
      try {
        if (this.subscription instanceof RegExp) {
          const before = this.topics.join('\u0000');
          await this.resolveTopics();
          if (this.topics.join('\u0000') !== before) {
            this.requestRejoin();
            continue;
          }
        }
        if (this.isLeader) {
          // A topic another member subscribed to may have been created (or grown, or deleted).
          const topics = [...new Set([...this.groupTopics, ...this.topics])];
          const metadata = await this.client.refreshMetadata(topics);
          const changed = topics.some(
            (topic) =>
              (metadata.topics.get(topic)?.partitions.length ?? 0) !== (this.assignedCounts.get(topic) ?? 0),
          );
          if (changed) this.requestRejoin();
        }
      } catch {
        // The next check tries again.
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Commits

  /** Commits processed offsets that moved since the last commit (of `keys`, or all owned). */
  private async commitProcessed(keys: Set<string> | null): Promise<void> {
    const offsets: TopicPartitionOffset[] = [];
    for (const state of this.fetcher.partitions.values()) {
      if (keys !== null && !keys.has(state.key)) continue;
      if (state.processed === null || state.processed === state.committed) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset: state.processed });
    }
    if (offsets.length === 0) return;
    await this.commitSerialized(offsets);
    for (const entry of offsets) {
      const state = this.fetcher.partitions.get(partitionKey(entry.topic, entry.partition));
      if (state !== undefined && (state.committed === null || state.committed < entry.offset))
        state.committed = entry.offset;
    }
  }

  /**
   * One commit at a time, in call order: two in flight could land out of order and move a
   * committed offset backwards.
   */
  private commitSerialized(offsets: TopicPartitionOffset[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.generationIdValue < 0)
        throw new KafkaProtocolError(27, {
          detail: 'this member is not in a generation of the group yet; commit after it joined',
        });
      const identity = {
        generationId: this.generationIdValue,
        memberId: this.memberIdValue,
        groupInstanceId: this.options.groupInstanceId ?? null,
      };
      try {
        await withCoordinator(this.link, this.client, () => commitOffsets(this.link, identity, offsets));
      } catch (error) {
        if (error instanceof KafkaProtocolError) {
          if (error.code === 27) this.requestRejoin();
          if (error.code === 22 || error.code === 25) {
            if (error.code === 25) this.memberIdValue = '';
            this.generationIdValue = -1;
            this.requestRejoin({ lost: true });
          }
        }
        throw error;
      }
    };
    const result = this.commitChain.then(run, run);
    this.commitChain = result.catch(() => undefined);
    return result;
  }

  // ---------------------------------------------------------------------------------------
  // Close

  private async shutdown(): Promise<void> {
    this.fetcher.stop();
    const wake = this.wakeMembership;
    this.wakeMembership = null;
    wake?.();
    // A JoinGroup or SyncGroup held by the coordinator would hold the connection: drop it.
    if (this.joinInFlight) this.link.reset();
    this.lifetime.abort();
    await Promise.all(this.loops);
    const stillMember = this.memberIdValue !== '' && this.generationIdValue >= 0 && this.failure === null;
    if (stillMember && this.owned.size > 0) {
      try {
        await this.dropOwned([...this.owned], 'revoked');
      } catch {
        // A listener's failure must not keep the member in the group.
      }
    }
    if (this.memberIdValue !== '' && this.options.groupInstanceId === undefined) {
      await withCoordinator(this.link, this.client, () => this.leaveGroup(), { attemptsMax: 3 }).catch(
        () => undefined,
      );
    }
    this.state = 'closed';
    this.link.close();
    this.firstJoin.reject(new GoqueueError('the consumer group closed before it joined'));
  }

  private async leaveGroup(): Promise<void> {
    const version = await this.link.versionFor(ApiKey.LeaveGroup);
    const response = await this.link.request(ApiKey.LeaveGroup, {
      groupId: this.groupId,
      memberId: this.memberIdValue,
      members: [{ memberId: this.memberIdValue, groupInstanceId: this.options.groupInstanceId ?? null }],
    });
    const errorCode =
      version >= 3 ? (response.members?.[0]?.errorCode ?? response.errorCode) : response.errorCode;
    // UNKNOWN_MEMBER_ID: the coordinator already dropped us, which is what leaving wanted.
    if (errorCode !== 0 && errorCode !== 25) throw new KafkaProtocolError(errorCode);
    this.memberIdValue = '';
    this.generationIdValue = -1;
  }
}
