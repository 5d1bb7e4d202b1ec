//! Label files as users deliver them: JSON lines or CSV (`fraudwatch_core::label` defines the record; CSV lives
//! here because predict, which links the core crate, must link no CSV reader). Read by `fraudctl labels push`
//! (which checks a file before uploading it), `fraudctl quality`, and the quality check (every object under
//! `labels/`).

use std::io::Read;

use fraudwatch_core::label::{parse_json_lines, shown, LabelFields, ParsedLabels, LABEL_FIELDS};
use time::OffsetDateTime;

/// Why a whole file cannot be read (as opposed to single bad records, which [`ParsedLabels`] lists).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelFileError {
    #[error("CSV header: {0}")]
    CsvHeader(String),
    #[error("not valid gzip: {0}")]
    Gzip(String),
    #[error("{0}: unknown label file type (expected .jsonl, .ndjson, .json or .csv, optionally .gz)")]
    UnknownFileType(String),
    #[error("more than {max} bytes{}; split the file", if *.inflated { " once decompressed" } else { "" })]
    TooLarge { max: usize, inflated: bool },
}

/// The most a label file may hold, decompressed: 64 MiB is about a million CSV lines, several days of a large
/// issuer's chargebacks. Every reader holds a file whole, and a gzip file's size says nothing of what it inflates
/// to (a few KB of gzip can be gigabytes), so the cap is enforced while inflating, before memory is spent.
pub const MAX_LABEL_FILE_BYTES: usize = 64 << 20;

/// A label file by its name: `.csv` as CSV, `.jsonl`, `.ndjson` or `.json` as JSON lines; a gzip file (by its magic
/// bytes) is decompressed first, and a trailing `.gz` is not part of the type.
pub fn parse_label_file(name: &str, bytes: &[u8], now: OffsetDateTime) -> Result<ParsedLabels, LabelFileError> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let unzipped;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_LABEL_FILE_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| LabelFileError::Gzip(e.to_string()))?;
        if out.len() > MAX_LABEL_FILE_BYTES {
            return Err(LabelFileError::TooLarge { max: MAX_LABEL_FILE_BYTES, inflated: true });
        }
        unzipped = out;
        &unzipped[..]
    } else if bytes.len() > MAX_LABEL_FILE_BYTES {
        return Err(LabelFileError::TooLarge { max: MAX_LABEL_FILE_BYTES, inflated: false });
    } else {
        bytes
    };
    if stem.ends_with(".csv") {
        parse_csv(bytes, now)
    } else if [".jsonl", ".ndjson", ".json"].iter().any(|ext| stem.ends_with(ext)) {
        Ok(parse_json_lines(bytes, now))
    } else {
        Err(LabelFileError::UnknownFileType(name.to_string()))
    }
}

/// CSV with a header naming its columns: any of `prediction_id, transaction_id, label, labelled_at, source` in any
/// order, with `label`, `labelled_at` and one of the ids required. An empty cell is an absent value; line numbers
/// count the header as line 1.
pub fn parse_csv(bytes: &[u8], now: OffsetDateTime) -> Result<ParsedLabels, LabelFileError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(bytes);
    let headers = reader.headers().map_err(|e| LabelFileError::CsvHeader(e.to_string()))?.clone();
    let mut columns: Vec<&str> = Vec::with_capacity(headers.len());
    for (i, name) in headers.iter().enumerate() {
        let Some(field) = LABEL_FIELDS.iter().find(|f| **f == name) else {
            return Err(LabelFileError::CsvHeader(format!(
                "column {} {:?} is not a label field ({})",
                i + 1,
                shown(name),
                LABEL_FIELDS.join(", ")
            )));
        };
        if columns.contains(field) {
            return Err(LabelFileError::CsvHeader(format!("column {name:?} appears twice")));
        }
        columns.push(field);
    }
    for required in ["label", "labelled_at"] {
        if !columns.contains(&required) {
            return Err(LabelFileError::CsvHeader(format!("no {required} column")));
        }
    }
    if !columns.iter().any(|c| *c == "prediction_id" || *c == "transaction_id") {
        return Err(LabelFileError::CsvHeader("no prediction_id or transaction_id column".into()));
    }
    let mut lines = LineCounter::new(bytes);
    let mut parsed = ParsedLabels::default();
    let mut row = csv::StringRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                parsed.push(lines.line_at(start), Err(vec![("line".into(), format!("not valid CSV: {e}"))]));
                continue;
            }
        }
        let line = lines.line_at(row.position().map_or(start, |p| p.byte()));
        if row.len() != columns.len() {
            let problem = format!("{} cells; the header has {}", row.len(), columns.len());
            parsed.push(line, Err(vec![("line".into(), problem)]));
            continue;
        }
        let mut fields = LabelFields::default();
        for (cell, column) in row.iter().zip(&columns) {
            let value = (!cell.is_empty()).then(|| cell.to_string());
            match *column {
                "prediction_id" => fields.prediction_id = value,
                "transaction_id" => fields.transaction_id = value,
                "label" => fields.label = value,
                "labelled_at" => fields.labelled_at = value,
                _ => fields.source = value,
            }
        }
        parsed.push(line, fields.into_record(now, Vec::new()));
    }
    Ok(parsed)
}

/// The line number of a CSV record from its byte offset. The csv crate's line numbers skip blank lines, and a
/// record's byte offset is where the blank lines before it began: count newlines up to the record's first
/// character instead. Records come in file order, so the count resumes where the last one stopped: linear in the
/// file (counting from the start for each record made a daily chargeback export quadratic).
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Newlines before `counted_to` are in `newlines`.
    counted_to: usize,
    newlines: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, counted_to: 0, newlines: 0 }
    }

    fn line_at(&mut self, byte: u64) -> usize {
        let byte = (byte as usize).min(self.bytes.len());
        let first =
            self.bytes[byte..].iter().position(|b| !matches!(b, b'\n' | b'\r')).map_or(self.bytes.len(), |i| i + byte);
        if first < self.counted_to {
            // Not reached by the csv reader, which only moves forward; kept correct rather than assumed.
            (self.counted_to, self.newlines) = (0, 0);
        }
        self.newlines += self.bytes[self.counted_to..first].iter().filter(|&&b| b == b'\n').count();
        self.counted_to = first;
        1 + self.newlines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraudwatch_core::label::LabelTarget;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    #[test]
    fn csv_reads_by_header_and_reports_by_line() {
        let csv = "transaction_id,label,labelled_at,source\norder-1,1,2026-11-20T00:00:00Z,chargeback\n\
                   order-2,,2026-11-20T00:00:00Z,\n\norder-3,0,2026-11-21T00:00:00Z,analyst\norder-4,1\n";
        let parsed = parse_csv(csv.as_bytes(), NOW).unwrap();
        assert_eq!(parsed.records.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(parsed.records[0].1.target, LabelTarget::Transaction("order-1".into()));
        assert_eq!(parsed.records[1].1.source.as_deref(), Some("analyst"));
        let errors: Vec<(usize, &str)> = parsed.errors.iter().map(|e| (e.record, e.field.as_str())).collect();
        assert_eq!(errors, [(3, "label"), (6, "line")]);
        assert_eq!(parse_label_file("x.CSV", csv.as_bytes(), NOW).unwrap(), parsed);
    }

    #[test]
    fn a_bad_header_refuses_the_file() {
        for header in ["label,labelled_at\n", "prediction_id,label,when\n", "prediction_id,label,labelled_at,label\n"] {
            assert!(matches!(parse_csv(header.as_bytes(), NOW), Err(LabelFileError::CsvHeader(_))), "{header}");
        }
        assert!(matches!(parse_label_file("x.parquet", b"", NOW), Err(LabelFileError::UnknownFileType(_))));
    }

    #[test]
    fn gzip_is_read_by_its_magic_bytes() {
        use std::io::Write;
        let jsonl = br#"{"prediction_id":"0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b","label":1,"labelled_at":"2026-11-20T00:00:00Z"}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(jsonl).unwrap();
        let parsed = parse_label_file("labels.jsonl.gz", &gz.finish().unwrap(), NOW).unwrap();
        assert_eq!((parsed.records.len(), parsed.errors.len()), (1, 0));
    }

    #[test]
    fn csv_line_numbers_match_counting_from_the_start_of_the_file() {
        // Blank lines, CRLF endings and bad records between good ones: the resumed count must give the line each
        // record starts on, as counting every newline before it does.
        let mut csv = String::from("transaction_id,label,labelled_at\r\n");
        for i in 0..300 {
            match i % 7 {
                0 => csv.push_str("\r\n\n"),
                3 => csv.push_str(&format!("order-{i},1\n")),
                5 => csv.push_str(&format!("order-{i},7,2026-11-20T00:00:00Z\r\n")),
                _ => csv.push_str(&format!("order-{i},0,2026-11-20T00:00:00Z\n")),
            }
        }
        let parsed = parse_csv(csv.as_bytes(), NOW).unwrap();
        let expected: Vec<usize> = csv
            .split_inclusive('\n')
            .enumerate()
            .filter(|(_, line)| line.starts_with("order-"))
            .map(|(i, _)| i + 1)
            .collect();
        let mut got: Vec<usize> = parsed.records.iter().map(|(line, _)| *line).collect();
        got.extend(parsed.errors.iter().map(|e| e.record));
        got.sort_unstable();
        got.dedup();
        assert_eq!(got, expected);
        assert!(!parsed.errors.is_empty() && !parsed.records.is_empty());
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_it_is_inflated_whole() {
        use std::io::Write;
        // 1 GiB of blank lines gzips to about 1 MB; inflating stops one byte past the cap.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![b'\n'; 1 << 20];
        for _ in 0..1024 {
            gz.write_all(&block).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 4 << 20, "{}", bomb.len());
        let refused = parse_label_file("labels.jsonl.gz", &bomb, NOW).unwrap_err();
        assert_eq!(refused, LabelFileError::TooLarge { max: MAX_LABEL_FILE_BYTES, inflated: true });
        assert!(refused.to_string().contains("once decompressed"), "{refused}");

        let plain = vec![b'\n'; MAX_LABEL_FILE_BYTES + 1];
        let refused = parse_label_file("labels.csv", &plain, NOW).unwrap_err();
        assert_eq!(refused, LabelFileError::TooLarge { max: MAX_LABEL_FILE_BYTES, inflated: false });
        // At the cap exactly, a file is read.
        assert!(parse_label_file("labels.jsonl", &plain[1..], NOW).is_ok());
    }
}
