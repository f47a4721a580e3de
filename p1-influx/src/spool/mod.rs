//! The spool between the reader and the sender: append-only segment files of line protocol.
//! The reader appends to an open segment and seals it once it holds a batch or is old
//! enough; the sender posts sealed segments oldest first and deletes each only after the
//! server took it. A crash loses nothing already appended: at start, left-over open
//! segments are sealed (a cut-off last line is dropped) and sent first.
//!
//! Two directories, so that an SD card is not worn by data that is sent seconds later: a hot
//! one in memory (a tmpfs such as `/run`, which outlives a crash of p1-influx but not a power
//! cut) where segments are written, and the cold one on disk, where the sender moves them
//! once it falls behind or stops, and which is `fsync`ed at a stated interval. Which file is
//! where is [`layout`]'s alone.

pub(crate) mod layout;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::error;
use p1_common::runtime::error::{Fault, IoCause, Kind};

pub(crate) use self::layout::SpoolDirs;
use self::layout::{Layout, LockError, Syncer};

/// Where the spool is and how it is cut into segments.
#[derive(Debug, Clone)]
pub(crate) struct SpoolSettings {
    pub(crate) dirs: SpoolDirs,
    /// The bound past which the oldest data goes.
    pub(crate) max_bytes: u64,
    /// Lines per segment (one batch).
    pub(crate) batch_lines: usize,
    /// A segment is sealed at this age at the latest.
    pub(crate) max_age: Duration,
    /// What is on disk is `fsync`ed at this interval at the latest.
    pub(crate) sync: Duration,
}

/// What can go wrong with the spool, with its directory.
#[derive(Debug)]
pub(crate) enum SpoolError {
    Io {
        dir: PathBuf,
        source: io::Error,
    },
    /// Another p1-influx holds the lock.
    InUse {
        dir: PathBuf,
    },
}

impl std::fmt::Display for SpoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpoolError::Io { dir, source } => {
                write!(f, "spool {}: {}", dir.display(), IoCause(source))
            }
            SpoolError::InUse { dir } => write!(
                f,
                "spool {}: in use by another p1-influx (give each its own --spool-dir)",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for SpoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpoolError::Io { source, .. } => Some(source),
            SpoolError::InUse { .. } => None,
        }
    }
}

impl Fault for SpoolError {
    fn kind(&self) -> Kind {
        match self {
            SpoolError::Io { source, .. } => Fault::kind(source),
            SpoolError::InUse { .. } => Kind::Failure,
        }
    }
}

struct OpenSegment {
    seq: u64,
    file: BufWriter<File>,
    lines: usize,
    bytes: u64,
    opened: Instant,
}

/// Segments are sealed at this share of the bound at most, so that dropping the oldest
/// whole segment never takes more than a quarter of what is kept, and never the newest.
const SEGMENTS_IN_BOUND: u64 = 4;

/// The writing end of the spool.
pub(crate) struct Spool {
    layout: Arc<Layout>,
    max_bytes: u64,
    batch_lines: usize,
    max_age: Duration,
    current: Option<OpenSegment>,
    next_seq: u64,
    /// Syncs what is written straight to disk, when there is no hot directory.
    syncer: Option<Syncer>,
    /// Kept open: their locks keep a second p1-influx off this spool.
    _locks: Vec<File>,
    pub(crate) dropped_lines: u64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl Spool {
    /// Opens (creating) the spool in its directories, sealing what an earlier run left open.
    pub(crate) fn open(settings: &SpoolSettings) -> Result<Spool, SpoolError> {
        let layout = Arc::new(Layout::new(settings.dirs.clone()));
        let (locks, highest) = layout.open().map_err(|(dir, e)| match e {
            LockError::Io(source) => SpoolError::Io { dir, source },
            LockError::InUse => SpoolError::InUse { dir },
        })?;
        Ok(Spool {
            max_bytes: settings.max_bytes,
            batch_lines: settings.batch_lines.max(1),
            max_age: settings.max_age,
            current: None,
            next_seq: highest + 1,
            syncer: settings
                .dirs
                .hot
                .is_none()
                .then(|| Syncer::new(settings.sync)),
            _locks: locks,
            dropped_lines: 0,
            layout,
        })
    }

    /// The layout, for the sender.
    pub(crate) fn layout(&self) -> Arc<Layout> {
        Arc::clone(&self.layout)
    }

    fn fail(&self, source: io::Error) -> SpoolError {
        SpoolError::Io {
            dir: self.layout.dirs().writing().to_path_buf(),
            source,
        }
    }

    /// Appends complete lines (each ending in `\n`), counting `count` of them, and hands
    /// them to the kernel at once: a crash of this process loses nothing appended. On disk,
    /// they are `fsync`ed at the sync interval. True when a segment was sealed.
    pub(crate) fn append(&mut self, lines: &str, count: usize) -> Result<bool, SpoolError> {
        let sealed = self.append_io(lines, count).map_err(|e| self.fail(e))?;
        if let Some(syncer) = self.syncer.as_mut() {
            syncer.written(Duration::ZERO);
        }
        Ok(sealed)
    }

    fn append_io(&mut self, lines: &str, count: usize) -> io::Result<bool> {
        if self.current.is_none() {
            let seq = self.next_seq;
            self.next_seq += 1;
            let file = self.layout.create_open(seq)?;
            self.current = Some(OpenSegment {
                seq,
                file: BufWriter::with_capacity(64 * 1024, file),
                lines: 0,
                bytes: 0,
                opened: Instant::now(),
            });
        }
        let Some(current) = self.current.as_mut() else {
            return Ok(false);
        };
        current.file.write_all(lines.as_bytes())?;
        current.file.flush()?;
        current.lines += count;
        current.bytes += lines.len() as u64;
        let full = current.lines >= self.batch_lines
            || current.bytes >= (self.max_bytes / SEGMENTS_IN_BOUND).max(1);
        if full {
            self.seal_io()?;
        }
        Ok(full)
    }

    /// When [`Spool::tick`] has something to do: the open segment's sealing, or a sync.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let seal = self.current.as_ref().map(|c| c.opened + self.max_age);
        let sync = self.syncer.as_ref().and_then(Syncer::due);
        seal.into_iter().chain(sync).min()
    }

    /// Seals the open segment once it is old enough (true when it did) and syncs what was
    /// written straight to disk once it is as old as the sync interval.
    pub(crate) fn tick(&mut self) -> Result<bool, SpoolError> {
        let old = self
            .current
            .as_ref()
            .is_some_and(|c| c.opened.elapsed() >= self.max_age);
        if old {
            self.seal()?;
        }
        if let Some(syncer) = self.syncer.as_mut() {
            let synced = syncer.sync_if_due(&self.layout);
            synced.map_err(|e| self.fail(e))?;
        }
        Ok(old)
    }

    /// Moves the hot segments to disk and syncs it: at the end of a run, what is left is
    /// kept through a power cut.
    pub(crate) fn put_away(&mut self) -> Result<(), SpoolError> {
        self.seal()?;
        self.layout
            .spill()
            .and_then(|_| self.layout.sync_cold())
            .map_err(|e| self.fail(e))
    }

    /// Closes the open segment and makes it visible to the sender.
    pub(crate) fn seal(&mut self) -> Result<(), SpoolError> {
        self.seal_io().map_err(|e| self.fail(e))
    }

    fn seal_io(&mut self) -> io::Result<()> {
        let Some(mut current) = self.current.take() else {
            return Ok(());
        };
        current.file.flush()?;
        drop(current.file);
        self.layout.seal(current.seq)?;
        self.enforce_limit();
        Ok(())
    }

    /// Sealed segments left for the next run.
    pub(crate) fn left(&self) -> usize {
        self.layout.sealed().map_or(0, |s| s.len())
    }

    /// Drops the oldest sealed segments while the spool is over its bound (never one the
    /// sender holds). Everything on disk counts, the open segment too; the newest sealed
    /// segment is kept.
    fn enforce_limit(&mut self) {
        let Ok(segments) = self.layout.sealed() else {
            return;
        };
        let sizes: Vec<u64> = segments.iter().map(Layout::size).collect();
        let open = self.current.as_ref().map_or(0, |c| c.bytes);
        let mut total: u64 = sizes.iter().sum::<u64>() + open;
        let older = segments.len().saturating_sub(1);
        for (segment, size) in segments.iter().zip(sizes).take(older) {
            if total <= self.max_bytes {
                break;
            }
            if let Some(lines) = self.layout.drop_for_bound(segment) {
                self.dropped_lines += lines;
                total -= size;
                error!(
                    "spool {} is full (over {} bytes): dropped its oldest {lines} points ({} dropped so far); \
                     is the database reachable? raise --spool-max to keep more",
                    self.layout.dirs().cold.display(),
                    self.max_bytes,
                    self.dropped_lines
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{self, OpenOptions};
    use std::path::Path;

    use super::layout::Segment;
    use super::layout::testing::{open_path, sealed_in, sealed_path};
    use super::*;

    fn sealed(dirs: &SpoolDirs) -> Vec<Segment> {
        Layout::new(dirs.clone()).sealed().unwrap()
    }

    fn temp(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("p1-influx-spool-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn disk_only(dir: &Path) -> SpoolDirs {
        SpoolDirs {
            cold: dir.to_path_buf(),
            hot: None,
        }
    }

    fn settings(dir: &Path, max_bytes: u64, batch_lines: usize) -> SpoolSettings {
        SpoolSettings {
            dirs: disk_only(dir),
            max_bytes,
            batch_lines,
            max_age: Duration::from_mins(1),
            sync: Duration::from_mins(1),
        }
    }

    #[test]
    fn segments_seal_at_a_batch_and_survive_a_crash() {
        let dir = temp("seal");
        {
            let mut spool = Spool::open(&settings(&dir, 1 << 20, 2)).unwrap();
            spool.append("a 1\n", 1).unwrap();
            spool.append("b 2\n", 1).unwrap(); // sealed: 2 lines
            spool.append("c 3\n", 1).unwrap();
            assert_eq!(sealed(&disk_only(&dir)).len(), 1);
            // A second p1-influx on the same spool is refused.
            assert!(matches!(
                Spool::open(&settings(&dir, 1 << 20, 2)).unwrap_err(),
                SpoolError::InUse { .. }
            ));
            // Simulate a crash mid-line.
            let open = open_path(&dir, 2);
            let mut f = OpenOptions::new().append(true).open(&open).unwrap();
            f.write_all(b"d 4").unwrap();
            drop(spool);
        }
        let _spool = Spool::open(&settings(&dir, 1 << 20, 2));
        let segments = sealed(&disk_only(&dir));
        let texts: Vec<String> = segments
            .iter()
            .map(|s| fs::read_to_string(&s.path).unwrap())
            .collect();
        assert_eq!(texts, ["a 1\nb 2\n", "c 3\n"]);
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_oldest_data_goes_when_the_spool_is_full() {
        let dir = temp("full");
        let mut spool = Spool::open(&settings(&dir, 30, 1)).unwrap();
        for i in 0..10 {
            spool.append(&format!("line {i}\n"), 1).unwrap();
        }
        let segments = sealed(&disk_only(&dir));
        let kept: Vec<String> = segments
            .iter()
            .map(|s| fs::read_to_string(&s.path).unwrap())
            .collect();
        assert_eq!(kept, ["line 6\n", "line 7\n", "line 8\n", "line 9\n"]);
        assert_eq!(spool.dropped_lines, 6);
        fs::remove_dir_all(&dir).ok();
    }

    /// Issue 13 (2): one large open segment went over the bound and was dropped whole, the
    /// newest lines with it; the open segment was not counted.
    #[test]
    fn the_bound_counts_everything_and_keeps_the_newest_lines_regression_13() {
        let dir = temp("bound");
        let mut spool = Spool::open(&settings(&dir, 200, 1000)).unwrap();
        for i in 0..100 {
            spool.append(&format!("line {i:02}\n"), 1).unwrap();
        }
        let on_disk: u64 = fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "lock")
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(
            on_disk <= 200 + 56,
            "{on_disk} bytes on disk for a bound of 200"
        );
        let mut kept: Vec<String> = sealed(&disk_only(&dir))
            .iter()
            .flat_map(|s| {
                fs::read_to_string(&s.path)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let open = fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "open"));
        if let Some(open) = open {
            kept.extend(
                fs::read_to_string(open.path())
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
        assert_eq!(
            kept.last().map(String::as_str),
            Some("line 99"),
            "the newest is kept"
        );
        assert_eq!(
            spool.dropped_lines + kept.len() as u64,
            100,
            "every line kept or counted"
        );
        fs::remove_dir_all(&dir).ok();
    }

    /// Issue 13 (5): segments are written in memory and spilled to disk whole; a crash in the
    /// middle of a spill (a segment in both) lists it once, and a half copy is removed.
    #[test]
    fn hot_segments_spill_to_disk_whole_regression_13() {
        let cold = temp("spill-cold");
        let hot = temp("spill-hot");
        let dirs = SpoolDirs {
            cold: cold.clone(),
            hot: Some(hot.clone()),
        };
        let mut settings = settings(&cold, 1 << 20, 1);
        settings.dirs = dirs.clone();
        let mut spool = Spool::open(&settings).unwrap();
        spool.append("a 1\n", 1).unwrap();
        spool.append("b 2\n", 1).unwrap();
        assert_eq!(sealed_in(&hot).len(), 2);
        assert_eq!(sealed_in(&cold).len(), 0);
        assert_eq!(spool.layout().spill().unwrap(), 2);
        assert_eq!(sealed_in(&hot).len(), 0);
        spool.append("c 3\n", 1).unwrap();
        drop(spool);
        // As if a crash came between the copy and the removal, and during another copy.
        fs::copy(sealed_path(&hot, 3), sealed_path(&cold, 3)).unwrap();
        fs::write(cold.join(format!("{:020}.part", 4)), "d").unwrap();
        let _spool = Spool::open(&settings).unwrap();
        let texts: Vec<String> = sealed(&dirs)
            .iter()
            .map(|s| fs::read_to_string(&s.path).unwrap())
            .collect();
        assert_eq!(texts, ["a 1\n", "b 2\n", "c 3\n"]);
        assert!(!cold.join(format!("{:020}.part", 4)).exists());
        fs::remove_dir_all(&cold).ok();
        fs::remove_dir_all(&hot).ok();
    }

    /// Issue 21: a segment the sender holds is not dropped by the bound under its feet (its
    /// lines were counted both sent and dropped); the next older one goes instead, and the
    /// held one once it is let go.
    #[test]
    fn a_segment_the_sender_holds_is_never_dropped_for_the_bound_regression_21() {
        let dir = temp("claim");
        let mut spool = Spool::open(&settings(&dir, 30, 1)).unwrap();
        let layout = spool.layout();
        // Points of 8 bytes, a segment each: the bound holds three.
        spool.append("m v=0 0\n", 1).unwrap();
        let held = layout.claim(sealed(&disk_only(&dir))[0].clone());
        for i in 1..6 {
            spool.append(&format!("m v={i} 0\n"), 1).unwrap();
        }
        assert_eq!(
            held.read().unwrap().text,
            "m v=0 0\n",
            "still there to send"
        );
        let kept: Vec<u64> = sealed(&disk_only(&dir)).iter().map(|s| s.seq).collect();
        assert_eq!(
            kept,
            [1, 5, 6],
            "the held one kept, older unheld ones dropped"
        );
        assert_eq!(spool.dropped_lines, 3);
        held.remove().unwrap();
        spool.append("m v=6 0\n", 1).unwrap();
        assert_eq!(
            spool.dropped_lines, 3,
            "a sent segment is not counted dropped"
        );
        fs::remove_dir_all(&dir).ok();
    }
}
