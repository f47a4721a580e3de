//! The spool between the reader and the sender: append-only segment files of line protocol.
//! The reader appends to `NNN.open` and seals it (a rename to `NNN.lp`) once it holds a batch
//! or is old enough; the sender posts sealed segments oldest first and deletes each only after
//! the server took it. A crash loses nothing already appended: at start, left-over open
//! segments are sealed (a cut-off last line is dropped) and sent first.
//!
//! Two directories, so that an SD card is not worn by data that is sent seconds later: a hot
//! one in memory (a tmpfs such as `/run`, which outlives a crash of p1-influx but not a power
//! cut) where segments are written, and the cold one on disk, where the sender moves them
//! ([`spill`]) once it falls behind or stops, and which is `fsync`ed at a stated interval.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{error, warn};

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

/// The spool's directories: the cold one on disk, and the hot one in memory if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolDirs {
    pub(crate) cold: PathBuf,
    pub(crate) hot: Option<PathBuf>,
}

impl SpoolDirs {
    /// Where segments are written.
    fn writing(&self) -> &Path {
        self.hot.as_deref().unwrap_or(&self.cold)
    }

    /// Both directories, the cold (older data) first.
    fn all(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.cold.as_path()).chain(self.hot.as_deref())
    }
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
                write!(
                    f,
                    "spool {}: {}",
                    dir.display(),
                    p1_common::error::IoCause(source)
                )
            }
            SpoolError::InUse { dir } => write!(
                f,
                "spool {}: in use by another p1-influx (give each its own --spool-dir)",
                dir.display()
            ),
        }
    }
}

impl From<SpoolError> for p1_common::Error {
    fn from(e: SpoolError) -> Self {
        match e {
            SpoolError::Io { dir, source } => {
                p1_common::Error::io(format!("spool {}", dir.display()), source)
            }
            in_use @ SpoolError::InUse { .. } => p1_common::Error::Failure(in_use.to_string()),
        }
    }
}

/// A sealed segment, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) seq: u64,
    pub(crate) path: PathBuf,
}

impl Segment {
    /// Where it is now: where it was listed, or on disk once spilled (only the sender
    /// spills, so between its listing and its use nothing else moves it).
    pub(crate) fn located(&self, dirs: &SpoolDirs) -> PathBuf {
        if self.path.exists() {
            self.path.clone()
        } else {
            sealed_path(&dirs.cold, self.seq)
        }
    }
}

/// The lines of a sealed segment that can be sent, and how many could not.
#[derive(Debug, Default)]
pub(crate) struct SegmentLines {
    /// The whole, valid lines, each with its `\n`.
    pub(crate) text: String,
    pub(crate) kept: usize,
    /// Lines dropped: not UTF-8, not line protocol, or cut off (a power cut mid-write).
    pub(crate) dropped: usize,
}

/// Reads a sealed segment, keeping only whole, valid lines of line protocol.
pub(crate) fn read_segment(path: &Path) -> io::Result<SegmentLines> {
    let bytes = fs::read(path)?;
    let mut out = SegmentLines::default();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let (line, whole) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        rest = &rest[(line.len() + usize::from(whole)).min(rest.len())..];
        if line.is_empty() {
            continue;
        }
        match std::str::from_utf8(line) {
            Ok(text) if whole && is_point(text) => {
                out.text.push_str(text);
                out.text.push('\n');
                out.kept += 1;
            }
            _ => out.dropped += 1,
        }
    }
    Ok(out)
}

/// Whether `line` looks like a point p1-influx wrote: a measurement, fields, and a
/// timestamp in whole seconds at its end; no control characters.
fn is_point(line: &str) -> bool {
    let Some((head, time)) = line.rsplit_once(' ') else {
        return false;
    };
    !time.is_empty()
        && time.len() <= 19
        && time.bytes().all(|b| b.is_ascii_digit())
        && head.contains(' ')
        && head.contains('=')
        && !line.bytes().any(|b| b.is_ascii_control() && b != b'\t')
}

/// Moves a segment that cannot be read aside (`NNN.bad`), so that it is not tried again.
pub(crate) fn quarantine(path: &Path) -> io::Result<PathBuf> {
    let aside = path.with_extension("bad");
    fs::rename(path, &aside)?;
    Ok(aside)
}

/// Sealed segments in both directories, oldest first.
pub(crate) fn sealed_segments(dirs: &SpoolDirs) -> io::Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for dir in dirs.all() {
        segments.extend(sealed_in(dir)?);
    }
    segments.sort_by_key(|s| s.seq);
    // A segment in both (a crash in the middle of a spill): the copy on disk is whole.
    segments.dedup_by_key(|s| s.seq);
    Ok(segments)
}

/// Sealed segments in one directory.
fn sealed_in(dir: &Path) -> io::Result<Vec<Segment>> {
    Ok(fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let seq = name.strip_suffix(".lp")?.parse().ok()?;
            Some(Segment {
                seq,
                path: entry.path(),
            })
        })
        .collect())
}

/// Moves the sealed segments of the hot directory to disk (a copy, then a rename, then the
/// hot one removed: a crash midway leaves a whole segment, at worst in both); how many.
/// Nothing is `fsync`ed here: see [`Syncer`].
pub(crate) fn spill(dirs: &SpoolDirs) -> io::Result<usize> {
    let Some(hot) = &dirs.hot else {
        return Ok(0);
    };
    let mut moved = 0;
    for segment in sealed_in(hot)? {
        let name = segment.path.file_name().unwrap_or_default();
        let cold = dirs.cold.join(name);
        let partial = cold.with_extension("part");
        match fs::copy(&segment.path, &partial) {
            Ok(_) => {}
            // Sent, or dropped by the bound, meanwhile.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        fs::rename(&partial, &cold)?;
        match fs::remove_file(&segment.path) {
            Ok(()) => moved += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => moved += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// `fsync`s what was written to the cold directory, at most `interval` after it was written.
#[derive(Debug)]
pub(crate) struct Syncer {
    dir: PathBuf,
    interval: Duration,
    /// When the oldest data not yet synced was written.
    dirty_since: Option<Instant>,
}

impl Syncer {
    pub(crate) fn new(dir: &Path, interval: Duration) -> Self {
        Syncer {
            dir: dir.to_path_buf(),
            interval,
            dirty_since: None,
        }
    }

    /// Notes that data reached the directory `age` after it was read from the input.
    pub(crate) fn written(&mut self, age: Duration) {
        let since = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        self.dirty_since = Some(self.dirty_since.map_or(since, |d| d.min(since)));
    }

    /// Syncs when the oldest unsynced data is `interval` old.
    pub(crate) fn sync_if_due(&mut self) -> io::Result<()> {
        if self
            .dirty_since
            .is_some_and(|since| since.elapsed() >= self.interval)
        {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs the directory if anything was written since the last time.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        match self.dirty_since.take() {
            Some(_) => sync_dir(&self.dir),
            None => Ok(()),
        }
    }
}

/// Syncs every segment in `dir`, and `dir` itself (its renames).
fn sync_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)?.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "lp" || x == "open") {
            match File::open(&path).and_then(|f| f.sync_data()) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    File::open(dir)?.sync_all()
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
    dirs: SpoolDirs,
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
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

fn open_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.open"))
}

fn sealed_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.lp"))
}

/// Creates `dir` and takes its lock.
fn lock(dir: &Path) -> Result<File, SpoolError> {
    let fail = |source: io::Error| SpoolError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(fail)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(fail)?;
    if lock.try_lock().is_err() {
        return Err(SpoolError::InUse {
            dir: dir.to_path_buf(),
        });
    }
    Ok(lock)
}

/// Seals what a crashed run left open in `dir`, removes its half-copied segments, and
/// returns the highest sequence number there.
fn recover(dir: &Path) -> io::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir)?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((seq, ext)) = name.split_once('.') else {
            continue;
        };
        let Ok(seq) = seq.parse::<u64>() else {
            continue;
        };
        match ext {
            "open" => seal_leftover(&entry.path(), &sealed_path(dir, seq))?,
            "part" => fs::remove_file(entry.path())?,
            _ => {}
        }
        highest = highest.max(seq);
    }
    Ok(highest)
}

impl Spool {
    /// Opens (creating) the spool in its directories, sealing what an earlier run left open.
    pub(crate) fn open(settings: &SpoolSettings) -> Result<Spool, SpoolError> {
        let dirs = &settings.dirs;
        let mut locks = Vec::new();
        let mut highest = 0;
        for dir in dirs.all() {
            locks.push(lock(dir)?);
            highest = highest.max(recover(dir).map_err(|source| SpoolError::Io {
                dir: dir.to_path_buf(),
                source,
            })?);
        }
        Ok(Spool {
            dirs: dirs.clone(),
            max_bytes: settings.max_bytes,
            batch_lines: settings.batch_lines.max(1),
            max_age: settings.max_age,
            current: None,
            next_seq: highest + 1,
            syncer: dirs
                .hot
                .is_none()
                .then(|| Syncer::new(&dirs.cold, settings.sync)),
            _locks: locks,
            dropped_lines: 0,
        })
    }

    fn fail(&self, source: io::Error) -> SpoolError {
        SpoolError::Io {
            dir: self.dirs.writing().to_path_buf(),
            source,
        }
    }

    /// Appends complete lines (each ending in `\n`), counting `count` of them.
    pub(crate) fn append(&mut self, lines: &str, count: usize) -> Result<(), SpoolError> {
        self.append_io(lines, count).map_err(|e| self.fail(e))
    }

    fn append_io(&mut self, lines: &str, count: usize) -> io::Result<()> {
        if self.current.is_none() {
            let seq = self.next_seq;
            self.next_seq += 1;
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(open_path(self.dirs.writing(), seq))?;
            self.current = Some(OpenSegment {
                seq,
                file: BufWriter::with_capacity(64 * 1024, file),
                lines: 0,
                bytes: 0,
                opened: Instant::now(),
            });
        }
        let Some(current) = self.current.as_mut() else {
            return Ok(());
        };
        current.file.write_all(lines.as_bytes())?;
        current.lines += count;
        current.bytes += lines.len() as u64;
        if current.lines >= self.batch_lines
            || current.bytes >= (self.max_bytes / SEGMENTS_IN_BOUND).max(1)
        {
            self.seal_io()?;
        }
        Ok(())
    }

    /// Hands what was appended to the kernel, so that a crash of this process loses
    /// nothing; on disk, it is `fsync`ed at the sync interval.
    pub(crate) fn flush(&mut self) -> Result<(), SpoolError> {
        let Some(current) = self.current.as_mut() else {
            return Ok(());
        };
        current.file.flush().map_err(|e| self.fail(e))?;
        if let Some(syncer) = self.syncer.as_mut() {
            syncer.written(Duration::ZERO);
        }
        self.sync_if_due()
    }

    /// Syncs what was written straight to disk once it is as old as the sync interval.
    pub(crate) fn sync_if_due(&mut self) -> Result<(), SpoolError> {
        let Some(syncer) = self.syncer.as_mut() else {
            return Ok(());
        };
        syncer.sync_if_due().map_err(|e| self.fail(e))
    }

    /// Moves the hot segments to disk and syncs it: at the end of a run, what is left is
    /// kept through a power cut.
    pub(crate) fn put_away(&mut self) -> Result<(), SpoolError> {
        self.seal()?;
        spill(&self.dirs)
            .and_then(|_| sync_dir(&self.dirs.cold))
            .map_err(|e| self.fail(e))
    }

    /// Seals the open segment once it is old enough; true when it did.
    pub(crate) fn seal_if_old(&mut self) -> Result<bool, SpoolError> {
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.opened.elapsed() >= self.max_age)
        {
            self.seal()?;
            return Ok(true);
        }
        Ok(false)
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
        let dir = self.dirs.writing();
        fs::rename(open_path(dir, current.seq), sealed_path(dir, current.seq))?;
        self.enforce_limit();
        Ok(())
    }

    /// Drops the oldest sealed segments while the spool is over its bound.
    /// Everything on disk counts, the open segment too; the newest sealed segment is kept.
    fn enforce_limit(&mut self) {
        let Ok(segments) = sealed_segments(&self.dirs) else {
            return;
        };
        let sizes: Vec<u64> = segments
            .iter()
            .map(|s| fs::metadata(&s.path).map_or(0, |m| m.len()))
            .collect();
        let open = self.current.as_ref().map_or(0, |c| c.bytes);
        let mut total: u64 = sizes.iter().sum::<u64>() + open;
        let older = segments.len().saturating_sub(1);
        for (segment, size) in segments.iter().zip(sizes).take(older) {
            if total <= self.max_bytes {
                break;
            }
            let lines = count_lines(&segment.path);
            if fs::remove_file(&segment.path).is_ok() {
                self.dropped_lines += lines;
                total -= size;
                error!(
                    "spool {} is full (over {} bytes): dropped its oldest {lines} points ({} dropped so far); \
                     is the database reachable? raise --spool-max to keep more",
                    self.dirs.cold.display(),
                    self.max_bytes,
                    self.dropped_lines
                );
            }
        }
    }
}

fn count_lines(path: &Path) -> u64 {
    let mut bytes = Vec::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_end(&mut bytes));
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Seals a segment a crashed run left open, without its cut-off last line.
fn seal_leftover(open: &Path, sealed: &Path) -> io::Result<()> {
    let bytes = fs::read(open)?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    if complete < bytes.len() {
        warn!("{}: dropped a line cut off by a crash", open.display());
        OpenOptions::new()
            .write(true)
            .open(open)?
            .set_len(complete as u64)?;
    }
    if complete == 0 {
        return fs::remove_file(open);
    }
    fs::rename(open, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            spool.flush().unwrap();
            assert_eq!(sealed_segments(&disk_only(&dir)).unwrap().len(), 1);
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
        let segments = sealed_segments(&disk_only(&dir)).unwrap();
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
        let segments = sealed_segments(&disk_only(&dir)).unwrap();
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
        spool.flush().unwrap();
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
        let mut kept: Vec<String> = sealed_segments(&disk_only(&dir))
            .unwrap()
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
        assert_eq!(sealed_in(&hot).unwrap().len(), 2);
        assert_eq!(sealed_in(&cold).unwrap().len(), 0);
        assert_eq!(spill(&dirs).unwrap(), 2);
        assert_eq!(sealed_in(&hot).unwrap().len(), 0);
        spool.append("c 3\n", 1).unwrap();
        drop(spool);
        // As if a crash came between the copy and the removal, and during another copy.
        fs::copy(sealed_path(&hot, 3), sealed_path(&cold, 3)).unwrap();
        fs::write(cold.join(format!("{:020}.part", 4)), "d").unwrap();
        let _spool = Spool::open(&settings).unwrap();
        let texts: Vec<String> = sealed_segments(&dirs)
            .unwrap()
            .iter()
            .map(|s| fs::read_to_string(&s.path).unwrap())
            .collect();
        assert_eq!(texts, ["a 1\n", "b 2\n", "c 3\n"]);
        assert!(!cold.join(format!("{:020}.part", 4)).exists());
        fs::remove_dir_all(&cold).ok();
        fs::remove_dir_all(&hot).ok();
    }
}
