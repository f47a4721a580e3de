//! The spool's directories, and everything that names, lists, moves or removes a file in
//! them: the one owner of the layout, shared by the writing end and the sender.
//!
//! Segments are `NNN.open` while written, `NNN.lp` once sealed, `NNN.part` while copied to
//! disk, `NNN.bad` once set aside; each directory has a `lock`. A sealed segment the sender
//! holds is claimed: the bound never removes it under the sender's feet, so its lines are
//! either sent or dropped, never both.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use log::warn;

/// The spool's directories: the cold one on disk, and the hot one in memory if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolDirs {
    pub(crate) cold: PathBuf,
    pub(crate) hot: Option<PathBuf>,
}

impl SpoolDirs {
    /// Where segments are written.
    pub(crate) fn writing(&self) -> &Path {
        self.hot.as_deref().unwrap_or(&self.cold)
    }

    /// Both directories, the cold (older data) first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.cold.as_path()).chain(self.hot.as_deref())
    }
}

/// A sealed segment, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) seq: u64,
    /// Where it was when listed.
    pub(crate) path: PathBuf,
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

/// The directories and their files.
#[derive(Debug)]
pub(crate) struct Layout {
    dirs: SpoolDirs,
    /// The sealed segment the sender holds.
    claimed: Mutex<Option<u64>>,
}

/// A sealed segment held by the sender until it is removed or let go.
#[derive(Debug)]
pub(crate) struct Claim<'a> {
    layout: &'a Layout,
    pub(crate) segment: Segment,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        *self.layout.claims() = None;
    }
}

impl Claim<'_> {
    /// Where the segment is now: where it was listed, or on disk once spilled (only the
    /// sender spills, so between its listing and its use nothing else moves it).
    fn located(&self) -> PathBuf {
        if self.segment.path.exists() {
            self.segment.path.clone()
        } else {
            sealed_path(&self.layout.dirs.cold, self.segment.seq)
        }
    }

    /// Its lines that can be sent; `NotFound` when it is gone (dropped by the bound before
    /// it was claimed).
    pub(crate) fn read(&self) -> io::Result<SegmentLines> {
        read_segment(&self.located())
    }

    /// Removes it once sent.
    pub(crate) fn remove(self) -> io::Result<()> {
        fs::remove_file(self.located())
    }

    /// Moves it aside (`NNN.bad`) when it cannot be read, so that it is not tried again.
    pub(crate) fn quarantine(self) -> io::Result<PathBuf> {
        let path = self.located();
        let aside = path.with_extension("bad");
        fs::rename(&path, &aside)?;
        Ok(aside)
    }
}

impl Layout {
    pub(crate) fn new(dirs: SpoolDirs) -> Self {
        Layout {
            dirs,
            claimed: Mutex::new(None),
        }
    }

    pub(crate) fn dirs(&self) -> &SpoolDirs {
        &self.dirs
    }

    fn claims(&self) -> MutexGuard<'_, Option<u64>> {
        self.claimed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `segment` for sending: the bound leaves it alone until the claim ends.
    pub(crate) fn claim(&self, segment: Segment) -> Claim<'_> {
        *self.claims() = Some(segment.seq);
        Claim {
            layout: self,
            segment,
        }
    }

    /// Sealed segments in both directories, oldest first.
    pub(crate) fn sealed(&self) -> io::Result<Vec<Segment>> {
        let mut segments = Vec::new();
        for dir in self.dirs.all() {
            segments.extend(sealed_in(dir)?);
        }
        segments.sort_by_key(|s| s.seq);
        // A segment in both (a crash in the middle of a spill): the copy on disk is whole.
        segments.dedup_by_key(|s| s.seq);
        Ok(segments)
    }

    /// Removes `segment` to keep the spool under its bound, unless the sender holds it; how
    /// many lines went.
    /// The claim is held while the file goes, so that the sender cannot take it meanwhile.
    pub(crate) fn drop_for_bound(&self, segment: &Segment) -> Option<u64> {
        let claims = self.claims();
        if *claims == Some(segment.seq) {
            return None;
        }
        let lines = count_lines(&segment.path);
        fs::remove_file(&segment.path).ok()?;
        drop(claims);
        Some(lines)
    }

    /// The size of a sealed segment, 0 when it is gone.
    pub(crate) fn size(segment: &Segment) -> u64 {
        fs::metadata(&segment.path).map_or(0, |m| m.len())
    }

    /// Creates the directories, takes their locks (kept open: they keep a second p1-influx
    /// off this spool), seals what a crashed run left open and removes its half copies;
    /// the highest sequence number found.
    pub(crate) fn open(&self) -> Result<(Vec<File>, u64), (PathBuf, LockError)> {
        let mut locks = Vec::new();
        let mut highest = 0;
        for dir in self.dirs.all() {
            locks.push(lock(dir).map_err(|e| (dir.to_path_buf(), e))?);
            let found = recover(dir).map_err(|e| (dir.to_path_buf(), LockError::Io(e)))?;
            highest = highest.max(found);
        }
        Ok((locks, highest))
    }

    /// A new segment to write, `NNN.open` in the writing directory.
    pub(crate) fn create_open(&self, seq: u64) -> io::Result<File> {
        OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(open_path(self.dirs.writing(), seq))
    }

    /// Makes an open segment visible to the sender.
    pub(crate) fn seal(&self, seq: u64) -> io::Result<()> {
        let dir = self.dirs.writing();
        fs::rename(open_path(dir, seq), sealed_path(dir, seq))
    }

    /// Moves the sealed segments of the hot directory to disk (a copy, then a rename, then
    /// the hot one removed: a crash midway leaves a whole segment, at worst in both); how
    /// many. Nothing is `fsync`ed here: see [`Syncer`].
    pub(crate) fn spill(&self) -> io::Result<usize> {
        let Some(hot) = &self.dirs.hot else {
            return Ok(0);
        };
        let mut moved = 0;
        for segment in sealed_in(hot)? {
            let name = segment.path.file_name().unwrap_or_default();
            let cold = self.dirs.cold.join(name);
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

    /// `fsync`s the directory on disk and its segments.
    pub(crate) fn sync_cold(&self) -> io::Result<()> {
        sync_dir(&self.dirs.cold)
    }
}

/// Why a directory of the spool cannot be had.
#[derive(Debug)]
pub(crate) enum LockError {
    Io(io::Error),
    /// Another p1-influx holds it.
    InUse,
}

fn open_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.open"))
}

fn sealed_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.lp"))
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

/// Creates `dir` and takes its lock.
fn lock(dir: &Path) -> Result<File, LockError> {
    fs::create_dir_all(dir).map_err(LockError::Io)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(LockError::Io)?;
    if lock.try_lock().is_err() {
        return Err(LockError::InUse);
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

fn count_lines(path: &Path) -> u64 {
    fs::read(path).map_or(0, |bytes| {
        bytes.iter().filter(|&&b| b == b'\n').count() as u64
    })
}

/// Reads a sealed segment, keeping only whole, valid lines of line protocol.
fn read_segment(path: &Path) -> io::Result<SegmentLines> {
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

/// `fsync`s what was written to a directory, at most `interval` after it was written.
#[derive(Debug)]
pub(crate) struct Syncer {
    interval: Duration,
    /// When the oldest data not yet synced was written.
    dirty_since: Option<Instant>,
}

impl Syncer {
    pub(crate) fn new(interval: Duration) -> Self {
        Syncer {
            interval,
            dirty_since: None,
        }
    }

    /// Notes that data reached the directory `age` after it was read from the input.
    pub(crate) fn written(&mut self, age: Duration) {
        let since = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        self.dirty_since = Some(self.dirty_since.map_or(since, |d| d.min(since)));
    }

    /// When the next sync is due, if anything waits for one.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.dirty_since.map(|since| since + self.interval)
    }

    /// Syncs the cold directory when the oldest unsynced data is `interval` old.
    pub(crate) fn sync_if_due(&mut self, layout: &Layout) -> io::Result<()> {
        if self.due().is_some_and(|due| due <= Instant::now()) {
            self.sync(layout)?;
        }
        Ok(())
    }

    /// Syncs the cold directory if anything was written since the last time.
    pub(crate) fn sync(&mut self, layout: &Layout) -> io::Result<()> {
        match self.dirty_since.take() {
            Some(_) => layout.sync_cold(),
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

#[cfg(test)]
pub(crate) mod testing {
    //! What the tests of the spool look at directly.
    use super::*;

    pub(crate) fn open_path(dir: &Path, seq: u64) -> PathBuf {
        super::open_path(dir, seq)
    }

    pub(crate) fn sealed_path(dir: &Path, seq: u64) -> PathBuf {
        super::sealed_path(dir, seq)
    }

    pub(crate) fn sealed_in(dir: &Path) -> Vec<Segment> {
        super::sealed_in(dir).expect("a spool directory")
    }
}
