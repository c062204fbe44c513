//! What attribution reads of an event ([`leadflow_core::report::Touch`]): a page view's `url` and
//! the campaign it names, wherever the store keeps them, its shape or the properties it set aside.
//! Both backends scan their events through [`TouchReader`]; only the SQL is theirs.

use std::collections::HashMap;

use leadflow_core::EventShape;
use leadflow_core::Timestamp;
use leadflow_core::report::{CAMPAIGN_PROPERTIES, Names, PAGE_VIEW, Touch};

use crate::{ShapeId, StoreError};

/// What a shape says for attribution, interned once per shape.
#[derive(Clone, Copy, Debug)]
struct ShapeTouch {
    page_view: bool,
    page: Option<leadflow_core::report::Name>,
    /// The first of [`CAMPAIGN_PROPERTIES`] the shape keeps, by its place in that list.
    campaign: Option<(usize, leadflow_core::report::Name)>,
}

/// Turns stored events, as (shape id, set-aside properties), into touches.
pub struct TouchReader {
    shapes: HashMap<ShapeId, ShapeTouch>,
}

impl TouchReader {
    pub fn new(shapes: &[(ShapeId, EventShape)], names: &mut Names) -> TouchReader {
        let shapes = shapes
            .iter()
            .map(|(id, shape)| {
                let page_view = shape.event_type.as_str() == PAGE_VIEW;
                let touch = ShapeTouch {
                    page_view,
                    page: shape.property("url").filter(|_| page_view).map(|url| names.intern(url)),
                    campaign: CAMPAIGN_PROPERTIES
                        .iter()
                        .enumerate()
                        .find_map(|(i, p)| shape.property(p).map(|c| (i, names.intern(c)))),
                };
                (*id, touch)
            })
            .collect();
        TouchReader { shapes }
    }

    /// The shapes whose events are touches whatever they set aside; events of other shapes are
    /// touches only through what they set aside.
    pub fn touch_shapes(&self) -> Vec<ShapeId> {
        let mut ids: Vec<ShapeId> =
            self.shapes.iter().filter(|(_, t)| t.page.is_some() || t.campaign.is_some()).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids
    }

    /// The touch of an event of `shape` at `at` that set `extra` aside (a JSON object of
    /// strings), if it is one.
    pub fn touch(
        &self,
        shape: ShapeId,
        at: Timestamp,
        extra: Option<&str>,
        names: &mut Names,
    ) -> Result<Option<Touch>, StoreError> {
        let Some(known) = self.shapes.get(&shape) else {
            return Err(StoreError::Corrupt(format!("an event of shape {shape}, which is not stored")));
        };
        let mut page = known.page;
        let mut campaign = known.campaign;
        // Set-aside properties are read only when they may name what the shape does not.
        let may_add = |extra: &str| {
            (known.page_view && page.is_none() && extra.contains("\"url\""))
                || (campaign.is_none_or(|(i, _)| i > 0) && extra.contains("campaign\""))
        };
        if let Some(extra) = extra.filter(|e| may_add(e)) {
            let aside: HashMap<String, String> = serde_json::from_str(extra)
                .map_err(|e| StoreError::Corrupt(format!("an event's set-aside properties: {e}")))?;
            if known.page_view && page.is_none() {
                page = aside.get("url").filter(|u| !u.is_empty()).map(|url| names.intern(url));
            }
            for (i, property) in CAMPAIGN_PROPERTIES.iter().enumerate() {
                if campaign.is_some_and(|(kept, _)| kept <= i) {
                    break;
                }
                if let Some(value) = aside.get(*property).filter(|v| !v.is_empty()) {
                    campaign = Some((i, names.intern(value)));
                    break;
                }
            }
        }
        let campaign = campaign.map(|(_, c)| c);
        Ok((page.is_some() || campaign.is_some()).then_some(Touch { at, page, campaign }))
    }
}
