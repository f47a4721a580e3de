//! What the integration tests of every p1 crate share (a dev-dependency only).
//!
//! Every wait here has a deadline, and a process that outlives its test is killed with its
//! whole process group, so no test can hang and none leaks a child. Signals are sent with a
//! system call, never by running `kill` (minimal systems have no procps).

pub mod browser;
pub mod finished;
pub mod fs;
pub mod http;
pub mod influxd;
pub mod mosquitto;
pub mod proc;
pub mod pty;
pub mod stats;
pub mod telegram;
pub mod tmux;
pub mod tools;
pub mod wait;

pub use finished::Finished;
pub use fs::{TempDir, accept, free_port};
pub use proc::{Proc, Signal, run, run_with};
pub use tools::{
    home_assistant_python, skip_unless_root, skip_without, skip_without_optional, test_venv_python,
};
pub use wait::{wait_until, wait_within};
