//! Metric names: the one list used by the EMF emitters, the Pushgateway push, the alert rules' tests and the
//! dashboards. docs/contracts.md lists the same names (the test below fails when the two differ), and
//! tests/tests/infra/metric_names.rs checks every name a dashboard, rule or alarm uses against this list.

/// CloudWatch namespace of the EMF metrics.
pub const EMF_NAMESPACE: &str = "FraudWatch";
/// EMF dimensions every metric carries: the stack (`FRAUDWATCH_STAGE`) and the function.
pub const EMF_STAGE_DIMENSION: &str = "stage";
pub const EMF_FUNCTION_DIMENSION: &str = "function";

// Per prediction (predict).
pub const PREDICTIONS_TOTAL: &str = "fraudwatch_predictions_total";
pub const FRAUD_PROBABILITY: &str = "fraudwatch_fraud_probability";
/// One value per request: parse + validate + score (+ explain).
pub const PREDICT_LATENCY_SECONDS: &str = "fraudwatch_predict_latency_seconds";
/// Time a request spends handing its records to the log path (SQS, or the fallbacks when it fails): the
/// only part of the response path that is not parse + score.
pub const LOG_ENQUEUE_SECONDS: &str = "fraudwatch_log_enqueue_seconds";
/// Records SQS did not accept (= the next two added up).
pub const LOG_ENQUEUE_FAILURES_TOTAL: &str = "fraudwatch_log_enqueue_failures_total";
/// Of those, written to their S3 key by predict itself: the record is safe, SQS is unhealthy.
pub const LOG_WRITTEN_BY_FALLBACK_TOTAL: &str = "fraudwatch_log_written_by_fallback_total";
/// Of those, S3 failed too: the record exists only as a `prediction_log_fallback` line in predict's log.
pub const LOG_ONLY_IN_STDOUT_TOTAL: &str = "fraudwatch_log_only_in_stdout_total";

/// `POST /labels`: label records stored, records refused (a bad field), and batches that could not be stored (503).
pub const LABELS_ACCEPTED_TOTAL: &str = "fraudwatch_labels_accepted_total";
pub const LABELS_REJECTED_TOTAL: &str = "fraudwatch_labels_rejected_total";
pub const LABELS_STORE_FAILURES_TOTAL: &str = "fraudwatch_labels_store_failures_total";

// prediction-logger.
/// S3 objects written: one per record, or one per batched file (`PredictionLogDelivery=batched`).
pub const LOG_OBJECTS_WRITTEN_TOTAL: &str = "fraudwatch_log_objects_written_total";
/// Records (SQS messages) written to S3, in either layout: compare with `fraudwatch_predictions_total`.
pub const LOG_RECORDS_WRITTEN_TOTAL: &str = "fraudwatch_log_records_written_total";
pub const LOG_OBJECT_FAILURES_TOTAL: &str = "fraudwatch_log_object_failures_total";

// drift-check (EMF).
pub const DRIFT_CHECK_WINDOW_ROWS: &str = "fraudwatch_drift_check_window_rows";
pub const DRIFT_CHECK_PUSH_FAILURES_TOTAL: &str = "fraudwatch_drift_check_push_failures_total";

// Drift check (Pushgateway group job="fraud_drift_check", stage=<FRAUDWATCH_STAGE>).
pub const DRIFT_JOB: &str = "fraud_drift_check";
pub const DRIFT_SHARE: &str = "fraud_drift_share_of_drifted_columns";
pub const DRIFT_DATASET: &str = "fraud_drift_dataset_drift";
pub const DRIFT_FEATURE_SCORE: &str = "fraud_drift_feature_score";
pub const DRIFT_FEATURE_DRIFTED: &str = "fraud_drift_feature_drifted";
pub const DRIFT_FEATURE_PSI: &str = "fraud_drift_feature_psi";
pub const DRIFT_FEATURE_IMPORTANCE: &str = "fraud_drift_feature_importance";
pub const DRIFT_PREDICTION_SCORE: &str = "fraud_drift_prediction_drift_score";
pub const DRIFT_PREDICTION_DRIFTED: &str = "fraud_drift_prediction_drifted";
pub const DRIFT_FRAUD_RATE: &str = "fraud_drift_fraud_rate";
pub const DRIFT_WINDOW_ROWS: &str = "fraud_drift_window_rows";
pub const DRIFT_CORRUPT_OBJECTS: &str = "fraud_drift_corrupt_objects";
pub const DRIFT_RUN_DURATION_SECONDS: &str = "fraud_drift_run_duration_seconds";
pub const DRIFT_LAST_SUCCESS: &str = "fraud_drift_last_success_timestamp_seconds";
// The numbers the alert rules compare with (crate::alert_thresholds), pushed so no rule hard-codes them.
pub const DRIFT_WINDOW_MIN_ROWS: &str = "fraud_drift_window_min_rows";
pub const DRIFT_WINDOW_TOO_SMALL: &str = "fraud_drift_window_too_small";
pub const DRIFT_FRAUD_RATE_THRESHOLD: &str = "fraud_drift_fraud_rate_threshold";
pub const DRIFT_FRAUD_RATE_MIN_ROWS: &str = "fraud_drift_fraud_rate_min_rows";
pub const DRIFT_EXPECTED_INTERVAL_SECONDS: &str = "fraud_drift_expected_interval_seconds";
// Feature-attribution drift (SageMaker Clarify's nDCG of the mean |TreeSHAP| rankings).
pub const DRIFT_ATTRIBUTION_NDCG: &str = "fraud_drift_attribution_ndcg";
pub const DRIFT_ATTRIBUTION_NDCG_THRESHOLD: &str = "fraud_drift_attribution_ndcg_threshold";
pub const DRIFT_FEATURE_ATTRIBUTION: &str = "fraud_drift_feature_attribution";

// Model quality from ground-truth labels, pushed by the same drift-check run into the same group (a push replaces
// the group, so drift and quality travel together and go stale together).
/// Predictions of the model in the quality window (an estimate when the window was sampled).
pub const QUALITY_WINDOW_ROWS: &str = "fraud_quality_window_rows";
/// Of those, the ones whose truth is known: labelled, or old enough to count as legitimate (positive-only).
pub const QUALITY_JUDGED_ROWS: &str = "fraud_quality_judged_rows";
pub const QUALITY_LABEL_COVERAGE: &str = "fraud_quality_label_coverage";
/// Frauds among the judged rows of the span the realized metrics cover.
pub const QUALITY_LABELLED_FRAUDS: &str = "fraud_quality_labelled_frauds";
/// Flagged judged rows of that span (what realized precision is judged on).
pub const QUALITY_FLAGGED_ROWS: &str = "fraud_quality_flagged_rows";
/// Days of prediction cohorts the realized metrics cover.
pub const QUALITY_SPAN_DAYS: &str = "fraud_quality_span_days";
pub const QUALITY_REALIZED_PRECISION: &str = "fraud_quality_realized_precision";
pub const QUALITY_REALIZED_RECALL: &str = "fraud_quality_realized_recall";
pub const QUALITY_REALIZED_F1: &str = "fraud_quality_realized_f1";
pub const QUALITY_REALIZED_AVERAGE_PRECISION: &str = "fraud_quality_realized_average_precision";
pub const QUALITY_REALIZED_RECALL_AT_BUDGET: &str = "fraud_quality_realized_recall_at_budget";
/// Confusion counts of the span, label `cell` = `tp` | `fp` | `fn` | `tn`.
pub const QUALITY_CONFUSION_ROWS: &str = "fraud_quality_confusion_rows";
/// CBPE on the drift window: estimated precision and recall at the threshold, without labels.
pub const QUALITY_ESTIMATED_PRECISION: &str = "fraud_quality_estimated_precision";
pub const QUALITY_ESTIMATED_RECALL: &str = "fraud_quality_estimated_recall";
/// The frauds the calibrated scores expect in the drift window (sum of p), and its flagged rows.
pub const QUALITY_ESTIMATED_FRAUDS: &str = "fraud_quality_estimated_frauds";
pub const QUALITY_ESTIMATED_FLAGGED_ROWS: &str = "fraud_quality_estimated_flagged_rows";
/// Distinct labels read for the window, labels by prediction id that name no prediction found, bad label records.
pub const QUALITY_LABELS: &str = "fraud_quality_labels";
pub const QUALITY_LABELS_UNMATCHED: &str = "fraud_quality_labels_unmatched";
pub const QUALITY_LABEL_RECORDS_INVALID: &str = "fraud_quality_label_records_invalid";
/// When the newest label object arrived (0 when none ever did).
pub const QUALITY_LAST_LABEL: &str = "fraud_quality_last_label_timestamp_seconds";
// What the quality alerts compare with (crate::alert_thresholds, the model card, LABEL_STALE_DAYS).
pub const QUALITY_CARD_PRECISION: &str = "fraud_quality_card_precision";
pub const QUALITY_CARD_RECALL: &str = "fraud_quality_card_recall";
pub const QUALITY_PRECISION_ALERT_BELOW: &str = "fraud_quality_precision_alert_below";
pub const QUALITY_RECALL_ALERT_BELOW: &str = "fraud_quality_recall_alert_below";
pub const QUALITY_MIN_LABELLED_FRAUDS: &str = "fraud_quality_min_labelled_frauds";
pub const QUALITY_MIN_FLAGGED_ROWS: &str = "fraud_quality_min_flagged_rows";
pub const QUALITY_MIN_LABEL_COVERAGE: &str = "fraud_quality_min_label_coverage";
pub const QUALITY_MIN_WINDOW_ROWS: &str = "fraud_quality_min_window_rows";
pub const QUALITY_LABEL_STALE_AFTER_SECONDS: &str = "fraud_quality_label_stale_after_seconds";

/// Every metric name above.
pub const ALL: &[&str] = &[
    PREDICTIONS_TOTAL,
    FRAUD_PROBABILITY,
    PREDICT_LATENCY_SECONDS,
    LOG_ENQUEUE_SECONDS,
    LOG_ENQUEUE_FAILURES_TOTAL,
    LOG_WRITTEN_BY_FALLBACK_TOTAL,
    LOG_ONLY_IN_STDOUT_TOTAL,
    LABELS_ACCEPTED_TOTAL,
    LABELS_REJECTED_TOTAL,
    LABELS_STORE_FAILURES_TOTAL,
    LOG_OBJECTS_WRITTEN_TOTAL,
    LOG_RECORDS_WRITTEN_TOTAL,
    LOG_OBJECT_FAILURES_TOTAL,
    DRIFT_CHECK_WINDOW_ROWS,
    DRIFT_CHECK_PUSH_FAILURES_TOTAL,
    DRIFT_SHARE,
    DRIFT_DATASET,
    DRIFT_FEATURE_SCORE,
    DRIFT_FEATURE_DRIFTED,
    DRIFT_FEATURE_PSI,
    DRIFT_FEATURE_IMPORTANCE,
    DRIFT_PREDICTION_SCORE,
    DRIFT_PREDICTION_DRIFTED,
    DRIFT_FRAUD_RATE,
    DRIFT_WINDOW_ROWS,
    DRIFT_CORRUPT_OBJECTS,
    DRIFT_RUN_DURATION_SECONDS,
    DRIFT_LAST_SUCCESS,
    DRIFT_WINDOW_MIN_ROWS,
    DRIFT_WINDOW_TOO_SMALL,
    DRIFT_FRAUD_RATE_THRESHOLD,
    DRIFT_FRAUD_RATE_MIN_ROWS,
    DRIFT_EXPECTED_INTERVAL_SECONDS,
    DRIFT_ATTRIBUTION_NDCG,
    DRIFT_ATTRIBUTION_NDCG_THRESHOLD,
    DRIFT_FEATURE_ATTRIBUTION,
    QUALITY_WINDOW_ROWS,
    QUALITY_JUDGED_ROWS,
    QUALITY_LABEL_COVERAGE,
    QUALITY_LABELLED_FRAUDS,
    QUALITY_FLAGGED_ROWS,
    QUALITY_SPAN_DAYS,
    QUALITY_REALIZED_PRECISION,
    QUALITY_REALIZED_RECALL,
    QUALITY_REALIZED_F1,
    QUALITY_REALIZED_AVERAGE_PRECISION,
    QUALITY_REALIZED_RECALL_AT_BUDGET,
    QUALITY_CONFUSION_ROWS,
    QUALITY_ESTIMATED_PRECISION,
    QUALITY_ESTIMATED_RECALL,
    QUALITY_ESTIMATED_FRAUDS,
    QUALITY_ESTIMATED_FLAGGED_ROWS,
    QUALITY_LABELS,
    QUALITY_LABELS_UNMATCHED,
    QUALITY_LABEL_RECORDS_INVALID,
    QUALITY_LAST_LABEL,
    QUALITY_CARD_PRECISION,
    QUALITY_CARD_RECALL,
    QUALITY_PRECISION_ALERT_BELOW,
    QUALITY_RECALL_ALERT_BELOW,
    QUALITY_MIN_LABELLED_FRAUDS,
    QUALITY_MIN_FLAGGED_ROWS,
    QUALITY_MIN_LABEL_COVERAGE,
    QUALITY_MIN_WINDOW_ROWS,
    QUALITY_LABEL_STALE_AFTER_SECONDS,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// docs/contracts.md names exactly these metrics (and the namespace): a name added here and not documented,
    /// or documented and not emitted, fails.
    #[test]
    fn docs_contracts_lists_exactly_these_names() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/contracts.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let section = &doc[doc.find("## Metric names").expect("a Metric names section")..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
        let documented: BTreeSet<&str> = section
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| {
                (w.starts_with("fraudwatch_") || w.starts_with("fraud_drift_") || w.starts_with("fraud_quality_"))
                    && *w != super::DRIFT_JOB
            })
            .collect();
        let emitted: BTreeSet<&str> = super::ALL.iter().copied().collect();
        assert_eq!(documented, emitted, "docs/contracts.md vs fraudwatch_core::metric_names");
        assert!(section.contains(&format!("`{}`", super::EMF_NAMESPACE)));
    }
}
