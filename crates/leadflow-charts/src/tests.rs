use leadflow_contract::{
    Attribution, Cohort, Conversion, Dropouts, MonthFigures, PipelineReport, StageFigures, VelocityMonth, VelocityStep,
};
use leadflow_core::Timestamp;

use super::*;

fn stage(id: &str, reached: u64) -> StageFigures {
    StageFigures {
        stage: id.into(),
        kind: Some("open"),
        reached,
        completed: 0,
        open: 0,
        median_days: None,
        p75_days: None,
        p90_days: None,
        mean_days: None,
        open_median_age_days: None,
        rotting: 0,
        weighted: 0.0,
    }
}

fn report() -> PipelineReport {
    let conversion = |from: &str, to: &str, reached, converted| Conversion {
        from: from.into(),
        to: to.into(),
        reached,
        converted,
        rate: Some(converted as f64 / reached as f64),
        rate_low: None,
        rate_high: None,
        dropped: Dropouts {
            stalled: 0,
            skipped: 0,
            recycled: 0,
            lost: 0,
            disqualified: 0,
            won: 0,
            left: 0,
            reasons: vec![],
        },
    };
    let month = |m: &str, days| VelocityMonth { month: m.into(), leads: 3, median_days: days };
    PipelineReport {
        pipeline: "sales".into(),
        as_of: Timestamp::parse("2026-03-01").unwrap(),
        leads: 100,
        stages: vec![stage("new", 100), stage("<mql>", 40), stage("won", 10)],
        conversion: vec![
            Conversion {
                dropped: Dropouts { stalled: 30, lost: 20, left: 10, ..conversion("", "", 0, 0).dropped },
                ..conversion("new", "<mql>", 100, 40)
            },
            Conversion {
                dropped: Dropouts { skipped: 5, disqualified: 25, ..conversion("", "", 0, 0).dropped },
                ..conversion("<mql>", "won", 40, 10)
            },
        ],
        breakdown: None,
        owners: vec![],
        months: vec![
            MonthFigures { month: "2026-01".into(), mqls: 30, velocity_rate: None },
            MonthFigures { month: "2026-02".into(), mqls: 10, velocity_rate: Some(-2.0 / 3.0) },
        ],
        sources: vec![],
        attribution: Attribution { campaigns: vec![], first_touch: vec![], last_touch: vec![], landing_pages: vec![] },
        reasons: vec![],
        velocity: vec![VelocityStep {
            from: "created",
            to: "mql",
            leads: 40,
            median_days: Some(4.0),
            p75_days: None,
            p90_days: None,
            by_month: vec![month("2026-01", Some(3.0)), month("2026-02", Some(5.0))],
        }],
        cohorts: vec![
            Cohort { month: "2026-01".into(), leads: 60, qualified: vec![20, 30, 30], won: vec![0, 3, 6] },
            Cohort { month: "2026-02".into(), leads: 40, qualified: vec![10, 10], won: vec![1, 4] },
        ],
        weighted_open: 12.5,
    }
}

/// Every chart is well-formed SVG (a real XML parser reads it), titled, and says each number.
fn parsed(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc
}

fn titles(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants().filter(|n| n.has_tag_name("title")).filter_map(|n| n.text()).map(String::from).collect()
}

#[test]
fn every_chart_is_well_formed_and_says_its_numbers() {
    let report = report();
    for name in PIPELINE_CHARTS {
        let svg = pipeline_chart(name, &report).unwrap();
        parsed(&svg);
    }
    assert_eq!(pipeline_chart("pie", &report), None);

    let funnel = funnel(&report);
    let doc = parsed(&funnel);
    assert_eq!(titles(&doc), ["new: 100 leads reached it", "<mql>: 40 leads reached it", "won: 10 leads reached it"]);
    assert!(funnel.contains("&lt;mql&gt;") && !funnel.contains("<mql>"), "stage ids are escaped");
    assert!(funnel.contains("(25.0% went on)"));

    let dropouts = dropouts(&report);
    let doc = parsed(&dropouts);
    let bars: Vec<String> = titles(&doc).into_iter().filter(|t| t.contains(" of ")).collect();
    assert_eq!(
        bars,
        [
            "went on: 40 of 100 (40.0%)",
            "stalled: 30 of 100 (30.0%)",
            "lost: 20 of 100 (20.0%)",
            "left: 10 of 100 (10.0%)",
            "went on: 10 of 40 (25.0%)",
            "skipped ahead: 5 of 40 (12.5%)",
            "disqualified: 25 of 40 (62.5%)",
        ]
    );
    assert!(dropouts.contains("&lt;mql&gt; \u{2192} won (40)"), "{dropouts}");

    let mqls = mqls(&report);
    let doc = parsed(&mqls);
    assert_eq!(titles(&doc), ["2026-01: 30 MQLs, lead velocity -", "2026-02: 10 MQLs, lead velocity -67%"]);

    let velocity = velocity(&report);
    let doc = parsed(&velocity);
    assert!(titles(&doc).contains(&"created to mql: median 4.0 days over 40 leads".to_string()));
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("circle")).count(), 2, "a point per month");

    let cohorts = cohorts(&report);
    let doc = parsed(&cohorts);
    let cells: Vec<String> = titles(&doc).into_iter().filter(|t| t.contains("won by month")).collect();
    assert_eq!(cells.len(), 5, "3 months of January's cohort, 2 of February's");
    assert_eq!(cells[2], "2026-01: 6 of 60 won by month 2 (10.0%)");
}

#[test]
fn charts_of_an_empty_report_are_still_charts() {
    let mut empty = report();
    empty.stages.clear();
    empty.conversion.clear();
    empty.months.clear();
    empty.velocity.clear();
    empty.cohorts.clear();
    for name in PIPELINE_CHARTS {
        let svg = pipeline_chart(name, &empty).unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}: {svg}");
        parsed(&svg);
    }
}
