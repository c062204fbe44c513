//! Which database a process works on, as a URL: `sqlite://leadflow.db` (a file, relative or
//! absolute: `sqlite:///var/lib/leadflow.db`). One value for the CLI and the server to pick a
//! backend by; a backend is named here when it exists.

use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The embedded default: one file.
    Sqlite(PathBuf),
    /// A PostgreSQL server: the URL as given (`postgres://user:password@host:port/db?...`), which
    /// the driver reads.
    Postgres(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("`{0}` is not a database URL (expected sqlite://FILE or postgres://USER@HOST/DB)")]
    Malformed(String),
    #[error("`{0}`: leadflow has no backend for `{1}://` (it has sqlite:// and postgres://)")]
    UnknownScheme(String, String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let url = url.trim();
        // Errors show the URL without its password: they end up in logs and terminals.
        let malformed = || DatabaseUrlError::Malformed(without_password(url));
        let (scheme, rest) = url.split_once("://").ok_or_else(malformed)?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" if !rest.is_empty() => Ok(DatabaseUrl::Sqlite(PathBuf::from(rest))),
            "postgres" | "postgresql" if !rest.is_empty() => Ok(DatabaseUrl::Postgres(url.to_string())),
            "sqlite" | "postgres" | "postgresql" => Err(malformed()),
            other => Err(DatabaseUrlError::UnknownScheme(without_password(url), other.to_string())),
        }
    }

    /// Which backend: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
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
            // Without its password, which a URL may carry: this is what logs and errors show.
            DatabaseUrl::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// `postgres://user:secret@host/db?password=secret` as `postgres://user:***@host/db?password=***`:
/// libpq takes a password in the authority or as a parameter.
fn without_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(r, q)| (r, Some(q)));
    let (authority, path) = before_query.split_once('/').map_or((before_query, None), |(a, p)| (a, Some(p)));
    let mut shown = match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            format!("{scheme}{}:***@{host}", user.split_once(':').map_or(user, |(u, _)| u))
        }
        _ => format!("{scheme}{authority}"),
    };
    if let Some(path) = path {
        shown.push('/');
        shown.push_str(path);
    }
    if let Some(query) = query {
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&masked.join("&"));
    }
    shown
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
        let pg = "postgres://lf:s3cret@db.internal:5432/leadflow?sslmode=require";
        assert_eq!(DatabaseUrl::parse(pg), Ok(DatabaseUrl::Postgres(pg.into())));
        assert!(matches!(DatabaseUrl::parse("postgresql://localhost/lf"), Ok(DatabaseUrl::Postgres(_))));
        assert!(matches!(DatabaseUrl::parse("postgres://"), Err(DatabaseUrlError::Malformed(_))));
    }

    #[test]
    fn a_shown_url_keeps_its_password_to_itself() {
        let shown = |url: &str| DatabaseUrl::Postgres(url.into()).to_string();
        assert_eq!(shown("postgres://lf:s3cret@db:5432/leadflow"), "postgres://lf:***@db:5432/leadflow");
        assert_eq!(shown("postgres://lf@db/leadflow"), "postgres://lf@db/leadflow");
        assert_eq!(shown("postgres://db"), "postgres://db");
        assert_eq!(
            shown("postgres://lf@db/leadflow?sslmode=require&password=s3cret"),
            "postgres://lf@db/leadflow?sslmode=require&password=***"
        );
        assert_eq!(shown("postgres://lf:s3cret@db?password=s3cret"), "postgres://lf:***@db?password=***");
    }

    #[test]
    fn a_refused_url_keeps_its_password_to_itself() {
        for url in ["mysql://lf:s3cret@db/leadflow", "lf:s3cret@db/leadflow", "postgres://x?password=s3cret&x"] {
            let refused = DatabaseUrl::parse(url).map_or_else(|e| e.to_string(), |ok| ok.to_string());
            assert!(!refused.contains("s3cret"), "{url} shown as {refused}");
        }
    }
}
