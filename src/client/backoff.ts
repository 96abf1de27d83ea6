/** How often and how patiently a failed call is retried. */
export interface RetryOptions {
  /** Retries after the first attempt (0 = never retry). */
  retries: number;
  /** Upper bound of the first wait. */
  initialMs: number;
  /** Upper bound of any wait. */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialMs: 100, maxMs: 2_000 };

/**
 * Wait before retry number `attempt` (0 = first retry): exponential backoff with full jitter,
 * a uniform draw in [0, min(maxMs, initialMs * 2^attempt)). Full jitter spreads clients that
 * failed together so they do not retry in lockstep. `random` returns a float in [0, 1).
 */
export function backoffMs(attempt: number, retry: RetryOptions, random: () => number): number {
  const ceilingMs = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceilingMs);
}
