//! `fraudwatch_monitor::drift` against `shared/tests/fixtures/drift_expected.json`: every case computed by scipy/numpy the way
//! Evidently 0.7 computes it (training/drift_expected.py), and the whole-dataset cases against
//! `fixtures/evidently_expected.json`, Evidently 0.7.21's own DataDriftPreset on the same rows
//! (training/evidently_expected.py). Statistics agree to ~1e-9 relative, p-values to 1e-9 absolute.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::schema::{FEATURE_COUNT, FEATURE_NAMES};
use fraudwatch_core::test_util::LogRecordBuilder;
use fraudwatch_monitor::baseline::Reference;
use fraudwatch_monitor::drift::kolmogorov::kstwo_sf;
use fraudwatch_monitor::drift::ks::{ks_2samp, PValueMethod};
use fraudwatch_monitor::drift::psi::{psi, Bins};
use fraudwatch_monitor::drift::wasserstein::normalized_wasserstein;
use fraudwatch_monitor::drift::{column_drift, compare, Dataset, DatasetDrift, DriftError, Method, SortedSample};
use fraudwatch_monitor::report::prometheus::prometheus_text;
use fraudwatch_monitor::report::{html, DriftReport, Sampling};
use fraudwatch_monitor::window::Window;
use serde_json::Value;
use time::macros::datetime;

const REL: f64 = 1e-9;
const P_ABS: f64 = 1e-9;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join("shared/tests/fixtures/drift_expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn cases(kind: &str) -> Vec<&'static Value> {
    let cases: Vec<_> = fixture()["cases"].as_array().unwrap().iter().filter(|c| c["kind"] == kind).collect();
    assert!(!cases.is_empty(), "no {kind} cases");
    cases
}

fn case(id: &str) -> &'static Value {
    fixture()["cases"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("case {id}"))
}

/// Header -> column.
type Table = HashMap<String, Vec<f64>>;

/// A committed table (CSV, gzip CSV), read once.
fn table(file: &str) -> &'static Table {
    static TABLES: OnceLock<std::sync::Mutex<HashMap<String, &'static Table>>> = OnceLock::new();
    let mut tables = TABLES.get_or_init(Default::default).lock().unwrap();
    tables.entry(file.to_string()).or_insert_with(|| {
        let bytes = std::fs::read(repo().join(file)).unwrap();
        let text = if file.ends_with(".gz") {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
            out
        } else {
            bytes
        };
        let mut reader = csv::Reader::from_reader(&text[..]);
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let mut columns: Table = headers.iter().map(|h| (h.clone(), Vec::new())).collect();
        for record in reader.records() {
            for (h, v) in headers.iter().zip(record.unwrap().iter()) {
                columns.get_mut(h).unwrap().push(v.parse().unwrap());
            }
        }
        Box::leak(Box::new(columns))
    })
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Resolves an input of the fixture (see its `inputs` field) for one column.
fn input(spec: &Value) -> Vec<f64> {
    if spec.is_array() {
        return f64s(spec);
    }
    if let Some(other) = spec["same_as_case"].as_str() {
        return f64s(&case(other)[spec["side"].as_str().unwrap()]);
    }
    let column = &table(spec["file"].as_str().unwrap())[spec["column"].as_str().unwrap()];
    let (start, end) = (spec["rows"][0].as_u64().unwrap() as usize, spec["rows"][1].as_u64().unwrap() as usize);
    let add = spec["add"].as_f64().unwrap_or(0.0);
    column[start..end].iter().map(|v| v + add).collect()
}

/// A dataset case's reference or current side (all 29 features), with `filter`, `add` and `replace`.
fn dataset_side(spec: &Value) -> Vec<Vec<f64>> {
    let t = table(spec["file"].as_str().unwrap());
    let (start, end) = (spec["rows"][0].as_u64().unwrap() as usize, spec["rows"][1].as_u64().unwrap() as usize);
    let keep: Vec<bool> = match spec.get("filter") {
        Some(f) => {
            t[f["column"].as_str().unwrap()][start..end].iter().map(|&v| v == f["equals"].as_f64().unwrap()).collect()
        }
        None => vec![true; end - start],
    };
    FEATURE_NAMES
        .iter()
        .map(|&name| {
            let source = match spec.get("replace").and_then(|r| r.get(name)) {
                Some(r) => input(r),
                None => t[name][start..end].to_vec(),
            };
            let add = spec.get("add").and_then(|a| a.get(name)).and_then(Value::as_f64).unwrap_or(0.0);
            source.iter().zip(&keep).filter(|(_, &k)| k).map(|(v, _)| v + add).collect()
        })
        .collect()
}

#[track_caller]
fn close(actual: f64, expected: f64, rel: f64, what: &str) {
    let tolerance = rel * expected.abs().max(f64::MIN_POSITIVE);
    assert!((actual - expected).abs() <= tolerance, "{what}: got {actual:e}, expected {expected:e}");
}

#[track_caller]
fn close_p(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() <= P_ABS, "{what}: got p = {actual:e}, expected {expected:e}");
    // Small p-values are compared relatively too, so "1e-12 vs 1e-10" cannot pass on the absolute bound.
    if expected > 1e-300 {
        close(actual, expected, 1e-8, what);
    }
}

#[test]
fn ks_two_sample_statistic_and_p_value_equal_scipy() {
    for c in cases("ks") {
        let id = c["id"].as_str().unwrap();
        let e = &c["expected"];
        let t = ks_2samp(&SortedSample::new(&input(&c["reference"])), &SortedSample::new(&input(&c["current"])));
        close(t.statistic, e["statistic"].as_f64().unwrap(), REL, &format!("{id} D"));
        close_p(t.pvalue, e["pvalue"].as_f64().unwrap(), id);
        let method = match e["pvalue_method"].as_str().unwrap() {
            "exact" => PValueMethod::Exact,
            _ => PValueMethod::Asymp,
        };
        assert_eq!(t.pvalue_method, method, "{id}");
    }
}

#[test]
fn kstwo_survival_function_equals_scipy_in_every_regime() {
    for row in case("kstwo_sf_table")["expected"].as_array().unwrap() {
        let (d, n) = (row["d"].as_f64().unwrap(), row["n"].as_u64().unwrap());
        close_p(kstwo_sf(d, n), row["sf"].as_f64().unwrap(), &format!("kstwo.sf({d}, {n})"));
    }
}

#[test]
fn normalized_wasserstein_equals_scipy() {
    for c in cases("wasserstein") {
        let id = c["id"].as_str().unwrap();
        let e = &c["expected"];
        let t = normalized_wasserstein(
            &SortedSample::new(&input(&c["reference"])),
            &SortedSample::new(&input(&c["current"])),
        );
        close(t.distance, e["wasserstein_distance"].as_f64().unwrap(), REL, &format!("{id} distance"));
        close(t.reference_std, e["reference_std_ddof0"].as_f64().unwrap(), REL, &format!("{id} std"));
        close(t.norm, e["norm"].as_f64().unwrap(), REL, &format!("{id} norm"));
        close(t.score, e["score"].as_f64().unwrap(), REL, &format!("{id} score"));
        assert_eq!(t.score >= e["threshold"].as_f64().unwrap(), e["drifted"].as_bool().unwrap(), "{id}");
    }
}

#[test]
fn psi_bins_fills_and_value_equal_numpy() {
    for c in cases("psi") {
        let id = c["id"].as_str().unwrap();
        let e = &c["expected"];
        let p = psi(&SortedSample::new(&input(&c["reference"])), &SortedSample::new(&input(&c["current"])));
        match (&p.histogram.bins, e["binning"].as_str().unwrap()) {
            (Bins::Sturges { edges }, "sturges") => {
                let expected = f64s(&e["edges"]);
                assert_eq!(edges.len(), expected.len(), "{id} edges");
                for (a, b) in edges.iter().zip(&expected) {
                    close(*a, *b, 1e-15, &format!("{id} edge"));
                }
            }
            (Bins::DistinctValues { values }, "distinct_values") => assert_eq!(values, &f64s(&e["values"]), "{id}"),
            (bins, expected) => panic!("{id}: binned as {bins:?}, expected {expected}"),
        }
        let counts = |v: &Value| -> Vec<u64> { v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect() };
        assert_eq!(p.histogram.reference_counts, counts(&e["reference_counts"]), "{id}");
        assert_eq!(p.histogram.current_counts, counts(&e["current_counts"]), "{id}");
        assert_eq!(p.reference_zero_fill, e["reference_zero_fill"].as_f64(), "{id}");
        assert_eq!(p.current_zero_fill, e["current_zero_fill"].as_f64(), "{id}");
        assert_eq!(p.reference_percents, f64s(&e["reference_percents"]), "{id}");
        assert_eq!(p.current_percents, f64s(&e["current_percents"]), "{id}");
        close(p.value, e["psi"].as_f64().unwrap(), REL, &format!("{id} psi"));
    }
}

/// The drift of one whole-dataset case of drift_expected.json, computed by `compare`.
fn dataset_case_drift(c: &Value) -> DatasetDrift {
    let reference = Dataset::from_columns(
        dataset_side(&c["reference"]),
        Some(input(&serde_json::json!({"file": c["reference"]["file"], "column": "fraud_probability",
            "rows": c["reference"]["rows"]}))),
    );
    let current = Dataset::from_columns(dataset_side(&c["current"]), Some(f64s(&c["current_prediction"])));
    assert_eq!(current.rows() as u64, c["current_rows"].as_u64().unwrap(), "{}", c["id"]);
    compare(&reference, &current).unwrap()
}

#[test]
fn whole_dataset_verdicts_equal_drift_expected_py() {
    for c in cases("dataset") {
        let id = c["id"].as_str().unwrap();
        let e = &c["expected"];
        let drift = dataset_case_drift(c);
        for f in &drift.features {
            let x = &e["columns"][&f.column];
            let what = format!("{id} {}", f.column);
            assert_eq!(f.method.as_str(), x["stattest"].as_str().unwrap(), "{what}");
            close(f.score, x["score"].as_f64().unwrap(), REL, &what);
            assert_eq!(f.threshold, x["threshold"].as_f64().unwrap(), "{what}");
            assert_eq!(f.drifted, x["drifted"].as_bool().unwrap(), "{what}");
            close(f.psi, x["psi"].as_f64().unwrap(), REL, &format!("{what} psi"));
        }
        assert_eq!(drift.number_of_columns as u64, e["number_of_columns"].as_u64().unwrap());
        assert_eq!(drift.number_of_drifted_columns as u64, e["number_of_drifted_columns"].as_u64().unwrap(), "{id}");
        assert_eq!(drift.share_of_drifted_columns, e["share_of_drifted_columns"].as_f64().unwrap(), "{id}");
        assert_eq!(drift.drift_share, e["drift_share"].as_f64().unwrap());
        assert_eq!(drift.dataset_drift, e["dataset_drift"].as_bool().unwrap(), "{id}");
        let p = drift.prediction.as_ref().unwrap();
        let x = &e["prediction"];
        assert_eq!(p.method.as_str(), x["stattest"].as_str().unwrap(), "{id} prediction");
        close(p.score, x["score"].as_f64().unwrap(), REL, &format!("{id} prediction"));
        assert_eq!(p.drifted, x["drifted"].as_bool().unwrap(), "{id} prediction");
        close(p.psi, x["psi"].as_f64().unwrap(), REL, &format!("{id} prediction psi"));

        // The fraud rate is the share the service flagged: rebuild the rows as logged records.
        let threshold = e["threshold"].as_f64().unwrap() as f32;
        let records: Vec<PredictionLogRecord> =
            f64s(&c["current_prediction"]).iter().map(|&p| record([0.0; FEATURE_COUNT], p as f32, threshold)).collect();
        let logged = Dataset::from_records(&records);
        assert_eq!(logged.fraud_rate(), Some(e["current_fraud_rate_at_threshold"].as_f64().unwrap()), "{id}");
    }
}

/// Evidently 0.7.21's own DataDriftPreset on the same rows (training/evidently_expected.py): every one of the 29
/// features and the prediction gets Evidently's test, threshold, score and verdict. Evidently counts the
/// prediction as a 30th column in its dataset share; fraudwatch reports it apart from the 29 features
/// (docs/contracts.md, "Pushgateway (drift-check)"), so the dataset verdicts are compared with the prediction counted the way Evidently counts it.
#[test]
fn whole_dataset_column_scores_and_verdicts_equal_evidently_0_7_21() {
    let text = std::fs::read_to_string(repo().join("shared/tests/fixtures/evidently_expected.json")).unwrap();
    let evidently: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(evidently["evidently_version"], "0.7.21");
    let evidently_cases = evidently["cases"].as_array().unwrap();
    assert_eq!(evidently_cases.len(), 3);
    for e in evidently_cases {
        let id = e["id"].as_str().unwrap();
        let drift = dataset_case_drift(case(id));
        let prediction = drift.prediction.as_ref().unwrap();
        let ours = drift.features.iter().map(|f| (f.column.as_str(), f)).chain([("fraud_probability", prediction)]);
        let mut compared = 0;
        for (column, f) in ours {
            let x = &e["columns"][column];
            let what = format!("{id} {column}");
            let evidently_test = match f.method {
                Method::Wasserstein => "Wasserstein distance (normed)",
                Method::Ks => "K-S p_value",
            };
            assert_eq!(x["stattest"].as_str(), Some(evidently_test), "{what}");
            close(f.score, x["score"].as_f64().unwrap(), REL, &what);
            assert_eq!(f.threshold, x["threshold"].as_f64().unwrap(), "{what}");
            assert_eq!(f.drifted, x["drifted"].as_bool().unwrap(), "{what}");
            compared += 1;
        }
        assert_eq!(
            compared,
            e["dataset"]["number_of_columns"].as_u64().unwrap(),
            "{id}: every column Evidently tested"
        );
        let drifted_with_prediction = drift.number_of_drifted_columns + usize::from(prediction.drifted);
        assert_eq!(drifted_with_prediction as u64, e["dataset"]["number_of_drifted_columns"].as_u64().unwrap(), "{id}");
        let share = drifted_with_prediction as f64 / compared as f64;
        assert_eq!(share >= drift.drift_share, e["dataset"]["dataset_drift"].as_bool().unwrap(), "{id}");
    }
}

/// The one-line verdict drift-check logs, returns and puts at the top of the report: counts, the drifted features by
/// name, both other verdicts, and a warning when the window is too small for the alerts to judge it.
#[test]
fn the_summary_line_names_the_drifted_features_and_a_window_too_small_to_judge() {
    let drift = dataset_case_drift(case("dataset_distribution_shift"));
    let drifted: Vec<&str> = drift.features.iter().filter(|f| f.drifted).map(|f| f.column.as_str()).collect();
    let p = drift.prediction.as_ref().unwrap();
    let line = DriftReport::summarise(3000, Some(&drift), None);
    assert_eq!(
        line,
        format!(
            "3000 rows: 14/29 features drifted (0.483): {}; dataset drift no; prediction drift yes ({:.4}); \
             attribution drift not measured (no explanation)",
            drifted.join(", "),
            p.score
        )
    );
    let min = fraudwatch_core::alert_thresholds::DRIFT_MIN_WINDOW_ROWS;
    let small = DriftReport::summarise(min - 1, Some(&drift), None);
    let warning = format!(" — too few rows to judge drift ({} of the {min} the alerts need)", min - 1);
    assert!(small.ends_with(&warning), "{small}");
    assert!(!DriftReport::summarise(min, Some(&drift), None).contains("too few rows"));
    assert_eq!(
        DriftReport::summarise(0, None, None),
        "no data: the window held no readable prediction logs; no drift is claimed"
    );
}

#[test]
fn live_like_traffic_raises_no_prediction_drift_in_rust_nor_in_the_scipy_fixture() {
    // The reason the reference was redrawn at live prevalence: fraud-free traffic scored 0.101 (> 0.1)
    // against the old stratified reference.
    let c = case("dataset_no_incident_legit_only");
    let e = &c["expected"]["prediction"];
    assert!(!e["drifted"].as_bool().unwrap() && e["score"].as_f64().unwrap() < 0.05, "{e}");
    let p = dataset_case_drift(c).prediction.unwrap();
    assert!(!p.drifted && p.score < 0.05, "{p:?}");
}

fn record(features: [f32; FEATURE_COUNT], p: f32, threshold: f32) -> PredictionLogRecord {
    LogRecordBuilder::at(datetime!(2026-11-20 10:00 UTC)).features(features).scored(p, threshold).build()
}

#[test]
fn non_finite_values_are_dropped_before_testing() {
    let c = case("ks_exact_50_vs_60_ties");
    let (r, cur) = (input(&c["reference"]), input(&c["current"]));
    let clean = column_drift("x", &r, &cur).unwrap();
    let mut dirty = cur.clone();
    dirty.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
    assert_eq!(column_drift("x", &r, &dirty).unwrap(), clean);
    assert_eq!(clean.current.count, cur.len());
}

#[test]
fn the_reference_size_selects_the_test() {
    let values = |n: usize, shift: f64| -> Vec<f64> { (0..n).map(|i| (i % 97) as f64 * 0.37 + shift).collect() };
    let at_limit = column_drift("x", &values(1000, 0.0), &values(500, 0.5)).unwrap();
    assert_eq!((at_limit.method, at_limit.threshold), (Method::Ks, 0.05));
    assert_eq!(at_limit.drifted, at_limit.score <= 0.05);
    let above = column_drift("x", &values(1001, 0.0), &values(500, 0.5)).unwrap();
    assert_eq!((above.method, above.threshold), (Method::Wasserstein, 0.1));
    assert_eq!(above.drifted, above.score >= 0.1);
}

#[test]
fn columns_evidently_would_treat_as_categorical_or_empty_are_refused() {
    let err = column_drift("Class", &[0.0, 1.0, 0.0, 2.0], &[1.0, 3.0, 4.0]).unwrap_err();
    assert_eq!(err, DriftError::TooFewDistinctValues { column: "Class".into(), distinct: 5 });
    let err = column_drift("V3", &[1.0, 2.0], &[f64::NAN]).unwrap_err();
    assert_eq!(err, DriftError::EmptyColumn { column: "V3".into(), side: "current" });
}

fn reference() -> Reference {
    let read = |f: &str| std::fs::read(repo().join(f)).unwrap();
    let card = read("model/card.json");
    let reference = Reference::from_artifacts(&card, &read("model/reference.csv.gz")).unwrap();
    reference.with_explanation(&card, Some(&read("model/trees.json"))).unwrap()
}

#[test]
fn the_committed_reference_reads_and_is_checked_against_its_card() {
    let r = reference();
    assert_eq!((r.model_version.as_str(), r.data.rows()), ("v1", 5000));
    assert_eq!(r.data.feature(0), &table("model/reference.csv.gz")["V1"][..]);
    assert_eq!(r.data.prediction().unwrap(), &table("model/reference.csv.gz")["fraud_probability"][..]);
    let card = std::fs::read(repo().join("model/card.json")).unwrap();
    let err = Reference::from_artifacts(&card, b"V1\n1\n").unwrap_err();
    assert!(err.to_string().contains("do not match the card"), "{err}");
}

#[test]
fn records_read_from_json_arrays_and_json_lines() {
    let rows = [record([0.5; FEATURE_COUNT], 0.99, 0.5), record([1.5; FEATURE_COUNT], 0.1, 0.5)];
    let lines: Vec<u8> = rows.iter().flat_map(|r| [r.encode(), b"\n".to_vec()].concat()).collect();
    let array = serde_json::to_vec(&rows).unwrap();
    for bytes in [lines, array] {
        let d = Dataset::from_json(&bytes).unwrap();
        assert_eq!(d.rows(), 2);
        assert_eq!(d.feature(3), &[0.5, 1.5]);
        assert_eq!(d.prediction().unwrap(), &[f64::from(0.99f32), f64::from(0.1f32)]);
        assert_eq!(d.fraud_rate(), Some(0.5));
    }
    let err = Dataset::from_json(b"{\"schema_version\":1}\nnot json\n").unwrap_err();
    assert!(err.to_string().starts_with("JSON line 1:"), "{err}");
}

#[test]
fn csv_needs_every_feature_and_reads_missing_cells_as_nan() {
    let header = FEATURE_NAMES.join(",");
    let row = |v: &str| vec![v; FEATURE_COUNT].join(",");
    let d = Dataset::from_csv(format!("{header}\n{}\n{}\n", row("1.5"), row("")).as_bytes()).unwrap();
    assert_eq!(d.rows(), 2);
    assert!(d.prediction().is_none() && d.fraud_rate().is_none());
    assert!(d.feature(28)[0] == 1.5 && d.feature(28)[1].is_nan());
    let err = Dataset::from_csv(format!("{header}\n{}\n", row("x")).as_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "CSV line 2, column V1: \"x\" is not a number");
    let err = Dataset::from_csv(b"V1,V2\n1,2\n").unwrap_err();
    assert_eq!(err.to_string(), "CSV header lacks column V3");
}

fn report(drift: bool) -> DriftReport {
    let reference = reference();
    let data = if drift {
        // The first 2,000 reference rows against the last 3,000, V1 shifted: V1 drifts, little else.
        let half = |i: usize, shift: f64| -> Vec<f64> {
            reference.data.feature(i)[2000..].iter().map(|v| v + shift).collect()
        };
        Some(Dataset::from_columns(
            (0..FEATURE_COUNT).map(|i| half(i, if i == 0 { 5.0 } else { 0.0 })).collect(),
            Some(reference.data.prediction().unwrap()[2000..].to_vec()),
        ))
    } else {
        None
    };
    let drift = data.as_ref().map(|d| compare(&reference.data, d).unwrap());
    let attribution = data.as_ref().map(|d| reference.attribution.as_ref().unwrap().compare(d));
    let window_rows = data.as_ref().map_or(0, Dataset::rows);
    DriftReport {
        run_id: "0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b".into(),
        started_at: datetime!(2026-11-22 10:00:03 UTC),
        finished_at: datetime!(2026-11-22 10:00:05.5 UTC),
        window: Window::hours_before(datetime!(2026-11-22 10:00:03 UTC), 24),
        model_version: "v\"1\\".into(),
        reference_rows: 5000,
        window_rows,
        corrupt_objects: 2,
        sampling: Sampling {
            listed_objects: window_rows + 2,
            listed_records: window_rows + 2,
            read_objects: window_rows + 2,
            duplicates: 0,
            max_rows: 100_000,
            sampled: false,
            seed: 9,
        },
        window_model_versions: Default::default(),
        fraud_rate: data.as_ref().map(|_| 0.002),
        summary: DriftReport::summarise(window_rows, drift.as_ref(), attribution.as_ref()),
        drift,
        stage: "test".into(),
        expected_interval_seconds: 3600,
        important_features: reference.important_features.clone(),
        feature_importance: reference.feature_importance.clone(),
        attribution,
        quality: None,
    }
}

/// `name{labels} value` lines of a text exposition, as (name, labels without `model_version`, value); every
/// sample must carry the report's model version, escaped.
fn samples(text: &str) -> Vec<(String, String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let (name, labels) = series.split_once('{').unwrap();
            let labels = labels.trim_end_matches('}');
            let rest = labels.strip_prefix(r#"model_version="v\"1\\""#).unwrap_or_else(|| panic!("{l}"));
            (name.to_string(), rest.trim_start_matches(',').to_string(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn prometheus_text_has_every_contract_metric_with_help_and_type() {
    let r = report(true);
    let text = prometheus_text(&r);
    let s = samples(&text);
    let value = |name: &str, labels: &str| s.iter().find(|(n, l, _)| n == name && l == labels).map(|x| x.2);
    use fraudwatch_core::metric_names as m;
    for name in [
        m::DRIFT_SHARE,
        m::DRIFT_DATASET,
        m::DRIFT_FEATURE_SCORE,
        m::DRIFT_FEATURE_DRIFTED,
        m::DRIFT_FEATURE_PSI,
        m::DRIFT_FEATURE_IMPORTANCE,
        m::DRIFT_PREDICTION_SCORE,
        m::DRIFT_PREDICTION_DRIFTED,
        m::DRIFT_FRAUD_RATE,
        m::DRIFT_WINDOW_ROWS,
        m::DRIFT_WINDOW_MIN_ROWS,
        m::DRIFT_WINDOW_TOO_SMALL,
        m::DRIFT_FRAUD_RATE_THRESHOLD,
        m::DRIFT_FRAUD_RATE_MIN_ROWS,
        m::DRIFT_EXPECTED_INTERVAL_SECONDS,
        m::DRIFT_CORRUPT_OBJECTS,
        m::DRIFT_RUN_DURATION_SECONDS,
        m::DRIFT_LAST_SUCCESS,
        m::DRIFT_ATTRIBUTION_NDCG,
        m::DRIFT_ATTRIBUTION_NDCG_THRESHOLD,
        m::DRIFT_FEATURE_ATTRIBUTION,
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name} HELP");
        assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name} TYPE");
    }
    let d = r.drift.as_ref().unwrap();
    // The card's importance decides the `important` label: no alert rule names a feature.
    assert_eq!(value(m::DRIFT_FEATURE_DRIFTED, r#"feature="V1",important="false""#), Some(1.0));
    assert_eq!(value(m::DRIFT_FEATURE_DRIFTED, r#"feature="V14",important="true""#), Some(0.0));
    assert_eq!(value(m::DRIFT_FEATURE_SCORE, r#"feature="V1",important="false""#), Some(d.features[0].score));
    assert_eq!(value(m::DRIFT_FEATURE_PSI, r#"feature="Amount""#), Some(d.features[28].psi));
    assert_eq!(value(m::DRIFT_FEATURE_IMPORTANCE, r#"feature="V14""#), Some(r.feature_importance["V14"]));
    assert_eq!(s.iter().filter(|(n, _, _)| n == m::DRIFT_FEATURE_SCORE).count(), FEATURE_COUNT);
    assert_eq!(value(m::DRIFT_SHARE, ""), Some(d.share_of_drifted_columns));
    assert_eq!(value(m::DRIFT_WINDOW_ROWS, ""), Some(3000.0));
    assert_eq!(value(m::DRIFT_WINDOW_MIN_ROWS, ""), Some(1000.0));
    assert_eq!(value(m::DRIFT_WINDOW_TOO_SMALL, ""), Some(0.0));
    assert_eq!(value(m::DRIFT_FRAUD_RATE_THRESHOLD, ""), Some(0.005));
    assert_eq!(value(m::DRIFT_EXPECTED_INTERVAL_SECONDS, ""), Some(3600.0));
    assert_eq!(value(m::DRIFT_CORRUPT_OBJECTS, ""), Some(2.0));
    assert_eq!(value(m::DRIFT_RUN_DURATION_SECONDS, ""), Some(2.5));
    assert_eq!(
        value(m::DRIFT_LAST_SUCCESS, ""),
        Some(datetime!(2026-11-22 10:00:05.5 UTC).unix_timestamp() as f64 + 0.5)
    );
    let a = r.attribution.as_ref().unwrap();
    assert_eq!(value(m::DRIFT_ATTRIBUTION_NDCG, ""), Some(a.ndcg));
    assert_eq!(value(m::DRIFT_ATTRIBUTION_NDCG_THRESHOLD, ""), Some(0.9));
    assert_eq!(
        value(m::DRIFT_FEATURE_ATTRIBUTION, r#"feature="V14",sample="reference""#),
        Some(a.reference.mean_abs_contribution[13])
    );
    assert_eq!(
        value(m::DRIFT_FEATURE_ATTRIBUTION, r#"feature="V1",sample="window""#),
        Some(a.window.mean_abs_contribution[0])
    );
    assert_eq!(s.iter().filter(|(n, _, _)| n == m::DRIFT_FEATURE_ATTRIBUTION).count(), 2 * FEATURE_COUNT);

    // No data: no per-feature verdicts and no drift claimed, the window too small to judge, and the run
    // recorded as a success.
    let text = prometheus_text(&report(false));
    let s = samples(&text);
    assert!(!s.iter().any(|(n, _, _)| {
        [m::DRIFT_FEATURE_DRIFTED, m::DRIFT_FRAUD_RATE, m::DRIFT_ATTRIBUTION_NDCG, m::DRIFT_FEATURE_ATTRIBUTION]
            .contains(&n.as_str())
    }));
    assert_eq!(value_in(&s, m::DRIFT_SHARE), Some(0.0));
    assert_eq!(value_in(&s, m::DRIFT_DATASET), Some(0.0));
    assert_eq!(value_in(&s, m::DRIFT_WINDOW_TOO_SMALL), Some(1.0));
    assert!(value_in(&s, m::DRIFT_LAST_SUCCESS).is_some());
}

fn value_in(s: &[(String, String, f64)], name: &str) -> Option<f64> {
    s.iter().find(|(n, l, _)| n == name && l.is_empty()).map(|x| x.2)
}

/// The report's fraud-rate card is highlighted exactly when the FraudRateSpike rule would fire on the same numbers
/// (the pushed threshold and minimum window), so the page and the alert never disagree.
#[test]
fn the_fraud_rate_card_is_highlighted_exactly_when_fraud_rate_spike_would_fire() {
    use fraudwatch_core::alert_thresholds::{FRAUD_RATE_ALERT, FRAUD_RATE_MIN_WINDOW_ROWS};
    let card_class = |r: &DriftReport| {
        let page = html::render(r);
        let at = page.find("fraud rate (flagged)").expect("the fraud-rate card");
        let opening = page[..at].rfind("<div class=\"").expect("the card's div") + "<div class=\"".len();
        page[opening..at].split('"').next().unwrap().to_string()
    };
    let mut r = report(true);
    r.window_rows = FRAUD_RATE_MIN_WINDOW_ROWS;
    r.fraud_rate = Some(FRAUD_RATE_ALERT / 2.0);
    assert_eq!(card_class(&r), "card ok");
    r.fraud_rate = Some(FRAUD_RATE_ALERT);
    assert_eq!(card_class(&r), "card ok", "the rule fires above the threshold, not at it");
    r.fraud_rate = Some(FRAUD_RATE_ALERT * 4.0);
    assert_eq!(card_class(&r), "card alert");
    r.window_rows = FRAUD_RATE_MIN_WINDOW_ROWS - 1;
    assert_eq!(card_class(&r), "card ok", "too few rows for the alert to judge");
}

/// A window below the drift alerts' minimum says so on the page, and a window at the minimum does not.
#[test]
fn the_html_report_says_when_the_window_is_too_small_to_judge() {
    let min = fraudwatch_core::alert_thresholds::DRIFT_MIN_WINDOW_ROWS;
    let mut r = report(true);
    r.window_rows = min - 1;
    let note = format!("Too few rows to judge drift: {} rows, the drift alerts need {min}", min - 1);
    assert!(html::render(&r).contains(&note), "{note}");
    r.window_rows = min;
    assert!(!html::render(&r).contains("Too few rows to judge drift"));
}

#[test]
fn the_html_report_is_self_contained_and_escapes_text() {
    let page = html::render(&report(true));
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    assert!(
        page.contains("<table>") && page.contains("<td>V1</td><td class=\"m\">no</td><td class=\"m\">wasserstein</td>"),
        "table"
    );
    assert_eq!(page.matches("<svg ").count(), FEATURE_COUNT + 1, "a histogram per feature and the prediction");
    // Both attribution rankings side by side: rank 1 is V14 in the reference and, V1 shifted, still in the window.
    let a = report(true).attribution.unwrap();
    assert!(page.contains("<table class=\"rank\">"), "the rankings table");
    assert_eq!(
        page.matches("<tr><td>1</td><td class=\"m\">V14</td>").count()
            + page.matches("<tr class=\"moved\"><td>1</td><td class=\"m\">V14</td>").count(),
        1
    );
    let (reference, window) = (a.reference.ranking(), a.window.ranking());
    let moved = reference.iter().zip(&window).filter(|(r, w)| r.0 != w.0).count();
    assert_eq!(
        page.matches("<tr class=\"moved\">").count(),
        moved,
        "a window feature off its reference rank is marked"
    );
    assert!(
        page.contains(&format!("attribution nDCG (drift &lt; 0.9)<b>{}</b>", format_args!("{:.4}", a.ndcg))),
        "the nDCG card"
    );
    assert!(page.contains("model v&quot;1\\"), "the version is escaped");
    assert!(page.contains("2 object(s) or batched-file line(s) in the window could not be decoded"));
    for external in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(external), "external reference {external}");
    }
    let page = html::render(&report(false));
    assert!(page.contains("no data") && !page.contains("<table>"));
}

/// The quality section in the push and the page: every quality metric with HELP and TYPE, the realized numbers of
/// the span, the pushed alert lines, and the section rendered (held-out parity rows, every one labelled).
#[test]
fn the_quality_section_is_pushed_and_rendered() {
    use fraudwatch_core::alert_thresholds::QUALITY_TOLERANCE;
    use fraudwatch_core::metric_names as m;
    use fraudwatch_monitor::quality::{
        assess, Assessment, LabelConvention, LabelSummary, QualityBaseline, QualityRow, QualitySampling,
    };
    let parity = fraudwatch_traffic::read_parity_rows().unwrap();
    let scores: Vec<f64> = parity.iter().map(|r| r.expected_probability).collect();
    let reference = reference();
    let day = time::macros::date!(2026 - 11 - 21);
    let rows: Vec<QualityRow> = parity
        .iter()
        .map(|r| QualityRow {
            day,
            score: r.expected_probability as f32,
            weight: 1.0,
            label: Some((r.transaction.is_fraud, 30.0)),
        })
        .collect();
    let mut r = report(true);
    let quality = assess(
        &rows,
        Assessment {
            baseline: &QualityBaseline { model_version: r.model_version.clone(), ..reference.quality.clone() },
            window: Window { start: datetime!(2026-11-21 00:00 UTC), end: datetime!(2026-11-22 00:00 UTC) },
            convention: LabelConvention::Explicit,
            labels: LabelSummary {
                distinct: 3000,
                last_arrival: Some(datetime!(2026-11-22 09:00 UTC)),
                transaction_id_labels: 3,
                transaction_id_labels_matched: 1,
                ..Default::default()
            },
            sampling: QualitySampling::default(),
            drift_window_scores: r.drift.as_ref().map(|_| &scores[..]),
            label_stale_after_days: 3,
        },
    );
    let span = quality.span.clone().unwrap();
    r.quality = Some(quality);
    let text = prometheus_text(&r);
    for name in m::ALL.iter().filter(|n| n.starts_with("fraud_quality_")) {
        assert!(text.contains(&format!("# HELP {name} ")), "{name} HELP");
        assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name} TYPE");
    }
    let s = samples(&text);
    let value = |name: &str, labels: &str| s.iter().find(|(n, l, _)| n == name && l == labels).map(|x| x.2);
    assert_eq!(value(m::QUALITY_REALIZED_RECALL, ""), Some(span.realized.recall));
    assert_eq!(value(m::QUALITY_LABELLED_FRAUDS, ""), Some(98.0));
    assert_eq!(value(m::QUALITY_CONFUSION_ROWS, r#"cell="fn""#), Some(17.0));
    assert_eq!(value(m::QUALITY_SPAN_DAYS, ""), Some(1.0));
    let card_recall = reference.quality.card_recall.unwrap();
    assert_eq!(value(m::QUALITY_RECALL_ALERT_BELOW, ""), Some(card_recall - QUALITY_TOLERANCE));
    assert_eq!(value(m::QUALITY_LABEL_STALE_AFTER_SECONDS, ""), Some(259_200.0));
    assert_eq!(value(m::QUALITY_LAST_LABEL, ""), Some(datetime!(2026-11-22 09:00 UTC).unix_timestamp() as f64));
    let page = html::render(&r);
    assert!(page.contains("<h2>Model quality (labels)</h2>"), "section");
    assert!(page.contains("<td>2026-11-21</td>"), "a row per prediction day");
    assert!(page.contains(r#"<div class="card ok">realized recall (2026-11-21 to 2026-11-21, 98 frauds)"#), "{page}");
    assert!(
        page.contains(
            "3 label(s) by transaction id, 1 of them matched a prediction read. A transaction id carries no time: the \
             others name predictions outside the quality window (or none at all)."
        ),
        "labels by transaction id are reported, not dropped"
    );
}
