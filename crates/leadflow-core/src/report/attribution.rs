//! Attribution: the campaigns and pages a lead's events name, and the leads, MQLs and won of each.
//! A *touch* is an event that names a campaign (its `campaign` property, or `utm_campaign` as the
//! website snippet sends it). Of a lead's touches before it first qualified (up to the report's
//! as-of if it never did), its *first touch* is the earliest, its *last touch* the latest, its
//! *campaigns* every one of them; its *landing page* is the `url` of its first page view. A lead
//! without any counts under none.

use rustc_hash::FxHashMap;

use crate::Timestamp;

use super::interval::wilson;
use super::names::{Name, Names};

/// The event properties that name a campaign, the first present winning.
pub const CAMPAIGN_PROPERTIES: [&str; 2] = ["campaign", "utm_campaign"];
/// The event type whose `url` is a page the lead saw.
pub const PAGE_VIEW: &str = "page_view";

/// One event as attribution reads it (the store streams those that have either).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Touch {
    pub at: Timestamp,
    /// The page of a page view.
    pub page: Option<Name>,
    /// The campaign it names.
    pub campaign: Option<Name>,
}

/// A lead's touches up to a report's as-of, gathered from its events in any order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadTouches {
    landing: Option<(Timestamp, Name)>,
    campaigns: Vec<(Timestamp, Name)>,
}

impl LeadTouches {
    pub fn add(&mut self, touch: &Touch) {
        if let Some(page) = touch.page
            && self.landing.is_none_or(|(at, _)| touch.at < at)
        {
            self.landing = Some((touch.at, page));
        }
        if let Some(campaign) = touch.campaign {
            self.campaigns.push((touch.at, campaign));
        }
    }

    /// Puts the campaigns in time order (ties by name, so the result does not depend on the
    /// order the events were read in): once, after the last `add`.
    pub fn sort(&mut self) {
        self.campaigns.sort_unstable();
    }

    /// Whether it touched one of `campaigns`.
    pub fn touched_any(&self, campaigns: &[Name]) -> bool {
        self.campaigns.iter().any(|(_, c)| campaigns.contains(c))
    }

    /// The first campaign touched before `until` (at all when `None`).
    pub fn first_campaign(&self, until: Option<Timestamp>) -> Option<Name> {
        self.before(until).first().map(|&(_, c)| c)
    }

    /// The page of the first page view.
    pub fn landing_page(&self) -> Option<Name> {
        self.landing.map(|(_, page)| page)
    }

    /// The campaigns touched before `until` (all of them when `None`), in time order.
    fn before(&self, until: Option<Timestamp>) -> &[(Timestamp, Name)] {
        let end = until.map_or(self.campaigns.len(), |until| self.campaigns.partition_point(|&(at, _)| at < until));
        &self.campaigns[..end]
    }
}

/// Leads, MQLs and won by one value of a dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributionFigures {
    /// `None`: the leads without one.
    pub value: Option<String>,
    pub leads: u64,
    /// Leads that qualified (entered an MQL stage).
    pub mqls: u64,
    pub won: u64,
    /// `won / leads`, and its 95% Wilson interval.
    pub conversion: f64,
    pub interval: Option<(f64, f64)>,
}

/// The report's attribution: by campaign touched, first touch, last touch and landing page; each
/// by leads, most first (then by name), none last.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribution {
    /// A lead counts once under every campaign it touched before it qualified.
    pub campaigns: Vec<AttributionFigures>,
    pub first_touch: Vec<AttributionFigures>,
    pub last_touch: Vec<AttributionFigures>,
    pub landing_pages: Vec<AttributionFigures>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    leads: u64,
    mqls: u64,
    won: u64,
}

impl Tally {
    fn add(&mut self, qualified: bool, won: bool) {
        self.leads += 1;
        self.mqls += u64::from(qualified);
        self.won += u64::from(won);
    }
}

type Tallies = FxHashMap<Option<Name>, Tally>;

/// Folds leads into an [`Attribution`].
#[derive(Debug, Default)]
pub(crate) struct Attributor {
    campaigns: Tallies,
    first_touch: Tallies,
    last_touch: Tallies,
    landing_pages: Tallies,
    seen: Vec<Name>,
}

impl Attributor {
    /// A lead counted in the report: its touches, when it first qualified, whether it was won.
    pub(crate) fn add(&mut self, touches: &LeadTouches, qualified_at: Option<Timestamp>, won: bool) {
        let qualified = qualified_at.is_some();
        let before = touches.before(qualified_at);
        self.seen.clear();
        for &(_, campaign) in before {
            if !self.seen.contains(&campaign) {
                self.seen.push(campaign);
                self.campaigns.entry(Some(campaign)).or_default().add(qualified, won);
            }
        }
        if before.is_empty() {
            self.campaigns.entry(None).or_default().add(qualified, won);
        }
        self.first_touch.entry(touches.first_campaign(qualified_at)).or_default().add(qualified, won);
        self.last_touch.entry(before.last().map(|&(_, c)| c)).or_default().add(qualified, won);
        self.landing_pages.entry(touches.landing_page()).or_default().add(qualified, won);
    }

    pub(crate) fn finish(self, names: &Names) -> Attribution {
        let figures = |tallies: Tallies| {
            let mut list: Vec<AttributionFigures> = tallies
                .into_iter()
                .map(|(value, t)| AttributionFigures {
                    value: value.map(|v| names.resolve(v).to_string()),
                    leads: t.leads,
                    mqls: t.mqls,
                    won: t.won,
                    conversion: t.won as f64 / t.leads as f64,
                    interval: wilson(t.won, t.leads),
                })
                .collect();
            list.sort_by(|a, b| {
                (a.value.is_none(), std::cmp::Reverse(a.leads), &a.value).cmp(&(
                    b.value.is_none(),
                    std::cmp::Reverse(b.leads),
                    &b.value,
                ))
            });
            list
        };
        Attribution {
            campaigns: figures(self.campaigns),
            first_touch: figures(self.first_touch),
            last_touch: figures(self.last_touch),
            landing_pages: figures(self.landing_pages),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: i64) -> Timestamp {
        Timestamp::from_millis(d * 86_400_000)
    }

    /// Touches arrive in any order; the first touch is the earliest campaign, the last touch the
    /// latest before qualifying, the landing page the earliest page view, and a campaign touched
    /// twice counts the lead once.
    #[test]
    fn first_and_last_touch_are_by_time_and_stop_at_qualifying() {
        let mut names = Names::default();
        let (spring, webinar, retarget) = (names.intern("spring"), names.intern("webinar"), names.intern("retarget"));
        let (home, pricing) = (names.intern("/"), names.intern("/pricing"));
        let mut touches = LeadTouches::default();
        for touch in [
            Touch { at: day(5), page: Some(pricing), campaign: Some(webinar) },
            Touch { at: day(9), page: None, campaign: Some(retarget) },
            Touch { at: day(2), page: Some(home), campaign: Some(spring) },
            Touch { at: day(4), page: None, campaign: Some(spring) },
        ] {
            touches.add(&touch);
        }
        touches.sort();
        let mut attributor = Attributor::default();
        attributor.add(&touches, Some(day(9)), true);
        attributor.add(&LeadTouches::default(), None, false);
        let report = attributor.finish(&names);
        let values = |list: &[AttributionFigures]| {
            list.iter().map(|f| (f.value.clone(), f.leads, f.mqls, f.won)).collect::<Vec<_>>()
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(values(&report.first_touch), [(some("spring"), 1, 1, 1), (None, 1, 0, 0)]);
        // The retargeting touch came as it qualified, not before.
        assert_eq!(values(&report.last_touch), [(some("webinar"), 1, 1, 1), (None, 1, 0, 0)]);
        assert_eq!(values(&report.campaigns), [(some("spring"), 1, 1, 1), (some("webinar"), 1, 1, 1), (None, 1, 0, 0)]);
        assert_eq!(values(&report.landing_pages), [(some("/"), 1, 1, 1), (None, 1, 0, 0)]);
    }
}
