//! A real terminal for the terminal view's tests: a tmux server of the test's own, a pane of
//! a given size running a command, keys sent to it, and what it shows read back.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::proc::run_with;
use crate::wait::wait_within;

/// A tmux server with one pane, killed on drop.
#[derive(Debug)]
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` (a shell command line) in a `width` x `height` pane, with `env` set.
    pub fn start(command: &str, (width, height): (u16, u16), env: &[(&str, &str)]) -> Tmux {
        static N: AtomicUsize = AtomicUsize::new(0);
        let tmux = Tmux {
            socket: format!(
                "p1-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let mut new = tmux.command();
        new.args([
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        for (key, value) in env {
            new.args(["-e", &format!("{key}={value}")]);
        }
        // A terminal that shows colour, as a person's does.
        new.args(["-e", "TERM=xterm-256color", command]);
        run_with(&mut new, b"", Duration::from_secs(10)).success();
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket, "-f", "/dev/null"]);
        command
    }

    /// The pane's text now.
    pub fn screen(&self) -> String {
        self.capture(false)
    }

    /// The pane's text with its colours and attributes as escape sequences.
    pub fn screen_with_escapes(&self) -> String {
        self.capture(true)
    }

    fn capture(&self, escapes: bool) -> String {
        let mut capture = self.command();
        capture.args(["capture-pane", "-p"]);
        if escapes {
            capture.arg("-e");
        }
        run_with(&mut capture, b"", Duration::from_secs(10))
            .success()
            .stdout()
    }

    /// Waits until the pane shows `text`; what it shows then.
    #[track_caller]
    pub fn wait_for(&self, text: &str, deadline: Duration) -> String {
        let mut shown = String::new();
        wait_within(&format!("the terminal to show {text:?}"), deadline, || {
            shown = self.screen();
            shown.contains(text)
        });
        shown
    }

    /// Types `keys` (tmux's names: q, C-c, Enter).
    pub fn send_keys(&self, keys: &str) {
        let mut send = self.command();
        send.args(["send-keys", keys]);
        run_with(&mut send, b"", Duration::from_secs(10)).success();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}
