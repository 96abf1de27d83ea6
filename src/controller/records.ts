/**
 * The controller group's log entries (DESIGN decision 7, section 6 "Controller records, not
 * closures"): every change to the cluster metadata is one typed record, proposed to the
 * controller Raft group and applied by every broker to its `ControllerState`.
 *
 *   record = version:u8 json
 *
 * `version` is RECORD_FORMAT_VERSION (3; versions 1 and 2 are still read); `json` is the record as UTF-8 JSON with exactly the
 * fields of its type. Decoding is strict: an unknown version, type or field, a missing field or a
 * value out of range throws `ControllerCodecError` naming the field, never anything else. Encoding
 * runs the same checks, so a malformed record is refused before it reaches the log. A broker
 * that meets a record of a newer format version stops on it instead of guessing (add a type or a
 * field only with a new version).
 */

export const RECORD_FORMAT_VERSION = 3;
/** Version 1 lacks the reassignment and decommission records; its records are still read. */
export const OLDEST_RECORD_FORMAT_VERSION = 1;
/** Version 3 added `byOperator` (an operator's placement) to the placement records. */
const BY_OPERATOR_FORMAT_VERSION = 3;

/** Broker ids are Kafka int32 and never negative. */
export const MAX_BROKER_ID = 0x7fff_ffff;
/** Partition group ids: 0 is the controller group; ids stay within int32, clear of the transport's
 * reserved channels at the top of u32. */
export const CONTROLLER_GROUP_ID = 0;
export const MAX_GROUP_ID = 0x7fff_ffff;
/** Kafka's replication factor is an int16. */
export const MAX_REPLICAS = 0x7fff;
/** Leader epochs are written into a batch's int32 `partitionLeaderEpoch`. */
export const MAX_LEADER_EPOCH = 0x7fff_ffff;
/** Limits on one record, so a corrupt length cannot make a broker allocate without bound. */
export const MAX_PARTITIONS_PER_RECORD = 1_000_000;
export const MAX_CONFIGS_PER_RECORD = 1024;
export const MAX_NAME_LENGTH = 249;
export const MAX_HOST_LENGTH = 255;
export const MAX_STRING_LENGTH = 65_536;

export interface Endpoint {
  host: string;
  port: number;
}

export interface PartitionAssignment {
  /** The partition's Raft group (>= 1; 0 is the controller group). */
  groupId: number;
  /** Voting replicas, preferred leader first. */
  replicas: number[];
}

export type ControllerRecord =
  | { type: 'init-cluster'; clusterId: string }
  | {
      type: 'register-broker';
      brokerId: number;
      raft: Endpoint;
      client: Endpoint;
      rack: string | null;
      incarnationId: string;
    }
  | { type: 'fence-broker'; brokerId: number }
  | { type: 'unfence-broker'; brokerId: number }
  | {
      type: 'create-topic';
      name: string;
      topicId: string;
      configs: Record<string, string>;
      replicationFactor: number;
      partitions: PartitionAssignment[];
      /** The assignments are an operator's (explicit in CreateTopics): balancing leaves them. */
      byOperator?: boolean;
    }
  | { type: 'delete-topic'; topicId: string }
  | { type: 'create-partitions'; topicId: string; partitions: PartitionAssignment[]; byOperator?: boolean }
  | {
      type: 'alter-configs';
      resource: 'topic' | 'broker';
      name: string;
      configs: Record<string, string | null>;
    }
  | { type: 'producer-id-block'; brokerId: number; firstProducerId: number; size: number }
  | { type: 'partition-replicas'; groupId: number; replicas: number[]; learners: number[] }
  | { type: 'partition-leaders'; leaders: Array<{ groupId: number; leader: number; leaderEpoch: number }> }
  | { type: 'preferred-leader'; groupId: number; preferred: number }
  /** Starts, changes or (with `target: []`) cancels moving a partition to `target` replicas;
   * `byOperator` when an operator asked for it (the Kafka API), not the controller itself. */
  | { type: 'partition-reassignment'; groupId: number; target: number[]; byOperator?: boolean }
  /** Marks a broker as leaving: no new replicas, its replicas move elsewhere. */
  | { type: 'broker-decommission'; brokerId: number; decommissioning: boolean };

export type ControllerRecordType = ControllerRecord['type'];

/** Bytes (or a value) that are not a valid controller record or snapshot. `field` names the part
 * that is wrong, as a path (`partitions[2].replicas[0]`). */
export class ControllerCodecError extends Error {
  override name = 'ControllerCodecError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(field === '' ? reason : `${field}: ${reason}`);
  }
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeRecord(record: ControllerRecord): Uint8Array {
  const checked = checkRecord(record, '');
  return withVersion(RECORD_FORMAT_VERSION, JSON.stringify(checked));
}

export function decodeRecord(bytes: Uint8Array): ControllerRecord {
  const value = parseVersionedJson(bytes, RECORD_FORMAT_VERSION, 'record', OLDEST_RECORD_FORMAT_VERSION);
  const record = checkRecord(value, '');
  if (bytes[0] === OLDEST_RECORD_FORMAT_VERSION && VERSION_2_TYPES.has(record.type))
    throw new ControllerCodecError('type', `record type ${record.type} needs format version 2`);
  if (bytes[0]! < BY_OPERATOR_FORMAT_VERSION && Object.hasOwn(value as object, 'byOperator'))
    throw new ControllerCodecError('byOperator', `needs format version ${BY_OPERATOR_FORMAT_VERSION}`);
  return record;
}

const VERSION_2_TYPES: ReadonlySet<string> = new Set<ControllerRecordType>([
  'partition-reassignment',
  'broker-decommission',
]);

/**
 * Checks `value` against the record schema and returns a fresh record holding only its fields, in
 * a fixed order (so equal records encode to equal bytes). Throws `ControllerCodecError`.
 */
export function checkRecord(value: unknown, path: string): ControllerRecord {
  const type = readType(value, path);
  const record = value as Record<string, unknown>;
  const at = (field: string): string => join(path, field);
  switch (type) {
    case 'init-cluster':
      exactFields(record, path, ['type', 'clusterId']);
      return { type, clusterId: checkString(record.clusterId, at('clusterId'), 1, MAX_NAME_LENGTH) };
    case 'register-broker':
      exactFields(record, path, ['type', 'brokerId', 'raft', 'client', 'rack', 'incarnationId']);
      return {
        type,
        brokerId: checkBrokerId(record.brokerId, at('brokerId')),
        raft: checkEndpoint(record.raft, at('raft')),
        client: checkEndpoint(record.client, at('client')),
        rack: record.rack === null ? null : checkString(record.rack, at('rack'), 1, MAX_NAME_LENGTH),
        incarnationId: checkString(record.incarnationId, at('incarnationId'), 1, MAX_NAME_LENGTH),
      };
    case 'fence-broker':
    case 'unfence-broker':
      exactFields(record, path, ['type', 'brokerId']);
      return { type, brokerId: checkBrokerId(record.brokerId, at('brokerId')) };
    case 'create-topic':
      exactFields(record, path, [
        ...['type', 'name', 'topicId', 'configs', 'replicationFactor', 'partitions'],
        ...byOperatorField(record),
      ]);
      return {
        type,
        name: checkString(record.name, at('name'), 1, MAX_NAME_LENGTH),
        topicId: checkTopicId(record.topicId, at('topicId')),
        configs: checkConfigs(record.configs, at('configs'), false) as Record<string, string>,
        replicationFactor: checkInteger(record.replicationFactor, at('replicationFactor'), 1, MAX_REPLICAS),
        partitions: checkAssignments(record.partitions, at('partitions')),
        ...checkByOperator(record, path),
      };
    case 'delete-topic':
      exactFields(record, path, ['type', 'topicId']);
      return { type, topicId: checkTopicId(record.topicId, at('topicId')) };
    case 'create-partitions':
      exactFields(record, path, ['type', 'topicId', 'partitions', ...byOperatorField(record)]);
      return {
        type,
        topicId: checkTopicId(record.topicId, at('topicId')),
        partitions: checkAssignments(record.partitions, at('partitions')),
        ...checkByOperator(record, path),
      };
    case 'alter-configs': {
      exactFields(record, path, ['type', 'resource', 'name', 'configs']);
      const resource = record.resource;
      if (resource !== 'topic' && resource !== 'broker') {
        throw new ControllerCodecError(at('resource'), `must be "topic" or "broker"; got ${show(resource)}`);
      }
      const name =
        resource === 'broker'
          ? checkBrokerResourceName(record.name, at('name'))
          : checkString(record.name, at('name'), 1, MAX_NAME_LENGTH);
      return { type, resource, name, configs: checkConfigs(record.configs, at('configs'), true) };
    }
    case 'producer-id-block': {
      exactFields(record, path, ['type', 'brokerId', 'firstProducerId', 'size']);
      const brokerId = checkBrokerId(record.brokerId, at('brokerId'));
      const firstProducerId = checkInteger(record.firstProducerId, at('firstProducerId'), 0, MAX_SAFE);
      const size = checkInteger(record.size, at('size'), 1, MAX_SAFE - firstProducerId);
      return { type, brokerId, firstProducerId, size };
    }
    case 'partition-replicas':
      exactFields(record, path, ['type', 'groupId', 'replicas', 'learners']);
      return {
        type,
        groupId: checkGroupId(record.groupId, at('groupId')),
        replicas: checkBrokerList(record.replicas, at('replicas'), 1),
        learners: checkBrokerList(record.learners, at('learners'), 0),
      };
    case 'partition-leaders': {
      exactFields(record, path, ['type', 'leaders']);
      const leaders = checkArray(record.leaders, at('leaders'), 1, MAX_PARTITIONS_PER_RECORD);
      return {
        type,
        leaders: leaders.map((item, index) => {
          const itemPath = `${at('leaders')}[${index}]`;
          const entry = checkObject(item, itemPath, ['groupId', 'leader', 'leaderEpoch']);
          return {
            groupId: checkGroupId(entry.groupId, join(itemPath, 'groupId')),
            leader: checkInteger(entry.leader, join(itemPath, 'leader'), -1, MAX_BROKER_ID),
            leaderEpoch: checkInteger(entry.leaderEpoch, join(itemPath, 'leaderEpoch'), -1, MAX_LEADER_EPOCH),
          };
        }),
      };
    }
    case 'preferred-leader':
      exactFields(record, path, ['type', 'groupId', 'preferred']);
      return {
        type,
        groupId: checkGroupId(record.groupId, at('groupId')),
        preferred: checkBrokerId(record.preferred, at('preferred')),
      };
    case 'partition-reassignment':
      exactFields(record, path, ['type', 'groupId', 'target', ...byOperatorField(record)]);
      return {
        type,
        groupId: checkGroupId(record.groupId, at('groupId')),
        target: checkBrokerList(record.target, at('target'), 0),
        ...checkByOperator(record, path),
      };
    case 'broker-decommission': {
      exactFields(record, path, ['type', 'brokerId', 'decommissioning']);
      if (typeof record.decommissioning !== 'boolean')
        throw new ControllerCodecError(at('decommissioning'), 'must be a boolean');
      return {
        type,
        brokerId: checkBrokerId(record.brokerId, at('brokerId')),
        decommissioning: record.decommissioning,
      };
    }
  }
}

/** `byOperator` is optional: present only in records that carry it. */
function byOperatorField(record: Record<string, unknown>): string[] {
  return Object.hasOwn(record, 'byOperator') ? ['byOperator'] : [];
}

/** `{ byOperator: true }` or `{}`: false is written as an absent field, so equal records encode to
 * equal bytes (and a record without an operator's placement reads in every version). */
function checkByOperator(record: Record<string, unknown>, path: string): { byOperator?: true } {
  if (!Object.hasOwn(record, 'byOperator')) return {};
  if (typeof record.byOperator !== 'boolean')
    throw new ControllerCodecError(join(path, 'byOperator'), 'must be a boolean');
  return record.byOperator ? { byOperator: true } : {};
}

const RECORD_TYPES: ReadonlySet<string> = new Set<ControllerRecordType>([
  'init-cluster',
  'register-broker',
  'fence-broker',
  'unfence-broker',
  'create-topic',
  'delete-topic',
  'create-partitions',
  'alter-configs',
  'producer-id-block',
  'partition-replicas',
  'partition-leaders',
  'preferred-leader',
  'partition-reassignment',
  'broker-decommission',
]);

/** Every record type, in the order of the union (tests cover each). */
export const CONTROLLER_RECORD_TYPES: readonly ControllerRecordType[] = [
  ...RECORD_TYPES,
] as ControllerRecordType[];

function readType(value: unknown, path: string): ControllerRecordType {
  if (!isPlainObject(value)) throw new ControllerCodecError(path, `must be an object; got ${show(value)}`);
  const type = value.type;
  if (typeof type !== 'string' || !RECORD_TYPES.has(type)) {
    throw new ControllerCodecError(join(path, 'type'), `unknown record type ${show(type)}`);
  }
  return type as ControllerRecordType;
}

// ---- shared checks (also used by the snapshot codec) ----

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export function join(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/** A short, bounded rendering of a bad value for an error message. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Requires exactly `fields` as own keys (a record of a newer shape is refused, not half-read). */
export function exactFields(value: Record<string, unknown>, path: string, fields: readonly string[]): void {
  for (const field of fields) {
    if (!Object.hasOwn(value, field)) throw new ControllerCodecError(join(path, field), 'is missing');
  }
  const keys = Object.keys(value);
  if (keys.length !== fields.length) {
    const unknown = keys.find((key) => !fields.includes(key));
    throw new ControllerCodecError(join(path, unknown ?? '?'), 'is not a known field');
  }
}

export function checkObject(
  value: unknown,
  path: string,
  fields: readonly string[],
): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ControllerCodecError(path, `must be an object; got ${show(value)}`);
  exactFields(value, path, fields);
  return value;
}

export function checkArray(value: unknown, path: string, minLength: number, maxLength: number): unknown[] {
  if (!Array.isArray(value)) throw new ControllerCodecError(path, `must be a list; got ${show(value)}`);
  if (value.length < minLength || value.length > maxLength) {
    throw new ControllerCodecError(path, `must hold ${minLength}..${maxLength} items; got ${value.length}`);
  }
  return value;
}

export function checkInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ControllerCodecError(path, `must be an integer in ${min}..${max}; got ${show(value)}`);
  }
  // -0 encodes as 0; normalise so a decoded record equals the original.
  return value === 0 ? 0 : value;
}

export function checkString(value: unknown, path: string, minLength: number, maxLength: number): string {
  if (typeof value !== 'string' || value.length < minLength || value.length > maxLength) {
    throw new ControllerCodecError(
      path,
      `must be a string of ${minLength}..${maxLength} characters; got ${show(value)}`,
    );
  }
  return value;
}

export function checkBrokerId(value: unknown, path: string): number {
  return checkInteger(value, path, 0, MAX_BROKER_ID);
}

export function checkGroupId(value: unknown, path: string): number {
  return checkInteger(value, path, CONTROLLER_GROUP_ID + 1, MAX_GROUP_ID);
}

/** Kafka topic ids are UUIDs; the nil UUID means "no id" in Kafka and is never a topic's. */
export function checkTopicId(value: unknown, path: string): string {
  if (typeof value !== 'string' || !UUID.test(value) || value === NIL_UUID) {
    throw new ControllerCodecError(path, `must be a lower-case, non-nil UUID; got ${show(value)}`);
  }
  return value;
}

/** A broker config resource is '' (the cluster-wide default of every broker) or one broker's id
 * in decimal, as in Kafka's DescribeConfigs/AlterConfigs. */
export function checkBrokerResourceName(value: unknown, path: string): string {
  if (value === '') return value;
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,9})$/.test(value) || Number(value) > MAX_BROKER_ID) {
    throw new ControllerCodecError(path, `must be '' or a broker id; got ${show(value)}`);
  }
  return value;
}

export function checkEndpoint(value: unknown, path: string): Endpoint {
  const endpoint = checkObject(value, path, ['host', 'port']);
  return {
    host: checkString(endpoint.host, join(path, 'host'), 1, MAX_HOST_LENGTH),
    port: checkInteger(endpoint.port, join(path, 'port'), 0, 0xffff),
  };
}

export function checkBrokerList(value: unknown, path: string, minLength: number): number[] {
  return checkArray(value, path, minLength, MAX_REPLICAS).map((item, index) =>
    checkBrokerId(item, `${path}[${index}]`),
  );
}

function checkAssignments(value: unknown, path: string): PartitionAssignment[] {
  return checkArray(value, path, 1, MAX_PARTITIONS_PER_RECORD).map((item, index) => {
    const itemPath = `${path}[${index}]`;
    const assignment = checkObject(item, itemPath, ['groupId', 'replicas']);
    return {
      groupId: checkGroupId(assignment.groupId, join(itemPath, 'groupId')),
      replicas: checkBrokerList(assignment.replicas, join(itemPath, 'replicas'), 1),
    };
  });
}

/**
 * A config map: names to string values (`allowNull`: null deletes the key). Built with
 * `Object.fromEntries`, which defines keys as own properties, so a key such as `__proto__` stays
 * a plain key.
 */
export function checkConfigs(
  value: unknown,
  path: string,
  allowNull: boolean,
): Record<string, string | null> {
  if (!isPlainObject(value)) throw new ControllerCodecError(path, `must be an object; got ${show(value)}`);
  const entries = Object.entries(value);
  if (entries.length > MAX_CONFIGS_PER_RECORD) {
    throw new ControllerCodecError(
      path,
      `holds ${entries.length} configs; at most ${MAX_CONFIGS_PER_RECORD}`,
    );
  }
  return Object.fromEntries(
    entries.map(([name, config]) => {
      checkString(name, `${path} key`, 1, MAX_NAME_LENGTH);
      if (config === null && allowNull) return [name, null];
      return [name, checkString(config, join(path, name), 0, MAX_STRING_LENGTH)];
    }),
  );
}

// ---- byte framing shared with the snapshot ----

export function withVersion(version: number, json: string): Uint8Array {
  const body = encoder.encode(json);
  const bytes = new Uint8Array(1 + body.length);
  bytes[0] = version;
  bytes.set(body, 1);
  return bytes;
}

/** `oldestVersion` (default `version`): the oldest format still read. */
export function parseVersionedJson(
  bytes: Uint8Array,
  version: number,
  what: string,
  oldestVersion = version,
): unknown {
  if (!(bytes instanceof Uint8Array)) throw new ControllerCodecError('', `${what} must be bytes`);
  if (bytes.length < 2)
    throw new ControllerCodecError('version', `${what} of ${bytes.length} bytes is too short`);
  const found = bytes[0]!;
  if (found > version || found < oldestVersion) {
    const expected = oldestVersion === version ? `${version}` : `${oldestVersion}..${version}`;
    throw new ControllerCodecError('version', `${what} format version ${found} is not ${expected}`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(1));
  } catch {
    throw new ControllerCodecError('', `${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ControllerCodecError('', `${what} is not valid JSON (${(error as Error).message})`);
  }
}
