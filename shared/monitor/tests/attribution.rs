//! Feature-attribution drift against `shared/tests/fixtures/attribution_expected.json`, written by
//! `training/attribution_expected.py` with scikit-learn's `ndcg_score` (Clarify's relevance: the reference's mean
//! |SHAP|) and XGBoost's own `pred_contribs`.

use std::path::{Path, PathBuf};

use fraudwatch_core::schema::{FEATURE_COUNT, FEATURE_NAMES};
use fraudwatch_explain::Explainer;
use fraudwatch_monitor::drift::attribution::ndcg;
use fraudwatch_monitor::drift::{Attribution, AttributionBaseline, Dataset};
use serde::Deserialize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Deserialize)]
struct Fixture {
    threshold: f64,
    clarify_example: Case,
    cases: Vec<Case>,
    parity_by_class: ParityByClass,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    reference: Vec<f64>,
    window: Vec<f64>,
    ndcg: f64,
    drifted: bool,
}

#[derive(Deserialize)]
struct ParityByClass {
    reference_rows: usize,
    window_rows: usize,
    features: Vec<String>,
    reference: Vec<f64>,
    window: Vec<f64>,
    reference_ranking: Vec<String>,
    window_ranking: Vec<String>,
    ndcg: f64,
}

fn fixture() -> Fixture {
    let path = repo().join("shared/tests/fixtures/attribution_expected.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn ndcg_equals_scikit_learn_ndcg_score_with_clarify_s_relevance_on_every_fixture_case() {
    let f = fixture();
    assert_eq!(f.threshold, fraudwatch_core::alert_thresholds::ATTRIBUTION_NDCG_ALERT);
    for case in std::iter::once(&f.clarify_example).chain(&f.cases) {
        let got = ndcg(&case.reference, &case.window);
        assert!((got - case.ndcg).abs() <= 1e-12, "{}: {got} vs scikit-learn {}", case.name, case.ndcg);
        assert_eq!(got < f.threshold, case.drifted, "{}", case.name);
    }
    // Clarify's documented example.
    assert_eq!(format!("{:.2}", ndcg(&f.clarify_example.reference, &f.clarify_example.window)), "0.69");
}

/// `model/parity.csv`'s features as two datasets: its legitimate rows and its frauds.
fn parity_by_class() -> (Dataset, Dataset) {
    let mut reader = csv::Reader::from_path(repo().join("model/parity.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (features, class) = (FEATURE_NAMES.map(at), at("Class"));
    let mut columns = [vec![vec![]; FEATURE_COUNT], vec![vec![]; FEATURE_COUNT]];
    for row in reader.records() {
        let row = row.unwrap();
        let side = &mut columns[usize::from(row[class].parse::<f64>().unwrap() == 1.0)];
        for (column, &i) in side.iter_mut().zip(&features) {
            column.push(row[i].parse::<f64>().unwrap() as f32 as f64);
        }
    }
    let [legit, fraud] = columns;
    (Dataset::from_columns(legit, None), Dataset::from_columns(fraud, None))
}

#[test]
fn mean_abs_contributions_equal_xgboost_pred_contribs_and_their_ndcg_scikit_learn_s() {
    let expected = fixture().parity_by_class;
    assert_eq!(expected.features, FEATURE_NAMES);
    let explainer = Explainer::from_dir(&repo().join("model")).unwrap();
    let (legit, fraud) = parity_by_class();
    let baseline = AttributionBaseline::new(explainer, &legit);
    let drift = baseline.compare(&fraud);
    for (got, want, rows) in [
        (&drift.reference, &expected.reference, expected.reference_rows),
        (&drift.window, &expected.window, expected.window_rows),
    ] {
        assert_eq!(got.rows, rows);
        for (j, (g, w)) in got.mean_abs_contribution.iter().zip(want).enumerate() {
            // Each contribution is within 1e-5 of XGBoost's (float32 there), so is their mean.
            assert!((g - w).abs() <= 1e-5, "{}: {g} vs XGBoost {w}", FEATURE_NAMES[j]);
        }
    }
    let names = |a: &Attribution| a.ranking().iter().map(|(f, _)| f.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&drift.reference), expected.reference_ranking);
    assert_eq!(names(&drift.window), expected.window_ranking);
    assert!((drift.ndcg - expected.ndcg).abs() <= 1e-6, "{} vs scikit-learn {}", drift.ndcg, expected.ndcg);
    assert!(!drift.drifted, "frauds rank the features much as legitimate rows do: V14 leads both");
}
