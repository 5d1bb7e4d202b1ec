//! A drift report as Prometheus text exposition (the metrics of docs/contracts.md), encoded by
//! `prometheus-client` and pushed by [`super::pushgateway`].
//!
//! Every sample carries `model_version`; the grouping key the push adds (`job`, `stage`) is not repeated here.
//! Besides the verdicts, the numbers the alert rules compare with are pushed too (`fraud_drift_window_min_rows`,
//! `fraud_drift_fraud_rate_threshold`, …, from `fraudwatch_core::alert_thresholds`), and each feature's series
//! say whether the model card calls it important, so no rule hard-codes a threshold or names a feature.

use std::sync::atomic::AtomicU64;

use fraudwatch_core::alert_thresholds::{
    ATTRIBUTION_NDCG_ALERT, DRIFT_MIN_WINDOW_ROWS, FRAUD_RATE_ALERT, FRAUD_RATE_MIN_WINDOW_ROWS,
};
use fraudwatch_core::metric_names as m;
use fraudwatch_core::schema::FEATURE_NAMES;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::DriftReport;

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

    let mut out = String::new();
    prometheus_client::encoding::text::encode_registry(&mut out, &x.registry).expect("writing to a String cannot fail");
    out
}

/// Seconds and fraction added separately: nanoseconds since 1970 do not fit a double exactly.
fn unix_seconds(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}
