//! The state file: when each load last switched, so that `min_on`, `min_off` and
//! `max_starts_per_hour` hold across a restart.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use p1_common::runtime::error::IoCause;

use serde::{Deserialize, Serialize};

use crate::input::Time;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedState {
    pub(crate) loads: BTreeMap<String, LoadRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoadRecord {
    pub(crate) last_on: Option<Time>,
    pub(crate) last_off: Option<Time>,
    #[serde(default)]
    pub(crate) starts: Vec<Time>,
}

/// A state file that cannot be read or written, with its path.
#[derive(Debug)]
pub(crate) enum StateError {
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    NotAStateFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Unreadable { path, source } | StateError::Unwritable { path, source } => {
                write!(f, "{}: {}", path.display(), IoCause(source))
            }
            StateError::NotAStateFile { path, source } => {
                write!(f, "{}: not a p1-relay state file: {source}", path.display())
            }
        }
    }
}

impl SavedState {
    /// The saved state, if there is a readable one (a missing file is a first start).
    pub(crate) fn load(path: &Path) -> Result<Option<SavedState>, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| {
                StateError::NotAStateFile {
                    path: path.to_path_buf(),
                    source,
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Unreadable {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the state atomically (a temporary file renamed over the old one).
    pub(crate) fn save(&self, path: &Path) -> Result<(), StateError> {
        let tmp = path.with_extension("tmp");
        serde_json::to_vec_pretty(self)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| StateError::Unwritable {
                path: path.to_path_buf(),
                source,
            })
    }
}
