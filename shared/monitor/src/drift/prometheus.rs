//! A drift report as Prometheus text exposition: the metrics of docs/contracts.md, pushed by
//! [`super::pushgateway`].

use std::fmt::Write;

use fraudwatch_core::metric_names as m;

use super::DriftReport;

/// One gauge family: its HELP text and its samples (labels, value).
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    samples: Vec<(Vec<(&'a str, &'a str)>, f64)>,
}

fn gauge<'a>(name: &'a str, help: &'a str, value: f64) -> Family<'a> {
    Family { name, help, samples: vec![(Vec::new(), value)] }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The report's metrics in the text exposition format (version 0.0.4), HELP and TYPE on every family.
/// `fraud_drift_last_success_timestamp_seconds` is the run's finish time: pushing it is the success.
pub fn prometheus_text(report: &DriftReport) -> String {
    let mut families = Vec::new();
    let (share, dataset_drift) =
        report.drift.as_ref().map_or((0.0, false), |d| (d.share_of_drifted_columns, d.dataset_drift));
    families.push(gauge(
        m::DRIFT_SHARE,
        "Share of the 29 features whose distribution drifted from the reference (0 when the window had no data).",
        share,
    ));
    families.push(gauge(
        m::DRIFT_DATASET,
        "1 when at least half of the features drifted (Evidently's dataset-drift rule), else 0.",
        flag(dataset_drift),
    ));
    if let Some(drift) = &report.drift {
        let per_feature = |value: fn(&super::ColumnDrift) -> f64| {
            drift.features.iter().map(|f| (vec![("feature", f.column.as_str())], value(f))).collect()
        };
        families.push(Family {
            name: m::DRIFT_FEATURE_SCORE,
            help: "Drift score per feature: the K-S p-value when the reference has at most 1000 rows (drift when <= 0.05), else the Wasserstein distance in reference standard deviations (drift when >= 0.1).",
            samples: per_feature(|f| f.score),
        });
        families.push(Family {
            name: m::DRIFT_FEATURE_DRIFTED,
            help: "1 when the feature drifted from the reference, else 0.",
            samples: per_feature(|f| flag(f.drifted)),
        });
        families.push(Family {
            name: m::DRIFT_FEATURE_PSI,
            help: "Population stability index of the feature over Evidently's bins (informational; 0.1 is the usual alarm level).",
            samples: per_feature(|f| f.psi),
        });
        if let Some(p) = &drift.prediction {
            families.push(gauge(m::DRIFT_PREDICTION_SCORE, "Drift score of the fraud_probability distribution against the reference's scores (same test and meaning as fraud_drift_feature_score).", p.score));
            families.push(gauge(
                m::DRIFT_PREDICTION_DRIFTED,
                "1 when the fraud_probability distribution drifted from the reference's, else 0.",
                flag(p.drifted),
            ));
        }
    }
    if let Some(rate) = report.fraud_rate {
        families.push(gauge(m::DRIFT_FRAUD_RATE, "Share of the window's predictions flagged as fraud.", rate));
    }
    families.push(gauge(
        m::DRIFT_WINDOW_ROWS,
        "Prediction-log rows compared (after sampling, without corrupt objects).",
        report.window_rows as f64,
    ));
    families.push(gauge(
        m::DRIFT_CORRUPT_OBJECTS,
        "Prediction-log objects in the window that could not be decoded and were skipped.",
        report.corrupt_objects as f64,
    ));
    families.push(gauge(
        m::DRIFT_RUN_DURATION_SECONDS,
        "Seconds the drift check took to read the window and compare it.",
        report.duration_seconds(),
    ));
    families.push(gauge(
        m::DRIFT_LAST_SUCCESS,
        "Unix time of the last drift check that computed its result.",
        unix_seconds(report.finished_at),
    ));

    let mut out = String::new();
    for family in families {
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} gauge", family.name);
        for (labels, value) in family.samples {
            out.push_str(family.name);
            if !labels.is_empty() {
                let labels: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v))).collect();
                let _ = write!(out, "{{{}}}", labels.join(","));
            }
            let _ = writeln!(out, " {}", format_value(value));
        }
    }
    out
}

/// Seconds and fraction added separately: nanoseconds since 1970 do not fit a double exactly.
fn unix_seconds(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}

/// Label values escape `\`, `"` and newline.
pub fn escape_label_value(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// HELP text escapes `\` and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

/// Go's ParseFloat syntax: plain decimals where they are short, exponent form for tiny or huge values.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("x\ny"), r"x\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    #[test]
    fn values_use_go_float_syntax() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1e-300), "1e-300");
        assert_eq!(format_value(1_700_000_000.5), "1700000000.5");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }
}
