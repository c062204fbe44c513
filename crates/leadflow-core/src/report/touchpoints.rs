//! Touchpoints that precede conversion: for each event type, engagement rule and fit rule, the
//! conversion of the leads that had it before their outcome against those that did not (the
//! lift, with an interval), and where the model's points disagree with that evidence (a rule
//! given more points than another whose leads convert clearly better), a suggestion to try in
//! the lab. This is how marketing tracks and tweaks the model.

use super::interval::wilson;

/// Leads a rule needs with it and without it before a suggestion names it.
pub const SUGGESTION_MIN_LEADS: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TouchKind {
    /// An event of this type, whatever its properties.
    Event,
    /// An engagement rule of the model matched one of the lead's events.
    Engagement,
    /// A fit rule of the model holds for the lead's profile.
    Fit,
}

impl TouchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TouchKind::Event => "event",
            TouchKind::Engagement => "engagement",
            TouchKind::Fit => "fit",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Touchpoint {
    pub kind: TouchKind,
    pub name: String,
    /// The model's points for a rule.
    pub points: Option<f64>,
    /// Leads that had it, and of them those that converted; the same for the rest.
    pub with_leads: u64,
    pub with_converted: u64,
    pub without_leads: u64,
    pub without_converted: u64,
    pub rate_with: Option<f64>,
    pub rate_without: Option<f64>,
    /// `rate_with / rate_without`, with a conservative 95% range from the two rates' Wilson
    /// intervals (the lowest over the highest, the highest over the lowest).
    pub lift: Option<f64>,
    pub lift_low: Option<f64>,
    pub lift_high: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TouchpointReport {
    pub leads: u64,
    pub converted: u64,
    /// By lift, highest first; those nobody or everybody had last.
    pub touchpoints: Vec<Touchpoint>,
    pub suggestions: Vec<String>,
}

/// Counts leads by what they had.
#[derive(Debug)]
pub struct TouchpointCounter {
    features: Vec<(TouchKind, String, Option<f64>)>,
    with: Vec<(u64, u64)>,
    total: (u64, u64),
}

impl TouchpointCounter {
    /// Over these touchpoints, in the order [`add`](Self::add) names them by.
    pub fn new(features: Vec<(TouchKind, String, Option<f64>)>) -> TouchpointCounter {
        let with = vec![(0, 0); features.len()];
        TouchpointCounter { features, with, total: (0, 0) }
    }

    /// A lead, whether it converted, and the touchpoints it had (each once).
    pub fn add(&mut self, converted: bool, had: impl IntoIterator<Item = usize>) {
        let c = u64::from(converted);
        self.total = (self.total.0 + 1, self.total.1 + c);
        for i in had {
            let w = &mut self.with[i];
            *w = (w.0 + 1, w.1 + c);
        }
    }

    pub fn finish(self) -> TouchpointReport {
        let (n, converted) = self.total;
        let rate = |k: u64, n: u64| (n > 0).then(|| k as f64 / n as f64);
        let mut touchpoints: Vec<Touchpoint> = self
            .features
            .into_iter()
            .zip(self.with)
            .map(|((kind, name, points), (with_leads, with_converted))| {
                let (without_leads, without_converted) = (n - with_leads, converted - with_converted);
                let (rate_with, rate_without) =
                    (rate(with_converted, with_leads), rate(without_converted, without_leads));
                let lift = match (rate_with, rate_without) {
                    (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                    _ => None,
                };
                let (w, wo) = (wilson(with_converted, with_leads), wilson(without_converted, without_leads));
                let (lift_low, lift_high) = match (w, wo) {
                    (Some((wl, wh)), Some((ol, oh))) => ((oh > 0.0).then(|| wl / oh), (ol > 0.0).then(|| wh / ol)),
                    _ => (None, None),
                };
                Touchpoint {
                    kind,
                    name,
                    points,
                    with_leads,
                    with_converted,
                    without_leads,
                    without_converted,
                    rate_with,
                    rate_without,
                    lift,
                    lift_low,
                    lift_high,
                }
            })
            .collect();
        touchpoints.sort_by(|a, b| match (a.lift, b.lift) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (x, y) => y.is_some().cmp(&x.is_some()),
        });
        let suggestions = suggestions(&touchpoints);
        TouchpointReport { leads: n, converted, touchpoints, suggestions }
    }
}

/// Rules of one kind where one has more points than another whose leads clearly convert better:
/// the better one's lift is above the other's whole range.
fn suggestions(touchpoints: &[Touchpoint]) -> Vec<String> {
    let enough = |t: &&Touchpoint| {
        t.kind != TouchKind::Event && t.with_leads >= SUGGESTION_MIN_LEADS && t.without_leads >= SUGGESTION_MIN_LEADS
    };
    let rules: Vec<&Touchpoint> = touchpoints.iter().filter(enough).collect();
    let mut out = Vec::new();
    for better in &rules {
        for worse in &rules {
            let (Some(bp), Some(wp), Some(low), Some(high)) =
                (better.points, worse.points, better.lift_low, worse.lift_high)
            else {
                continue;
            };
            if better.kind == worse.kind && bp < wp && low > high {
                out.push(format!(
                    "{kind} rule `{}` ({bp} points) converts better than `{}` ({wp} points): lift {:.2} against {:.2}; try giving `{}` more points than `{}` and backtest it (`leadflow backtest --model FILE`)",
                    better.name,
                    worse.name,
                    better.lift.unwrap_or(0.0),
                    worse.lift.unwrap_or(0.0),
                    better.name,
                    worse.name,
                    kind = better.kind.as_str(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lift_compares_the_leads_with_a_touchpoint_and_without_and_suggests_where_points_disagree() {
        let features = vec![
            (TouchKind::Engagement, "webinar".to_string(), Some(15.0)),
            (TouchKind::Engagement, "blog".to_string(), Some(5.0)),
            (TouchKind::Event, "page_view".to_string(), None),
        ];
        let mut counter = TouchpointCounter::new(features);
        // 100 leads read the blog, 40 converted; 100 attended a webinar, 10 converted; 100 did
        // neither, 10 converted. Everybody viewed a page.
        for i in 0..100 {
            counter.add(i < 40, [1, 2]);
            counter.add(i < 10, [0, 2]);
            counter.add(i < 10, [2]);
        }
        let report = counter.finish();
        assert_eq!((report.leads, report.converted), (300, 60));
        let names: Vec<&str> = report.touchpoints.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["blog", "webinar", "page_view"], "by lift; everybody's has none");
        let blog = &report.touchpoints[0];
        assert_eq!(
            (blog.with_leads, blog.with_converted, blog.without_leads, blog.without_converted),
            (100, 40, 200, 20)
        );
        assert_eq!(blog.lift, Some(4.0));
        assert!(blog.lift_low.unwrap() < 4.0 && blog.lift_high.unwrap() > 4.0);
        let webinar = &report.touchpoints[1];
        assert!((webinar.lift.unwrap() - 0.1 / 0.25).abs() < 1e-12);
        assert_eq!(report.suggestions.len(), 1, "{:?}", report.suggestions);
        assert!(
            report.suggestions[0]
                .starts_with("engagement rule `blog` (5 points) converts better than `webinar` (15 points)")
        );
    }
}
