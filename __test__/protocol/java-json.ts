/**
 * Conversion between our body objects and the message JSON form of the Java client's generated
 * converters (the golden fixtures' `body`): same lowerCamelCase field names, but bytes and
 * records are base64 strings and a uuid is Kafka's base64url text. Driven by our schemas'
 * Field tables, so a field our schema lacks (or has too many) shows up as a difference.
 */
import type { Field, PrimitiveType, VersionRange } from '../../src/protocol/schema.js';

/** Fields Kafka has renamed since our schema took its name (ours → the Java converter's), by
 * API key; the wire is the same. */
export const JAVA_NAMES: Record<number, Record<string, string>> = {
  8: { generationId: 'generationIdOrMemberEpoch' },
};

function inRange(range: VersionRange | undefined, version: number): boolean {
  return range !== undefined && version >= range[0] && version <= range[1];
}

/** The fields of `version`: tagged ones only in flexible versions. */
function fieldsOf(fields: readonly Field[], version: number, flexible: boolean): Field[] {
  return fields.filter((spec) => inRange(spec.versions, version) && (spec.tag === undefined || flexible));
}

function defaultOf(spec: Field, version: number, flexible: boolean): unknown {
  if ('default' in spec) return spec.default;
  if (inRange(spec.nullableVersions, version)) return null;
  if (spec.array) return [];
  if (typeof spec.type !== 'string') return toJava(spec.type, version, flexible, {});
  switch (spec.type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    case 'uuid':
      return null;
    default:
      return 0;
  }
}

function uuidToJava(hex: unknown): string {
  const bytes =
    typeof hex === 'string' && hex.length >= 32
      ? Buffer.from(hex.replaceAll('-', ''), 'hex')
      : Buffer.alloc(16);
  return bytes.toString('base64url');
}

function primitiveToJava(type: PrimitiveType, value: unknown): unknown {
  if (value === null || value === undefined) return type === 'uuid' ? uuidToJava(null) : null;
  if (type === 'bytes' || type === 'records') return Buffer.from(value as Uint8Array).toString('base64');
  if (type === 'uuid') return uuidToJava(value);
  return value;
}

/** Our body → Java message JSON, every field of the version present (defaults filled in). */
export function toJava(
  fields: readonly Field[],
  version: number,
  flexible: boolean,
  value: Record<string, unknown>,
  names: Record<string, string> = {},
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const spec of fieldsOf(fields, version, flexible)) {
    const javaName = names[spec.name] ?? spec.name;
    let fieldValue = value[spec.name];
    if (fieldValue === undefined) fieldValue = defaultOf(spec, version, flexible);
    const one = (item: unknown): unknown =>
      typeof spec.type === 'string'
        ? primitiveToJava(spec.type, item)
        : toJava(spec.type, version, flexible, item as Record<string, unknown>, names);
    if (spec.array) result[javaName] = fieldValue === null ? null : (fieldValue as unknown[]).map(one);
    else if (fieldValue === null) result[javaName] = typeof spec.type === 'string' ? one(null) : null;
    else result[javaName] = one(fieldValue);
  }
  return result;
}

function primitiveFromJava(type: PrimitiveType, value: unknown): unknown {
  if (value === null) return null;
  if (type === 'bytes' || type === 'records') return Buffer.from(value as string, 'base64');
  if (type === 'uuid') return Buffer.from(value as string, 'base64url').toString('hex');
  return value;
}

/** Java message JSON → our body shape (the fields our schema has in this version). */
export function fromJava(
  fields: readonly Field[],
  version: number,
  flexible: boolean,
  json: Record<string, unknown>,
  names: Record<string, string> = {},
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const spec of fieldsOf(fields, version, flexible)) {
    const fieldValue = json[names[spec.name] ?? spec.name];
    if (fieldValue === undefined) continue;
    const one = (item: unknown): unknown =>
      typeof spec.type === 'string'
        ? primitiveFromJava(spec.type, item)
        : item === null
          ? null
          : fromJava(spec.type, version, flexible, item as Record<string, unknown>, names);
    if (spec.array) result[spec.name] = fieldValue === null ? null : (fieldValue as unknown[]).map(one);
    else result[spec.name] = one(fieldValue);
  }
  return result;
}
