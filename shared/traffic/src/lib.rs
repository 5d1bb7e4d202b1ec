//! Traffic built from real transactions: normal traffic, and the incidents the alerts exist for. One
//! definition, used by `fraudctl traffic` (against any endpoint) and by the end-to-end alert tests.
//!
//! - `normal`: real transactions at the full data set's fraud prevalence (492 / 284,807 ≈ 0.17 %);
//! - `fraud-spike`: real frauds mixed in at a given share (default 5 %, ten times the 0.5 % alert);
//! - `distribution-shift`: real legitimate transactions with V1..V5 + 5.0 and Amount uniform in
//!   [5,000, 15,000] — the original system's incident;
//! - `concept-drift`: normal traffic in which a share of the transactions (default 5 %) is a fraud pattern the model
//!   has never seen: the features of real legitimate transactions, but the true class is fraud (the labels say so
//!   later). Inputs, scores and the flagged rate look normal; only labels show the missed frauds.
//!
//! Every transaction carries its true class, so the traffic's labels can be delivered (`fraudctl traffic
//! --labels-out`).

use std::io::Read;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use fraudwatch_core::schema::{Features, AMOUNT_INDEX, FEATURE_COUNT, FEATURE_NAMES};

/// The full data set's fraud prevalence, which `normal` traffic reproduces.
pub const LIVE_FRAUD_SHARE: f64 = 492.0 / 284_807.0;
/// The fraud share of a `fraud-spike`, and the new-pattern share of a `concept-drift`, unless told otherwise.
pub const DEFAULT_SPIKE_SHARE: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Incident {
    Normal,
    FraudSpike,
    DistributionShift,
    ConceptDrift,
}

impl Incident {
    /// The name `fraudctl traffic --incident` takes.
    pub fn name(self) -> &'static str {
        match self {
            Incident::Normal => "normal",
            Incident::FraudSpike => "fraud-spike",
            Incident::DistributionShift => "distribution-shift",
            Incident::ConceptDrift => "concept-drift",
        }
    }
}

impl std::str::FromStr for Incident {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "normal" => Ok(Incident::Normal),
            "fraud-spike" => Ok(Incident::FraudSpike),
            "distribution-shift" => Ok(Incident::DistributionShift),
            "concept-drift" => Ok(Incident::ConceptDrift),
            other => Err(format!(
                "unknown incident {other:?}: expected normal, fraud-spike, distribution-shift or concept-drift"
            )),
        }
    }
}

/// A real transaction and its true class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledTransaction {
    pub features: Features,
    pub is_fraud: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Data(String),
}

/// Reads labelled transactions from a Kaggle-format CSV (`V1..V28, Amount, Class`; other columns ignored;
/// quoted headers and classes accepted), gzip-compressed when the name ends in `.gz`.
pub fn read_labelled_csv(path: &Path) -> Result<Vec<LabelledTransaction>, TrafficError> {
    Ok(read_csv(path, None)?.into_iter().map(|(transaction, _)| transaction).collect())
}

/// A row of `model/parity.csv`: a real transaction held out from training, and XGBoost's own `predict_proba` for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParityRow {
    pub transaction: LabelledTransaction,
    pub expected_probability: f64,
}

/// The trainer's parity rows (`model/parity.csv`, written by training/train.py: 3,000 held-out transactions, 98 of
/// them frauds). The one reader of its rows: every parity test, benchmark and end-to-end test takes them here (the
/// drift fixtures' cases name a file and columns, which monitor's tests read with a generic column reader).
pub fn read_parity_rows() -> Result<Vec<ParityRow>, TrafficError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/parity.csv");
    read_csv(&path, Some("expected_probability"))?
        .into_iter()
        .map(|(transaction, p)| Ok(ParityRow { transaction, expected_probability: p.expect("the column is required") }))
        .collect()
}

/// The labelled transactions of a CSV and, when `extra` names a column, that column's number on each row. Feature
/// values are parsed as Python's pipeline reads them (float64, then float32), so they equal the trainer's inputs.
fn read_csv(path: &Path, extra: Option<&str>) -> Result<Vec<(LabelledTransaction, Option<f64>)>, TrafficError> {
    let read_error = |reason: String| TrafficError::Read { path: path.display().to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| read_error(e.to_string()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut csv = csv::Reader::from_reader(reader);
    let headers = csv.headers().map_err(|e| read_error(e.to_string()))?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h.trim_matches('"') == name).ok_or_else(|| read_error(format!("no column {name}")))
    };
    let feature_columns = FEATURE_NAMES.iter().map(|n| column(n)).collect::<Result<Vec<_>, _>>()?;
    let class_column = column("Class")?;
    let extra_column = extra.map(column).transpose()?;
    let mut rows = Vec::new();
    for (line, record) in csv.records().enumerate() {
        let record = record.map_err(|e| read_error(e.to_string()))?;
        let number = |c: usize| -> Result<f64, TrafficError> {
            record[c].parse().map_err(|_| read_error(format!("data row {line}: {:?} is not a number", &record[c])))
        };
        let mut features = [0f32; FEATURE_COUNT];
        for (slot, &c) in features.iter_mut().zip(&feature_columns) {
            *slot = number(c)? as f32;
        }
        let is_fraud = record[class_column].trim_matches('"') == "1";
        rows.push((LabelledTransaction { features, is_fraud }, extra_column.map(number).transpose()?));
    }
    Ok(rows)
}

/// `n` transactions of the incident, drawn (seeded, with replacement) from `rows`. `spike_share` is the fraud share
/// of a `fraud-spike` and the share of new-pattern frauds in a `concept-drift`.
pub fn build_traffic(
    rows: &[LabelledTransaction],
    incident: Incident,
    n: usize,
    spike_share: f64,
    seed: u64,
) -> Result<Vec<LabelledTransaction>, TrafficError> {
    let legit: Vec<&LabelledTransaction> = rows.iter().filter(|r| !r.is_fraud).collect();
    let frauds: Vec<&LabelledTransaction> = rows.iter().filter(|r| r.is_fraud).collect();
    if legit.is_empty() || frauds.is_empty() {
        return Err(TrafficError::Data("the data needs both legitimate and fraudulent rows".into()));
    }
    let share = match incident {
        Incident::Normal | Incident::ConceptDrift => LIVE_FRAUD_SHARE,
        Incident::FraudSpike => spike_share.clamp(0.0, 1.0),
        Incident::DistributionShift => 0.0,
    };
    let new_pattern_share = if incident == Incident::ConceptDrift { spike_share.clamp(0.0, 1.0) } else { 0.0 };
    let mut rng = StdRng::seed_from_u64(seed);
    let traffic = (0..n)
        .map(|_| {
            if rng.random_bool(new_pattern_share) {
                let disguised = **legit.choose(&mut rng).expect("the legitimate pool is non-empty");
                return LabelledTransaction { is_fraud: true, ..disguised };
            }
            let pool = if rng.random_bool(share) { &frauds } else { &legit };
            let mut t = **pool.choose(&mut rng).expect("both pools are non-empty");
            if incident == Incident::DistributionShift {
                for v in &mut t.features[..5] {
                    *v += 5.0;
                }
                t.features[AMOUNT_INDEX] = rng.random_range(5_000.0..15_000.0);
            }
            t
        })
        .collect();
    Ok(traffic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<LabelledTransaction> {
        (0..100).map(|i| LabelledTransaction { features: [i as f32; FEATURE_COUNT], is_fraud: i % 10 == 0 }).collect()
    }

    #[test]
    fn incidents_have_their_defining_shape() {
        let spike = build_traffic(&rows(), Incident::FraudSpike, 4000, 0.25, 7).unwrap();
        let share = spike.iter().filter(|t| t.is_fraud).count() as f64 / 4000.0;
        assert!((share - 0.25).abs() < 0.03, "{share}");

        let shifted = build_traffic(&rows(), Incident::DistributionShift, 500, 0.0, 7).unwrap();
        for t in &shifted {
            assert!(!t.is_fraud);
            let base = t.features[5];
            assert!(t.features[..5].iter().all(|v| *v == base + 5.0));
            assert!((5_000.0..15_000.0).contains(&t.features[AMOUNT_INDEX]));
        }

        // New-pattern frauds look exactly like legitimate rows: in the test data only multiples of 10 are frauds.
        let drift = build_traffic(&rows(), Incident::ConceptDrift, 4000, 0.25, 7).unwrap();
        let disguised = drift.iter().filter(|t| t.is_fraud && !(t.features[0] as usize).is_multiple_of(10)).count();
        assert!((disguised as f64 / 4000.0 - 0.25).abs() < 0.03, "{disguised}");
        assert!(
            drift.iter().filter(|t| (t.features[0] as usize).is_multiple_of(10)).count() <= 20,
            "real frauds at ~0.17 %"
        );

        for incident in [Incident::Normal, Incident::FraudSpike, Incident::DistributionShift, Incident::ConceptDrift] {
            assert_eq!(incident.name().parse::<Incident>(), Ok(incident));
        }

        let normal = build_traffic(&rows(), Incident::Normal, 500, 0.5, 7).unwrap();
        assert!(normal.iter().filter(|t| t.is_fraud).count() <= 5, "about 0.17 % frauds");
        assert_eq!(normal, build_traffic(&rows(), Incident::Normal, 500, 0.5, 7).unwrap(), "seeded");
    }

    #[test]
    fn real_rows_are_read_with_their_labels() {
        let rows = read_parity_rows().unwrap();
        assert_eq!(rows.len(), 3000);
        assert_eq!(rows.iter().filter(|r| r.transaction.is_fraud).count(), 98);
        assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r.expected_probability)));
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/creditcard-sample-39960.csv.gz");
        let sample = read_labelled_csv(&data).unwrap();
        assert_eq!((sample.len(), sample.iter().filter(|r| r.is_fraud).count()), (39_960, 492));
        assert!(read_labelled_csv(Path::new("/nonexistent.csv")).unwrap_err().to_string().contains("/nonexistent.csv"));
    }
}
