//! Running the real binaries: a process group of their own, output read as it comes, every
//! wait bounded, and the whole group killed when a test is done or gives up.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal;
use nix::sys::signal::{kill, killpg};
use nix::unistd::Pid;

use crate::finished::Finished;

/// How long a run may take before the test gives up on it.
pub const RUN_DEADLINE: Duration = Duration::from_mins(1);

/// Runs `command` to its end with `stdin` as its input, within [`RUN_DEADLINE`].
pub fn run(command: &mut Command, stdin: &[u8]) -> Finished {
    run_with(command, stdin, RUN_DEADLINE)
}

/// Runs `command` to its end with `stdin` as its input; past `deadline` its process group is
/// killed and the test fails, showing what it wrote.
pub fn run_with(command: &mut Command, stdin: &[u8], deadline: Duration) -> Finished {
    let mut child = spawn_in_group(command);
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let stdout = read_all(child.stdout.take().expect("stdout is piped"));
    let stderr = read_all(child.stderr.take().expect("stderr is piped"));
    let status = wait_until(&mut child, Instant::now() + deadline);
    kill_group(&child);
    let _ = writer.join();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if let Some(status) = status {
        Finished::from(Output {
            status,
            stdout,
            stderr,
        })
    } else {
        let _ = child.wait();
        panic!(
            "{command:?} still running after {deadline:?}: killed\nstderr:\n{}",
            String::from_utf8_lossy(&stderr)
        )
    }
}

/// Starts `command` piped all round, in a process group of its own.
fn spawn_in_group(command: &mut Command) -> Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"))
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill_group(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// A long-running binary: stdin piped, stdout and stderr arriving line by line.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stdout line taken so far.
    pub stdout_seen: Vec<String>,
    /// Every stderr line taken so far.
    pub stderr_seen: Vec<String>,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `command` in a process group of its own.
    pub fn spawn(command: &mut Command) -> Proc {
        let mut child = spawn_in_group(command);
        Proc {
            stdin: child.stdin.take(),
            stdout: lines(child.stdout.take().expect("stdout is piped")),
            stderr: lines(child.stderr.take().expect("stderr is piped")),
            child,
            stdout_seen: Vec::new(),
            stderr_seen: Vec::new(),
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes into its stdin (which stays open).
    pub fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin.write_all(bytes).expect("write to the child's stdin");
        stdin.flush().expect("flush the child's stdin");
    }

    /// Writes into its stdin, `false` once the child no longer reads it.
    pub fn try_write(&mut self, bytes: &[u8]) -> bool {
        self.stdin
            .as_mut()
            .is_some_and(|s| s.write_all(bytes).and_then(|()| s.flush()).is_ok())
    }

    /// Its stdin, for a writer thread of the test's own.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin is still open")
    }

    /// Writes `input` into its stdin from another thread, and fails the test unless the child
    /// has taken all of it `within` (`when`: what the test is doing meanwhile). For more than
    /// a pipe holds, which blocks the writer until the child reads. Its stdin stays open.
    #[track_caller]
    pub fn write_taken_within(&mut self, input: String, within: Duration, when: &str) {
        let mut stdin = self.take_stdin();
        let (taken, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
            let _ = taken.send(stdin);
        });
        let stdin = done
            .recv_timeout(within)
            .unwrap_or_else(|_| panic!("stdin not taken within {within:?} {when}"));
        self.stdin = Some(stdin);
    }

    /// End of input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next stdout line, `None` by `timeout` or at the end of its output.
    pub fn next_stdout(&mut self, timeout: Duration) -> Option<String> {
        let line = self.stdout.recv_timeout(timeout).ok()?;
        self.stdout_seen.push(line.clone());
        Some(line)
    }

    /// Waits for a stdout line containing `needle`.
    pub fn wait_stdout(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_stdout(left) {
                Some(line) if line.contains(needle) => return line,
                Some(_) => {}
                None => {
                    let stderr = self.rest_of_stderr(Duration::from_millis(200));
                    panic!(
                        "no stdout line with {needle:?} within {timeout:?}; stdout {:#?}\nstderr {stderr:#?}",
                        self.stdout_seen
                    )
                }
            }
        }
    }

    /// The next `n` stdout lines.
    pub fn stdout_lines(&mut self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_stdout(left) {
                Some(line) => out.push(line),
                None => panic!(
                    "got {} of {n} stdout lines within {timeout:?}: {out:#?}\nstderr {:#?}",
                    out.len(),
                    self.rest_of_stderr(Duration::from_millis(200))
                ),
            }
        }
        out
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no stderr line with {needle:?} within {timeout:?}; saw {:#?}",
                    self.stderr_seen
                ),
            }
        }
    }

    /// Every stderr line until its stderr closes or `timeout` passes.
    /// The next stderr line, `None` by `timeout`.
    pub fn next_stderr(&mut self, timeout: Duration) -> Option<String> {
        let line = self.stderr.recv_timeout(timeout).ok()?;
        self.stderr_seen.push(line.clone());
        Some(line)
    }

    pub fn rest_of_stderr(&mut self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.stderr_seen.push(line),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return self.stderr_seen.clone();
                }
            }
        }
    }

    /// Sends `signal` to the process (which must not have been waited for: its pid may be
    /// another process's by then).
    pub fn signal(&self, signal: Signal) {
        assert!(
            self.status.is_none(),
            "signal to a process already waited for"
        );
        let pid = i32::try_from(self.child.id()).expect("a pid fits in i32");
        kill(Pid::from_raw(pid), signal).expect("send a signal");
    }

    /// Sends `signal` to its whole process group, as systemd stops a service.
    pub fn signal_group(&self, signal: Signal) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits in i32");
        killpg(Pid::from_raw(pid), signal).expect("signal a process group");
    }

    /// Sends `signal` to the process of its group that runs `exe`; false if none does.
    pub fn signal_member(&self, exe: &std::path::Path, signal: Signal) -> bool {
        let group = i32::try_from(self.child.id()).expect("a pid fits in i32");
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return false;
        };
        for entry in entries.filter_map(Result::ok) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let in_group =
                nix::unistd::getpgid(Some(Pid::from_raw(pid))).is_ok_and(|g| g.as_raw() == group);
            if in_group && std::fs::read_link(entry.path().join("exe")).is_ok_and(|e| e == exe) {
                return kill(Pid::from_raw(pid), signal).is_ok();
            }
        }
        false
    }

    /// Whether any process of its group is still alive.
    pub fn group_alive(&self) -> bool {
        let pid = i32::try_from(self.child.id()).expect("a pid fits in i32");
        killpg(Pid::from_raw(pid), None).is_ok()
    }

    /// Its exit status, waiting at most `timeout`; `None` if it is still running.
    pub fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = wait_until(&mut self.child, Instant::now() + timeout);
        }
        self.status
    }

    /// Its exit status; a child still running after `timeout` fails the test.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.wait_for(timeout) {
            status
        } else {
            kill_group(&self.child);
            panic!(
                "still running after {timeout:?}: killed; stderr {:#?}",
                self.rest_of_stderr(Duration::from_millis(200))
            )
        }
    }

    /// SIGTERM, then its exit status within `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        self.wait(timeout)
    }
}

impl Drop for Proc {
    /// Kills the group of a child that is still running. A child already waited for is left
    /// alone: its pid, and so its group's number, may since belong to another test's process.
    fn drop(&mut self) {
        if self.status.is_none() {
            kill_group(&self.child);
            let _ = self.child.wait();
        }
    }
}

fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(text).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_past_its_deadline_is_killed_with_its_children() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & sleep 30"]);
        let started = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_with(&mut command, b"", Duration::from_millis(300))
        }));
        assert!(result.is_err(), "the deadline must fail the run");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn output_and_status_of_a_run() {
        let mut command = Command::new("sh");
        command.args(["-c", "cat; echo err >&2; exit 3"]);
        let output = run(&mut command, b"in\n");
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, b"in\n");
        assert_eq!(output.stderr, b"err\n");
    }

    #[test]
    fn a_proc_is_signalled_by_a_system_call() {
        use std::os::unix::process::ExitStatusExt;
        let mut command = Command::new("sh");
        command.args(["-c", "echo ready; exec sleep 30"]);
        let mut proc = Proc::spawn(&mut command);
        proc.wait_stdout("ready", Duration::from_secs(10));
        assert!(proc.wait_for(Duration::from_millis(50)).is_none());
        let status = proc.terminate(Duration::from_secs(10));
        assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
    }
}
