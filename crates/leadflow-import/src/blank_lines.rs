//! Keeps CSV line numbers exact.
//!
//! The csv crate skips blank lines and then reports the blank line's number for the record after
//! it (rust-csv issue #208). This reader turns each blank line outside a quoted field into a line
//! holding [`SENTINEL`], so no line is skipped; readers drop the sentinel records.

use std::io::{self, Read};

pub const SENTINEL: &str = "\u{0}";

pub struct MarkBlankLines<R> {
    inner: R,
    at_line_start: bool,
    in_quotes: bool,
    pending: Vec<u8>,
    served: usize,
    chunk: Vec<u8>,
}

impl<R: Read> MarkBlankLines<R> {
    pub fn new(inner: R) -> Self {
        MarkBlankLines {
            inner,
            at_line_start: true,
            in_quotes: false,
            pending: Vec::new(),
            served: 0,
            chunk: vec![0; 64 * 1024],
        }
    }
}

impl<R: Read> Read for MarkBlankLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served == self.pending.len() {
            let n = self.inner.read(&mut self.chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.pending.clear();
            self.served = 0;
            for &b in &self.chunk[..n] {
                let line_end = !self.in_quotes && (b == b'\n' || b == b'\r');
                if line_end && self.at_line_start {
                    self.pending.push(0);
                }
                self.pending.push(b);
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
        MarkBlankLines::new(s.as_bytes()).read_to_string(&mut out).unwrap();
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
