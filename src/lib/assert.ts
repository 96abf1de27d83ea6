/** Thrown when an internal invariant is broken: a bug, never bad input. */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** Asserts an invariant. Use for programmer errors only; validate user input with typed errors. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}
