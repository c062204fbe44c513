//! Exact line numbers for CSV records, whatever the line endings.
//!
//! The csv crate's own line numbers are wrong in two common cases: after a blank line it
//! reports the blank line's number for the next record (rust-csv issue #208), and with CRLF
//! endings (every Excel, Salesforce and HubSpot export) each record's position points at the
//! `\n` of the line before, one line too low. So this reader, which every byte passes through on
//! its way to the csv parser, does two things: it turns each blank line outside a quoted field
//! into a line holding [`SENTINEL`] (no line is skipped; readers drop the sentinel records),
//! and it records where each `\n` is, so that a record's byte position gives its line
//! ([`LineIndex::line_at`]), quoted newlines included.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

pub const SENTINEL: &str = "\u{0}";

/// Where the newlines of the stream are, for the records not yet numbered.
#[derive(Default)]
pub struct LineIndex {
    newlines: VecDeque<u64>,
    passed: u64,
}

impl LineIndex {
    /// The 1-based line of a record whose position (as the csv crate reports it) is `byte`.
    /// Positions must not go back; the newlines before them are forgotten.
    pub fn line_at(&mut self, byte: u64) -> u64 {
        // With CRLF the csv crate points at the `\n` that ends the previous line, so a newline
        // at `byte` itself belongs to the line before.
        while self.newlines.front().is_some_and(|&n| n <= byte) {
            self.newlines.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

pub struct LineTracking<R> {
    inner: R,
    index: Rc<RefCell<LineIndex>>,
    at_line_start: bool,
    in_quotes: bool,
    pending: Vec<u8>,
    served: usize,
    emitted: u64,
    chunk: Vec<u8>,
}

impl<R: Read> LineTracking<R> {
    pub fn new(inner: R) -> (Self, Rc<RefCell<LineIndex>>) {
        let index = Rc::new(RefCell::new(LineIndex::default()));
        let reader = LineTracking {
            inner,
            index: index.clone(),
            at_line_start: true,
            in_quotes: false,
            pending: Vec::new(),
            served: 0,
            emitted: 0,
            chunk: vec![0; 64 * 1024],
        };
        (reader, index)
    }
}

impl<R: Read> Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served == self.pending.len() {
            let n = self.inner.read(&mut self.chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.pending.clear();
            self.served = 0;
            let mut index = self.index.borrow_mut();
            for &b in &self.chunk[..n] {
                let line_end = !self.in_quotes && (b == b'\n' || b == b'\r');
                if line_end && self.at_line_start {
                    self.pending.push(0);
                    self.emitted += 1;
                }
                if b == b'\n' {
                    index.newlines.push_back(self.emitted);
                }
                self.pending.push(b);
                self.emitted += 1;
                if b == b'"' {
                    self.in_quotes = !self.in_quotes;
                }
                self.at_line_start = line_end && b == b'\n';
            }
        }
        let n = buf.len().min(self.pending.len() - self.served);
        buf[..n].copy_from_slice(&self.pending[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(s: &str) -> String {
        let mut out = String::new();
        LineTracking::new(s.as_bytes()).0.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn marks_blank_lines_only_outside_quotes() {
        assert_eq!(mark("a\n\nb\n"), "a\n\0\nb\n");
        assert_eq!(mark("a\r\n\r\nb"), "a\r\n\0\r\nb");
        assert_eq!(mark("\"x\n\ny\",z\n"), "\"x\n\ny\",z\n");
        assert_eq!(mark("a\n\n\n"), "a\n\0\n\0\n");
    }
}
