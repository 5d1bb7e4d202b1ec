//! A drift report as one self-contained HTML page: inline CSS and inline SVG histograms, no script and no
//! external asset, so it opens from S3 (or an e-mail attachment) anywhere, offline, and leaks nothing.
//! Written with `maud`, which escapes every interpolated value: a model version or a feature name can
//! never inject markup.

use fraudwatch_core::alert_thresholds::DRIFT_MIN_WINDOW_ROWS;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::DriftReport;
use crate::drift::psi::Bins;
use crate::drift::{AttributionDrift, ColumnDrift};
use crate::quality::{CohortQuality, LabelConvention, QualityReport};

const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2733;background:#f6f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}h3{font-size:15px;margin:18px 0 8px}
.meta{color:#5a6673;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.alert{border-color:#cf222e;background:#fff5f5}.ok{border-color:#2da44e}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px;margin:12px 0}
table{border-collapse:collapse;background:#fff;border:1px solid #d8dee4}
th,td{padding:4px 10px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}
th{background:#eef1f4}td:first-child,th:first-child,td.m{text-align:left}
tr.drifted td{background:#fff0f0;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
.ref{fill:#4c72b0}.cur{fill:#dd8452}.axis{font-size:10px;fill:#5a6673}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.rank td.bar{min-width:140px;text-align:left}.rank td.bar span{display:inline-block;height:10px;background:#4c72b0}
.rank td.bar.cur span{background:#dd8452}tr.moved td.f{font-weight:600;color:#cf222e}
";

/// The report as a complete HTML document.
pub fn render(report: &DriftReport) -> String {
    let version = &report.model_version;
    let other_versions = report.window_model_versions.len() > 1
        || report.window_model_versions.keys().any(|v| *v != report.model_version);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { "Drift report " (report.run_id) " (model " (version) ")" }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "Drift report: model " (version) }
                div.meta {
                    "run " (report.run_id) " · window " (rfc3339(report.window.start)) " to " (rfc3339(report.window.end))
                    " (UTC) · started " (rfc3339(report.started_at)) " · finished " (rfc3339(report.finished_at))
                    " · reference " (report.reference_rows) " rows"
                }
                p { b { (report.summary) } }
                @if report.sampling.sampled {
                    div.note {
                        "Sampled: the window held " (report.sampling.listed_records) " prediction logs in "
                        (report.sampling.listed_objects) " objects, more than DRIFT_MAX_ROWS = "
                        (report.sampling.max_rows) "; a uniform random sample of " (report.sampling.max_rows)
                        " records (seed " (report.sampling.seed) ") was read from " (report.sampling.read_objects)
                        " objects."
                    }
                }
                @if report.window_too_small() && report.window_rows > 0 {
                    div.note {
                        "Too few rows to judge drift: " (report.window_rows) " rows, the drift alerts need "
                        (DRIFT_MIN_WINDOW_ROWS) " (smaller windows drift by chance). The verdicts below are shown, \
                         not alerted on."
                    }
                }
                @if report.corrupt_objects > 0 {
                    div.note {
                        (report.corrupt_objects) " object(s) or batched-file line(s) in the window could not be \
                         decoded as prediction logs (or were deleted after the listing) and were skipped."
                    }
                }
                div.cards { (cards(report)) }
                @if other_versions {
                    div.note {
                        "The window was scored by model version(s) "
                        @for (i, (v, n)) in report.window_model_versions.iter().enumerate() {
                            @if i > 0 { ", " }
                            (v) " (" (n) " rows)"
                        }
                        ", the reference is model " (version) "'s."
                    }
                }
                @if let Some(d) = &report.drift {
                    h2 { "Per-column drift" }
                    table {
                        thead { tr {
                            th { "column" } th { "important" } th { "method" } th { "score" } th { "threshold" } th { "rule" }
                            th { "drifted" } th { "PSI" } th { "ref mean" } th { "cur mean" } th { "ref std" }
                            th { "cur std" }
                        } }
                        tbody {
                            @for c in d.features.iter().chain(&d.prediction) {
                                tr class=[c.drifted.then_some("drifted")] {
                                    td { (c.column) }
                                    td.m { (yes_no(report.important_features.contains(&c.column))) }
                                    td.m { (c.method.as_str()) } td { (num(c.score)) }
                                    td { (num(c.threshold)) } td.m { (c.method.rule()) } td { (yes_no(c.drifted)) }
                                    td { (num(c.psi)) } td { (num(c.reference.mean)) } td { (num(c.current.mean)) }
                                    td { (num(c.reference.std)) } td { (num(c.current.std)) }
                                }
                            }
                        }
                    }
                    @match &report.attribution {
                        Some(a) => (attribution_table(a)),
                        None => div.note { "Feature attribution drift not measured: the model's card names no explanation." },
                    }
                    h2 { "Histograms" }
                    div.legend {
                        "share of rows per bin (PSI bins):"
                        span.ref style="background:#4c72b0" {} "reference"
                        span.cur style="background:#dd8452" {} "current"
                    }
                    div.grid {
                        @for c in d.features.iter().chain(&d.prediction) { (histogram_figure(c)) }
                    }
                }
                @if let Some(q) = &report.quality { (quality_section(q)) }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

/// The headline numbers, each highlighted when the alert that judges it would fire.
fn cards(report: &DriftReport) -> Markup {
    html! {
        (card("rows compared", &report.window_rows.to_string(), None))
        @match &report.drift {
            None => (card("verdict", "no data", None)),
            Some(d) => {
                (card(
                    "share of drifted features",
                    &format!("{:.3} ({}/{})", d.share_of_drifted_columns, d.number_of_drifted_columns, d.number_of_columns),
                    Some(d.dataset_drift),
                ))
                (card(&format!("dataset drift (share ≥ {})", d.drift_share), yes_no(d.dataset_drift), Some(d.dataset_drift)))
                @if let Some(p) = &d.prediction {
                    (card(
                        &format!("prediction drift ({})", p.method.as_str()),
                        &format!("{} ({})", yes_no(p.drifted), num(p.score)),
                        Some(p.drifted),
                    ))
                }
            }
        }
        @if let Some(a) = &report.attribution {
            (card(&format!("attribution nDCG (drift < {})", a.threshold), &num(a.ndcg), Some(a.drifted)))
        }
        @if let Some(rate) = report.fraud_rate {
            (card(
                "fraud rate (flagged)",
                &format!("{:.4} %", rate * 100.0),
                Some(fraudwatch_core::alert_thresholds::fraud_rate_alerts(rate, report.window_rows)),
            ))
        }
        (card("corrupt objects", &report.corrupt_objects.to_string(), Some(report.corrupt_objects > 0)))
    }
}

/// Model quality: realized metrics from labels (the span the alerts judge, and each prediction day), CBPE's
/// estimate beside them, and how complete the labels are.
fn quality_section(q: &QualityReport) -> Markup {
    let alerts = q.alerts();
    let versus = |value: f64, card: Option<f64>| match card {
        Some(c) => format!("{} (card {})", num(value), num(c)),
        None => num(value),
    };
    let opt = |v: Option<f64>| v.map_or("–".to_string(), num);
    html! {
        h2 { "Model quality (labels)" }
        p { b { (q.summary) } }
        div.meta {
            "model " (q.model_version) " · prediction days " (rfc3339(q.window.start)) " to " (rfc3339(q.window.end))
            " · threshold " (num(q.threshold)) " · "
            @match q.convention {
                LabelConvention::Explicit => "explicit labels: only labelled predictions are judged",
                LabelConvention::PositiveOnly { maturity_days } => {
                    "positive-only labels: predictions older than " (maturity_days) " days without a fraud label count as legitimate"
                }
            }
        }
        @if q.sampling.sampled {
            div.note {
                "Sampled: " (q.sampling.listed_objects) " prediction logs in the window; every one labelled fraud by id ("
                (q.sampling.read_in_full) ") and a uniform sample of " (q.sampling.max_rows) " of the rest were read, \
                the sample weighted per day."
            }
        }
        @if q.labels.unmatched_prediction_ids > 0 || q.labels.invalid_records + q.labels.unreadable_objects > 0 {
            div.note {
                (q.labels.unmatched_prediction_ids) " label(s) name a prediction id in the window that was not found; "
                (q.labels.invalid_records) " bad label record(s) and " (q.labels.unreadable_objects)
                " unreadable label object(s) were skipped."
                @for e in &q.labels.errors { br; code { (e) } }
            }
        }
        @if q.labels.transaction_id_labels > q.labels.transaction_id_labels_matched {
            div.note {
                (q.labels.transaction_id_labels) " label(s) by transaction id, " (q.labels.transaction_id_labels_matched)
                " of them matched a prediction read. A transaction id carries no time: the others name predictions \
                outside the quality window" @if q.sampling.sampled { " or not sampled" } " (or none at all)."
            }
        }
        div.cards {
            @if let Some(span) = &q.span {
                @let r = &span.realized;
                (card(&format!("realized recall ({} to {}, {} frauds)", span.first_day, span.last_day, r.frauds.round()),
                    &versus(r.recall, q.card_recall), Some(alerts.realized_recall_low)))
                (card("realized precision", &versus(r.precision, q.card_precision), Some(alerts.realized_precision_low)))
                (card("PR-AUC (average precision)", &num(r.average_precision), None))
                (card(&format!("recall at the top {} %", q.budget * 100.0), &opt(r.at_budget.map(|b| b.recall)), None))
            } @else {
                (card("realized", "no judged predictions", None))
            }
            @if let Some(e) = &q.estimated_window {
                (card(&format!("estimated recall (CBPE, {} expected frauds)", num(e.expected_frauds())),
                    &num(e.recall), Some(alerts.estimated_recall_low)))
                (card("estimated precision (CBPE)", &num(e.precision), Some(alerts.estimated_precision_low)))
            }
            (card("label coverage", &format!("{:.1} % of {}", q.coverage * 100.0, num(q.rows)), Some(alerts.label_coverage_low)))
            (card("labels", &format!("{} (newest {})", q.labels.distinct,
                q.labels.last_arrival.map_or("never".to_string(), rfc3339)), None))
        }
        @if !q.cohorts.is_empty() {
            h3 { "Per prediction day" }
            table {
                thead { tr {
                    th { "day" } th { "age (d)" } th { "rows" } th { "judged" } th { "coverage" } th { "label delay p50 / max (h)" }
                    th { "precision" } th { "recall" } th { "F1" } th { "PR-AUC" } th { "recall @budget" }
                    th { "TP" } th { "FP" } th { "FN" } th { "TN" }
                    th { "est. precision" } th { "est. recall" } th { "est. − realized (P / R)" }
                } }
                tbody { @for c in &q.cohorts { (cohort_row(c)) } }
            }
        }
    }
}

fn cohort_row(c: &CohortQuality) -> Markup {
    let opt = |v: Option<f64>| v.map_or("–".to_string(), num);
    let r = c.realized.as_ref();
    html! {
        tr {
            td { (c.day) } td { (c.age_days) } td { (num(c.rows)) } td { (num(c.judged_rows)) }
            td { (format!("{:.1} %", c.coverage * 100.0)) }
            td { (opt(c.label_delay_hours_p50)) " / " (opt(c.label_delay_hours_max)) }
            td { (opt(r.map(|r| r.precision))) } td { (opt(r.map(|r| r.recall))) } td { (opt(r.map(|r| r.f1))) }
            td { (opt(r.map(|r| r.average_precision))) } td { (opt(r.and_then(|r| r.at_budget.map(|b| b.recall)))) }
            td { (opt(r.map(|r| r.confusion.tp))) } td { (opt(r.map(|r| r.confusion.fp))) }
            td { (opt(r.map(|r| r.confusion.fn_))) } td { (opt(r.map(|r| r.confusion.tn))) }
            td { (opt(c.estimated.map(|e| e.precision))) } td { (opt(c.estimated.map(|e| e.recall))) }
            td { @match c.estimate_minus_realized {
                Some(d) => { (signed(d.precision)) " / " (signed(d.recall)) }
                None => "–",
            } }
        }
    }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

fn card(label: &str, value: &str, alert: Option<bool>) -> Markup {
    let class = match alert {
        Some(true) => "card alert",
        Some(false) => "card ok",
        None => "card",
    };
    html! { div class=(class) { (label) b { (value) } } }
}

/// The reference's and the window's feature rankings by mean |contribution|, side by side; a window feature
/// that is not at its reference rank is marked.
fn attribution_table(a: &AttributionDrift) -> Markup {
    let (reference, window) = (a.reference.ranking(), a.window.ranking());
    let top = reference.iter().chain(&window).map(|(_, v)| *v).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let width = |v: f64| format!("width:{:.1}px", v / top * 120.0);
    html! {
        h2 { "Feature attribution (mean |TreeSHAP contribution|, log-odds)" }
        p {
            "nDCG of the window's ranking against the reference's: " b { (num(a.ndcg)) }
            " (SageMaker Clarify's feature-attribution drift check: a violation below " (a.threshold) "). Reference "
            (a.reference.rows) " rows, window " (a.window.rows) " rows, both explained with the model's trees."
        }
        table.rank {
            thead { tr {
                th { "rank" } th { "reference feature" } th { "mean |contribution|" } th {}
                th { "window feature" } th { "mean |contribution|" } th {}
            } }
            tbody {
                @for (i, ((rf, rv), (wf, wv))) in reference.iter().zip(&window).enumerate() {
                    tr class=[(rf != wf).then_some("moved")] {
                        td { (i + 1) }
                        td.m { (rf) } td { (num(*rv)) } td.bar { span style=(width(*rv)) {} }
                        td.m.f { (wf) } td { (num(*wv)) } td.bar.cur { span style=(width(*wv)) {} }
                    }
                }
            }
        }
    }
}

/// Bars of reference and current shares per bin, side by side; hovering a bar shows its bin and share.
fn histogram_figure(c: &ColumnDrift) -> Markup {
    const W: f64 = 280.0;
    const H: f64 = 110.0;
    const AXIS: f64 = 14.0;
    let hist = &c.histogram;
    let share = |counts: &[u64]| -> Vec<f64> {
        let total: u64 = counts.iter().sum();
        counts.iter().map(|&n| if total == 0 { 0.0 } else { n as f64 / total as f64 }).collect()
    };
    let (r, cur) = (share(&hist.reference_counts), share(&hist.current_counts));
    let top = r.iter().chain(&cur).copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let labels: Vec<String> = match &hist.bins {
        Bins::Sturges { edges } => edges.windows(2).map(|e| format!("[{}, {})", num(e[0]), num(e[1]))).collect(),
        Bins::DistinctValues { values } => values.iter().map(|v| num(*v)).collect(),
    };
    let (lo, hi) = match &hist.bins {
        Bins::Sturges { edges } => (edges[0], edges[edges.len() - 1]),
        Bins::DistinctValues { values } => (values[0], values[values.len() - 1]),
    };
    let slot = W / r.len() as f64;
    let bar = (slot / 2.0 - 0.5).max(0.5);
    let px = |v: f64| format!("{v:.2}");
    html! {
        figure {
            figcaption { (c.column) @if c.drifted { " (drifted)" } }
            svg xmlns="http://www.w3.org/2000/svg" width=(W) height=(H + AXIS) viewBox={ "0 0 " (W) " " (H + AXIS) }
                role="img" aria-label={ "histogram of " (c.column) } {
                @for (i, label) in labels.iter().enumerate() {
                    @for (shares, class, offset, side) in [(&r, "ref", 0.0, "reference"), (&cur, "cur", bar, "current")] {
                        @let height = shares[i] / top * H;
                        rect class=(class) x=(px(i as f64 * slot + offset)) y=(px(H - height)) width=(px(bar))
                            height=(px(height)) {
                            title { (side) " " (label) ": " (format!("{:.4}", shares[i])) }
                        }
                    }
                }
                text.axis x="0" y=(H + AXIS - 2.0) { (num(lo)) }
                text.axis x=(W) y=(H + AXIS - 2.0) text-anchor="end" { (num(hi)) }
            }
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Four significant digits, exponent form for tiny or huge magnitudes.
fn num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() < 1e-3 || v.abs() >= 1e6 {
        format!("{v:.3e}")
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("UTC times format")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.12346), "0.1235");
        assert_eq!(num(45.534624), "45.53");
        assert_eq!(num(2e-5), "2.000e-5");
        assert_eq!(num(12345678.0), "1.235e7");
    }

    #[test]
    fn interpolated_text_is_escaped() {
        let markup = card("<script>", "a\"b&c", Some(true)).into_string();
        assert_eq!(markup, "<div class=\"card alert\">&lt;script&gt;<b>a&quot;b&amp;c</b></div>");
    }
}
