/**
 * Run-time checks of what SDK callers pass in. TypeScript's types do not exist for a
 * plain-JavaScript caller, and a wrong shape must not turn into a stored null record: each
 * check throws a TypeError naming the field (`producer.send(record).value`) and what it takes.
 */

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new TypeError(`${field} must be ${expected}, not ${describe(value)}`);
}

/** An options object (or a request object that must be one). */
export function requireObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'an object', value);
  return value as Record<string, unknown>;
}

export function requireTopic(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty string', value);
}

export function requirePartition(field: string, value: unknown, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    fail(field, 'a non-negative integer', value);
}

export function requireOffset(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    fail(field, 'a non-negative integer', value);
}

/** A record value or key: a string, a Buffer or null (undefined allowed only where `optional`). */
function requireBytes(field: string, value: unknown, optional: boolean): void {
  if (value === null || typeof value === 'string' || Buffer.isBuffer(value)) return;
  if (optional && value === undefined) return;
  fail(field, optional ? 'a string, a Buffer, null or left out' : 'a string, a Buffer or null', value);
}

function requireHeaders(field: string, value: unknown): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (const [i, header] of value.entries()) {
      const entry = requireObject(`${field}[${i}]`, header);
      if (typeof entry.key !== 'string') fail(`${field}[${i}].key`, 'a string', entry.key);
      requireBytes(`${field}[${i}].value`, entry.value, false);
    }
    return;
  }
  const entries = requireObject(field, value);
  for (const [key, headerValue] of Object.entries(entries)) {
    if (typeof headerValue !== 'string' && !Buffer.isBuffer(headerValue))
      fail(`${field}.${key}`, 'a string or a Buffer', headerValue);
  }
}

/** One message: `value` is required (null for a tombstone), key, headers, timestamp optional. */
export function requireMessage(field: string, value: unknown): void {
  const message = requireObject(field, value);
  if (!('value' in message)) fail(`${field}.value`, 'a string, a Buffer or null (a tombstone)', undefined);
  requireBytes(`${field}.value`, message.value, false);
  requireBytes(`${field}.key`, message.key, true);
  requireHeaders(`${field}.headers`, message.headers);
  if (
    message.timestamp !== undefined &&
    (typeof message.timestamp !== 'number' || !Number.isFinite(message.timestamp))
  )
    fail(`${field}.timestamp`, 'a number of milliseconds since the Unix epoch', message.timestamp);
}

/** `{ signal?, timeoutMs? }` of any call. */
export function requireCallOptions(field: string, options: Record<string, unknown>): void {
  if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== 'number' || !(options.timeoutMs > 0)))
    fail(`${field}.timeoutMs`, 'a positive number of milliseconds', options.timeoutMs);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    fail(`${field}.signal`, 'an AbortSignal', options.signal);
}
