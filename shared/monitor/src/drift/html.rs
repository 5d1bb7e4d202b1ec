//! A drift report as one self-contained HTML page: inline CSS and inline SVG histograms, no script and no
//! external asset, so it opens from S3 (or an e-mail attachment) anywhere, offline, and leaks nothing.

use std::fmt::Write;

use super::psi::Bins;
use super::{ColumnDrift, DriftReport};

const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2733;background:#f6f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
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
";

/// The report as a complete HTML document.
pub fn render(report: &DriftReport) -> String {
    let mut h = String::new();
    let version = esc(&report.model_version);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Drift report {} (model {version})</title><style>{CSS}</style></head><body>\
         <h1>Drift report: model {version}</h1><div class=\"meta\">run {} · window {} to {} (UTC) · started {} · \
         finished {} · reference {} rows</div>",
        esc(&report.run_id),
        esc(&report.run_id),
        rfc3339(report.window.start),
        rfc3339(report.window.end),
        rfc3339(report.started_at),
        rfc3339(report.finished_at),
        report.reference_rows
    );
    let _ = write!(h, "<p><b>{}</b></p>", esc(&report.summary));
    if report.sampling.sampled {
        let _ = write!(
            h,
            "<div class=\"note\">Sampled: the window held {} prediction logs, more than DRIFT_MAX_ROWS = {}; a uniform \
             random sample of {} objects (seed {}) was read.</div>",
            report.sampling.listed_objects, report.sampling.max_rows, report.sampling.max_rows, report.sampling.seed
        );
    }
    if report.corrupt_objects > 0 {
        let _ = write!(
            h,
            "<div class=\"note\">{} object(s) in the window could not be decoded as prediction logs and were skipped.</div>",
            report.corrupt_objects
        );
    }

    h.push_str("<div class=\"cards\">");
    card(&mut h, "rows compared", &report.window_rows.to_string(), None);
    match &report.drift {
        None => {
            card(&mut h, "verdict", "no data", None);
        }
        Some(d) => {
            card(
                &mut h,
                "share of drifted features",
                &format!("{:.3} ({}/{})", d.share_of_drifted_columns, d.number_of_drifted_columns, d.number_of_columns),
                Some(d.dataset_drift),
            );
            card(
                &mut h,
                &format!("dataset drift (share ≥ {})", d.drift_share),
                yes_no(d.dataset_drift),
                Some(d.dataset_drift),
            );
            if let Some(p) = &d.prediction {
                card(
                    &mut h,
                    &format!("prediction drift ({})", p.method.as_str()),
                    &format!("{} ({})", yes_no(p.drifted), num(p.score)),
                    Some(p.drifted),
                );
            }
        }
    }
    if let Some(rate) = report.fraud_rate {
        let alerting = crate::alert_thresholds::fraud_rate_alerts(rate, report.window_rows);
        card(&mut h, "fraud rate (flagged)", &format!("{:.4} %", rate * 100.0), Some(alerting));
    }
    card(&mut h, "corrupt objects", &report.corrupt_objects.to_string(), Some(report.corrupt_objects > 0));
    h.push_str("</div>");

    if report.window_model_versions.len() > 1 || report.window_model_versions.keys().any(|v| *v != report.model_version)
    {
        let versions: Vec<String> =
            report.window_model_versions.iter().map(|(v, n)| format!("{} ({n} rows)", esc(v))).collect();
        let _ = write!(
            h,
            "<div class=\"note\">The window was scored by model version(s) {}, the reference is model {version}'s.</div>",
            versions.join(", ")
        );
    }

    if let Some(d) = &report.drift {
        h.push_str("<h2>Per-column drift</h2><table><thead><tr><th>column</th><th>method</th><th>score</th>\
            <th>threshold</th><th>rule</th><th>drifted</th><th>PSI</th><th>ref mean</th><th>cur mean</th><th>ref std</th>\
            <th>cur std</th></tr></thead><tbody>");
        for c in d.features.iter().chain(&d.prediction) {
            let _ = write!(
                h,
                "<tr{}><td>{}</td><td class=\"m\">{}</td><td>{}</td><td>{}</td><td class=\"m\">{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if c.drifted { " class=\"drifted\"" } else { "" },
                esc(&c.column),
                c.method.as_str(),
                num(c.score),
                num(c.threshold),
                c.method.rule(),
                yes_no(c.drifted),
                num(c.psi),
                num(c.reference.mean),
                num(c.current.mean),
                num(c.reference.std),
                num(c.current.std)
            );
        }
        h.push_str("</tbody></table>");
        h.push_str(
            "<h2>Histograms</h2><div class=\"legend\">share of rows per bin (PSI bins):\
             <span class=\"ref\" style=\"background:#4c72b0\"></span>reference\
             <span class=\"cur\" style=\"background:#dd8452\"></span>current</div><div class=\"grid\">",
        );
        for c in d.features.iter().chain(&d.prediction) {
            histogram_figure(&mut h, c);
        }
        h.push_str("</div>");
    }
    h.push_str("</body></html>\n");
    h
}

fn card(h: &mut String, label: &str, value: &str, alert: Option<bool>) {
    let class = match alert {
        Some(true) => " alert",
        Some(false) => " ok",
        None => "",
    };
    let _ = write!(h, "<div class=\"card{class}\">{}<b>{}</b></div>", esc(label), esc(value));
}

/// Bars of reference and current shares per bin, side by side; hovering a bar shows its bin and share.
fn histogram_figure(h: &mut String, c: &ColumnDrift) {
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
    let _ = write!(
        h,
        "<figure><figcaption>{}{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{}\" \
         viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"histogram of {}\">",
        esc(&c.column),
        if c.drifted { " (drifted)" } else { "" },
        H + AXIS,
        H + AXIS,
        esc(&c.column)
    );
    for (i, label) in labels.iter().enumerate() {
        for (shares, class, offset, side) in [(&r, "ref", 0.0, "reference"), (&cur, "cur", bar, "current")] {
            let height = shares[i] / top * H;
            let _ = write!(
                h,
                "<rect class=\"{class}\" x=\"{:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{height:.2}\">\
                 <title>{} {}: {:.4}</title></rect>",
                i as f64 * slot + offset,
                H - height,
                side,
                esc(label),
                shares[i]
            );
        }
    }
    let _ = write!(
        h,
        "<text class=\"axis\" x=\"0\" y=\"{}\">{}</text><text class=\"axis\" x=\"{W}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         </svg></figure>",
        H + AXIS - 2.0,
        esc(&num(lo)),
        H + AXIS - 2.0,
        esc(&num(hi))
    );
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

/// Escapes text for HTML element content and quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_are_short() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.12346), "0.1235");
        assert_eq!(num(45.534624), "45.53");
        assert_eq!(num(2e-5), "2.000e-5");
        assert_eq!(num(12345678.0), "1.235e7");
    }
}
