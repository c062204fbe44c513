//! What a CSV file is written in: its encoding and its delimiter, found by looking at it when
//! the user does not say.

use std::io::{self, Read};

/// The text encodings spreadsheets and CRMs export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// Windows-1252, the superset of Latin-1 that Excel writes on Western Windows machines.
    Windows1252,
    /// Excel's "Unicode text" (with a byte order mark).
    Utf16Le,
    Utf16Be,
}

impl TextEncoding {
    pub fn parse(s: &str) -> Option<TextEncoding> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            "windows-1252" | "cp1252" | "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => {
                Some(TextEncoding::Windows1252)
            }
            "utf-16le" | "utf-16" => Some(TextEncoding::Utf16Le),
            "utf-16be" => Some(TextEncoding::Utf16Be),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
        }
    }

    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
            TextEncoding::Utf16Le => encoding_rs::UTF_16LE,
            TextEncoding::Utf16Be => encoding_rs::UTF_16BE,
        }
    }
}

/// The encoding of a whole file: a byte order mark says it; otherwise UTF-8 if every byte is,
/// else Windows-1252 (in which every byte is a character), with the first byte that is not UTF-8.
pub fn detect_encoding(mut input: impl Read) -> io::Result<(TextEncoding, Option<u64>)> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0u64;
    let mut first = true;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            return Ok(match carry.is_empty() {
                true => (TextEncoding::Utf8, None),
                false => (TextEncoding::Windows1252, Some(offset)),
            });
        }
        let mut chunk = std::mem::take(&mut carry);
        chunk.extend_from_slice(&buf[..n]);
        if first {
            first = false;
            if chunk.starts_with(&[0xFF, 0xFE]) {
                return Ok((TextEncoding::Utf16Le, None));
            }
            if chunk.starts_with(&[0xFE, 0xFF]) {
                return Ok((TextEncoding::Utf16Be, None));
            }
        }
        match std::str::from_utf8(&chunk) {
            Ok(_) => offset += chunk.len() as u64,
            Err(e) if e.error_len().is_none() => {
                // A character cut by the chunk's end: finish it with the next chunk.
                offset += e.valid_up_to() as u64;
                carry = chunk[e.valid_up_to()..].to_vec();
            }
            Err(e) => return Ok((TextEncoding::Windows1252, Some(offset + e.valid_up_to() as u64))),
        }
    }
}

/// The file's text as UTF-8, without a byte order mark.
pub fn decode<'a>(input: impl Read + 'a, encoding: TextEncoding) -> Box<dyn Read + 'a> {
    Box::new(
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding.encoding()))
            .bom_override(true)
            .strip_bom(true)
            .build(input),
    )
}

/// The delimiter the header row uses most outside quotes: `,`, `;`, tab or `|` (`,` if none).
pub fn detect_delimiter(header_text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut in_quotes = false;
    for b in header_text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            _ if !in_quotes => {
                if let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
                    c.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts.iter().filter(|(_, n)| *n > 0).max_by_key(|(_, n)| *n).map_or(b',', |(d, _)| *d)
}

pub fn describe_delimiter(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        b',' => "comma".into(),
        b';' => "semicolon".into(),
        other => format!("`{}`", other as char),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(detect_encoding("a,b\nJosé".as_bytes()).unwrap(), (TextEncoding::Utf8, None));
        assert_eq!(detect_encoding(&b"a,b\nJos\xe9\n"[..]).unwrap(), (TextEncoding::Windows1252, Some(7)));
        assert_eq!(detect_encoding(&b"\xff\xfea\x00"[..]).unwrap().0, TextEncoding::Utf16Le);
        // A character cut at the end of the file is not UTF-8.
        assert_eq!(detect_encoding(&b"ab\xc3"[..]).unwrap(), (TextEncoding::Windows1252, Some(2)));
        let mut text = String::new();
        decode(&b"Jos\xe9 \x80"[..], TextEncoding::Windows1252).read_to_string(&mut text).unwrap();
        assert_eq!(text, "José €");
        text.clear();
        decode(&b"\xef\xbb\xbfName"[..], TextEncoding::Utf8).read_to_string(&mut text).unwrap();
        assert_eq!(text, "Name");
    }

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter("a,b,c\n1;2;3;4;5\n"), b',');
        assert_eq!(detect_delimiter("\"First; Name\";\"Email\";\"Firma\"\n"), b';');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("email"), b',');
    }
}
