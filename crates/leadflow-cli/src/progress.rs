//! Progress bars on standard error (drawn only on a terminal).

use indicatif::{ProgressBar, ProgressStyle};

pub struct Bar(ProgressBar);

/// A bar counting items, for the engine's long jobs.
pub fn bar(label: &'static str) -> Bar {
    let pb = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(label);
    Bar(pb)
}

/// A bar counting bytes of a file.
pub fn bytes(label: &'static str, total: u64) -> ProgressBar {
    let pb = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(label);
    pb
}

/// A bar counting bytes of a file, for the engine's imports (which advance it as they read).
pub fn bar_of_bytes(label: &'static str, total: u64) -> Bar {
    let bar = Bar(bytes(label, total));
    bar.0.set_length(total);
    bar
}

impl leadflow_engine::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
        self.0.set_position(0);
    }

    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
}

/// A bar per table of a copy (`leadflow migrate`): each is cleared when the next starts, and the
/// last when this is dropped.
#[derive(Default)]
pub struct Tables(Option<Bar>);

impl leadflow_migrate::Progress for Tables {
    fn table(&mut self, table: &'static str, rows: u64) {
        let next = bar(table);
        leadflow_engine::Progress::start(&next, rows);
        self.0 = Some(next);
    }

    fn copied(&mut self, rows: u64) {
        if let Some(current) = &self.0 {
            leadflow_engine::Progress::advance(current, rows);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
