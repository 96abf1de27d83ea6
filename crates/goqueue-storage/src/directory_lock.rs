//! An exclusive advisory lock on a data directory, so that two brokers (two processes, or two
//! brokers in one process) never open the same partition logs. The lock is `flock(LOCK_EX |
//! LOCK_NB)` on `<dir>/.lock` (std's `File::try_lock`): it belongs to the open file, so the OS
//! drops it when the holder closes the file or dies, `kill -9` included, and a restart after a
//! crash needs no cleanup. The holder writes its pid into the file for the refusal message.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the directory.
pub const LOCK_FILE_NAME: &str = ".lock";

/// Why a directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryLockError {
    /// Another holder (this process or another) has the lock.
    #[error("data directory {} is locked by another goqueue broker{}; stop it or choose another data directory", .dir.display(), holder(.pid))]
    Locked { dir: PathBuf, pid: Option<u32> },
    /// The OS failed creating the directory or opening, locking or writing the file.
    #[error("i/o error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

fn holder(pid: &Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

impl DirectoryLockError {
    /// Stable code string for JavaScript.
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryLockError::Locked { .. } => "DATA_DIR_LOCKED",
            DirectoryLockError::Io { .. } => "IO_ERROR",
        }
    }
}

/// A held lock on a directory; released by `release` or when dropped.
#[derive(Debug)]
pub struct DirectoryLock {
    file: File,
    dir: PathBuf,
}

impl DirectoryLock {
    /// Creates `dir` when missing and takes the lock on `<dir>/.lock` without waiting; fails
    /// with `Locked` (naming the holder's pid when the file says it) when someone holds it.
    pub fn acquire(dir: &Path) -> Result<DirectoryLock, DirectoryLockError> {
        let io_error = |context: String| move |source| DirectoryLockError::Io { context, source };
        std::fs::create_dir_all(dir).map_err(io_error(format!("creating {}", dir.display())))?;
        let path = dir.join(LOCK_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error(format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DirectoryLockError::Locked {
                    dir: dir.to_path_buf(),
                    pid: read_pid(&mut file),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(io_error(format!("locking {}", path.display()))(source))
            }
        }
        // Only the holder writes, so the pid read by a refused acquirer is this one.
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(io_error(format!("writing {}", path.display())))?;
        Ok(DirectoryLock {
            file,
            dir: dir.to_path_buf(),
        })
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Releases the lock (the file stays; its content is stale until the next holder).
    pub fn release(self) {
        let _ = self.file.unlock();
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_is_refused_naming_the_directory_and_pid_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DirectoryLock::acquire(&data).unwrap();
        let error = DirectoryLock::acquire(&data).unwrap_err();
        assert_eq!(error.code(), "DATA_DIR_LOCKED");
        let message = error.to_string();
        assert!(message.contains(&data.display().to_string()), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        first.release();
        let again = DirectoryLock::acquire(&data).unwrap();
        assert_eq!(again.dir(), data);
        drop(again);
        DirectoryLock::acquire(&data).unwrap();
    }
}
