//! The on-disk spool between the reader and the sender: append-only segment files of line
//! protocol. The reader appends to `NNN.open` and seals it (a rename to `NNN.lp`) once it
//! holds a batch or is old enough; the sender posts sealed segments oldest first and deletes
//! each only after the server took it. A crash loses nothing already appended: at start,
//! left-over open segments are sealed (a cut-off last line is dropped) and sent first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{error, warn};

/// Where the spool is and how it is cut into segments.
#[derive(Debug, Clone)]
pub(crate) struct SpoolSettings {
    pub(crate) dir: PathBuf,
    /// The bound past which the oldest data goes.
    pub(crate) max_bytes: u64,
    /// Lines per segment (one batch).
    pub(crate) batch_lines: usize,
    /// A segment is sealed at this age at the latest.
    pub(crate) max_age: Duration,
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

/// Sealed segments, oldest first.
pub(crate) fn sealed_segments(dir: &Path) -> io::Result<Vec<Segment>> {
    let mut segments: Vec<Segment> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let seq = name.strip_suffix(".lp")?.parse().ok()?;
            Some(Segment {
                seq,
                path: entry.path(),
            })
        })
        .collect();
    segments.sort_by_key(|s| s.seq);
    Ok(segments)
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
    dir: PathBuf,
    max_bytes: u64,
    batch_lines: usize,
    max_age: Duration,
    current: Option<OpenSegment>,
    next_seq: u64,
    /// Kept open: its lock keeps a second p1-influx off this spool.
    _lock: File,
    pub(crate) dropped_lines: u64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn open_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.open"))
}

fn sealed_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.lp"))
}

impl Spool {
    /// Opens (creating) the spool in its directory, sealing what an earlier run left open.
    pub(crate) fn open(settings: &SpoolSettings) -> Result<Spool, SpoolError> {
        let dir = &settings.dir;
        let fail = |source: io::Error| SpoolError::Io {
            dir: dir.clone(),
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
            return Err(SpoolError::InUse { dir: dir.clone() });
        }
        let mut highest = 0;
        for entry in fs::read_dir(dir).map_err(fail)?.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((seq, ext)) = name.split_once('.') else {
                continue;
            };
            let Ok(seq) = seq.parse::<u64>() else {
                continue;
            };
            highest = highest.max(seq);
            if ext == "open" {
                seal_leftover(&entry.path(), &sealed_path(dir, seq)).map_err(fail)?;
            }
        }
        Ok(Spool {
            dir: dir.clone(),
            max_bytes: settings.max_bytes,
            batch_lines: settings.batch_lines.max(1),
            max_age: settings.max_age,
            current: None,
            next_seq: highest + 1,
            _lock: lock,
            dropped_lines: 0,
        })
    }

    fn fail(&self, source: io::Error) -> SpoolError {
        SpoolError::Io {
            dir: self.dir.clone(),
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
                .open(open_path(&self.dir, seq))?;
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

    /// Hands what was appended to the kernel (called whenever the input is idle, so that a
    /// crash of this process loses nothing).
    pub(crate) fn flush(&mut self) -> Result<(), SpoolError> {
        match self.current.as_mut() {
            Some(current) => current.file.flush().map_err(|e| self.fail(e)),
            None => Ok(()),
        }
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
        fs::rename(
            open_path(&self.dir, current.seq),
            sealed_path(&self.dir, current.seq),
        )?;
        self.enforce_limit();
        Ok(())
    }

    /// Drops the oldest sealed segments while the spool is over its bound.
    /// Everything on disk counts, the open segment too; the newest sealed segment is kept.
    fn enforce_limit(&mut self) {
        let Ok(segments) = sealed_segments(&self.dir) else {
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
                    self.dir.display(),
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

    fn settings(dir: &Path, max_bytes: u64, batch_lines: usize) -> SpoolSettings {
        SpoolSettings {
            dir: dir.to_path_buf(),
            max_bytes,
            batch_lines,
            max_age: Duration::from_mins(1),
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
            assert_eq!(sealed_segments(&dir).unwrap().len(), 1);
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
        let segments = sealed_segments(&dir).unwrap();
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
        let segments = sealed_segments(&dir).unwrap();
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
        let mut kept: Vec<String> = sealed_segments(&dir)
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
}
