//! The weekly digest as files: the sink the server gives the job queue when
//! `server.jobs.digest_dir` is set.

use std::io::Write;
use std::path::{Path, PathBuf};

use leadflow_contract::Digest;
use leadflow_engine::DigestSink;

/// Writes each digest as `digest-<pipeline>-<date>.md` and `.json` in a directory.
pub struct DigestFiles {
    dir: PathBuf,
}

impl DigestFiles {
    pub fn new(dir: PathBuf) -> DigestFiles {
        DigestFiles { dir }
    }
}

impl DigestSink for DigestFiles {
    fn deliver(&self, digest: &leadflow_engine::Digest) -> Result<(), String> {
        let digest = Digest::from(digest);
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("creating {}: {e}", self.dir.display()))?;
        let date: String = digest.as_of.to_string().chars().take(10).collect();
        let stem = format!("digest-{}-{date}", file_safe(&digest.pipeline));
        let json = serde_json::to_string_pretty(&digest).map_err(|e| e.to_string())?;
        write_whole(&self.dir.join(format!("{stem}.json")), json.as_bytes())?;
        write_whole(&self.dir.join(format!("{stem}.md")), digest.to_markdown().as_bytes())
    }
}

/// A pipeline's name as a file name's part: its letters, digits, `-` and `_`, the rest `_`.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Writes a file whole or not at all: a reader never sees half a digest, and the same digest
/// delivered again replaces the first.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let partial = path.with_extension("partial");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    };
    write().map_err(|e| format!("writing {}: {e}", path.display()))
}
