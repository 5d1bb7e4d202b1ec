//! A drift report as Prometheus text exposition (the metrics of docs/contracts.md), encoded by
//! `prometheus-client` and pushed by `crate::pushgateway`.
//!
//! Every sample carries `model_version`; the grouping key the push adds (`job`, `stage`) is not repeated here.
//! Besides the verdicts, the numbers the alert rules compare with are pushed too (`fraud_drift_window_min_rows`,
//! `fraud_drift_fraud_rate_threshold`, …, from `fraudwatch_core::alert_thresholds`), and each feature's series
//! say whether the model card calls it important, so no rule hard-codes a threshold or names a feature.

use std::sync::atomic::AtomicU64;

use fraudwatch_core::alert_thresholds::{
    ATTRIBUTION_NDCG_ALERT, DRIFT_MIN_WINDOW_ROWS, FRAUD_RATE_ALERT, FRAUD_RATE_MIN_WINDOW_ROWS,
    QUALITY_MIN_FLAGGED_ROWS, QUALITY_MIN_LABELLED_FRAUDS, QUALITY_MIN_LABEL_COVERAGE, QUALITY_MIN_WINDOW_ROWS,
};
use fraudwatch_core::metric_names as m;
use fraudwatch_core::schema::FEATURE_NAMES;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::DriftReport;
use crate::quality::QualityReport;

type Labels = Vec<(&'static str, LabelValue)>;
type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;

/// A label value, escaped as the text format requires: prometheus-client 0.24 writes values verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LabelValue(String);

impl EncodeLabelValue for LabelValue {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(&self.0.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n"))
    }
}

/// The families of one report, registered in the order they are exposed.
struct Exposition {
    registry: Registry,
    model_version: LabelValue,
}

impl Exposition {
    fn family(&mut self, name: &str, help: &str) -> Gauges {
        let family = Gauges::default();
        self.registry.register(name, help, family.clone());
        family
    }

    /// One sample labelled with the model version (and `extra`).
    fn set(&self, family: &Gauges, extra: &[(&'static str, &str)], value: f64) {
        let mut labels: Labels = vec![("model_version", self.model_version.clone())];
        labels.extend(extra.iter().map(|(k, v)| (*k, LabelValue(v.to_string()))));
        family.get_or_create(&labels).set(value);
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        let family = self.family(name, help);
        self.set(&family, &[], value);
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The report's metrics in the text exposition format (HELP and TYPE on every family).
/// `fraud_drift_last_success_timestamp_seconds` is the run's finish time: pushing it is the success.
pub fn prometheus_text(report: &DriftReport) -> String {
    let mut x = Exposition { registry: Registry::default(), model_version: LabelValue(report.model_version.clone()) };
    let (share, dataset_drift) =
        report.drift.as_ref().map_or((0.0, false), |d| (d.share_of_drifted_columns, d.dataset_drift));
    x.gauge(
        m::DRIFT_SHARE,
        "Share of the 29 features whose distribution drifted from the reference (0 when the window had no data).",
        share,
    );
    x.gauge(
        m::DRIFT_DATASET,
        "1 when at least half of the features drifted (Evidently's dataset-drift rule), else 0.",
        flag(dataset_drift),
    );
    if let Some(drift) = &report.drift {
        let important =
            |feature: &str| if report.important_features.iter().any(|f| f == feature) { "true" } else { "false" };
        let score = x.family(m::DRIFT_FEATURE_SCORE, "Drift score per feature: the K-S p-value when the reference has at most 1000 rows (drift when <= 0.05), else the Wasserstein distance in reference standard deviations (drift when >= 0.1).");
        let drifted = x.family(m::DRIFT_FEATURE_DRIFTED, "1 when the feature drifted from the reference, else 0; important=\"true\" for the features the model card calls important.");
        let psi = x.family(m::DRIFT_FEATURE_PSI, "Population stability index of the feature over Evidently's bins (informational; 0.1 is the usual alarm level).");
        for f in &drift.features {
            let labels = [("feature", f.column.as_str()), ("important", important(&f.column))];
            x.set(&score, &labels, f.score);
            x.set(&drifted, &labels, flag(f.drifted));
            x.set(&psi, &labels[..1], f.psi);
        }
        if let Some(p) = &drift.prediction {
            x.gauge(m::DRIFT_PREDICTION_SCORE, "Drift score of the fraud_probability distribution against the reference's scores (same test and meaning as fraud_drift_feature_score).", p.score);
            x.gauge(
                m::DRIFT_PREDICTION_DRIFTED,
                "1 when the fraud_probability distribution drifted from the reference's, else 0.",
                flag(p.drifted),
            );
        }
    }
    if !report.feature_importance.is_empty() {
        let importance = x.family(
            m::DRIFT_FEATURE_IMPORTANCE,
            "The model card's importance of the feature (share of the total gain).",
        );
        for (feature, share) in &report.feature_importance {
            x.set(&importance, &[("feature", feature)], *share);
        }
    }
    if let Some(rate) = report.fraud_rate {
        x.gauge(m::DRIFT_FRAUD_RATE, "Share of the window's predictions flagged as fraud.", rate);
    }
    if let Some(a) = &report.attribution {
        x.gauge(
            m::DRIFT_ATTRIBUTION_NDCG,
            "nDCG of the window's feature ranking by mean |TreeSHAP contribution| against the reference's ranking (SageMaker Clarify's feature-attribution drift; 1 = same ranking).",
            a.ndcg,
        );
        let attribution = x.family(
            m::DRIFT_FEATURE_ATTRIBUTION,
            "Mean |TreeSHAP contribution| of the feature in log-odds (its global attribution), sample=\"reference\" or \"window\".",
        );
        for (sample, side) in [("reference", &a.reference), ("window", &a.window)] {
            for (feature, value) in FEATURE_NAMES.iter().zip(&side.mean_abs_contribution) {
                x.set(&attribution, &[("feature", feature), ("sample", sample)], *value);
            }
        }
    }
    x.gauge(
        m::DRIFT_WINDOW_ROWS,
        "Prediction-log rows compared (after sampling, without corrupt objects).",
        report.window_rows as f64,
    );
    x.gauge(
        m::DRIFT_WINDOW_MIN_ROWS,
        "Rows a window needs before the drift alerts judge it (smaller windows drift by chance).",
        DRIFT_MIN_WINDOW_ROWS as f64,
    );
    x.gauge(
        m::DRIFT_WINDOW_TOO_SMALL,
        "1 when the window had fewer rows than fraud_drift_window_min_rows: drift was not judged.",
        flag(report.window_too_small()),
    );
    x.gauge(m::DRIFT_FRAUD_RATE_THRESHOLD, "Flagged share above which FraudRateSpike fires.", FRAUD_RATE_ALERT);
    x.gauge(
        m::DRIFT_ATTRIBUTION_NDCG_THRESHOLD,
        "Attribution nDCG below which AttributionDrift fires (SageMaker Clarify's violation threshold).",
        ATTRIBUTION_NDCG_ALERT,
    );
    x.gauge(
        m::DRIFT_FRAUD_RATE_MIN_ROWS,
        "Rows a window needs before FraudRateSpike judges its fraud rate.",
        FRAUD_RATE_MIN_WINDOW_ROWS as f64,
    );
    x.gauge(
        m::DRIFT_EXPECTED_INTERVAL_SECONDS,
        "Seconds between scheduled drift checks; DriftCheckStale fires after twice this without a success.",
        report.expected_interval_seconds as f64,
    );
    x.gauge(
        m::DRIFT_CORRUPT_OBJECTS,
        "Prediction-log objects in the window that could not be decoded and were skipped.",
        report.corrupt_objects as f64,
    );
    x.gauge(
        m::DRIFT_RUN_DURATION_SECONDS,
        "Seconds the drift check took to read the window and compare it.",
        report.duration_seconds(),
    );
    x.gauge(
        m::DRIFT_LAST_SUCCESS,
        "Unix time of the last drift check that computed its result.",
        unix_seconds(report.finished_at),
    );
    if let Some(quality) = &report.quality {
        quality_gauges(&mut x, quality);
    }

    let mut out = String::new();
    prometheus_client::encoding::text::encode_registry(&mut out, &x.registry).expect("writing to a String cannot fail");
    out
}

/// The quality section's metrics (docs/contracts.md, "Pushgateway: model quality").
fn quality_gauges(x: &mut Exposition, q: &QualityReport) {
    x.gauge(
        m::QUALITY_WINDOW_ROWS,
        "Predictions of the model in the quality window (an estimate when it was sampled).",
        q.rows,
    );
    x.gauge(m::QUALITY_JUDGED_ROWS, "Predictions of the quality window whose truth is known (labelled, or mature under the positive-only convention).", q.judged_rows);
    x.gauge(m::QUALITY_LABEL_COVERAGE, "Share of the quality window's predictions whose truth is known.", q.coverage);
    let span = q.span.as_ref();
    let realized = span.map(|s| &s.realized);
    x.gauge(
        m::QUALITY_LABELLED_FRAUDS,
        "Frauds among the judged predictions of the span the realized metrics cover.",
        realized.map_or(0.0, |r| r.frauds),
    );
    x.gauge(
        m::QUALITY_FLAGGED_ROWS,
        "Flagged judged predictions of that span (realized precision is judged on them).",
        realized.map_or(0.0, |r| r.confusion.flagged()),
    );
    x.gauge(
        m::QUALITY_SPAN_DAYS,
        "Prediction days the realized metrics cover: the newest judged days holding enough labelled frauds.",
        span.map_or(0.0, |s| s.days as f64),
    );
    if let Some(r) = realized {
        x.gauge(
            m::QUALITY_REALIZED_PRECISION,
            "Realized precision at the model's threshold over the span (from labels).",
            r.precision,
        );
        if r.frauds > 0.0 {
            x.gauge(
                m::QUALITY_REALIZED_RECALL,
                "Realized recall at the model's threshold over the span (from labels).",
                r.recall,
            );
        }
        x.gauge(m::QUALITY_REALIZED_F1, "Realized F1 at the model's threshold over the span.", r.f1);
        x.gauge(
            m::QUALITY_REALIZED_AVERAGE_PRECISION,
            "Realized average precision (PR-AUC, scikit-learn's) over the span.",
            r.average_precision,
        );
        if let Some(b) = &r.at_budget {
            x.gauge(
                m::QUALITY_REALIZED_RECALL_AT_BUDGET,
                "Realized recall when only the top 0.5 % of the span's predictions by score are reviewed.",
                b.recall,
            );
        }
        let confusion = x.family(
            m::QUALITY_CONFUSION_ROWS,
            "Confusion counts of the span at the model's threshold (weighted when sampled).",
        );
        let c = &r.confusion;
        for (cell, value) in [("tp", c.tp), ("fp", c.fp), ("fn", c.fn_), ("tn", c.tn)] {
            x.set(&confusion, &[("cell", cell)], value);
        }
    }
    if let Some(e) = &q.estimated_window {
        x.gauge(m::QUALITY_ESTIMATED_PRECISION, "Precision at the threshold estimated without labels (CBPE with the card's calibrator) on the drift window.", e.precision);
        x.gauge(
            m::QUALITY_ESTIMATED_RECALL,
            "Recall at the threshold estimated without labels (CBPE) on the drift window.",
            e.recall,
        );
        x.gauge(
            m::QUALITY_ESTIMATED_FRAUDS,
            "Frauds the calibrated scores expect in the drift window (sum of p).",
            e.expected_frauds(),
        );
        x.gauge(m::QUALITY_ESTIMATED_FLAGGED_ROWS, "Flagged predictions of the drift window.", e.flagged());
    }
    x.gauge(
        m::QUALITY_LABELS,
        "Distinct labels read for the quality window (after deduplication).",
        q.labels.distinct as f64,
    );
    x.gauge(
        m::QUALITY_LABELS_UNMATCHED,
        "Labels by prediction id whose id falls in the quality window but names no prediction there.",
        q.labels.unmatched_prediction_ids as f64,
    );
    x.gauge(
        m::QUALITY_LABEL_RECORDS_INVALID,
        "Label records (or whole label objects) that could not be read and were skipped.",
        (q.labels.invalid_records + q.labels.unreadable_objects) as f64,
    );
    x.gauge(
        m::QUALITY_LAST_LABEL,
        "Unix time the newest label object arrived (0: none ever did).",
        q.labels.last_arrival.map_or(0.0, unix_seconds),
    );
    if let Some(p) = q.card_precision {
        x.gauge(m::QUALITY_CARD_PRECISION, "The model card's precision (test split, live prevalence).", p);
    }
    if let Some(r) = q.card_recall {
        x.gauge(m::QUALITY_CARD_RECALL, "The model card's recall (test split, live prevalence).", r);
    }
    if let Some(p) = q.precision_alert_below() {
        x.gauge(
            m::QUALITY_PRECISION_ALERT_BELOW,
            "Realized or estimated precision below this alerts (the card's minus the tolerance).",
            p,
        );
    }
    if let Some(r) = q.recall_alert_below() {
        x.gauge(
            m::QUALITY_RECALL_ALERT_BELOW,
            "Realized or estimated recall below this alerts (the card's minus the tolerance).",
            r,
        );
    }
    x.gauge(
        m::QUALITY_MIN_LABELLED_FRAUDS,
        "Labelled frauds (or, estimated, expected frauds) needed before recall is judged.",
        QUALITY_MIN_LABELLED_FRAUDS,
    );
    x.gauge(
        m::QUALITY_MIN_FLAGGED_ROWS,
        "Flagged predictions needed before precision is judged.",
        QUALITY_MIN_FLAGGED_ROWS,
    );
    x.gauge(
        m::QUALITY_MIN_LABEL_COVERAGE,
        "Label coverage below this alerts (LabelCoverageLow).",
        QUALITY_MIN_LABEL_COVERAGE,
    );
    x.gauge(
        m::QUALITY_MIN_WINDOW_ROWS,
        "Predictions the quality window needs before LabelCoverageLow judges it.",
        QUALITY_MIN_WINDOW_ROWS as f64,
    );
    x.gauge(
        m::QUALITY_LABEL_STALE_AFTER_SECONDS,
        "LabelsStale fires when no label object arrived for this long (LABEL_STALE_DAYS).",
        f64::from(q.label_stale_after_days) * 86_400.0,
    );
}

/// Seconds and fraction added separately: nanoseconds since 1970 do not fit a double exactly.
fn unix_seconds(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}
