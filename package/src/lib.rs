//! Nothing but the Debian package of the p1 toolkit: see `Cargo.toml` here and
//! `scripts/package`. The programs are the other crates of the workspace.
