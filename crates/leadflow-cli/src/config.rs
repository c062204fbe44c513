//! `leadflow serve`'s configuration: built-in defaults, then a TOML file, then `LEADFLOW_*`
//! environment variables (`LEADFLOW_SERVER__RATE_LIMIT__PER_SECOND=0`: `__` between levels).

use std::path::Path;

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use leadflow_api::ServerConfig;

/// The default configuration, with what each setting does. A test keeps it equal to the defaults.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub addr: std::net::SocketAddr,
    pub log: LogConfig,
    pub server: ServerConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: "127.0.0.1:8080".parse().expect("a valid address"),
            log: LogConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing filter: `info`, `leadflow=debug`, ...
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { format: LogFormat::Text, level: "info".into() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The top-level settings, whose `LEADFLOW_<SECTION>...` variables are configuration.
const SECTIONS: [&str; 3] = ["addr", "log", "server"];

/// Defaults, then `file` (if given, it must exist), then the environment.
pub fn load(file: Option<&Path>) -> Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = file {
        anyhow::ensure!(file.exists(), "no configuration file {}", file.display());
        figment = figment.merge(Toml::file(file));
    }
    // Only the variables of the file's sections: the others (LEADFLOW_DB, LEADFLOW_DATABASE_URL,
    // LEADFLOW_CONFIG are the command line's own) are no settings, and a typo within a section is
    // still refused by name.
    let of_a_section = |key: &figment::value::UncasedStr| {
        let key = key.as_str().to_ascii_lowercase();
        SECTIONS.iter().any(|s| key == *s || key.starts_with(&format!("{s}__")))
    };
    figment = figment.merge(Env::prefixed("LEADFLOW_").filter(of_a_section).split("__"));
    figment.extract().context("reading the configuration")
}

#[cfg(test)]
// figment's Jail closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn a_file_then_the_environment_override_the_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("leadflow.toml", "[server]\nreaders = 2\n[server.rate_limit]\nburst = 7\n")?;
            jail.set_env("LEADFLOW_SERVER__RATE_LIMIT__BURST", "9");
            jail.set_env("LEADFLOW_LOG__FORMAT", "json");
            jail.set_env("LEADFLOW_DB", "ignored.db");
            jail.set_env("LEADFLOW_DATABASE_URL", "postgres://ignored/too");
            jail.set_env("LEADFLOW_TEST_PG_URL", "postgres://a/test/harness");
            let config = load(Some(Path::new("leadflow.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.server.readers, 2);
            assert_eq!(config.server.rate_limit.burst, 9);
            assert_eq!(config.log.format, LogFormat::Json);
            Ok(())
        });
    }

    #[test]
    fn the_sections_are_the_files() {
        let file: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(file.keys().map(String::as_str).collect::<Vec<_>>(), SECTIONS);
    }

    #[test]
    fn unknown_settings_are_refused_with_their_name() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("leadflow.toml", "[server]\nreaderz = 2\n")?;
            let error = format!("{:#}", load(Some(Path::new("leadflow.toml"))).unwrap_err());
            assert!(error.contains("readerz"), "{error}");
            jail.create_file("leadflow.toml", "")?;
            jail.set_env("LEADFLOW_SERVER__READERZ", "2");
            let error = format!("{:#}", load(Some(Path::new("leadflow.toml"))).unwrap_err());
            assert!(error.contains("readerz"), "{error}");
            Ok(())
        });
    }
}
