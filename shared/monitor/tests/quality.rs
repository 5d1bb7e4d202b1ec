//! `fraudwatch_monitor::quality` against references on the same rows:
//!
//! - realized metrics against scikit-learn 1.9.1 (`fixtures/quality_expected.json`, `training/quality_expected.py`):
//!   `precision_score`, `recall_score`, `f1_score`, `average_precision_score`, `confusion_matrix`, with and without
//!   `sample_weight`, to 1e-9; recall at an alert budget against the fixture's numpy definition;
//! - the card's Platt calibrator and CBPE against numpy and NannyML 0.13.1 (`fixtures/calibration_expected.json`,
//!   `training/calibration_expected.py`, `training/cbpe_nannyml.py`);
//! - CBPE against realized precision and recall on held-out traffic at live prevalence, within a stated tolerance.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fraudwatch_core::card::{Calibration, ModelCard};
use fraudwatch_monitor::quality::cbpe::{calibrated, estimate};
use fraudwatch_monitor::quality::metrics::{average_precision, confusion, recall_at_budget, Row};
use fraudwatch_monitor::quality::{
    assess, Assessment, LabelConvention, LabelSummary, QualityBaseline, QualityRow, QualitySampling, Realized,
};
use fraudwatch_monitor::window::Window;
use serde_json::Value;
use time::macros::{date, datetime};

const ABS: f64 = 1e-9;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join(file)).unwrap()).unwrap()
}

fn quality_fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| json("shared/tests/fixtures/quality_expected.json"))
}

fn calibration_fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| json("shared/tests/fixtures/calibration_expected.json"))
}

fn card() -> ModelCard {
    ModelCard::from_json(&std::fs::read(repo().join("model/card.json")).unwrap()).unwrap()
}

fn card_calibration() -> Calibration {
    card().calibration.unwrap()
}

/// A column of a committed CSV.
fn column(file: &str, name: &str) -> Vec<f64> {
    let mut reader = csv::Reader::from_path(repo().join(file)).unwrap();
    let at = reader.headers().unwrap().iter().position(|h| h == name).unwrap();
    reader.records().map(|r| r.unwrap()[at].parse().unwrap()).collect()
}

fn numbers(spec: &Value) -> Vec<f64> {
    match spec {
        Value::Array(a) => a.iter().map(|v| v.as_f64().unwrap()).collect(),
        Value::Object(o) => column(o["file"].as_str().unwrap(), o["column"].as_str().unwrap()),
        other => panic!("not an input: {other}"),
    }
}

/// The case's rows: labels, scores and weights as the fixture's `inputs` describe them.
fn rows_of(case: &Value) -> Vec<Row> {
    let inputs = &case["inputs"];
    let labels = numbers(&inputs["labels"]);
    let scores = numbers(&inputs["scores"]);
    let weights: Vec<f64> = match &inputs["weights"] {
        Value::Null => vec![1.0; labels.len()],
        Value::Array(_) => numbers(&inputs["weights"]),
        Value::Object(o) => {
            let by = &o["by_label"];
            labels.iter().map(|&l| by[if l == 1.0 { "1" } else { "0" }].as_f64().unwrap()).collect()
        }
        other => panic!("weights {other}"),
    };
    assert_eq!((labels.len(), scores.len()), (weights.len(), weights.len()));
    labels
        .iter()
        .zip(&scores)
        .zip(&weights)
        .map(|((&l, &score), &weight)| Row { score, fraud: l == 1.0, weight })
        .collect()
}

fn cases(kind: &str) -> Vec<&'static Value> {
    let all: Vec<&Value> =
        quality_fixture()["cases"].as_array().unwrap().iter().filter(|c| c["kind"] == kind).collect();
    assert!(!all.is_empty(), "no {kind} cases");
    all
}

fn close(what: &str, got: f64, expected: &Value) {
    let expected = expected.as_f64().unwrap_or_else(|| panic!("{what}: {expected}"));
    assert!(
        (got - expected).abs() <= ABS,
        "{what}: {got} vs scikit-learn {expected} (|diff| {:e})",
        (got - expected).abs()
    );
}

#[test]
fn precision_recall_f1_average_precision_and_confusion_equal_scikit_learn_weighted_and_not() {
    for case in cases("classification") {
        let id = case["id"].as_str().unwrap();
        let rows = rows_of(case);
        let threshold = case["inputs"]["threshold"].as_f64().unwrap();
        let e = &case["expected"];
        let c = confusion(&rows, threshold);
        close(&format!("{id} precision"), c.precision(), &e["precision"]);
        close(&format!("{id} recall"), c.recall(), &e["recall"]);
        close(&format!("{id} f1"), c.f1(), &e["f1"]);
        close(&format!("{id} average_precision"), average_precision(&rows), &e["average_precision"]);
        let m = &e["confusion_matrix"];
        for (cell, got) in [("tp", c.tp), ("fp", c.fp), ("fn", c.fn_), ("tn", c.tn)] {
            close(&format!("{id} {cell}"), got, &m[cell]);
        }
        let flagged = rows.iter().filter(|r| r.score >= threshold).count();
        assert_eq!(flagged as u64, e["flagged_rows"].as_u64().unwrap(), "{id}");
        // The same through the report's type, which the quality check pushes.
        let r = Realized::of(&rows, threshold).unwrap();
        assert_eq!((r.precision, r.recall, r.f1), (c.precision(), c.recall(), c.f1()), "{id}");
    }
}

#[test]
fn recall_at_the_alert_budget_equals_the_fixture_definition_weighted_and_with_ties() {
    for case in cases("recall_at_budget") {
        let id = case["id"].as_str().unwrap();
        let rows = rows_of(case);
        let budgets = case["inputs"]["budgets"].as_array().unwrap();
        for (budget, e) in budgets.iter().zip(case["expected"].as_array().unwrap()) {
            let b = recall_at_budget(&rows, budget.as_f64().unwrap()).unwrap();
            let what = format!("{id} at {budget}");
            assert_eq!(b.k as u64, e["k"].as_u64().unwrap(), "{what} k");
            assert_eq!(b.flagged_rows as u64, e["flagged_rows"].as_u64().unwrap(), "{what} flagged rows");
            for (name, got) in [
                ("total_weight", b.total_weight),
                ("target_weight", b.target_weight),
                ("cut_score", b.cut_score),
                ("flagged_weight", b.flagged_weight),
                ("flagged_weight_share", b.flagged_weight_share),
                ("tp_weight", b.tp_weight),
                ("positive_weight", b.positive_weight),
                ("recall", b.recall),
                ("precision", b.precision),
            ] {
                close(&format!("{what} {name}"), got, &e[name]);
            }
        }
    }
}

#[test]
fn the_card_calibrator_equals_numpy_and_scikit_learn_at_every_edge() {
    let f = calibration_fixture();
    let calibration = card_calibration();
    assert_eq!(calibration.a, f["calibration"]["a"].as_f64().unwrap());
    assert_eq!(calibration.b, f["calibration"]["b"].as_f64().unwrap());
    for case in f["edge_cases"].as_array().unwrap() {
        let score = case["score"].as_f64().unwrap();
        let p = calibrated(&calibration, score);
        for reference in ["p", "p_sklearn"] {
            let expected = case[reference].as_f64().unwrap();
            assert!((p - expected).abs() <= 1e-12 * expected, "{}: {p} vs {reference} {expected}", case["note"]);
        }
    }
    let split = &f["test_split"];
    let scores = numbers(&split["scores"]);
    for (s, expected) in scores.iter().zip(numbers(&split["p"])) {
        let p = calibrated(&calibration, *s);
        assert!((p - expected).abs() <= 1e-12 * expected, "score {s}: {p} vs {expected}");
    }
}

/// The test split with frauds weighing 1 and negatives `negative_weight`: held-out traffic at live prevalence.
fn test_split(negative_weight: f64) -> Vec<Row> {
    let split = &calibration_fixture()["test_split"];
    numbers(&split["scores"])
        .into_iter()
        .zip(numbers(&split["labels"]))
        .map(|(score, label)| Row {
            score,
            fraud: label == 1.0,
            weight: if label == 1.0 { 1.0 } else { negative_weight },
        })
        .collect()
}

#[test]
fn cbpe_equals_the_fixture_s_sums_weighted_and_unweighted() {
    let cbpe = &calibration_fixture()["cbpe"];
    let threshold = cbpe["threshold"].as_f64().unwrap();
    assert_eq!(threshold, f64::from(card().threshold));
    let w = cbpe["weighted"]["weights"]["negative"].as_f64().unwrap();
    for (rows, expected) in
        [(test_split(w), &cbpe["weighted"]["estimated"]), (test_split(1.0), &cbpe["unweighted"]["estimated"])]
    {
        let e = estimate(rows.iter().map(|r| (r.score, r.weight)), threshold, &card_calibration()).unwrap();
        for (name, got) in [
            ("tp", e.confusion.tp),
            ("fp", e.confusion.fp),
            ("fn", e.confusion.fn_),
            ("tn", e.confusion.tn),
            ("precision", e.precision),
            ("recall", e.recall),
        ] {
            let want = expected[name].as_f64().unwrap();
            assert!((got - want).abs() <= ABS, "{name}: {got} vs {want}");
        }
    }
}

/// NannyML takes no weights, so `cbpe_nannyml.py` repeated rows: each fraud once, the k-th negative
/// floor(w(k+1) + 1/2) − floor(wk + 1/2) times. The same repetition as integer weights gives NannyML's numbers.
#[test]
fn cbpe_equals_nannyml_on_the_rows_nannyml_estimated() {
    let cbpe = &calibration_fixture()["cbpe"];
    let nannyml = &cbpe["nannyml"];
    let w = cbpe["weighted"]["weights"]["negative"].as_f64().unwrap();
    let mut k = 0.0;
    let rows: Vec<(f64, f64)> = test_split(1.0)
        .into_iter()
        .map(|r| {
            if r.fraud {
                (r.score, 1.0)
            } else {
                let repeats = (w * (k + 1.0) + 0.5).floor() - (w * k + 0.5).floor();
                k += 1.0;
                (r.score, repeats)
            }
        })
        .collect();
    assert_eq!(rows.iter().map(|r| r.1).sum::<f64>() as u64, nannyml["analysis_rows"].as_u64().unwrap());
    let e = estimate(rows, cbpe["threshold"].as_f64().unwrap(), &card_calibration()).unwrap();
    for (got, name) in [(e.precision, "estimated_precision"), (e.recall, "estimated_recall")] {
        let want = nannyml[name].as_f64().unwrap();
        assert!((got - want).abs() <= ABS, "{name}: {got} vs NannyML {want}");
    }
}

/// Stated tolerance: on held-out traffic at live prevalence (the test split, negatives weighted to the live fraud
/// share) CBPE's precision and recall are within 0.05 of the realized values. Measured: +0.008 and −0.043 (the
/// calibrator expects 104 frauds where the split has 98, and puts the surplus below the threshold).
#[test]
fn cbpe_is_within_0_05_of_realized_precision_and_recall_on_held_out_traffic() {
    let cbpe = &calibration_fixture()["cbpe"];
    let threshold = cbpe["threshold"].as_f64().unwrap();
    let rows = test_split(cbpe["weighted"]["weights"]["negative"].as_f64().unwrap());
    let e = estimate(rows.iter().map(|r| (r.score, r.weight)), threshold, &card_calibration()).unwrap();
    let realized = confusion(&rows, threshold);
    assert!((e.precision - realized.precision()).abs() <= 0.05, "{} vs {}", e.precision, realized.precision());
    assert!((e.recall - realized.recall()).abs() <= 0.05, "{} vs {}", e.recall, realized.recall());
    // And the card's own realized numbers are this split's.
    let card = card();
    assert_eq!(realized.recall(), card.metrics["test"]["prevalence_corrected"]["recall"].as_f64().unwrap());
    assert!(
        (realized.precision() - card.metrics["test"]["prevalence_corrected"]["precision"].as_f64().unwrap()).abs()
            < 1e-12
    );
}

/// A window's quality from a weighted sample: every fraud read, the legitimate rows sampled one in ten with weight
/// 10, gives the metrics of the whole window where the sample is exact (recall, the confusion counts of the frauds)
/// and scikit-learn's weighted metrics of the sample everywhere (they are the same function).
#[test]
fn a_weighted_sample_stands_for_its_window() {
    let parity = rows_of(cases("classification").into_iter().find(|c| c["id"] == "parity_unweighted").unwrap());
    let day = date!(2026 - 11 - 20);
    let to_row = |r: &Row, weight: f64| QualityRow { day, score: r.score as f32, weight, label: Some((r.fraud, 48.0)) };
    let full: Vec<QualityRow> = parity.iter().map(|r| to_row(r, 1.0)).collect();
    let mut legit_seen = 0;
    let sample: Vec<QualityRow> = parity
        .iter()
        .filter(|r| {
            legit_seen += usize::from(!r.fraud);
            r.fraud || legit_seen % 10 == 0
        })
        .map(|r| to_row(r, if r.fraud { 1.0 } else { 10.0 }))
        .collect();
    let baseline = QualityBaseline::from_card(&card());
    let assessment = || Assessment {
        baseline: &baseline,
        window: Window { start: datetime!(2026-11-20 00:00 UTC), end: datetime!(2026-11-21 00:00 UTC) },
        convention: LabelConvention::Explicit,
        labels: LabelSummary::default(),
        sampling: QualitySampling::default(),
        drift_window_scores: None,
        label_stale_after_days: 3,
    };
    let whole = assess(&full, assessment()).overall.unwrap();
    let sampled = assess(&sample, assessment()).overall.unwrap();
    assert_eq!((sampled.recall, sampled.confusion.tp, sampled.confusion.fn_), (whole.recall, 81.0, 17.0));
    assert_eq!(sampled.rows, 98.0 + 290.0 * 10.0);
    let expected = &quality_fixture()["cases"].as_array().unwrap()[0]["expected"];
    close("whole-window recall", whole.recall, &expected["recall"]);
    close("whole-window average precision", whole.average_precision, &expected["average_precision"]);
    // The sample's AP differs from the window's only by which negatives it drew.
    assert!((sampled.average_precision - whole.average_precision).abs() < 0.02, "{}", sampled.average_precision);
}
