/**
 * Faults on the directed links of the simulated network: cuts and slowdowns. A link a→b is cut
 * while at least one active fault cuts it, so overlapping faults heal independently. Cuts are
 * one-way: "a does not hear b" and "b does not hear a" are separate faults, as on a real
 * network with a broken route or a firewall rule in one direction. A slow link (a congested
 * route) multiplies its delay; its messages still arrive.
 */
import type { NodeId } from '../../lib/ids.js';
import type { Prng } from '../../lib/prng.js';

/** The partition shapes the fault injector draws from. */
export const PARTITION_SHAPES = ['split', 'one-way-split', 'one-way-links', 'isolate', 'bridge'] as const;
export type PartitionShape = (typeof PARTITION_SHAPES)[number];

export interface Link {
  from: NodeId;
  to: NodeId;
}

export class LinkFaults {
  private readonly cuts = new Map<string, number>();
  /** Per link, the delay factors of the slowdowns in force. */
  private readonly slowdowns = new Map<string, number[]>();
  /** Bumped by `clear()`: heal functions of faults from before do nothing. */
  private generation = 0;

  isCut(from: NodeId, to: NodeId): boolean {
    return (this.cuts.get(`${from}>${to}`) ?? 0) > 0;
  }

  /** How much slower than usual link from→to is (1: not slowed; the worst slowdown wins). */
  delayFactor(from: NodeId, to: NodeId): number {
    const factors = this.slowdowns.get(`${from}>${to}`);
    return factors && factors.length > 0 ? Math.max(...factors) : 1;
  }

  /** Slows `links` down by `factor`; the returned function lifts exactly this slowdown (once). */
  slow(links: readonly Link[], factor: number): () => void {
    for (const { from, to } of links) {
      const key = `${from}>${to}`;
      const factors = this.slowdowns.get(key) ?? [];
      factors.push(factor);
      this.slowdowns.set(key, factors);
    }
    let lifted = false;
    const generation = this.generation;
    return () => {
      if (lifted || generation !== this.generation) return;
      lifted = true;
      for (const { from, to } of links) {
        const factors = this.slowdowns.get(`${from}>${to}`)!;
        factors.splice(factors.indexOf(factor), 1);
      }
    };
  }

  /**
   * Cuts `links`; the returned function restores exactly these cuts (once) and says whether it
   * did (false after `clear()` healed them already, or on a second call).
   */
  cut(links: readonly Link[]): () => boolean {
    for (const { from, to } of links) {
      const key = `${from}>${to}`;
      this.cuts.set(key, (this.cuts.get(key) ?? 0) + 1);
    }
    let healed = false;
    const generation = this.generation;
    return () => {
      if (healed || generation !== this.generation) return false;
      healed = true;
      for (const { from, to } of links) {
        const key = `${from}>${to}`;
        const count = (this.cuts.get(key) ?? 0) - 1;
        if (count > 0) this.cuts.set(key, count);
        else this.cuts.delete(key);
      }
      return true;
    };
  }

  /** Heals every fault at once (the end of the fault phase). */
  clear(): void {
    this.generation++;
    this.cuts.clear();
    this.slowdowns.clear();
  }
}

/** The links a slowdown hits: one directed link, or everything into or out of one node. */
export function slowLinks(prng: Prng, nodes: readonly NodeId[]): { links: Link[]; description: string } {
  const node = prng.pick(nodes);
  const others = nodes.filter((id) => id !== node);
  if (others.length === 0) return { links: [], description: 'nothing' };
  switch (prng.int(0, 2)) {
    case 0: {
      const to = prng.pick(others);
      return { links: [{ from: node, to }], description: `${node}>${to}` };
    }
    case 1:
      return { links: between([node], others), description: `everything from ${node}` };
    default:
      return { links: between(others, [node]), description: `everything to ${node}` };
  }
}

/** Splits `nodes` into two non-empty sides at random (all on one side when there is one node). */
function twoSides(prng: Prng, nodes: readonly NodeId[]): [NodeId[], NodeId[]] {
  const left: NodeId[] = [];
  const right: NodeId[] = [];
  for (const id of nodes) (prng.chance(0.5) ? left : right).push(id);
  if (left.length === 0 && right.length > 1) left.push(right.pop()!);
  if (right.length === 0 && left.length > 1) right.push(left.pop()!);
  return [left, right];
}

function between(from: readonly NodeId[], to: readonly NodeId[]): Link[] {
  const links: Link[] = [];
  for (const a of from) for (const b of to) if (a !== b) links.push({ from: a, to: b });
  return links;
}

/**
 * The directed links a partition of `shape` cuts, and a one-line description for traces:
 * - split: two sides, no traffic between them either way;
 * - one-way-split: two sides, the left hears the right but the right does not hear the left;
 * - one-way-links: a few single directed links (a does not hear b, b still hears a);
 * - isolate: one node hears everyone but nobody hears it, or the reverse;
 * - bridge: two sides that cannot talk except through one node both sides hear and reach.
 */
export function partitionLinks(
  prng: Prng,
  shape: PartitionShape,
  nodes: readonly NodeId[],
): { links: Link[]; description: string } {
  switch (shape) {
    case 'split': {
      const [left, right] = twoSides(prng, nodes);
      return {
        links: [...between(left, right), ...between(right, left)],
        description: `split {${left}} | {${right}}`,
      };
    }
    case 'one-way-split': {
      const [left, right] = twoSides(prng, nodes);
      return { links: between(left, right), description: `{${right}} does not hear {${left}}` };
    }
    case 'one-way-links': {
      const links: Link[] = [];
      const count = prng.int(1, Math.max(1, nodes.length - 1));
      for (let i = 0; i < count && nodes.length > 1; i++) {
        const from = prng.pick(nodes);
        const to = prng.pick(nodes.filter((id) => id !== from));
        links.push({ from, to });
      }
      return { links, description: `cut ${links.map((l) => `${l.from}>${l.to}`).join(' ')}` };
    }
    case 'isolate': {
      const node = prng.pick(nodes);
      const others = nodes.filter((id) => id !== node);
      return prng.chance(0.5)
        ? { links: between([node], others), description: `nobody hears ${node}` }
        : { links: between(others, [node]), description: `${node} hears nobody` };
    }
    case 'bridge': {
      const bridge = prng.pick(nodes);
      const [left, right] = twoSides(
        prng,
        nodes.filter((id) => id !== bridge),
      );
      return {
        links: [...between(left, right), ...between(right, left)],
        description: `bridge ${bridge} between {${left}} and {${right}}`,
      };
    }
  }
}
