/**
 * Interaction environment for scripted Raft tests (__test__/raft/testdata/*.txt): a handful of
 * RawNodes, their durable storage, and a message queue the script delivers by hand.
 * Commands (arguments in brackets are optional):
 *
 *   add-nodes N [voters=1,2,3] [learners=4] [pre-vote=true] [check-quorum=true]
 *             [election-ticks=10] [heartbeat-ticks=1] [max-inflight=256] [max-message-bytes=N]
 *   campaign ID                      start an election at ID
 *   tick ID [times=N]                tick ID N times (default 1)
 *   tick-election ID                 tick until ID's randomised election timeout fires
 *   propose ID DATA                  propose DATA (utf8) at ID
 *   propose-conf-change ID add-voter|add-learner|remove NODE
 *   transfer-leadership from=ID to=ID
 *   read-index ID CONTEXT
 *   process-ready [ID...]            handle one Ready of each node (persist, queue, apply)
 *   deliver-msgs [ID...] [drop=true] deliver (or drop) queued messages to the nodes
 *   stabilize [ID...]                process readies and deliver until nothing moves
 *   isolate ID / heal                cut ID off from everyone / reconnect all
 *   compact ID                       ID snapshots its state at its applied index, dropping the log
 *   restart ID                       crash ID (unpersisted state is lost) and start it again
 *   wipe ID                          delete ID's replica and start an empty one with the same id
 *                                    (a removed replica deleted, later added back: it joins empty)
 *   election-timer ID                ticks since ID's election timer last restarted, and when it fires
 *   raft-log ID / raft-state / status ID / applied ID
 */
import type { NodeId } from '../lib/ids.js';
import { logIndex, nodeId } from '../lib/ids.js';
import { Prng } from '../lib/prng.js';
import { type ConfChange, ConfChangeType, decodeConfChange } from '../raft/conf-change.js';
import type { TestOnlyDefect } from '../raft/raft.js';
import { RawNode, type Ready } from '../raft/raw-node.js';
import { MemoryRaftStorage } from '../raft/storage.js';
import { type Entry, EntryType, type Message, MessageType } from '../raft/types.js';
import type { Command } from './datadriven.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function formatEntry(entry: Entry): string {
  let body: string;
  if (entry.type === EntryType.Normal) body = JSON.stringify(decoder.decode(entry.data));
  else if (entry.type === EntryType.Noop) body = 'noop';
  else {
    const change = decodeConfChange(entry.data);
    body = `${ConfChangeType[change.type]} ${change.node}`;
  }
  return `${entry.term}/${entry.index} ${body}`;
}

export function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${m.type} term=${m.term}`];
  switch (m.type) {
    case MessageType.Append:
      parts.push(`log=${m.logTerm}/${m.index} commit=${m.commit}`);
      if (m.entries.length > 0) parts.push(`entries=[${m.entries.map(formatEntry).join(', ')}]`);
      break;
    case MessageType.AppendResponse:
      parts.push(`index=${m.index}`);
      if (m.reject) parts.push(`rejected hint=${m.logTerm}/${m.rejectHint}`);
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      parts.push(`last=${m.logTerm}/${m.index}`);
      if (m.context) parts.push('transfer');
      break;
    case MessageType.VoteResponse:
    case MessageType.PreVoteResponse:
      parts.push(m.reject ? 'rejected' : 'granted');
      break;
    case MessageType.Heartbeat:
      parts.push(`commit=${m.commit}`);
      break;
    case MessageType.Snapshot: {
      const meta = m.snapshot!.metadata;
      parts.push(`snapshot=${meta.term}/${meta.index} voters=[${meta.confState.voters}]`);
      if (meta.confState.learners.length > 0) parts.push(`learners=[${meta.confState.learners}]`);
      if (m.index > 0) parts.push(`added-at=${m.logTerm}/${m.index}`);
      break;
    }
    case MessageType.ReadIndexResponse:
      parts.push(`index=${m.index}`);
      break;
  }
  if (m.context && m.type !== MessageType.Vote && m.type !== MessageType.PreVote)
    parts.push(`context=${decoder.decode(m.context)}`);
  return parts.join(' ');
}

interface Node {
  rawNode: RawNode;
  storage: MemoryRaftStorage;
  options: ConstructorParameters<typeof RawNode>[0];
  /** Normal entries applied, as strings (the "state machine"). */
  applied: string[];
}

export class InteractionEnv {
  private readonly nodes = new Map<NodeId, Node>();
  private queue: Message[] = [];
  private readonly isolated = new Set<NodeId>();
  private readonly prng = new Prng(1);

  /** `testOnlyDefects` plants fixed defects back into every node (to show a script catches them). */
  constructor(private readonly options: { testOnlyDefects?: ReadonlySet<TestOnlyDefect> } = {}) {}

  handle(command: Command): string {
    const id = () => {
      const value = Number(command.args[0]);
      const node = this.nodes.get(nodeId(value));
      if (!node) throw new Error(`no node ${command.args[0]}`);
      return nodeId(value);
    };
    const ids = () => (command.args.length > 0 ? command.args.map((a) => nodeId(Number(a))) : this.ids());
    switch (command.name) {
      case 'add-nodes':
        return this.addNodes(command);
      case 'campaign':
        this.node(id()).rawNode.campaign();
        return '';
      case 'tick': {
        const times = Number(command.options.get('times') ?? 1);
        const target = id();
        for (let i = 0; i < times; i++) this.node(target).rawNode.tick();
        return '';
      }
      case 'tick-election': {
        const raft = this.node(id()).rawNode.raft;
        for (let i = 0; i < 3 * raft.electionTicks && raft.messages.length === 0; i++) raft.tick();
        return '';
      }
      case 'election-timer': {
        const raft = this.node(id()).rawNode.raft;
        return `elapsed=${raft.electionElapsed} timeout=${raft.electionTimeoutTicks}`;
      }
      case 'tick-heartbeat': {
        const raft = this.node(id()).rawNode.raft;
        for (let i = 0; i < raft.heartbeatTicks; i++) raft.tick();
        return '';
      }
      case 'propose': {
        const result = this.node(id()).rawNode.propose(encoder.encode(command.args[1] ?? ''));
        return `proposed at ${result.term}/${result.index}`;
      }
      case 'propose-conf-change': {
        const types: Record<string, ConfChangeType> = {
          'add-voter': ConfChangeType.AddVoter,
          'add-learner': ConfChangeType.AddLearner,
          remove: ConfChangeType.Remove,
        };
        const type = types[command.args[1] ?? ''];
        if (type === undefined) throw new Error(`unknown change ${command.args[1]}`);
        const change: ConfChange = { type, node: nodeId(Number(command.args[2])) };
        const result = this.node(id()).rawNode.proposeConfChange(change);
        return `proposed at ${result.term}/${result.index}`;
      }
      case 'transfer-leadership': {
        const from = nodeId(Number(command.options.get('from')));
        const to = nodeId(Number(command.options.get('to')));
        this.node(from).rawNode.transferLeadership(to);
        return '';
      }
      case 'read-index':
        this.node(id()).rawNode.readIndex(encoder.encode(command.args[1] ?? ''));
        return '';
      case 'process-ready':
        return ids()
          .map((n) => this.processReady(n))
          .filter((s) => s !== '')
          .join('\n');
      case 'deliver-msgs':
        return this.deliver(ids(), command.options.get('drop') === 'true');
      case 'stabilize':
        return this.stabilize(ids());
      case 'isolate':
        this.isolated.add(id());
        return '';
      case 'heal':
        this.isolated.clear();
        return '';
      case 'compact': {
        // The state machine can only image its current state: snapshot at the applied index.
        const node = this.node(id());
        const applied = node.rawNode.appliedIndex;
        const snapshot = node.storage.createSnapshot(
          applied,
          node.rawNode.confStateAt(applied),
          encoder.encode(node.applied.join(',')),
        );
        return `snapshot at ${snapshot.metadata.term}/${snapshot.metadata.index}`;
      }
      case 'restart':
        return this.restart(id());
      case 'wipe':
        return this.wipe(id());
      case 'raft-log':
        return this.raftLog(id());
      case 'raft-state':
        return this.ids()
          .map((n) => {
            const s = this.node(n).rawNode.status();
            const joining = this.node(n).rawNode.raft.isJoining() ? ' (joining)' : '';
            return `${n}: ${s.role} term=${s.term} leader=${s.leader} commit=${s.commit} applied=${s.applied} last=${s.lastIndex}${joining}${this.isolated.has(n) ? ' (isolated)' : ''}`;
          })
          .join('\n');
      case 'status':
        return this.status(id());
      case 'applied':
        return `[${this.node(id()).applied.join(', ')}]`;
      default:
        throw new Error(`unknown command ${command.name}`);
    }
  }

  private ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  private node(id: NodeId): Node {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  private addNodes(command: Command): string {
    const count = Number(command.args[0]);
    const first = this.nodes.size + 1;
    const list = (key: string, fallback: number[]) => {
      const value = command.options.get(key);
      if (value === undefined) return fallback.map(nodeId);
      return value === '' ? [] : value.split(',').map((v) => nodeId(Number(v)));
    };
    const created = Array.from({ length: count }, (_, i) => first + i);
    const voters = list('voters', created);
    const learners = list('learners', []);
    const flag = (key: string, fallback: boolean) =>
      (command.options.get(key) ?? String(fallback)) === 'true';
    const number = (key: string, fallback: number) => Number(command.options.get(key) ?? fallback);
    for (const n of created) {
      const storage = new MemoryRaftStorage({ voters, learners });
      const options = {
        id: nodeId(n),
        storage,
        prng: new Prng(this.prng.nextU32()),
        electionTicks: number('election-ticks', 10),
        heartbeatTicks: number('heartbeat-ticks', 1),
        preVote: flag('pre-vote', true),
        checkQuorum: flag('check-quorum', true),
        maxInflightMessages: number('max-inflight', 256),
        maxMessageBytes: number('max-message-bytes', 1024 * 1024),
        ...(this.options.testOnlyDefects ? { testOnlyDefects: this.options.testOnlyDefects } : {}),
      };
      this.nodes.set(nodeId(n), { rawNode: new RawNode(options), storage, options, applied: [] });
    }
    return created.map((n) => `node ${n}: voters=[${voters}] learners=[${learners}]`).join('\n');
  }

  /** Handles one Ready of `id` in the documented order; returns what happened. */
  private processReady(id: NodeId): string {
    const node = this.node(id);
    if (!node.rawNode.hasReady()) return '';
    const ready = node.rawNode.ready();
    const lines = [`> ${id} handling Ready`, ...describeReady(ready).map((l) => `  ${l}`)];
    // 1. persist
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    node.storage.append(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    // 2. send
    this.queue.push(...ready.messages);
    // 3. apply
    if (ready.snapshot) {
      const data = decoder.decode(ready.snapshot.data);
      node.applied = data === '' ? [] : data.split(',');
    }
    for (const entry of ready.committedEntries) {
      if (entry.type === EntryType.Normal) node.applied.push(decoder.decode(entry.data));
    }
    node.rawNode.advance();
    return lines.join('\n');
  }

  private deliver(ids: NodeId[], drop: boolean): string {
    const targets = new Set(ids);
    const lines: string[] = [];
    const batch = this.queue.filter((m) => targets.has(m.to));
    this.queue = this.queue.filter((m) => !targets.has(m.to));
    for (const m of batch) {
      const cut = this.isolated.has(m.from) || this.isolated.has(m.to) || !this.nodes.has(m.to);
      if (drop || cut) {
        lines.push(`dropped: ${formatMessage(m)}`);
        continue;
      }
      lines.push(formatMessage(m));
      try {
        this.node(m.to).rawNode.step(m);
      } catch (error) {
        lines.push(`  error: ${(error as Error).message}`);
      }
    }
    return lines.join('\n');
  }

  private stabilize(ids: NodeId[]): string {
    const out: string[] = [];
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const id of ids) {
        const ready = this.processReady(id);
        if (ready !== '') {
          out.push(ready);
          moved = true;
        }
      }
      for (const id of ids) {
        if (!this.queue.some((m) => m.to === id)) continue;
        out.push(`> ${id} receiving messages`);
        out.push(
          ...this.deliver([id], false)
            .split('\n')
            .map((l) => `  ${l}`),
        );
        moved = true;
      }
      if (!moved) return out.join('\n');
    }
    throw new Error('stabilize did not converge in 1000 rounds');
  }

  private restart(id: NodeId): string {
    const node = this.node(id);
    const snapshot = node.storage.snapshot();
    const data = decoder.decode(snapshot.data);
    node.applied = data === '' ? [] : data.split(',');
    node.rawNode = new RawNode({ ...node.options, applied: snapshot.metadata.index });
    this.queue = this.queue.filter((m) => m.to !== id);
    const state = node.storage.initialState().hardState;
    return `restarted ${id}: term=${state.term} vote=${state.vote} commit=${state.commit} last=${node.storage.lastIndex()}`;
  }

  /** The replica is deleted with its storage; an empty one (a joining node) starts in its place. */
  private wipe(id: NodeId): string {
    const node = this.node(id);
    node.storage = new MemoryRaftStorage();
    node.options = { ...node.options, storage: node.storage };
    node.applied = [];
    node.rawNode = new RawNode(node.options);
    this.queue = this.queue.filter((m) => m.to !== id);
    return `wiped ${id}: empty storage, no membership`;
  }

  private raftLog(id: NodeId): string {
    const { storage, rawNode } = this.node(id);
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    const lines: string[] = [];
    if (first > 1)
      lines.push(`snapshot ${storage.snapshot().metadata.term}/${storage.snapshot().metadata.index}`);
    if (last >= first) {
      for (const entry of storage.entries(first, logIndex(last + 1), Number.MAX_SAFE_INTEGER)) {
        lines.push(formatEntry(entry));
      }
    }
    lines.push(`commit=${rawNode.commitIndex}`);
    return lines.join('\n');
  }

  private status(id: NodeId): string {
    const s = this.node(id).rawNode.status();
    const lines = [
      `${s.id}: ${s.role} term=${s.term} vote=${s.vote} leader=${s.leader} commit=${s.commit} applied=${s.applied}`,
      `voters=[${s.confState.voters}] learners=[${s.confState.learners}]`,
    ];
    for (const p of s.progress ?? []) {
      const role = p.learner ? ' learner' : p.departing ? ' departing' : '';
      lines.push(`  ${p.id}: ${p.state} match=${p.match} next=${p.next}${role}`);
    }
    return lines.join('\n');
  }
}

function describeReady(ready: Ready): string[] {
  const lines: string[] = [];
  if (ready.softState) lines.push(`role=${ready.softState.role} leader=${ready.softState.leader}`);
  if (ready.hardState)
    lines.push(
      `hard state: term=${ready.hardState.term} vote=${ready.hardState.vote} commit=${ready.hardState.commit}`,
    );
  if (ready.snapshot) {
    const meta = ready.snapshot.metadata;
    const added = meta.confState.addedAt;
    lines.push(
      `snapshot: ${meta.term}/${meta.index} voters=[${meta.confState.voters}]` +
        (added ? ` added-at=${added.term}/${added.index}` : ''),
    );
  }
  if (ready.entries.length > 0) lines.push(`entries: ${ready.entries.map(formatEntry).join(', ')}`);
  if (ready.committedEntries.length > 0)
    lines.push(`committed: ${ready.committedEntries.map(formatEntry).join(', ')}`);
  for (const rs of ready.readStates)
    lines.push(`read state: index=${rs.index} context=${decoder.decode(rs.requestContext)}`);
  for (const m of ready.messages) lines.push(`send: ${formatMessage(m)}`);
  return lines;
}
