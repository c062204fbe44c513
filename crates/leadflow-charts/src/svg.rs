//! Writing SVG: a canvas with a title, and the pieces every chart uses (text, rectangles, lines,
//! axes with round ticks). Text from the outside world (stage ids, month names, owners) is
//! escaped, so a chart never carries markup it was given.

use std::fmt::Write;

/// Colours that stay apart for the colour-blind (Okabe and Ito's palette).
pub const SERIES: [&str; 6] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"];

pub const FONT: &str = "font-family=\"system-ui, -apple-system, Segoe UI, sans-serif\"";

pub struct Canvas {
    width: f64,
    height: f64,
    body: String,
}

impl Canvas {
    pub fn new(width: f64, height: f64, title: &str) -> Canvas {
        let mut canvas = Canvas { width, height, body: String::new() };
        canvas.text(width / 2.0, 24.0, title, "middle", 16.0, "bold");
        canvas
    }

    pub fn text(&mut self, x: f64, y: f64, text: &str, anchor: &str, size: f64, weight: &str) {
        self.text_in("#222", x, y, text, anchor, size, weight);
    }

    /// Text in a colour of its own (white on a dark cell).
    #[allow(clippy::too_many_arguments)]
    pub fn text_in(&mut self, fill: &str, x: f64, y: f64, text: &str, anchor: &str, size: f64, weight: &str) {
        let _ = writeln!(
            self.body,
            r##"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" fill="{fill}">{}</text>"##,
            escape(text)
        );
    }

    /// Text turned a quarter counter-clockwise about its anchor (a y axis's label).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str) {
        let _ = writeln!(
            self.body,
            r##"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="12" fill="#222" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"##,
            escape(text)
        );
    }

    /// A rectangle with a tooltip (`title`), which browsers show on hover.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, title: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}</title></rect>"#,
            w.max(0.0),
            h.max(0.0),
            escape(title)
        );
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    /// A line through the points, broken where a point is missing, with a dot at each.
    pub fn polyline(&mut self, points: &[Option<(f64, f64)>], stroke: &str, title: &str) {
        for run in points.split(Option::is_none) {
            let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
            if run.len() > 1 {
                let path: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    self.body,
                    r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="2"><title>{}</title></polyline>"#,
                    path.join(" "),
                    escape(title)
                );
            }
            for (x, y) in run {
                let _ = writeln!(self.body, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{stroke}"/>"#);
            }
        }
    }

    /// A legend of coloured swatches from (x, y) down.
    pub fn legend(&mut self, x: f64, y: f64, entries: &[(&str, &str)]) {
        for (i, (label, colour)) in entries.iter().enumerate() {
            let y = y + i as f64 * 18.0;
            self.rect(x, y - 10.0, 12.0, 12.0, colour, label);
            self.text(x + 18.0, y, label, "start", 12.0, "normal");
        }
    }

    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" {FONT}>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// Round ticks from 0 to at least `max`: 1, 2 or 5 times a power of ten apart, about `count`.
pub fn ticks(max: f64, count: usize) -> Vec<f64> {
    let max = if max > 0.0 && max.is_finite() { max } else { 1.0 };
    let raw = max / count.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let n = (max / step).ceil() as usize;
    // Rounded to the step's own digits: 3 x 0.2 is 0.6, not 0.6000000000000001.
    (0..=n).map(|i| (i as f64 * step * 1e9).round() / 1e9).collect()
}

/// A tick's label: whole numbers as such, others with what their step needs.
pub fn tick_label(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.1}") }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_reach_the_maximum() {
        assert_eq!(ticks(89.0, 5), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(1.0, 4), [0.0, 0.5, 1.0]);
        assert_eq!(ticks(0.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(1234.0, 5), [0.0, 500.0, 1000.0, 1500.0]);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<script>&\"x'\u{7}"), "&lt;script&gt;&amp;&quot;x&#39;\u{fffd}");
    }
}
