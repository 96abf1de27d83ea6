/** Time source injected into pure cores (DESIGN decision 10). */
export interface Clock {
  /** Milliseconds since an arbitrary epoch, monotonic. */
  nowMs(): number;
}

/** Wall-clock milliseconds since the Unix epoch (for record timestamps). */
export interface WallClock {
  wallMs(): number;
}
