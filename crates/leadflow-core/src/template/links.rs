//! Tracking in a rendered HTML part: each link rewritten to one that counts the click and leads
//! on, and an open pixel at the end. Pure text work on what [`super::Template::render`] made
//! (the values in it are escaped already), so nothing a lead's profile holds can add a link.

/// `html` with every `href` to an http(s) address passed through `rewrite` (which returns the
/// new address, or `None` to leave the link alone, as for the unsubscribe link), and `pixel`
/// (an image address) before `</body>`, or at the end without one.
pub fn track_html(html: &str, rewrite: impl Fn(&str) -> Option<String>, pixel: &str) -> String {
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(found) = find_href(rest) {
        let (before, quote, after) = (&rest[..found.start], found.quote, &rest[found.value..]);
        out.push_str(before);
        let Some(end) = after.find(quote) else {
            // An attribute never closed: left as it is.
            out.push_str(&rest[found.start..]);
            rest = "";
            break;
        };
        let escaped = &after[..end];
        let target = unescape(escaped);
        out.push_str(&rest[found.start..found.value]);
        match rewrite(&target).filter(|_| is_web(&target)) {
            Some(tracked) => out.push_str(&escape(&tracked)),
            None => out.push_str(escaped),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    let img = format!("<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">", escape(pixel));
    match out.to_ascii_lowercase().rfind("</body>") {
        Some(at) => out.insert_str(at, &img),
        None => out.push_str(&img),
    }
    out
}

struct Href {
    /// Where the attribute's name starts.
    start: usize,
    quote: char,
    /// Where its value starts, after the quote.
    value: usize,
}

/// The next `href="` or `href='` (any case, spaces around `=` allowed).
fn find_href(s: &str) -> Option<Href> {
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("href") {
        let start = from + i;
        // A whole attribute name, not the end of another (`data-href`).
        let boundary = start == 0 || lower.as_bytes()[start - 1].is_ascii_whitespace();
        let mut j = start + 4;
        let bytes = lower.as_bytes();
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if boundary && j < bytes.len() && bytes[j] == b'=' {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                return Some(Href { start, quote: bytes[j] as char, value: j + 1 });
            }
        }
        from = start + 4;
    }
    None
}

fn is_web(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('\'', "&#39;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(url: &str) -> Option<String> {
        (!url.contains("/u/")).then(|| format!("https://lf.example/c/1?u={}", url.len()))
    }

    #[test]
    fn web_links_are_rewritten_and_others_left_alone() {
        let html = "<body><a href=\"https://yourco.example/a?x=1&amp;y=2\">A</a> <A HREF = 'http://b.example'>B</A> \
                    <a href=\"mailto:kim@yourco.example\">mail</a> <a data-href=\"https://c.example\">C</a> \
                    <a href=\"https://lf.example/u/9.sig\">unsubscribe</a></body>";
        let out = track_html(html, tracked, "https://lf.example/o/1.sig.gif");
        // The first target unescaped is 32 characters long: `&amp;` counted as `&`.
        assert!(out.contains("<a href=\"https://lf.example/c/1?u=32\">A</a>"), "{out}");
        assert!(out.contains("<A HREF = 'https://lf.example/c/1?u=16'>B</A>"), "{out}");
        assert!(out.contains("href=\"mailto:kim@yourco.example\""), "not a web link");
        assert!(out.contains("data-href=\"https://c.example\""), "another attribute");
        assert!(out.contains("href=\"https://lf.example/u/9.sig\""), "what rewrite leaves alone");
        assert!(out.ends_with("style=\"display:none\"></body>"), "the pixel before </body>: {out}");
    }

    #[test]
    fn a_part_without_a_body_gets_the_pixel_at_its_end_and_broken_markup_stays() {
        let out = track_html("<p>Hi <a href=\"https://x.example", tracked, "p.gif");
        assert!(out.starts_with("<p>Hi <a href=\"https://x.example<img"), "{out}");
        let out = track_html("plain", tracked, "p.gif");
        assert_eq!(out, "plain<img src=\"p.gif\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">");
    }
}
