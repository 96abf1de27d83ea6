/**
 * Declarative message schemas and the one generic encoder/decoder they drive.
 *
 * A schema is a list of fields, each valid for a range of API versions (Kafka's message JSON
 * schemas, `clients/src/main/resources/common/message/*.json`, written as our own tables). For a
 * given version the schema is compiled once into a plan holding only the fields of that version;
 * the decoder and encoder walk the plan.
 *
 * Flexible versions (KIP-482, from an API's `flexibleFrom` on) change the encoding, not the
 * schema: strings, bytes, records and arrays take an unsigned-varint length + 1 (0 = null), and
 * every struct ends with a tagged-field section (count, then tag, size, value per field). Tagged
 * fields are ordinary fields with a `tag`; they exist only in flexible versions, are written only
 * when they differ from their default, and an unknown tag is skipped.
 */
import { ErrorCode, ProtocolError } from './errors.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'bool'
  | 'float64'
  | 'string'
  | 'bytes'
  /** Raw RecordBatch bytes (int32 length, nullable): never parsed by the codec. */
  | 'records'
  | 'uuid';

/** Inclusive version range; `[5, MAX_VERSION]` is Kafka's "5+". */
export type VersionRange = readonly [number, number];
export const MAX_VERSION = 0x7fff;

export interface Field {
  readonly name: string;
  /** A primitive, or a struct given by its fields. */
  readonly type: PrimitiveType | readonly Field[];
  /** When set, the field is an array of `type`. */
  readonly array?: boolean;
  readonly versions: VersionRange;
  /** Versions in which the field may be null. */
  readonly nullableVersions?: VersionRange;
  /** Written when an encoded object lacks the field; Kafka's schema default. */
  readonly default?: unknown;
  /** Tagged field (flexible versions only): its tag; `versions` are its tagged versions. */
  readonly tag?: number;
}

export interface MessageSchema {
  readonly name: string;
  readonly fields: readonly Field[];
}

export interface ApiSchema {
  readonly apiKey: number;
  readonly name: string;
  /** Versions this schema describes (the codec reads and writes them all). */
  readonly versions: VersionRange;
  /** First flexible version in Kafka (compact encodings, tagged fields, header v2 / v1);
   * undefined if the API has none. */
  readonly flexibleFrom?: number;
  readonly request: readonly Field[];
  readonly response: readonly Field[];
}

/** Parses Kafka's version notation: "3+", "0-4", "1". */
export function versionRange(text: string): VersionRange {
  if (text.endsWith('+')) return [Number(text.slice(0, -1)), MAX_VERSION];
  const dash = text.indexOf('-');
  if (dash >= 0) return [Number(text.slice(0, dash)), Number(text.slice(dash + 1))];
  return [Number(text), Number(text)];
}

interface FieldOptions {
  nullable?: string;
  default?: unknown;
  /** Makes the field a tagged field with this tag (flexible versions only). */
  tag?: number;
}

/** A scalar (or struct) field: `field('logStartOffset', 'int64', '5+', { default: -1 })`. */
export function field(
  name: string,
  type: PrimitiveType | readonly Field[],
  versions: string,
  options: FieldOptions = {},
): Field {
  const result: {
    name: string;
    type: PrimitiveType | readonly Field[];
    versions: VersionRange;
    nullableVersions?: VersionRange;
    default?: unknown;
    tag?: number;
  } = { name, type, versions: versionRange(versions) };
  if (options.nullable !== undefined) result.nullableVersions = versionRange(options.nullable);
  if ('default' in options) result.default = options.default;
  if (options.tag !== undefined) result.tag = options.tag;
  return result;
}

/** An array field of a primitive or a struct. */
export function arrayField(
  name: string,
  type: PrimitiveType | readonly Field[],
  versions: string,
  options: FieldOptions = {},
): Field {
  return { ...field(name, type, versions, options), array: true };
}

// ---------------------------------------------------------------------------------------------
// Compilation: one plan per (schema, version).

enum Kind {
  Int8,
  Int16,
  Int32,
  Int64,
  Uint32,
  Bool,
  Float64,
  String,
  Bytes,
  Records,
  Uuid,
  Struct,
}

const KIND_OF: Record<PrimitiveType, Kind> = {
  int8: Kind.Int8,
  int16: Kind.Int16,
  int32: Kind.Int32,
  int64: Kind.Int64,
  uint32: Kind.Uint32,
  bool: Kind.Bool,
  float64: Kind.Float64,
  string: Kind.String,
  bytes: Kind.Bytes,
  records: Kind.Records,
  uuid: Kind.Uuid,
};

/** Smallest encoding of one value of each kind (a length prefix for variable ones). */
const MIN_BYTES: Record<Kind, number> = {
  [Kind.Int8]: 1,
  [Kind.Int16]: 2,
  [Kind.Int32]: 4,
  [Kind.Int64]: 8,
  [Kind.Uint32]: 4,
  [Kind.Bool]: 1,
  [Kind.Float64]: 8,
  [Kind.String]: 2,
  [Kind.Bytes]: 4,
  [Kind.Records]: 4,
  [Kind.Uuid]: 16,
  [Kind.Struct]: 0,
};

/** The same in flexible versions: a compact length prefix takes at least one byte. */
const MIN_FLEXIBLE_BYTES: Record<Kind, number> = {
  ...MIN_BYTES,
  [Kind.String]: 1,
  [Kind.Bytes]: 1,
  [Kind.Records]: 1,
};

interface Step {
  readonly name: string;
  readonly kind: Kind;
  readonly array: boolean;
  readonly nullable: boolean;
  readonly defaultValue: unknown;
  /** Tag of a tagged field; -1 for a field in the fixed part. */
  readonly tag: number;
  /** Plan of a struct (element) kind. */
  readonly children: Plan;
  /** Smallest encoding of one element (or the value), for array-length checks. */
  readonly minElementBytes: number;
}

export interface Plan {
  /** Fields in wire order (tagged ones excluded). */
  readonly steps: readonly Step[];
  /** Tagged fields by ascending tag (flexible versions only). */
  readonly tagged: readonly Step[];
  /** Compact encodings and a tagged-field section after the fields. */
  readonly flexible: boolean;
  /** Smallest encoding of the whole struct. */
  readonly minBytes: number;
}

function inRange(range: VersionRange | undefined, version: number): boolean {
  return range !== undefined && version >= range[0] && version <= range[1];
}

function implicitDefault(kind: Kind, array: boolean, nullable: boolean): unknown {
  if (nullable) return null;
  if (array) return [];
  switch (kind) {
    case Kind.Bool:
      return false;
    case Kind.String:
      return '';
    case Kind.Bytes:
      return Buffer.alloc(0);
    case Kind.Records:
      return null;
    case Kind.Uuid:
      return null;
    case Kind.Struct:
      return {};
    default:
      return 0;
  }
}

/** The fields of `fields` present in `version`, in wire order; `flexible` selects KIP-482. */
export function compile(fields: readonly Field[], version: number, flexible = false): Plan {
  const steps: Step[] = [];
  const tagged: Step[] = [];
  const minimum = flexible ? MIN_FLEXIBLE_BYTES : MIN_BYTES;
  for (const spec of fields) {
    if (!inRange(spec.versions, version)) continue;
    const isTagged = spec.tag !== undefined;
    if (isTagged && !flexible) continue;
    const isStruct = typeof spec.type !== 'string';
    const kind = isStruct ? Kind.Struct : KIND_OF[spec.type as PrimitiveType];
    const children = isStruct ? compile(spec.type as readonly Field[], version, flexible) : EMPTY_PLAN;
    const nullable = inRange(spec.nullableVersions, version);
    const elementBytes = isStruct ? children.minBytes : minimum[kind];
    let defaultValue =
      'default' in spec ? spec.default : implicitDefault(kind, spec.array === true, nullable);
    // A struct's default is its fields' defaults (what an absent tagged struct decodes to).
    if (isStruct && !spec.array && !nullable && !('default' in spec))
      defaultValue = Object.fromEntries(children.steps.map((child) => [child.name, child.defaultValue]));
    const step: Step = {
      name: spec.name,
      kind,
      array: spec.array === true,
      nullable,
      defaultValue,
      tag: isTagged ? spec.tag! : -1,
      children,
      minElementBytes: Math.max(1, elementBytes),
    };
    if (isTagged) tagged.push(step);
    else steps.push(step);
  }
  tagged.sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < tagged.length; i++)
    if (tagged[i]!.tag === tagged[i - 1]!.tag)
      throw new Error(`schema bug: tag ${tagged[i]!.tag} used twice (${tagged[i]!.name})`);
  let minBytes = flexible ? 1 : 0;
  for (const step of steps) {
    if (step.array) minBytes += flexible ? 1 : 4;
    else minBytes += step.kind === Kind.Struct ? step.children.minBytes : minimum[step.kind];
  }
  return { steps, tagged, flexible, minBytes };
}

const EMPTY_PLAN: Plan = { steps: [], tagged: [], flexible: false, minBytes: 0 };

const planCache = new WeakMap<readonly Field[], Map<number, Plan>>();

/** Cached `compile`; `version` is negated in the key when flexible. */
export function planFor(fields: readonly Field[], version: number, flexible = false): Plan {
  let byVersion = planCache.get(fields);
  if (byVersion === undefined) {
    byVersion = new Map();
    planCache.set(fields, byVersion);
  }
  const key = flexible ? -1 - version : version;
  let plan = byVersion.get(key);
  if (plan === undefined) {
    plan = compile(fields, version, flexible);
    byVersion.set(key, plan);
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Generic decoder.

function readCompactBytes(reader: Reader, nullable: boolean, name: string): Buffer | null {
  const lengthPlusOne = reader.unsignedVarint();
  if (lengthPlusOne === 0) {
    if (!nullable) reader.fail(`null in non-nullable field ${name}`);
    return null;
  }
  return reader.raw(lengthPlusOne - 1);
}

function readValue(reader: Reader, step: Step, flexible: boolean, inArray: boolean): unknown {
  switch (step.kind) {
    case Kind.Int8:
      return reader.int8();
    case Kind.Int16:
      return reader.int16();
    case Kind.Int32:
      return reader.int32();
    case Kind.Int64:
      return reader.int64();
    case Kind.Uint32:
      return reader.uint32();
    case Kind.Bool:
      return reader.bool();
    case Kind.Float64:
      return reader.float64();
    case Kind.String:
      if (flexible)
        return step.nullable && !inArray ? reader.compactNullableString() : reader.compactString();
      return step.nullable && !inArray ? reader.nullableString() : reader.string();
    case Kind.Bytes:
      if (flexible) return readCompactBytes(reader, step.nullable && !inArray, step.name);
      return step.nullable && !inArray ? reader.nullableBytes() : reader.bytes();
    case Kind.Records:
      if (flexible) return readCompactBytes(reader, true, step.name);
      return reader.nullableBytes();
    case Kind.Uuid:
      return reader.uuid();
    case Kind.Struct:
      return decodeStruct(reader, step.children);
  }
}

/** Array length: int32 (-1 = null), or in flexible versions unsigned varint count + 1 (0 = null). */
function readArrayLength(reader: Reader, step: Step, flexible: boolean): number {
  if (!flexible) return reader.arrayLength(step.minElementBytes);
  const count = reader.unsignedVarint() - 1;
  if (count > 0 && count * step.minElementBytes > reader.remaining)
    reader.fail(`array of ${count} elements cannot fit in ${reader.remaining} bytes`);
  return count;
}

function readField(reader: Reader, step: Step, flexible: boolean): unknown {
  if (!step.array) return readValue(reader, step, flexible, false);
  const count = readArrayLength(reader, step, flexible);
  if (count === -1) {
    if (!step.nullable) reader.fail(`null array in non-nullable field ${step.name}`);
    return null;
  }
  const items: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) items[i] = readValue(reader, step, flexible, true);
  return items;
}

/** Reads a tagged-field section into `result`: known tags by their step, unknown ones skipped. */
function readTaggedFields(reader: Reader, plan: Plan, result: Record<string, unknown>): void {
  for (const step of plan.tagged)
    result[step.name] =
      step.kind === Kind.Struct && !step.array ? { ...(step.defaultValue as object) } : step.defaultValue;
  const count = reader.unsignedVarint();
  let previousTag = -1;
  for (let i = 0; i < count; i++) {
    const tag = reader.unsignedVarint();
    if (tag <= previousTag) reader.fail(`tagged fields out of order (tag ${tag} after ${previousTag})`);
    previousTag = tag;
    const size = reader.unsignedVarint();
    reader.need(size, 'tagged field');
    const step = plan.tagged.find((candidate) => candidate.tag === tag);
    if (step === undefined) {
      reader.offset += size;
      continue;
    }
    const end = reader.offset + size;
    const inner = new Reader(reader.buf, reader.offset, end, reader.errorCode);
    result[step.name] = readField(inner, step, true);
    if (inner.offset !== end)
      inner.fail(`tagged field ${step.name} has ${end - inner.offset} bytes left over`);
    reader.offset = end;
  }
}

/** Decodes one struct by its plan. */
export function decodeStruct(reader: Reader, plan: Plan): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const flexible = plan.flexible;
  for (const step of plan.steps) result[step.name] = readField(reader, step, flexible);
  if (flexible) readTaggedFields(reader, plan, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Generic encoder.

function badValue(step: Step, value: unknown): never {
  throw new ProtocolError(
    ErrorCode.INVALID_REQUEST,
    `cannot encode field ${step.name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
  );
}

function writeLength(writer: Writer, length: number, flexible: boolean, wide: boolean): void {
  if (flexible) writer.unsignedVarint(length + 1);
  else if (wide) writer.int32(length);
  else writer.int16(length);
}

function writeValue(writer: Writer, step: Step, value: unknown, flexible: boolean, inArray: boolean): void {
  if (step.kind <= Kind.Uint32 || step.kind === Kind.Float64) {
    if (typeof value !== 'number' && !(step.kind === Kind.Int64 && typeof value === 'bigint'))
      badValue(step, value);
  } else if (step.kind === Kind.Bool && typeof value !== 'boolean') badValue(step, value);
  switch (step.kind) {
    case Kind.Int8:
      writer.int8(value as number);
      return;
    case Kind.Int16:
      writer.int16(value as number);
      return;
    case Kind.Int32:
      writer.int32(value as number);
      return;
    case Kind.Int64:
      writer.int64(value as number);
      return;
    case Kind.Uint32:
      writer.uint32(value as number);
      return;
    case Kind.Bool:
      writer.bool(value as boolean);
      return;
    case Kind.Float64:
      writer.float64(value as number);
      return;
    case Kind.String:
      if (value === null || value === undefined) {
        if (!step.nullable || inArray) badValue(step, value);
        writeLength(writer, -1, flexible, false);
      } else if (typeof value === 'string') {
        if (flexible) writer.compactString(value);
        else writer.string(value);
      } else badValue(step, value);
      return;
    case Kind.Bytes:
    case Kind.Records:
      if (value === null || value === undefined) {
        if (step.kind === Kind.Bytes && (!step.nullable || inArray)) badValue(step, value);
        writeLength(writer, -1, flexible, true);
      } else if (value instanceof Uint8Array) {
        writeLength(writer, value.length, flexible, true);
        writer.raw(value);
      } else badValue(step, value);
      return;
    case Kind.Uuid:
      writer.uuid(value as string | null);
      return;
    case Kind.Struct:
      if (value === null || typeof value !== 'object') badValue(step, value);
      encodeStruct(writer, step.children, value as Record<string, unknown>);
      return;
  }
}

function writeField(writer: Writer, step: Step, value: unknown, flexible: boolean): void {
  if (!step.array) {
    writeValue(writer, step, value, flexible, false);
    return;
  }
  if (value === null) {
    if (!step.nullable) badValue(step, value);
    writeLength(writer, -1, flexible, true);
    return;
  }
  if (!Array.isArray(value)) badValue(step, value);
  writeLength(writer, value.length, flexible, true);
  for (const item of value) writeValue(writer, step, item, flexible, true);
}

/** A tagged field is written only when it carries something other than its default (a struct:
 * when one of its fields does), as Kafka does. */
function isDefault(step: Step, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (step.array) return Array.isArray(value) && value.length === 0;
  // A uuid's default is the zero uuid (absent, null or all zero digits).
  if (step.kind === Kind.Uuid) return typeof value === 'string' && /^[0-]*$/.test(value);
  if (step.kind === Kind.Struct) {
    const struct = value as Record<string, unknown>;
    return step.children.steps.every((child) => isDefault(child, struct[child.name]));
  }
  return value === step.defaultValue;
}

function writeTaggedFields(writer: Writer, plan: Plan, value: Record<string, unknown>): void {
  let count = 0;
  for (const step of plan.tagged) if (!isDefault(step, value[step.name])) count++;
  writer.unsignedVarint(count);
  if (count === 0) return;
  for (const step of plan.tagged) {
    const fieldValue = value[step.name];
    if (isDefault(step, fieldValue)) continue;
    const inner = new Writer(64);
    writeField(inner, step, fieldValue, true);
    writer.unsignedVarint(step.tag);
    writer.unsignedVarint(inner.offset);
    writer.raw(inner.finish());
  }
}

/** Encodes one struct by its plan; a missing field takes its schema default. */
export function encodeStruct(writer: Writer, plan: Plan, value: Record<string, unknown>): void {
  const flexible = plan.flexible;
  for (const step of plan.steps) {
    let fieldValue = value[step.name];
    if (fieldValue === undefined) fieldValue = step.defaultValue;
    writeField(writer, step, fieldValue, flexible);
  }
  if (flexible) writeTaggedFields(writer, plan, value);
}
