/**
 * Parsers for the value forms a configuration may use. Every parser takes what a JSON file, an
 * environment variable or a CLI flag can hold (`unknown`: a string, a number, a boolean) and
 * returns the typed value, or throws `ValueError` whose message says what was expected; the
 * loader adds the key and the source.
 */

import type { InitialClusterMember } from './types.js';

/** A value that does not have the expected form; the message is the reason a user reads. */
export class ValueError extends Error {
  override name = 'ValueError';
}

function show(raw: unknown): string {
  return typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
}

/** A whole number written as a JSON number or as a string of digits (with an optional sign). */
export function parseInteger(raw: unknown): number {
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw)) return raw;
    throw new ValueError(`${show(raw)} is not a whole number`);
  }
  if (typeof raw === 'string' && /^\s*[-+]?\d+\s*$/.test(raw)) {
    const value = Number(raw);
    if (Number.isSafeInteger(value)) return value;
  }
  throw new ValueError(`${show(raw)} is not a whole number`);
}

const booleanWords = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

/** `true`/`false`, or (from text) true/false, 1/0, yes/no, on/off in any case. */
export function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const word = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim().toLowerCase() : '';
  const value = booleanWords.get(word);
  if (value === undefined) throw new ValueError(`${show(raw)} is not a boolean (use true or false)`);
  return value;
}

/**
 * A count without a unit (milliseconds, bytes) written as a number or digits: returned if it is
 * zero or more, or -1 where `minusOne` names what -1 means; undefined if `raw` has a unit.
 */
function parsePlainCount(raw: unknown, minusOne: string | null): number | undefined {
  if (typeof raw !== 'number' && !(typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw))) return undefined;
  const value = parseInteger(raw);
  if (value >= 0 || (minusOne !== null && value === -1)) return value;
  throw new ValueError(
    `${show(raw)} is negative${minusOne !== null ? ` (only -1, "${minusOne}", is allowed)` : ''}`,
  );
}

const durationUnitsMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A duration in milliseconds: a plain number means milliseconds; text is one or more
 * `<number><unit>` parts as Go writes durations (`"168h"`, `"5s"`, `"1h30m"`, `"100ms"`,
 * `"1.5h"`), plus `d` for days (`"7d"`). `-1` passes through when `allowForever` (it means
 * "never").
 */
export function parseDuration(raw: unknown, options: { allowForever?: boolean } = {}): number {
  const plain = parsePlainCount(raw, options.allowForever === true ? 'forever' : null);
  if (plain !== undefined) return plain;
  if (typeof raw === 'string') {
    const text = raw.trim();
    const part = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/gy;
    let totalMs = 0;
    let position = 0;
    while (position < text.length) {
      part.lastIndex = position;
      const match = part.exec(text);
      if (match === null) break;
      totalMs += Number(match[1]) * durationUnitsMs[match[2]!]!;
      position = part.lastIndex;
    }
    if (text.length > 0 && position === text.length) {
      const rounded = Math.round(totalMs);
      if (Math.abs(rounded - totalMs) > 1e-6) {
        throw new ValueError(`${show(raw)} is not a whole number of milliseconds`);
      }
      if (!Number.isSafeInteger(rounded)) throw new ValueError(`${show(raw)} is too long`);
      return rounded;
    }
  }
  throw new ValueError(
    `${show(raw)} is not a duration (use milliseconds, or a number with a unit: 100ms, 5s, 1h30m, 168h, 7d)`,
  );
}

const sizeUnitsBytes: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * A size in bytes: a plain number means bytes; text is `<number><unit>` with SI units (KB, MB,
 * GB, TB = powers of 1000) or IEC units (KiB, MiB, GiB, TiB = powers of 1024), any case, an
 * optional space (`"100MB"`, `"1 GiB"`). `-1` passes through when `allowUnlimited`.
 */
export function parseSize(raw: unknown, options: { allowUnlimited?: boolean } = {}): number {
  const plain = parsePlainCount(raw, options.allowUnlimited === true ? 'no limit' : null);
  if (plain !== undefined) return plain;
  if (typeof raw === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(raw);
    const unitBytes = match ? sizeUnitsBytes[match[2]!.toLowerCase()] : undefined;
    if (match && unitBytes !== undefined) {
      const bytes = Number(match[1]) * unitBytes;
      if (!Number.isInteger(bytes)) throw new ValueError(`${show(raw)} is not a whole number of bytes`);
      if (!Number.isSafeInteger(bytes)) throw new ValueError(`${show(raw)} is too large`);
      return bytes;
    }
  }
  throw new ValueError(
    `${show(raw)} is not a size (use bytes, or a number with a unit: 512KiB, 100MB, 1GiB)`,
  );
}

/** One of `choices`, compared case-insensitively, returned as written in `choices`. */
export function parseChoice<T extends string>(raw: unknown, choices: readonly T[]): T {
  if (typeof raw === 'string') {
    const found = choices.find((choice) => choice === raw.trim().toLowerCase());
    if (found !== undefined) return found;
  }
  throw new ValueError(`${show(raw)} is not one of ${choices.join(', ')}`);
}

/** A non-empty string (surrounding whitespace removed). */
export function parseText(raw: unknown): string {
  if (typeof raw === 'string' && raw.trim().length > 0) return raw.trim();
  throw new ValueError(`${show(raw)} is not a non-empty string`);
}

/** A TCP port 0–65535 (0 asks the OS for a free port); the original go-queue writes ports as strings. */
export function parsePort(raw: unknown): number {
  const port = parseInteger(raw);
  if (port < 0 || port > 65535) throw new ValueError(`${port} is not a port (0 to 65535)`);
  return port;
}

/** A host name or IP address: no whitespace, slashes or brackets left over. */
export function parseHost(raw: unknown): string {
  const host = parseText(raw);
  if (/[\s/[\]]/.test(host) || (host.includes(':') && !isIpv6(host))) {
    throw new ValueError(`${show(raw)} is not a host name or IP address`);
  }
  return host;
}

function isIpv6(host: string): boolean {
  return /^[0-9a-fA-F:.]+$/.test(host) && host.includes(':');
}

/** `host:port`, `[ipv6]:port`, or `:port` (host 0.0.0.0, every interface). */
export function parseAddress(raw: unknown): { host: string; port: number } {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (match === null) {
    throw new ValueError(`${show(raw)} is not an address (use host:port, e.g. 127.0.0.1:9092)`);
  }
  const bracketed = match[1];
  if (bracketed !== undefined && !isIpv6(bracketed)) {
    throw new ValueError(
      `${show(raw)} has ${JSON.stringify(bracketed)} in brackets, which is not an IPv6 address`,
    );
  }
  const host = bracketed ?? (match[2] === '' ? '0.0.0.0' : parseHost(match[2]));
  return { host, port: parsePort(match[3]) };
}

/**
 * A broker id: a whole number 0 to 2^31-1 (Kafka ids are int32). The original go-queue names brokers
 * `broker1`, `broker2`, …; that form is read as its number.
 */
export function parseBrokerId(raw: unknown): number {
  const namedForm = typeof raw === 'string' ? /^\s*broker-?(\d+)\s*$/i.exec(raw) : null;
  let id: number;
  try {
    id = parseInteger(namedForm ? namedForm[1] : raw);
  } catch {
    throw new ValueError(
      `${show(raw)} is not a broker id (a whole number, e.g. 1; "broker1" also reads as 1)`,
    );
  }
  if (id < 0 || id > 2 ** 31 - 1) throw new ValueError(`${id} is not a broker id (0 to 2147483647)`);
  return id;
}

/**
 * Initial cluster members, each `id=host:port` (the member's Raft address; the id in either of
 * `parseBrokerId`'s forms): `"1=host:port,2=host:port"`, or (from a JSON file) an array of such
 * strings or an object `{ "broker1": "host:port", … }`. An empty string, array or object means
 * none. Rejects, naming the entry: a malformed entry, an id or an address listed twice, and port
 * 0 in a list of several (the other members could not dial it).
 */
export function parseInitialCluster(raw: unknown): InitialClusterMember[] {
  const entries = initialClusterEntries(raw);
  const members = entries.map((entry) => parseMember(entry));
  const byId = new Map<number, string>();
  const byAddress = new Map<string, string>();
  members.forEach((member, i) => {
    const entry = entries[i]!;
    const sameId = byId.get(member.brokerId);
    if (sameId !== undefined) {
      throw new ValueError(`broker ${member.brokerId} is listed twice (${show(sameId)} and ${show(entry)})`);
    }
    byId.set(member.brokerId, entry);
    const address = `${member.raftHost.toLowerCase()}:${member.raftPort}`;
    const sameAddress = byAddress.get(address);
    if (sameAddress !== undefined) {
      throw new ValueError(
        `${show(sameAddress)} and ${show(entry)} give the same Raft address: every member needs its own`,
      );
    }
    byAddress.set(address, entry);
    if (member.raftPort === 0 && entries.length > 1) {
      throw new ValueError(`entry ${show(entry)} has port 0, which the other members cannot dial`);
    }
  });
  return members;
}

/** The `id=host:port` texts of a member list in any accepted form, in the order given. */
function initialClusterEntries(raw: unknown): string[] {
  const usage = 'use "1=host:port,2=host:port"';
  if (typeof raw === 'string') {
    return raw
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  }
  if (Array.isArray(raw)) {
    return raw.map((entry) => {
      if (typeof entry !== 'string') {
        throw new ValueError(`entry ${show(entry)} is not a string "id=host:port" (${usage})`);
      }
      return entry.trim();
    });
  }
  if (typeof raw === 'object' && raw !== null) {
    return Object.entries(raw).map(([id, address]) => {
      if (typeof address !== 'string') {
        throw new ValueError(`entry ${show(id)}: ${show(address)} is not a "host:port" string`);
      }
      return `${id.trim()}=${address.trim()}`;
    });
  }
  throw new ValueError(
    `${show(raw)} is not a member list (${usage}, or in a file ["broker1=host:port", …] or { "broker1": "host:port" })`,
  );
}

function parseMember(entry: string): InitialClusterMember {
  const equals = entry.indexOf('=');
  if (equals < 0) {
    throw new ValueError(`entry ${show(entry)} is not id=host:port (e.g. 1=127.0.0.1:7001)`);
  }
  try {
    const brokerId = parseBrokerId(entry.slice(0, equals));
    const { host, port } = parseAddress(entry.slice(equals + 1));
    return { brokerId, raftHost: host, raftPort: port };
  } catch (error) {
    if (!(error instanceof ValueError)) throw error;
    throw new ValueError(`entry ${show(entry)}: ${error.message}`);
  }
}

/**
 * A short free-form name (a rack, a cluster token): 1 to `maxLength` printable characters with
 * no surrounding whitespace.
 */
export function parseLabel(raw: unknown, maxLength: number): string {
  const text = parseText(raw);
  if (text.length > maxLength) throw new ValueError(`${show(raw)} is longer than ${maxLength} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new ValueError(`${show(raw)} contains control characters`);
  return text;
}
