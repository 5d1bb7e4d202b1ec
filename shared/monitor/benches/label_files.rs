//! The label parsers at a daily chargeback export's size and beyond: 10^4, 10^5 and 10^6 records, CSV and JSON
//! lines. Both must be linear in the file (a per-record line count from the start of the file once made CSV
//! quadratic: 10.9 s for 40,000 lines); the figures go to docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fraudwatch_core::label::parse_json_lines;
use fraudwatch_monitor::quality::label_files::parse_csv;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn csv(records: usize) -> Vec<u8> {
    let mut out = String::from("transaction_id,label,labelled_at,source\n");
    for i in 0..records {
        out.push_str(&format!("order-{i},{},2026-11-20T00:00:00Z,chargeback\n", i % 2));
    }
    out.into_bytes()
}

fn json_lines(records: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..records {
        out.push_str(&format!(
            "{{\"transaction_id\":\"order-{i}\",\"label\":{},\"labelled_at\":\"2026-11-20T00:00:00Z\",\"source\":\"chargeback\"}}\n",
            i % 2
        ));
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("label_files");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for records in [10_000, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(records as u64));
        let file = csv(records);
        group.bench_with_input(BenchmarkId::new("csv", records), &file, |b, file| {
            b.iter(|| assert_eq!(parse_csv(black_box(file), NOW).unwrap().records.len(), records))
        });
        let file = json_lines(records);
        group.bench_with_input(BenchmarkId::new("json_lines", records), &file, |b, file| {
            b.iter(|| assert_eq!(parse_json_lines(black_box(file), NOW).records.len(), records))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
