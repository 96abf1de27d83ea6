import { kafkaOffset } from '../../lib/ids.js';
import { ApiKey, ErrorCode } from '../../protocol/index.js';
import type { BrokerContext, Handler } from '../context.js';
import { type FetchSession, FetchSessionCache, partitionKey } from '../fetch-sessions.js';
import { fetchTarget } from '../follower-read.js';
import type { ReplicatedLog } from '../replicated-log.js';
import { endpointsOf, type LeaderHint, leaderHint, wantsLeaderHint } from './leader-hints.js';
import { leaderEpochError } from './leadership.js';
import { topicNameOfId } from './topic-ids.js';

/** Fetch v13+ names topics by id. */
const TOPIC_IDS_FROM = 13;
/** Fetch v7+ has sessions (KIP-227). */
const SESSIONS_FROM = 7;
/** Sessions a broker keeps; past that the least recently used one is dropped. */
const MAX_FETCH_SESSIONS = 1000;
/** Kafka's session epochs wrap from the largest int32 to 1. */
const MAX_SESSION_EPOCH = 0x7fffffff;

interface FetchPartitionRequest {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch?: number;
  /** v12+: epoch of the last batch the fetcher holds; -1 when it does not say. */
  lastFetchedEpoch?: number;
}

interface FetchRequest {
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes?: number;
  /** v11+: the client's rack (follower reads, KIP-392); '' when it does not say. */
  rackId?: string;
  /** v7+ (KIP-227): 0 = no session; with epoch 0, open one. */
  sessionId?: number;
  /** v7+: -1 = sessionless or close the session, 0 = open one, else the session's next epoch. */
  sessionEpoch?: number;
  forgottenTopicsData?: Array<{ topic?: string; topicId?: string; partitions: number[] }>;
  topics: Array<{
    /** v0-12. */
    topic?: string;
    /** v13+ (32 hex digits). */
    topicId?: string;
    partitions: FetchPartitionRequest[];
  }>;
}

/** One requested topic, by name whatever the version; `name` undefined = an unknown topic id. */
interface WantedTopic {
  name: string | undefined;
  topicId: string | undefined;
  partitions: FetchPartitionRequest[];
}

interface PartitionData {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: never[];
  preferredReadReplica: number;
  records: Buffer;
  divergingEpoch?: { epoch: number; endOffset: number };
  currentLeader?: LeaderHint;
}

interface TopicData {
  topic?: string;
  topicId?: string;
  partitions: PartitionData[];
}

interface Attempt {
  responses: TopicData[];
  bytes: number;
  anyError: boolean;
}

/** An empty `records` field. Kafka answers an errored partition with empty records, never null:
 * librdkafka rejects a whole response holding a null one (MessageSetSize -1). */
const EMPTY: Buffer = Buffer.alloc(0);

function partitionError(partitionIndex: number, errorCode: number, log?: ReplicatedLog): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: log?.highWatermark ?? -1,
    lastStableOffset: log?.highWatermark ?? -1,
    logStartOffset: log?.logStartOffset ?? -1,
    abortedTransactions: [],
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

/**
 * Reads every requested partition once: whole batches from `fetchOffset` below the high
 * watermark, each partition up to `partitionMaxBytes`, the response up to `maxBytes` (the first
 * batch always whole, KIP-74). No copies: the stored bytes go to the socket as they are.
 */
async function attemptFetch(
  broker: BrokerContext,
  request: FetchRequest,
  wanted: WantedTopic[],
): Promise<Attempt> {
  const state = { budget: request.maxBytes ?? Number.MAX_SAFE_INTEGER, bytes: 0, anyError: false };
  const responses: Attempt['responses'] = [];
  // Partitions are read one after another: each one's byte budget depends on the ones before.
  for (const { name, topicId, partitions } of wanted) {
    const out: PartitionData[] = [];
    responses.push(topicId === undefined ? { topic: name, partitions: out } : { topicId, partitions: out });
    for (const partition of partitions) {
      if (name === undefined) {
        state.anyError = true;
        out.push(partitionError(partition.partition, ErrorCode.UNKNOWN_TOPIC_ID));
      } else {
        out.push(await fetchPartition(broker, name, partition, state, request.rackId));
      }
    }
  }
  return { responses, bytes: state.bytes, anyError: state.anyError };
}

async function fetchPartition(
  broker: BrokerContext,
  topic: string,
  wanted: FetchPartitionRequest,
  state: { budget: number; bytes: number; anyError: boolean },
  rackId: string | undefined,
): Promise<PartitionData> {
  const { partition, fetchOffset, partitionMaxBytes } = wanted;
  // The leader, or a follower when follower reads are on (src/broker/follower-read.ts).
  const target = await fetchTarget(broker, topic, partition, fetchOffset, rackId);
  const { log, errorCode, preferredReadReplica } = target;
  if (log === undefined || errorCode !== ErrorCode.NONE) {
    state.anyError = true;
    return withLeaderHint(broker, topic, partitionError(partition, errorCode));
  }
  // KIP-392: the client reads from a replica in its rack from now on. Answered at once, like an
  // error: parked, the redirect would hold the client for maxWaitMs.
  if (preferredReadReplica >= 0) {
    state.anyError = true;
    return { ...partitionError(partition, ErrorCode.NONE, log), preferredReadReplica };
  }
  const epochError = leaderEpochError(wanted.currentLeaderEpoch, log);
  if (epochError !== ErrorCode.NONE) {
    state.anyError = true;
    return withLeaderHint(broker, topic, partitionError(partition, epochError, log));
  }
  const lastFetchedEpoch = wanted.lastFetchedEpoch ?? -1;
  if (lastFetchedEpoch >= 0) {
    // v12+ divergence check (KIP-595 style, as Kafka's leader does): the fetcher's last batch
    // is of `lastFetchedEpoch`; if our log ends that epoch before `fetchOffset`, or does not
    // have it, the fetcher must truncate to the end we report, and gets no records.
    if (!log.committedInOwnTerm) {
      // A new leader's term history is not final before its first commit (see OffsetForLeaderEpoch).
      state.anyError = true;
      return withLeaderHint(broker, topic, partitionError(partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, log));
    }
    const end = log.endOffsetForEpoch(lastFetchedEpoch);
    if (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset) {
      state.anyError = true;
      return {
        ...partitionError(partition, ErrorCode.NONE, log),
        divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset },
      };
    }
  }
  // Out of range only outside [log start, log end]: an offset between the high watermark and
  // the log end is in the log, just not committed yet (a new leader's watermark can lag).
  if (
    fetchOffset < log.logStartOffset ||
    (fetchOffset > log.highWatermark && fetchOffset > (await log.logEndOffset()))
  ) {
    state.anyError = true;
    return partitionError(partition, ErrorCode.OFFSET_OUT_OF_RANGE, log);
  }
  let records: Buffer = EMPTY;
  if (state.budget > 0 && partitionMaxBytes > 0 && fetchOffset < log.highWatermark) {
    records = await log.read(kafkaOffset(fetchOffset), Math.min(partitionMaxBytes, state.budget));
    // Only the response's first batch may exceed maxBytes (KIP-74).
    if (state.bytes > 0 && records.length > state.budget) records = EMPTY;
    state.budget -= records.length;
    state.bytes += records.length;
  }
  return {
    partitionIndex: partition,
    errorCode: ErrorCode.NONE,
    highWatermark: log.highWatermark,
    lastStableOffset: log.highWatermark,
    logStartOffset: log.logStartOffset,
    abortedTransactions: [],
    preferredReadReplica: -1,
    records,
  };
}

/** KIP-951: a NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH partition names the leader now. */
function withLeaderHint(broker: BrokerContext, topic: string, data: PartitionData): PartitionData {
  if (!wantsLeaderHint(data.errorCode)) return data;
  const hint = leaderHint(broker, topic, data.partitionIndex);
  return hint === undefined ? data : { ...data, currentLeader: hint };
}

function body(broker: BrokerContext, attempt: Attempt, plan: SessionPlan = SESSIONLESS): object {
  const responses = plan.session === undefined ? attempt.responses : sessionResponses(attempt, plan);
  const hints: LeaderHint[] = [];
  for (const topic of responses)
    for (const partition of topic.partitions)
      if (partition.currentLeader) hints.push(partition.currentLeader);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: plan.session?.id ?? 0,
    responses,
    // v16+: where the hinted leaders are (ignored by the encoder below v16).
    nodeEndpoints: hints.length === 0 ? [] : endpointsOf(broker, hints),
  };
}

// ---------------------------------------------------------------------------------------------
// KIP-227 fetch sessions.

interface SessionPlan {
  /** What to read: the request's partitions, or an incremental session's whole set. */
  wanted?: WantedTopic[];
  session?: FetchSession;
  /** Answer only the partitions with something new. */
  incremental: boolean;
  /** A session error (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH). */
  errorCode?: number;
}

const SESSIONLESS: SessionPlan = { incremental: false };
const sessionCaches = new WeakMap<BrokerContext, FetchSessionCache>();

function sessionsOf(broker: BrokerContext): FetchSessionCache {
  let cache = sessionCaches.get(broker);
  if (cache === undefined) {
    cache = new FetchSessionCache(MAX_FETCH_SESSIONS);
    sessionCaches.set(broker, cache);
  }
  return cache;
}

/** The topic as the client names it: its id from v13, else its name. */
function clientTopic(topic: WantedTopic): string {
  return topic.topicId ?? topic.name ?? '';
}

function remember(session: FetchSession, wanted: WantedTopic[]): void {
  for (const topic of wanted)
    for (const partition of topic.partitions) {
      const key = partitionKey(clientTopic(topic), partition.partition);
      const known = session.partitions.get(key);
      session.partitions.set(key, {
        name: topic.name,
        topicId: topic.topicId,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        currentLeaderEpoch: partition.currentLeaderEpoch ?? -1,
        lastFetchedEpoch: partition.lastFetchedEpoch ?? -1,
        answeredHighWatermark: known?.answeredHighWatermark ?? -2,
        answeredLogStartOffset: known?.answeredLogStartOffset ?? -2,
      });
    }
}

/** A session's partitions as topics to read, in the order they were added. */
function sessionTopics(session: FetchSession): WantedTopic[] {
  const byTopic = new Map<string, WantedTopic>();
  for (const entry of session.partitions.values()) {
    const key = entry.topicId ?? entry.name ?? '';
    let topic = byTopic.get(key);
    if (topic === undefined) {
      topic = { name: entry.name, topicId: entry.topicId, partitions: [] };
      byTopic.set(key, topic);
    }
    topic.partitions.push({
      partition: entry.partition,
      fetchOffset: entry.fetchOffset,
      partitionMaxBytes: entry.partitionMaxBytes,
      currentLeaderEpoch: entry.currentLeaderEpoch,
      lastFetchedEpoch: entry.lastFetchedEpoch,
    });
  }
  return [...byTopic.values()];
}

/**
 * What a request means for sessions: sessionless (id 0, epoch -1, or before v7), opening one
 * (id 0, epoch 0: a full fetch whose partitions the session keeps), closing one (id, epoch -1:
 * then sessionless), or an incremental fetch (id, its next epoch: the request's partitions are
 * added or updated, the forgotten ones dropped, and the whole set is read).
 */
function planSession(
  broker: BrokerContext,
  request: FetchRequest,
  apiVersion: number,
  wanted: WantedTopic[],
): SessionPlan {
  if (apiVersion < SESSIONS_FROM) return SESSIONLESS;
  const id = request.sessionId ?? 0;
  const epoch = request.sessionEpoch ?? -1;
  const cache = sessionsOf(broker);
  if (id === 0) {
    if (epoch === -1) return SESSIONLESS;
    if (epoch !== 0) return { incremental: false, errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    const session = cache.create();
    remember(session, wanted);
    return { session, incremental: false };
  }
  if (epoch === -1) {
    cache.remove(id);
    return SESSIONLESS;
  }
  const session = cache.use(id);
  if (session === undefined) return { incremental: false, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
  if (epoch !== session.nextEpoch)
    return { incremental: false, errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
  session.nextEpoch = epoch === MAX_SESSION_EPOCH ? 1 : epoch + 1;
  remember(session, wanted);
  for (const forgotten of request.forgottenTopicsData ?? []) {
    const topic = apiVersion >= TOPIC_IDS_FROM ? (forgotten.topicId ?? '') : (forgotten.topic ?? '');
    for (const partition of forgotten.partitions) session.partitions.delete(partitionKey(topic, partition));
  }
  return { wanted: sessionTopics(session), session, incremental: true };
}

/**
 * The answer of a session fetch: an incremental one keeps only the partitions with something
 * new for the client (records, an error, a diverging epoch, a moved high watermark or log
 * start); either way the session records what it was told.
 */
function sessionResponses(attempt: Attempt, plan: SessionPlan): TopicData[] {
  const session = plan.session!;
  const result: TopicData[] = [];
  for (const topic of attempt.responses) {
    const name = topic.topicId ?? topic.topic ?? '';
    const kept: PartitionData[] = [];
    for (const partition of topic.partitions) {
      const entry = session.partitions.get(partitionKey(name, partition.partitionIndex));
      const changed =
        entry === undefined ||
        partition.records.length > 0 ||
        partition.errorCode !== ErrorCode.NONE ||
        partition.divergingEpoch !== undefined ||
        partition.highWatermark !== entry.answeredHighWatermark ||
        partition.logStartOffset !== entry.answeredLogStartOffset;
      if (!changed && plan.incremental) continue;
      if (entry !== undefined) {
        entry.answeredHighWatermark = partition.highWatermark;
        entry.answeredLogStartOffset = partition.logStartOffset;
      }
      kept.push(partition);
    }
    if (kept.length > 0 || !plan.incremental) result.push({ ...topic, partitions: kept });
  }
  return result;
}

/** The requested topics by name: v13+ requests name them by id (UNKNOWN_TOPIC_ID if unknown). */
function wantedTopics(broker: BrokerContext, request: FetchRequest, apiVersion: number): WantedTopic[] {
  return request.topics.map(({ topic, topicId, partitions }) =>
    apiVersion >= TOPIC_IDS_FROM
      ? { name: topicNameOfId(broker, topicId), topicId: topicId ?? '', partitions }
      : { name: topic ?? '', topicId: undefined, partitions },
  );
}

/**
 * Fetch with long poll: answered at once when `minBytes` are available, an error occurred or
 * `maxWaitMs` is 0; otherwise parked in the purgatory until a high-watermark move of one of its
 * partitions makes `minBytes` available, or `maxWaitMs` passes.
 */
export const fetchHandler: Handler = {
  apiKey: ApiKey.Fetch,
  async handle(request: FetchRequest, { broker, header }) {
    const asked = wantedTopics(broker, request, header.apiVersion);
    const plan = planSession(broker, request, header.apiVersion, asked);
    if (plan.errorCode !== undefined)
      return { throttleTimeMs: 0, errorCode: plan.errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
    const wanted = plan.wanted ?? asked;
    const first = await attemptFetch(broker, request, wanted);
    const minBytes = Math.max(1, request.minBytes);
    if (first.bytes >= minBytes || first.anyError || request.maxWaitMs <= 0) return body(broker, first, plan);
    const logs: ReplicatedLog[] = [];
    for (const { name, partitions } of wanted) {
      if (name === undefined) continue;
      for (const { partition } of partitions) {
        const log = broker.topics.partition(name, partition)?.log;
        if (log !== undefined) logs.push(log);
      }
    }
    if (logs.length === 0) return body(broker, first, plan);
    let satisfied: Attempt | null = null;
    await broker.purgatory.wait(logs, request.maxWaitMs, async () => {
      const attempt = await attemptFetch(broker, request, wanted);
      if (attempt.bytes < minBytes && !attempt.anyError) return false;
      satisfied = attempt;
      return true;
    });
    // On expiry (or shutdown) read once more: whatever is committed by now goes out.
    return body(broker, satisfied ?? (await attemptFetch(broker, request, wanted)), plan);
  },
  errorResponse: (request: FetchRequest, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    sessionId: 0,
    responses: request.topics.map(({ topic, topicId, partitions }) => ({
      topic,
      topicId,
      partitions: partitions.map(({ partition }) => partitionError(partition, errorCode)),
    })),
  }),
};
