//! Which event properties shapes keep, and which names each event type has had: the bookkeeping
//! every backend keeps beside its tables (`shape_keys`, `event_properties`; the SQL is each
//! backend's). A shape holds an event's type and the properties some model's rules look at;
//! every other property (a session id, a request id) is set aside per event, so that shapes stay
//! as few as the values rules can tell apart. The kept names only grow.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use leadflow_core::EventShape;

/// The names shapes keep, and the (type, name) pairs events are known to have had, as committed.
#[derive(Default)]
pub struct KeptProperties {
    kept: HashSet<String>,
    seen: HashSet<(String, String)>,
}

/// What a transaction added, joining [`KeptProperties`] only if it commits.
#[derive(Default)]
pub struct PropertyChanges {
    kept: HashSet<String>,
    seen: HashSet<(String, String)>,
}

impl KeptProperties {
    /// How many names are kept: another process added some when its table holds more.
    pub fn kept_count(&self) -> usize {
        self.kept.len()
    }

    /// The kept names, as read from the backend's table.
    pub fn reload(&mut self, kept: impl IntoIterator<Item = String>) {
        self.kept = kept.into_iter().collect();
    }

    fn is_kept(&self, name: &str, changes: &PropertyChanges) -> bool {
        self.kept.contains(name) || changes.kept.contains(name)
    }

    /// The shape of `sent` and its set-aside properties (`None` when there are none, nearly
    /// always: then the shape is `sent` itself, not a copy).
    pub fn split<'s>(
        &self,
        sent: &'s EventShape,
        changes: &PropertyChanges,
    ) -> (Cow<'s, EventShape>, Option<BTreeMap<String, String>>) {
        if sent.properties.keys().all(|k| self.is_kept(k, changes)) {
            return (Cow::Borrowed(sent), None);
        }
        let (shape, aside) = sent.clone().split(|name| self.is_kept(name, changes));
        (Cow::Owned(shape), Some(aside))
    }

    /// The (type, name) pairs of `shape`'s set-aside properties not known yet, now counted as
    /// seen by `changes`: the backend records them.
    pub fn newly_seen(
        &self,
        shape: &EventShape,
        aside: &BTreeMap<String, String>,
        changes: &mut PropertyChanges,
    ) -> Vec<(String, String)> {
        let mut new = Vec::new();
        for name in aside.keys() {
            let pair = (shape.event_type.as_str().to_string(), name.clone());
            if !self.seen.contains(&pair) && changes.seen.insert(pair.clone()) {
                new.push(pair);
            }
        }
        new
    }

    /// Of `names`, those not kept yet, now kept by `changes`: the backend records them and
    /// reshapes the events that set them aside.
    pub fn newly_kept(&self, names: &BTreeSet<String>, changes: &mut PropertyChanges) -> HashSet<String> {
        let new: HashSet<String> = names.iter().filter(|n| !self.is_kept(n, changes)).cloned().collect();
        changes.kept.extend(new.iter().cloned());
        new
    }

    /// A committed transaction's changes.
    pub fn extend(&mut self, changes: PropertyChanges) {
        self.kept.extend(changes.kept);
        self.seen.extend(changes.seen);
    }
}
