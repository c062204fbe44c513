//! Which database a process works on, as a URL: `sqlite://leadflow.db` (a file, relative or
//! absolute: `sqlite:///var/lib/leadflow.db`). One value for the CLI and the server to pick a
//! backend by; a backend is named here when it exists.

use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The embedded default: one file.
    Sqlite(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("`{0}` is not a database URL (expected sqlite://FILE)")]
    Malformed(String),
    #[error("`{0}`: this build of leadflow has no backend for `{1}://` (it has sqlite://)")]
    UnknownScheme(String, String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| DatabaseUrlError::Malformed(url.to_string()))?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" if !rest.is_empty() => Ok(DatabaseUrl::Sqlite(PathBuf::from(rest))),
            "sqlite" => Err(DatabaseUrlError::Malformed(url.to_string())),
            other => Err(DatabaseUrlError::UnknownScheme(url.to_string(), other.to_string())),
        }
    }

    /// The file of an embedded database (`--db FILE` is sugar for `sqlite://FILE`).
    pub fn sqlite(path: impl Into<PathBuf>) -> DatabaseUrl {
        DatabaseUrl::Sqlite(path.into())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_backend_and_its_place() {
        assert_eq!(DatabaseUrl::parse("sqlite://leadflow.db"), Ok(DatabaseUrl::sqlite("leadflow.db")));
        assert_eq!(DatabaseUrl::parse("SQLite:///var/lib/lf.db"), Ok(DatabaseUrl::sqlite("/var/lib/lf.db")));
        assert_eq!(DatabaseUrl::sqlite("/var/lib/lf.db").to_string(), "sqlite:///var/lib/lf.db");
        assert!(matches!(DatabaseUrl::parse("leadflow.db"), Err(DatabaseUrlError::Malformed(_))));
        assert!(matches!(DatabaseUrl::parse("sqlite://"), Err(DatabaseUrlError::Malformed(_))));
        assert!(
            matches!(DatabaseUrl::parse("mysql://x/y"), Err(DatabaseUrlError::UnknownScheme(_, s)) if s == "mysql")
        );
    }
}
