//! The library's one error type.
//!
//! Every message names what the user can fix: the file, the key path inside it, and what was
//! expected. Messages are lowercase with no trailing period; the binary prefixes `forumsim: `.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// A scenario file is not valid TOML.
    #[error("{}: TOML syntax error: {message}", file.display())]
    Syntax { file: PathBuf, message: String },
    /// A key of a scenario is unknown, has the wrong type or is out of range.
    #[error("{}: {key}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
    /// `extends` chains loop back to a file already being loaded.
    #[error("{}: extends cycle: {chain}", file.display())]
    ExtendsCycle { file: PathBuf, chain: String },
    /// Writing results failed.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The output folder holds an earlier result and `force` was not given.
    #[error("{} already holds results; pass --force to overwrite", path.display())]
    OutputExists { path: PathBuf },
    /// Another process is writing the same result folder.
    #[error(
        "{}: another forumsim process{} is writing this result folder; wait for it to finish or give another --out",
        path.display(),
        if holder.is_empty() { String::new() } else { format!(" (pid {holder})") }
    )]
    Busy { path: PathBuf, holder: String },
    /// The embedded fact tables are malformed (a build defect, not a user error).
    #[error("embedded data {table}: {message}")]
    Data {
        table: &'static str,
        message: String,
    },
    /// A replication broke a model invariant.
    #[error("replication {replication}, year {year}: invariant broken: {check}")]
    Invariant {
        replication: u64,
        year: i32,
        check: String,
    },
}

impl Error {
    /// `Error::Invalid` for `key` of `file`, from a validation message: for `map_err`.
    pub fn invalid(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
    ) -> impl FnOnce(String) -> Error {
        let (file, key) = (file.into(), key.into());
        move |message| Error::Invalid { file, key, message }
    }

    /// `Error::Write` for `path`, from an IO error: for `map_err`.
    pub fn write(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
        move |source| Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether the error is the user's input (exit code 2) rather than a failed run (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Read { .. }
                | Error::Syntax { .. }
                | Error::Invalid { .. }
                | Error::ExtendsCycle { .. }
                | Error::OutputExists { .. }
                | Error::Busy { .. }
        )
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
