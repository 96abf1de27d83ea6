import { resolve } from 'node:path';
import type * as binding from '#native';
import { fromNative } from './errors.js';
import { nativeBinding } from './native-binding.js';

/** Thrown when another broker (in this process or another) holds the data directory. */
export class DataDirectoryLockedError extends Error {
  override readonly name = 'DataDirectoryLockedError';
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    /** The locked directory, absolute. */
    readonly directory: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An exclusive advisory lock on a data directory (`flock` on `<dir>/.lock`), so that two
 * brokers never open the same partition logs. The holder's pid is written into the file for
 * the refusal message. The OS drops the lock when the process ends, `kill -9` included, so a
 * restart after a crash needs no cleanup.
 */
export class DirectoryLock {
  private constructor(
    /** The locked directory, absolute. */
    readonly directory: string,
    private readonly native: binding.DirectoryLock,
  ) {}

  /**
   * Creates `directory` when missing and locks it without waiting. Throws
   * `DataDirectoryLockedError` (code `DATA_DIR_LOCKED`, the message names the directory and,
   * when readable, the holder's pid) when it is held; a StorageError `IO_ERROR` when the
   * directory or the lock file cannot be created.
   */
  static acquire(directory: string): DirectoryLock {
    const absolute = resolve(directory);
    const native = nativeBinding().DirectoryLock;
    try {
      return new DirectoryLock(absolute, native.acquire(absolute));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'DATA_DIR_LOCKED')
        throw new DataDirectoryLockedError(absolute, (error as Error).message);
      throw fromNative(error);
    }
  }

  /** Whether this object still holds the lock. */
  get held(): boolean {
    return this.native.held;
  }

  /** Releases the lock; calling it again does nothing. */
  release(): void {
    this.native.release();
  }
}
