//! The drift check's input readers on arbitrary bytes: `Dataset::from_csv` (the reference, and
//! `fraudctl drift` traffic files), `Dataset::from_json` (prediction-log records as a JSON array or JSON
//! lines), `Reference::from_artifacts` (reference + card) and `ModelCard::from_json`. None may panic; a
//! dataset they return is rectangular and, from records, in range; and the statistics, the attribution drift
//! (TreeSHAP of every row, whatever its values: NaN, ±inf, huge) and the report renderers then run on it without
//! panicking, the nDCG in [0, 1].
//!
//! The first byte picks the reader (and the reference size, so both K-S and Wasserstein are reached); the
//! rest is the file.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use fraudwatch_explain::Explainer;
use fraudwatch_monitor::baseline::{Reference, WindowComparison};
use fraudwatch_monitor::drift::{self, AttributionBaseline, Dataset};
use fraudwatch_monitor::report::{html, prometheus, DriftReport, RunInfo, Sampling, WindowLogs};
use fraudwatch_monitor::window::Window;
use fraudwatch_core::card::{sha256_hex, ModelCard};
use fraudwatch_core::schema::FEATURE_COUNT;
use libfuzzer_sys::fuzz_target;

const CARD: &[u8] = include_bytes!("../../model/card.json");
const REFERENCE: &[u8] = include_bytes!("../../model/reference.csv.gz");
const TREES: &[u8] = include_bytes!("../../model/trees.json");

/// The first `rows` rows of the real reference: ≤ 1,000 rows get K-S, more get Wasserstein.
fn reference(large: bool) -> &'static Dataset {
    static SMALL: OnceLock<Dataset> = OnceLock::new();
    static LARGE: OnceLock<Dataset> = OnceLock::new();
    let (cell, rows) = if large { (&LARGE, 1_200) } else { (&SMALL, 200) };
    cell.get_or_init(|| {
        let full = Dataset::from_csv(REFERENCE).expect("the committed reference reads");
        let features = (0..FEATURE_COUNT).map(|i| full.feature(i)[..rows].to_vec()).collect();
        Dataset::from_columns(features, full.prediction().map(|p| p[..rows].to_vec()))
    })
}

/// The committed model's reference, which the report names.
fn full_reference() -> &'static Reference {
    static REFERENCE_OF_CARD: OnceLock<Reference> = OnceLock::new();
    REFERENCE_OF_CARD.get_or_init(|| Reference::from_artifacts(CARD, REFERENCE).expect("the committed reference loads"))
}

/// The committed model's explainer and the attribution of the reference's first 200 rows.
fn attribution_baseline() -> &'static AttributionBaseline {
    static BASELINE: OnceLock<AttributionBaseline> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let explainer = Explainer::from_bytes(TREES, CARD).expect("the committed trees.json loads");
        AttributionBaseline::new(explainer, reference(false))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let (dataset, from_records) = match selector % 4 {
        0 => (Dataset::from_csv(bytes), false),
        1 => (Dataset::from_json(bytes), true),
        2 => {
            // The real card, vouching for these bytes: the checksum passes and the CSV path is reached.
            let mut card: serde_json::Value = serde_json::from_slice(CARD).unwrap();
            card["reference"]["sha256"] = sha256_hex(bytes).into();
            match Reference::from_artifacts(&serde_json::to_vec(&card).unwrap(), bytes) {
                Ok(r) => {
                    assert_eq!(r.data.rows(), card["reference"]["rows"].as_u64().unwrap() as usize);
                    assert!(r.data.prediction().is_some());
                    (Ok(r.data), false)
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    return;
                }
            }
        }
        _ => {
            if let Ok(card) = ModelCard::from_json(bytes) {
                assert!(card.threshold > 0.0 && card.threshold < 1.0);
                assert!(!card.version.is_empty() && !card.version.contains('/'));
            }
            return;
        }
    };
    let Ok(current) = dataset else {
        return;
    };
    let rows = current.rows();
    for i in 0..FEATURE_COUNT {
        assert_eq!(current.feature(i).len(), rows, "feature {i} has {} values, not {rows}", current.feature(i).len());
    }
    if let Some(p) = current.prediction() {
        assert_eq!(p.len(), rows);
    }
    if from_records {
        for i in 0..FEATURE_COUNT {
            assert!(current.feature(i).iter().all(|v| v.is_finite()), "a non-finite feature from records");
        }
        let p = current.prediction().expect("records carry their score");
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "a score outside [0, 1] from records");
        if let Some(rate) = current.fraud_rate() {
            assert!((0.0..=1.0).contains(&rate), "fraud rate {rate}");
        }
    }

    let reference = reference(selector & 4 != 0);
    let drift = match drift::compare(reference, &current) {
        Ok(d) => d,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(drift.features.len(), FEATURE_COUNT);
    assert!((0.0..=1.0).contains(&drift.share_of_drifted_columns));
    for column in drift.features.iter().chain(&drift.prediction) {
        if column.method == drift::Method::Ks {
            assert!((0.0..=1.0).contains(&column.score), "{}: K-S p-value {}", column.column, column.score);
        }
    }
    let attribution = attribution_baseline().compare(&current);
    assert!((0.0..=1.0 + 1e-12).contains(&attribution.ndcg), "nDCG {}", attribution.ndcg);
    let at = time::macros::datetime!(2026-11-22 10:00 UTC);
    let logs = WindowLogs {
        sampling: Sampling {
            listed_objects: rows,
            listed_records: rows,
            read_objects: rows,
            duplicates: 0,
            max_rows: 100_000,
            sampled: false,
            seed: 0,
        },
        corrupt_objects: 0,
        model_versions: BTreeMap::from([("v1".to_string(), rows)]),
        data: current,
    };
    let run = RunInfo {
        run_id: "fuzz".into(),
        started_at: at,
        finished_at: at,
        stage: "fuzz".into(),
        expected_interval_seconds: 3600,
    };
    let comparison = WindowComparison { drift: Some(drift), attribution: Some(attribution) };
    let report =
        DriftReport::new(run, full_reference(), Window::hours_before(at, 24), &logs, comparison, None);
    let _ = prometheus::prometheus_text(&report);
    let _ = html::render(&report);
    let _ = serde_json::to_vec(&report);
});
