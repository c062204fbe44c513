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

const SENTINEL: &str = "\u{0}";

/// Whether a record is a blank line's sentinel: no values.
pub fn is_blank(record: &csv::StringRecord) -> bool {
    record.len() == 1 && &record[0] == SENTINEL
}

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
    delimiter: u8,
    /// Where the csv parser is, as far as quoting goes: a quote opens a quoted field only at the
    /// start of a field (`27" monitor` is plain text), and `""` inside one is a quote.
    at_field_start: bool,
    in_quotes: bool,
    quote_in_quotes: bool,
    at_line_start: bool,
    /// Blank lines before the header are not marked: the csv parser skips them, and the header
    /// must be the first line with something on it.
    seen_content: bool,
    pending: Vec<u8>,
    served: usize,
    emitted: u64,
    chunk: Vec<u8>,
}

impl<R: Read> LineTracking<R> {
    pub fn new(inner: R, delimiter: u8) -> (Self, Rc<RefCell<LineIndex>>) {
        let index = Rc::new(RefCell::new(LineIndex::default()));
        let reader = LineTracking {
            inner,
            index: index.clone(),
            delimiter,
            at_field_start: true,
            in_quotes: false,
            quote_in_quotes: false,
            at_line_start: true,
            seen_content: false,
            pending: Vec::new(),
            served: 0,
            emitted: 0,
            chunk: vec![0; 64 * 1024],
        };
        (reader, index)
    }

    /// Follows the quoting state over one byte; whether it ends a line outside quotes.
    fn ends_line(&mut self, b: u8) -> bool {
        if self.in_quotes {
            if self.quote_in_quotes {
                self.quote_in_quotes = false;
                if b == b'"' {
                    return false;
                }
                // The quote closed the field; this byte is outside it.
                self.in_quotes = false;
            } else {
                if b == b'"' {
                    self.quote_in_quotes = true;
                }
                return false;
            }
        }
        match b {
            b'"' if self.at_field_start => {
                self.in_quotes = true;
                self.at_field_start = false;
                false
            }
            b'\n' | b'\r' => {
                self.at_field_start = true;
                true
            }
            _ => {
                self.at_field_start = b == self.delimiter;
                false
            }
        }
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
            for i in 0..n {
                let b = self.chunk[i];
                let line_end = self.ends_line(b);
                if line_end && self.at_line_start && self.seen_content {
                    self.pending.push(0);
                    self.emitted += 1;
                }
                if b == b'\n' {
                    self.index.borrow_mut().newlines.push_back(self.emitted);
                }
                self.pending.push(b);
                self.emitted += 1;
                self.seen_content |= !line_end;
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
        LineTracking::new(s.as_bytes(), b',').0.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn marks_blank_lines_only_outside_quotes() {
        assert_eq!(mark("a\n\nb\n"), "a\n\0\nb\n");
        assert_eq!(mark("a\r\n\r\nb"), "a\r\n\0\r\nb");
        assert_eq!(mark("\"x\n\ny\",z\n"), "\"x\n\ny\",z\n");
        assert_eq!(mark("a\n\n\n"), "a\n\0\n\0\n");
        // A quote inside an unquoted field is text, and `""` inside a quoted one is a quote.
        assert_eq!(mark("27\" monitor,x\n\nb\n"), "27\" monitor,x\n\0\nb\n");
        assert_eq!(mark("\"say \"\"hi\"\"\n\n\",x\n\nb\n"), "\"say \"\"hi\"\"\n\n\",x\n\0\nb\n");
        // Blank lines before the header are left to the csv parser, which skips them.
        assert_eq!(mark("\n\r\nemail\n\nb\n"), "\n\r\nemail\n\0\nb\n");
    }
}
