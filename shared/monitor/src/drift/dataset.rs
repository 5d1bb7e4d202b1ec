//! The two sides of a drift comparison as columns: the reference (`reference.csv.gz`, header
//! `V1..V28,Amount,Class,fraud_probability`) and the traffic, from prediction-log records or from files
//! (`fraudctl drift`: CSV with the feature columns, or JSON / JSON-lines of records).

use std::io::Read;
use std::path::Path;

use fraudwatch_core::log_record::{PredictionLogRecord, RecordError};
use fraudwatch_core::schema::{FEATURE_COUNT, FEATURE_NAMES};

use super::PREDICTION_COLUMN;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("not valid gzip: {0}")]
    Gzip(String),
    #[error("CSV: {0}")]
    Csv(String),
    #[error("CSV header lacks column {0}")]
    MissingColumn(&'static str),
    #[error("CSV line {line}, column {column}: {value:?} is not a number")]
    NotANumber { line: u64, column: &'static str, value: String },
    #[error("JSON {location}: {source}")]
    Record { location: String, source: RecordError },
    #[error("JSON: {0}")]
    Json(String),
    #[error("{path}: unknown file type (expected .csv, .csv.gz, .json, .jsonl or .ndjson)")]
    UnknownFileType { path: String },
}

/// Columns of values: the 29 features in [`FEATURE_NAMES`] order, optionally the model's score, and how
/// many rows the service flagged as fraud when that is known (prediction logs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    features: Vec<Vec<f64>>,
    prediction: Option<Vec<f64>>,
    flagged_fraud: Option<usize>,
}

impl Dataset {
    /// Builds a dataset from feature columns (in [`FEATURE_NAMES`] order, equal lengths).
    pub fn from_columns(features: Vec<Vec<f64>>, prediction: Option<Vec<f64>>) -> Self {
        assert_eq!(features.len(), FEATURE_COUNT, "one column per feature");
        let rows = features[0].len();
        assert!(features.iter().all(|c| c.len() == rows), "feature columns differ in length");
        assert!(prediction.as_ref().is_none_or(|p| p.len() == rows), "prediction column length differs");
        Dataset { features, prediction, flagged_fraud: None }
    }

    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a PredictionLogRecord>) -> Self {
        let mut columns = RecordColumns::default();
        records.into_iter().for_each(|r| columns.push(r));
        columns.finish()
    }

    pub fn rows(&self) -> usize {
        self.features.first().map_or(0, Vec::len)
    }

    /// Feature `i` of [`FEATURE_NAMES`].
    pub fn feature(&self, i: usize) -> &[f64] {
        &self.features[i]
    }

    pub fn prediction(&self) -> Option<&[f64]> {
        self.prediction.as_deref()
    }

    /// The share of rows the service flagged as fraud, when known and there are rows.
    pub fn fraud_rate(&self) -> Option<f64> {
        let rows = self.rows();
        self.flagged_fraud.filter(|_| rows > 0).map(|f| f as f64 / rows as f64)
    }

    /// A CSV (plain or gzip) with a header naming at least the 29 features; a `fraud_probability` column
    /// is read as the model's score. Other columns (`Class`, `Time`) are ignored; empty cells are missing
    /// values (NaN, dropped by the statistics).
    pub fn from_csv(bytes: &[u8]) -> Result<Self, DataError> {
        let text = gunzip_if_needed(bytes)?;
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_slice());
        let headers = reader.headers().map_err(|e| DataError::Csv(e.to_string()))?.clone();
        let position = |name: &str| headers.iter().position(|h| h == name);
        let feature_at = FEATURE_NAMES
            .iter()
            .map(|name| position(name).ok_or(DataError::MissingColumn(name)))
            .collect::<Result<Vec<_>, _>>()?;
        let prediction_at = position(PREDICTION_COLUMN);
        let mut features = vec![Vec::new(); FEATURE_COUNT];
        let mut prediction = prediction_at.map(|_| Vec::new());
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(|e| DataError::Csv(e.to_string()))? {
            let line = record.position().map_or(0, |p| p.line());
            let cell = |at: usize, column: &'static str| parse_cell(record.get(at).unwrap_or(""), line, column);
            for ((column, &at), name) in features.iter_mut().zip(&feature_at).zip(FEATURE_NAMES) {
                column.push(cell(at, name)?);
            }
            if let (Some(p), Some(at)) = (prediction.as_mut(), prediction_at) {
                p.push(cell(at, PREDICTION_COLUMN)?);
            }
        }
        Ok(Dataset { features, prediction, flagged_fraud: None })
    }

    /// Prediction-log records as a JSON array, or one JSON object per line (JSON lines; a single object is
    /// the one-line case, like an object from the bucket). Each record is checked as the reader of the
    /// bucket checks it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DataError> {
        let bytes = gunzip_if_needed(bytes)?;
        let mut columns = RecordColumns::default();
        if bytes.trim_ascii_start().starts_with(b"[") {
            let items: Vec<serde_json::Value> =
                serde_json::from_slice(&bytes).map_err(|e| DataError::Json(e.to_string()))?;
            for (i, item) in items.iter().enumerate() {
                let raw = serde_json::to_vec(item).expect("a parsed value serialises");
                let record = PredictionLogRecord::decode(&raw)
                    .map_err(|source| DataError::Record { location: format!("item {i}"), source })?;
                columns.push(&record);
            }
        } else {
            // Lines split here rather than by serde_json's StreamDeserializer: each line goes through
            // PredictionLogRecord::decode (version dispatch and validation) and its error names the line.
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                if line.trim_ascii().is_empty() {
                    continue;
                }
                let record = PredictionLogRecord::decode(line)
                    .map_err(|source| DataError::Record { location: format!("line {}", i + 1), source })?;
                columns.push(&record);
            }
        }
        Ok(columns.finish())
    }

    /// Reads a file by its extension: `.csv[.gz]` as CSV, `.json[.gz]`, `.jsonl[.gz]`, `.ndjson[.gz]` as
    /// prediction-log records.
    pub fn read_file(path: &Path) -> Result<Self, DataError> {
        let name = path.to_string_lossy().to_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let io_error = |e: std::io::Error| DataError::Io { path: path.display().to_string(), reason: e.to_string() };
        if name.ends_with(".csv") {
            Self::from_csv(&std::fs::read(path).map_err(io_error)?)
        } else if [".json", ".jsonl", ".ndjson"].iter().any(|ext| name.ends_with(ext)) {
            Self::from_json(&std::fs::read(path).map_err(io_error)?)
        } else {
            Err(DataError::UnknownFileType { path: path.display().to_string() })
        }
    }
}

fn parse_cell(text: &str, line: u64, column: &'static str) -> Result<f64, DataError> {
    if text.is_empty() {
        return Ok(f64::NAN);
    }
    text.parse().map_err(|_| DataError::NotANumber { line, column, value: text.into() })
}

/// Gzip is recognised by its magic bytes, so a misnamed file still reads.
fn gunzip_if_needed(bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| DataError::Gzip(e.to_string()))?;
    Ok(out)
}

/// Columns filled one record at a time, so a window of logs is never held as records.
#[derive(Debug, Default)]
pub struct RecordColumns {
    features: Vec<Vec<f64>>,
    prediction: Vec<f64>,
    flagged_fraud: usize,
}

impl RecordColumns {
    pub fn push(&mut self, record: &PredictionLogRecord) {
        if self.features.is_empty() {
            self.features = vec![Vec::new(); FEATURE_COUNT];
        }
        for (column, &v) in self.features.iter_mut().zip(&record.features.0) {
            column.push(f64::from(v));
        }
        self.prediction.push(f64::from(record.fraud_probability));
        self.flagged_fraud += usize::from(record.is_fraud);
    }

    pub fn finish(self) -> Dataset {
        let features = if self.features.is_empty() { vec![Vec::new(); FEATURE_COUNT] } else { self.features };
        Dataset { features, prediction: Some(self.prediction), flagged_fraud: Some(self.flagged_fraud) }
    }
}
