import type { BrokerConfig, InitialClusterMember } from './types.js';

/**
 * Most voters the controller group starts with (DESIGN decision 7: 1, 3 or 5). Five voters
 * survive two failures; more would slow every metadata commit for little gain, so further
 * founding members follow the controller as learners.
 */
export const CONTROLLER_VOTERS_MAX = 5;

/**
 * How many of `memberCount` founding members vote in the controller group: the largest odd
 * number not above `memberCount` and `CONTROLLER_VOTERS_MAX`. An even count tolerates no more
 * failures than the odd count below it and needs a larger quorum (2 voters stop when either
 * fails; 1 voter only when that one does), so 2 members give 1 voter and 4 give 3.
 */
export function controllerVoterCount(memberCount: number): number {
  if (memberCount <= 0) return 0;
  const capped = Math.min(memberCount, CONTROLLER_VOTERS_MAX);
  return capped % 2 === 1 ? capped : capped - 1;
}

type MembershipFields = Pick<BrokerConfig, 'brokerId' | 'initialCluster' | 'joinAddress'>;

/** The founding members' ids in ascending order; a cluster of one when none are listed. */
function foundingMemberIds(config: MembershipFields): number[] {
  if (config.joinAddress !== null) return [];
  if (config.initialCluster.length === 0) return [config.brokerId];
  return config.initialCluster.map((member) => member.brokerId).sort((a, b) => a - b);
}

/**
 * The controller group's initial voters: the lowest broker ids of `initial_cluster`
 * (`controllerVoterCount` of them), or this broker alone when no list is given (a cluster of
 * one is the same code path with one member). Empty for a broker that joins a running cluster:
 * it learns the membership from the controller.
 */
export function controllerVoters(config: MembershipFields): number[] {
  const ids = foundingMemberIds(config);
  return ids.slice(0, controllerVoterCount(ids.length));
}

/** The founding members that follow the controller group as learners (the rest of the list). */
export function controllerLearners(config: MembershipFields): number[] {
  const ids = foundingMemberIds(config);
  return ids.slice(controllerVoterCount(ids.length));
}

/**
 * A warning for a member list whose size is even (2 or 4), naming who votes; undefined when the
 * size needs none. Above five members learners are the design, not a surprise.
 */
export function controllerSizeWarning(config: MembershipFields): string | undefined {
  const count = config.initialCluster.length;
  if (count !== 2 && count !== 4) return undefined;
  const voters = controllerVoters(config);
  const learners = controllerLearners(config);
  return (
    `initial_cluster lists ${count} brokers: the controller's voters are ${voters.join(', ')} ` +
    `(an odd count survives as many failures with a smaller quorum) and ${learners.join(', ')} ` +
    `${learners.length === 1 ? 'follows it as a learner' : 'follow it as learners'}`
  );
}

/** Raft ticks in the election timeout (whole ticks; `election_timeout` ≥ 3 ticks is enforced). */
export function electionTicks(config: Pick<BrokerConfig, 'electionTimeoutMs' | 'raftTickMs'>): number {
  return Math.floor(config.electionTimeoutMs / config.raftTickMs);
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The canonical text of a member list: `id=host:port` sorted by id, host names in lower case,
 * joined by commas. Two lists naming the same members the same way give the same text, however
 * they were written (order, `broker1` or `1`, case), which makes it an input of the cluster id.
 */
export function normaliseInitialCluster(members: readonly InitialClusterMember[]): string {
  return [...members]
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((member) => `${member.brokerId}=${formatHostPort(member.raftHost.toLowerCase(), member.raftPort)}`)
    .join(',');
}
