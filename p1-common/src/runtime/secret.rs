//! Secrets read from files (API tokens, passwords, encryption keys): never from argv, never
//! logged, and refused when others may read them.

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::runtime::error::{Fault, IoCause, Kind};

/// Why a secret file was not read.
#[derive(Debug)]
pub enum SecretError {
    /// It could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Readable by every user of the machine (or writable by more than its owner).
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Unreadable { path, source } => {
                write!(f, "{}: {}", path.display(), IoCause(source))
            }
            SecretError::Exposed { path, mode } => write!(
                f,
                "{}: mode {mode:03o} lets other users read or change a secret: chmod 600 (or 640 \
                 with the service's group)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for SecretError {}

impl Fault for SecretError {
    fn kind(&self) -> Kind {
        Kind::Config
    }
}

/// The file's contents, trimmed; refused when others may read it, or anyone but its owner
/// write it.
pub fn read(path: &Path) -> Result<String, SecretError> {
    let unreadable = |source| SecretError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(path)
        .map_err(unreadable)?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o026 != 0 {
        return Err(SecretError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_others_may_read_is_refused() {
        let path = std::env::temp_dir().join(format!("p1-secret-{}", std::process::id()));
        std::fs::write(&path, " s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read(&path).unwrap_err().to_string();
        assert!(
            refused.contains("mode 644") && refused.contains("chmod 600"),
            "{refused}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(read(&path).unwrap(), "s3cret");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(read(&path), Err(SecretError::Unreadable { .. })));
    }
}
