/**
 * The small file holding a Raft group's term, vote, commit and snapshot metadata
 * (`DurableRaftStorage`). Replaced whole, never edited: a crash leaves the old or the new
 * content, never a mix. Production uses `FsRaftStateFile`; the simulator passes a file that
 * loses its unsynced replacements on a simulated power loss.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { transientFiles } from '../storage/file-limit.js';

export interface RaftStateFile {
  /** The file's bytes, or null when there is none (a new group). */
  read(): Buffer | null;
  /**
   * Replaces the content with `bytes` atomically. Survives a process kill once resolved; a power
   * loss may still bring back an earlier content until `sync()` resolves.
   */
  writeAtomically(bytes: Buffer): Promise<void>;
  /** Makes the last completed replacement survive a power loss. */
  sync(): Promise<void>;
  /** `writeAtomically` then `sync`, blocking (only for the bootstrap state, written once). */
  writeAtomicallySync(bytes: Buffer): void;
}

export const RAFT_STATE_FILE = 'raft-state';

/**
 * `<dir>/raft-state` on the local file system: a replacement writes `raft-state.tmp`, fsyncs it,
 * renames it over `raft-state`; `sync` fsyncs the directory (making the rename durable). With
 * `fsync: false` (unsafe, opt-in) neither fsync runs.
 */
export class FsRaftStateFile implements RaftStateFile {
  private readonly path: string;

  constructor(
    private readonly dir: string,
    private readonly options: { fsync: boolean } = { fsync: true },
  ) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, RAFT_STATE_FILE);
  }

  read(): Buffer | null {
    try {
      return readFileSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  // Both hold a descriptor for a moment: bounded over the process (transientFiles), since a
  // round of many groups writes their states together.
  writeAtomically(bytes: Buffer): Promise<void> {
    return transientFiles.run(async () => {
      const temporary = `${this.path}.tmp`;
      const file = await open(temporary, 'w');
      try {
        await file.writeFile(bytes);
        // Without this fsync a power loss after the rename could leave an empty file.
        if (this.options.fsync) await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
    });
  }

  async sync(): Promise<void> {
    if (!this.options.fsync) return;
    await transientFiles.run(async () => {
      const directory = await open(this.dir, 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    });
  }

  writeAtomicallySync(bytes: Buffer): void {
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, bytes);
    if (this.options.fsync) fsyncPath(temporary);
    renameSync(temporary, this.path);
    if (this.options.fsync) fsyncPath(this.dir);
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
