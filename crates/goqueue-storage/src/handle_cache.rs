//! The open files of every log in the process, at most `capacity` at once (least recently used
//! closed first), so the number of partitions a broker holds is not bounded by its open-file
//! limit (docs/storage.md, *Open files*).
//!
//! Every segment file (`.log`, `.index`, `.timeindex`) is a `CachedFile`: a name the cache opens
//! on demand. Its descriptor lives in the cache; an operation borrows it (`Arc<OpenFile>`) for the
//! duration of one read, write or fsync, so a handle in use is never closed under its user: an
//! eviction only drops the cache's reference and the file closes when the last user lets go.
//! Handles are keyed by a per-`CachedFile` id, not by path, so a file deleted and created again
//! under the same name (a truncation, a reset) is never served by the old descriptor.
//!
//! Durability: a handle written through since its last fsync is *dirty*. Closing it would let
//! the next sync of that file fsync through a new descriptor, which POSIX does not promise to
//! cover the earlier writes (nor to report their write-back errors), so an eviction fsyncs a
//! dirty handle before it closes it. A sync of a file whose handle was evicted clean has nothing
//! to do and opens nothing; an fsync failure at eviction is kept and reported by the next sync of
//! that file. Evictions prefer clean handles that nobody is using.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use crate::fileio::{read_exact_at, write_all_at};

/// Handles kept open when nobody set a capacity (`HandleCache::set_capacity`): low enough for a
/// process under the common `ulimit -n 1024`. The broker sets its own from its fd budget.
pub const DEFAULT_CAPACITY: usize = 512;

/// How many of the least recently used handles an eviction looks at for a clean, unused one.
const VICTIM_SCAN: usize = 16;

/// One open descriptor of a segment file.
pub struct OpenFile {
    file: File,
    /// Written (or resized) since the last fsync.
    dirty: AtomicBool,
    /// Held across "clear dirty, fsync": a sync that finds the handle clean while another
    /// thread's fsync of it is still running waits for that fsync instead of returning early.
    sync_lock: Mutex<()>,
}

impl Deref for OpenFile {
    type Target = File;
    fn deref(&self) -> &File {
        &self.file
    }
}

impl OpenFile {
    fn new(file: File, dirty: bool) -> OpenFile {
        OpenFile {
            file,
            dirty: AtomicBool::new(dirty),
            sync_lock: Mutex::new(()),
        }
    }

    /// Fdatasyncs when dirty, or always (`force`); on failure the handle stays dirty.
    fn sync(&self, force: bool) -> io::Result<()> {
        let _held = self.sync_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.dirty.swap(false, Ordering::SeqCst) || force {
            if let Err(error) = self.file.sync_data() {
                self.dirty.store(true, Ordering::SeqCst);
                return Err(error);
            }
        }
        Ok(())
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::SeqCst)
    }
}

struct Slot {
    file: Arc<OpenFile>,
    /// Position in `CacheState::order` (larger = used more recently).
    tick: u64,
}

#[derive(Default)]
struct CacheState {
    open: HashMap<u64, Slot>,
    /// Least recently used first: tick -> id.
    order: BTreeMap<u64, u64>,
    tick: u64,
    /// Evicted dirty handles whose fsync is running; a sync of the same file joins it.
    closing: HashMap<u64, Arc<OpenFile>>,
    /// Fsync failures at eviction, reported by the next sync of that file.
    failed: HashMap<u64, io::Error>,
    /// Handles evicted while an operation still held them (a write, an fsync): a sync of the
    /// file syncs them too (waiting for an fsync in flight through `sync_lock`).
    retired: HashMap<u64, Vec<Weak<OpenFile>>>,
}

impl CacheState {
    fn touch(&mut self, id: u64) -> Option<Arc<OpenFile>> {
        self.tick += 1;
        let tick = self.tick;
        let slot = self.open.get_mut(&id)?;
        self.order.remove(&slot.tick);
        slot.tick = tick;
        self.order.insert(tick, id);
        Some(slot.file.clone())
    }

    fn remove(&mut self, id: u64) -> Option<Arc<OpenFile>> {
        let slot = self.open.remove(&id)?;
        self.order.remove(&slot.tick);
        Some(slot.file)
    }

    /// The handle to close next: among the `VICTIM_SCAN` least recently used, the first clean one
    /// nobody uses, else the first nobody uses, else the least recently used.
    fn victim(&self) -> Option<u64> {
        let candidates: Vec<u64> = self.order.values().take(VICTIM_SCAN).copied().collect();
        let unused = |id: &&u64| Arc::strong_count(&self.open[*id].file) == 1;
        candidates
            .iter()
            .filter(unused)
            .find(|id| !self.open[*id].file.is_dirty())
            .or_else(|| candidates.iter().find(unused))
            .or_else(|| candidates.first())
            .copied()
    }
}

/// Counters of a cache since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandleCacheStats {
    pub capacity: usize,
    /// Handles the cache holds now.
    pub open: usize,
    /// Operations that found their handle open.
    pub hits: u64,
    /// Operations that had to open the file.
    pub opens: u64,
    /// Handles closed to make room.
    pub evictions: u64,
    /// Of those, handles fsynced first because they were dirty.
    pub dirty_evictions: u64,
}

/// A bounded, process-wide (or, in tests, private) set of open segment files.
pub struct HandleCache {
    capacity: AtomicUsize,
    next_id: AtomicU64,
    state: Mutex<CacheState>,
    hits: AtomicU64,
    opens: AtomicU64,
    evictions: AtomicU64,
    dirty_evictions: AtomicU64,
}

impl HandleCache {
    pub fn new(capacity: usize) -> Arc<HandleCache> {
        Arc::new(HandleCache {
            capacity: AtomicUsize::new(capacity.max(1)),
            next_id: AtomicU64::new(1),
            state: Mutex::new(CacheState::default()),
            hits: AtomicU64::new(0),
            opens: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            dirty_evictions: AtomicU64::new(0),
        })
    }

    /// The cache every `Log::open` of the process uses.
    pub fn global() -> Arc<HandleCache> {
        static GLOBAL: OnceLock<Arc<HandleCache>> = OnceLock::new();
        GLOBAL.get_or_init(|| HandleCache::new(DEFAULT_CAPACITY)).clone()
    }

    /// Sets how many handles stay open (at least 1) and closes the least recently used ones
    /// above it at once (fsyncing dirty ones first).
    pub fn set_capacity(&self, capacity: usize) -> io::Result<()> {
        self.capacity.store(capacity.max(1), Ordering::SeqCst);
        self.evict_over_capacity()
    }

    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::SeqCst)
    }

    pub fn stats(&self) -> HandleCacheStats {
        HandleCacheStats {
            capacity: self.capacity(),
            open: self.lock().open.len(),
            hits: self.hits.load(Ordering::Relaxed),
            opens: self.opens.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            dirty_evictions: self.dirty_evictions.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open handle of `file`, opening it (and closing others) when needed.
    fn handle(&self, file: &CachedFile) -> io::Result<Arc<OpenFile>> {
        if let Some(open) = self.lock().touch(file.id) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(open);
        }
        // Opened outside the lock: other files' operations go on meanwhile.
        let open = || OpenOptions::new().read(true).write(true).open(&file.path);
        let opened = match open() {
            // The process ran out of descriptors elsewhere (sockets, other files): give back
            // half of ours and try once more rather than fail the operation.
            Err(error) if is_out_of_descriptors(&error) => {
                let half = self.lock().open.len() / 2;
                let _ = self.evict_down_to(half);
                open()?
            }
            other => other?,
        };
        self.opens.fetch_add(1, Ordering::Relaxed);
        Ok(self.insert(file.id, opened, false))
    }

    /// Keeps `opened` as the handle of `id` (unless another thread opened it meanwhile) and
    /// makes room for it.
    fn insert(&self, id: u64, opened: File, dirty: bool) -> Arc<OpenFile> {
        let handle = {
            let mut state = self.lock();
            match state.touch(id) {
                Some(raced) => raced,
                None => {
                    let handle = Arc::new(OpenFile::new(opened, dirty));
                    state.tick += 1;
                    let tick = state.tick;
                    state.order.insert(tick, id);
                    state.open.insert(
                        id,
                        Slot {
                            file: handle.clone(),
                            tick,
                        },
                    );
                    handle
                }
            }
        };
        // An fsync failure here belongs to the evicted file; it is reported by its next sync.
        let _ = self.evict_over_capacity();
        handle
    }

    /// Closes least recently used handles while more than `capacity` are open; dirty ones are
    /// fdatasynced first (a failure is kept for that file's next sync and returned).
    fn evict_over_capacity(&self) -> io::Result<()> {
        self.evict_down_to(self.capacity())
    }

    /// Closes least recently used handles until at most `open` remain (see
    /// `evict_over_capacity`).
    fn evict_down_to(&self, open: usize) -> io::Result<()> {
        let mut result = Ok(());
        loop {
            let (id, victim) = {
                let mut state = self.lock();
                if state.open.len() <= open {
                    return result;
                }
                let Some(id) = state.victim() else {
                    return result;
                };
                let victim = state.remove(id).expect("the victim is open");
                if Arc::strong_count(&victim) > 1 {
                    let retired = state.retired.entry(id).or_default();
                    retired.retain(|handle| handle.strong_count() > 0);
                    retired.push(Arc::downgrade(&victim));
                }
                if victim.is_dirty() {
                    state.closing.insert(id, victim.clone());
                }
                (id, victim)
            };
            self.evictions.fetch_add(1, Ordering::Relaxed);
            if victim.is_dirty() {
                self.dirty_evictions.fetch_add(1, Ordering::Relaxed);
                let synced = victim.sync(false);
                let mut state = self.lock();
                state.closing.remove(&id);
                if let Err(error) = synced {
                    let kept = io::Error::new(error.kind(), format!("fdatasync at eviction: {error}"));
                    state.failed.insert(id, kept);
                    result = Err(error);
                }
            }
            // `victim` drops here: the descriptor closes unless an operation still holds it.
        }
    }

    /// Fdatasyncs `file` through its open handle (always, as a sync did before handles were
    /// cached: a clean handle's fdatasync is cheap and keeps every sync's cost the same), or
    /// nothing when the handle was evicted (it was fsynced then, if it had been written).
    fn sync(&self, file: &CachedFile) -> io::Result<()> {
        let (open, evicted) = {
            let mut state = self.lock();
            if let Some(error) = state.failed.remove(&file.id) {
                return Err(error);
            }
            let mut evicted: Vec<Arc<OpenFile>> = state.closing.get(&file.id).cloned().into_iter().collect();
            if let Some(retired) = state.retired.get_mut(&file.id) {
                evicted.extend(retired.iter().filter_map(Weak::upgrade));
                retired.retain(|handle| handle.strong_count() > 0);
                if retired.is_empty() {
                    state.retired.remove(&file.id);
                }
            }
            (state.open.get(&file.id).map(|slot| slot.file.clone()), evicted)
        };
        for handle in evicted {
            handle.sync(false)?;
        }
        match open {
            Some(handle) => handle.sync(true),
            None => Ok(()),
        }
    }

    /// After a write through `handle`: when the handle left the cache meanwhile, no eviction
    /// fsync is promised to have covered the write, so it is fdatasynced here.
    fn after_write(&self, id: u64, handle: &Arc<OpenFile>) -> io::Result<()> {
        let cached = {
            let state = self.lock();
            state
                .open
                .get(&id)
                .is_some_and(|slot| Arc::ptr_eq(&slot.file, handle))
        };
        if cached {
            return Ok(());
        }
        handle.sync(true)
    }

    /// Drops `id`'s handle without an fsync (its owner is gone: the file was deleted, or its
    /// log closed after a sync).
    fn forget(&self, id: u64) {
        let handle = {
            let mut state = self.lock();
            state.failed.remove(&id);
            state.retired.remove(&id);
            state.remove(id)
        };
        drop(handle);
    }

    fn register(self: &Arc<Self>, path: &Path, found_on_disk: bool) -> CachedFile {
        CachedFile {
            cache: self.clone(),
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            path: path.to_owned(),
            found_on_disk: AtomicBool::new(found_on_disk),
        }
    }
}

/// EMFILE (the process's limit) or ENFILE (the system's).
fn is_out_of_descriptors(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(error.raw_os_error(), Some(code) if code == 24 || code == 23)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// One segment file, opened on demand through its `HandleCache`. Dropping it drops its handle.
pub struct CachedFile {
    cache: Arc<HandleCache>,
    id: u64,
    path: PathBuf,
    /// The file existed before this process opened it: what the page cache holds of it may
    /// never have reached the disk (a process killed between a write and its fsync), so its
    /// first sync fsyncs whether or not this process wrote to it.
    found_on_disk: AtomicBool,
}

impl CachedFile {
    /// An existing file, opened (read and write) on first use.
    pub fn existing(cache: &Arc<HandleCache>, path: &Path) -> CachedFile {
        cache.register(path, true)
    }

    /// A file just opened (created) by the caller; the cache takes its descriptor. `dirty`: the
    /// caller wrote to it already.
    pub fn opened(cache: &Arc<HandleCache>, path: &Path, file: File, dirty: bool) -> CachedFile {
        let cached = cache.register(path, false);
        cache.insert(cached.id, file, dirty);
        cached
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open descriptor, for one operation: keep it only as long as that operation.
    pub fn handle(&self) -> io::Result<Arc<OpenFile>> {
        self.cache.handle(self)
    }

    pub fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        let handle = self.handle()?;
        read_exact_at(&handle, buf, position)
    }

    pub fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        let handle = self.handle()?;
        // Dirty before the write: a handle evicted in between is fsynced with it.
        handle.dirty.store(true, Ordering::SeqCst);
        write_all_at(&handle, buf, position)?;
        self.cache.after_write(self.id, &handle)
    }

    pub fn set_len(&self, length: u64) -> io::Result<()> {
        let handle = self.handle()?;
        handle.dirty.store(true, Ordering::SeqCst);
        handle.set_len(length)?;
        self.cache.after_write(self.id, &handle)
    }

    /// Fdatasync of the file: through its open handle, or nothing when its handle was evicted
    /// since its last sync (an eviction fsyncs what was written); a file found on disk is
    /// fsynced at its first sync even when evicted.
    pub fn sync_data(&self) -> io::Result<()> {
        if self.found_on_disk.swap(false, Ordering::SeqCst) {
            // Synced through the handle held here: an eviction cannot close it in between.
            let handle = self.handle()?;
            return handle.sync(true).inspect_err(|_| {
                self.found_on_disk.store(true, Ordering::SeqCst);
            });
        }
        self.cache.sync(self)
    }

    /// Closes the handle now, without an fsync (the file is about to be deleted or moved).
    pub fn close(&self) {
        self.cache.forget(self.id);
    }
}

impl Drop for CachedFile {
    fn drop(&mut self) {
        self.cache.forget(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_least_recently_used_handle_is_closed_and_reopened_on_its_next_use() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(2);
        let files: Vec<CachedFile> = (0..3)
            .map(|i| CachedFile::existing(&cache, &file_with(dir.path(), &format!("{i}"), &[i as u8; 4])))
            .collect();
        let mut byte = [0u8; 1];
        files[0].read_exact_at(&mut byte, 0).unwrap();
        files[1].read_exact_at(&mut byte, 0).unwrap();
        files[0].read_exact_at(&mut byte, 0).unwrap(); // 1 is now the least recently used
        files[2].read_exact_at(&mut byte, 0).unwrap();
        let stats = cache.stats();
        assert_eq!(
            (stats.open, stats.opens, stats.hits, stats.evictions),
            (2, 3, 1, 1)
        );
        assert!(!cache.lock().open.contains_key(&files[1].id), "1 was closed");
        files[1].read_exact_at(&mut byte, 0).unwrap();
        assert_eq!(byte, [1]);
        assert_eq!(cache.stats().opens, 4);
        assert!(
            !cache.lock().open.contains_key(&files[0].id),
            "then 0, the oldest"
        );
    }

    #[test]
    fn a_handle_in_use_is_not_closed_under_its_user() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(1);
        let a = CachedFile::existing(&cache, &file_with(dir.path(), "a", b"aaaa"));
        let b = CachedFile::existing(&cache, &file_with(dir.path(), "b", b"bbbb"));
        let in_use = a.handle().unwrap();
        let mut byte = [0u8; 1];
        b.read_exact_at(&mut byte, 0).unwrap(); // evicts a's handle from the cache
        assert_eq!(cache.stats().evictions, 1);
        // The reader still holds a working descriptor: an eviction closes nothing in use.
        read_exact_at(&in_use, &mut byte, 1).unwrap();
        assert_eq!(byte, *b"a");
        assert_eq!(Arc::strong_count(&in_use), 1, "only the reader holds it now");
    }

    #[test]
    fn a_dirty_handle_is_fsynced_before_it_is_closed_and_its_next_sync_opens_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(1);
        let a = CachedFile::existing(&cache, &file_with(dir.path(), "a", b""));
        let b = CachedFile::existing(&cache, &file_with(dir.path(), "b", b""));
        // Files found on disk are fsynced at their first sync, written to or not.
        a.sync_data().unwrap();
        b.sync_data().unwrap();
        assert_eq!(cache.stats().opens, 2);
        a.write_all_at(b"written", 0).unwrap();
        b.write_all_at(b"other", 0).unwrap(); // evicts a, dirty
        let stats = cache.stats();
        assert_eq!((stats.opens, stats.dirty_evictions), (4, 1));
        a.sync_data().unwrap();
        assert_eq!(cache.stats().opens, 4, "a's sync had nothing left to do");
        b.sync_data().unwrap();
        assert!(!b.handle().unwrap().is_dirty());
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"written");
    }

    #[test]
    fn lowering_the_capacity_closes_handles_at_once_and_forget_drops_one() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(8);
        let files: Vec<CachedFile> = (0..4)
            .map(|i| CachedFile::existing(&cache, &file_with(dir.path(), &format!("{i}"), b"x")))
            .collect();
        for file in &files {
            file.handle().unwrap();
        }
        assert_eq!(cache.stats().open, 4);
        cache.set_capacity(2).unwrap();
        assert_eq!(cache.stats().open, 2);
        drop(files);
        assert_eq!(cache.stats().open, 0, "a dropped file's handle is closed");
    }

    #[test]
    fn a_file_deleted_and_created_again_is_never_read_through_the_old_handle() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(4);
        let path = file_with(dir.path(), "segment", b"old!");
        let old = CachedFile::existing(&cache, &path);
        old.handle().unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"new!").unwrap();
        let new = CachedFile::existing(&cache, &path);
        let mut bytes = [0u8; 4];
        new.read_exact_at(&mut bytes, 0).unwrap();
        assert_eq!(&bytes, b"new!");
        old.read_exact_at(&mut bytes, 0).unwrap();
        assert_eq!(&bytes, b"old!", "the old descriptor still names the deleted file");
    }
}

#[cfg(test)]
mod eviction_race_tests {
    use super::*;
    use std::sync::mpsc;

    fn empty_file(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"").unwrap();
        path
    }

    /// `CachedFile::write_all_at` interleaved with an eviction on another thread: it borrowed
    /// the handle while clean, the eviction took it out of the cache (clean: no fsync, not in
    /// `closing`), then the write marked it dirty and wrote. When the operation ends the
    /// descriptor closes with the write unsynced, and every later sync of the file finds
    /// nothing open and returns Ok: an acknowledged write that was never fdatasynced.
    #[test]
    fn a_write_through_a_handle_evicted_while_borrowed_is_fsynced_before_a_sync_reports_success() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(1);
        let a = CachedFile::existing(&cache, &empty_file(dir.path(), "a"));
        let b = CachedFile::existing(&cache, &empty_file(dir.path(), "b"));
        a.sync_data().unwrap(); // first syncs of files found on disk are done
        b.sync_data().unwrap();
        // write_all_at, step 1: the borrow (`self.handle()?`).
        let borrowed = a.handle().unwrap();
        assert!(!borrowed.is_dirty());
        // Meanwhile another thread's operation opens b: a's handle is the only candidate.
        let _other = b.handle().unwrap();
        assert_eq!(cache.stats().dirty_evictions, 0, "a was evicted clean");
        // write_all_at, steps 2 and 3: the dirty mark and the write.
        borrowed.dirty.store(true, Ordering::SeqCst);
        write_all_at(&borrowed, b"acknowledged", 0).unwrap();
        // The sync job of the append runs (here before the write's borrow ends; after it the
        // descriptor is closed and nothing can fsync it any more).
        a.sync_data().unwrap();
        assert!(
            !borrowed.is_dirty(),
            "sync_data returned Ok but the only descriptor holding the write was never fdatasynced"
        );
    }

    /// An fsync of a file is in flight on a pool thread (it cleared the dirty mark and holds
    /// `sync_lock`) when the handle is evicted (clean, so not in `closing`). A second sync of
    /// the same file must wait for that fsync (the purpose of `sync_lock`); it returns Ok at
    /// once instead, before the data it covers is durable.
    #[test]
    fn a_sync_does_not_return_before_an_evicted_handles_fsync_in_flight_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HandleCache::new(1);
        let a = Arc::new(CachedFile::existing(&cache, &empty_file(dir.path(), "a")));
        let b = CachedFile::existing(&cache, &empty_file(dir.path(), "b"));
        a.sync_data().unwrap();
        b.sync_data().unwrap();
        a.write_all_at(b"acknowledged", 0).unwrap();
        let handle = a.handle().unwrap();
        let finished = Arc::new(AtomicBool::new(false));
        let (started_sender, started) = mpsc::channel();
        let (evicted_sender, evicted) = mpsc::channel::<()>();
        let fsync = {
            let (handle, finished) = (handle.clone(), finished.clone());
            std::thread::spawn(move || {
                // OpenFile::sync up to its fdatasync, which is slow on a busy disk.
                let _held = handle.sync_lock.lock().unwrap();
                assert!(handle.dirty.swap(false, Ordering::SeqCst));
                started_sender.send(()).unwrap();
                evicted.recv().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                handle.file.sync_data().unwrap();
                finished.store(true, Ordering::SeqCst);
            })
        };
        started.recv().unwrap();
        drop(handle);
        let _other = b.handle().unwrap(); // evicts a's handle, clean by now
        evicted_sender.send(()).unwrap();
        a.sync_data().unwrap();
        let finished_before_sync_returned = finished.load(Ordering::SeqCst);
        fsync.join().unwrap();
        assert!(
            finished_before_sync_returned,
            "a sync of the file returned Ok while its fdatasync was still in flight"
        );
    }
}
