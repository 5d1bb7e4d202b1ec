//! Routing and the request handler: parse, call the shared crates, log, map errors to responses.

use std::time::{Duration, Instant};

use fraudwatch_core::log_record::{new_prediction_id, FeatureMap, PredictionLogRecord, LOG_SCHEMA_VERSION};
use fraudwatch_core::metric_names::{
    FRAUD_PROBABILITY, LABELS_ACCEPTED_TOTAL, LABELS_REJECTED_TOTAL, LABELS_STORE_FAILURES_TOTAL, PREDICTIONS_TOTAL,
    PREDICT_LATENCY_SECONDS,
};
use fraudwatch_core::schema::{parse_batch, parse_transaction, Transaction};
use fraudwatch_core::telemetry::{FlushMetrics, NoFlush, HISTOGRAM_VALUES_PER_FLUSH};
use fraudwatch_model::{FraudModel, Score};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::labels::LabelStore;
use crate::log_sink::PredictionLogSink;
use fraudwatch_core::label::{could_name_a_prediction, parse_request, LabelError, LabelTarget};

/// Largest accepted request body. API Gateway HTTP APIs accept 10 MB and Lambda 6 MB; a full batch of
/// [`MAX_BATCH_SIZE`] transactions is about 350 KB of JSON, so 1 MiB leaves room without inviting abuse.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Most transactions scored in one `POST /predict/batch` call.
pub const MAX_BATCH_SIZE: usize = 500;

const DEMO_PAGE: &str = include_str!("demo.html");
/// Real transactions from `model/parity.csv` (held out from training) for the demo page to start from.
const DEMO_TRANSACTIONS: &str = include_str!("demo-transactions.json");

/// Everything a request needs, built once per cold start.
pub struct App<S> {
    pub model: FraudModel,
    pub log_sink: S,
    demo_page: String,
    /// Flushes the EMF metrics between chunks of a large batch (see [`HISTOGRAM_VALUES_PER_FLUSH`]).
    metrics: Box<dyn FlushMetrics>,
    /// Where `POST /labels` writes (`LOG_BUCKET`); without it the route answers 503.
    labels: Option<LabelStore>,
}

/// The answer to `POST /labels` when at least one label was stored.
#[derive(Serialize)]
struct LabelsResponse<'a> {
    accepted: usize,
    key: String,
    rejected: &'a [LabelError],
    /// Well-formed prediction ids that cannot name a prediction of this service (not a UUIDv7, or a time in the
    /// future): stored all the same, and reported.
    unknown_prediction_ids: Vec<UnknownId>,
    /// Labels by transaction id: which prediction they name is settled when the quality check joins them.
    unverified_transaction_ids: usize,
}

#[derive(Serialize)]
struct UnknownId {
    record: usize,
    prediction_id: Uuid,
}

/// The answer for one transaction, borrowed from its log record (no per-prediction copies of its strings).
#[derive(Serialize)]
pub struct Prediction<'a> {
    pub prediction_id: Uuid,
    pub is_fraud: bool,
    pub fraud_probability: f32,
    pub threshold: f32,
    pub model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<&'a str>,
}

#[derive(Serialize)]
struct BatchResponse<'a> {
    model_version: &'a str,
    threshold: f32,
    predictions: Vec<Prediction<'a>>,
}

impl<S: PredictionLogSink> App<S> {
    pub fn new(model: FraudModel, log_sink: S) -> Self {
        let demo_page = DEMO_PAGE.replacen("/*DEMO_TRANSACTIONS*/[]", DEMO_TRANSACTIONS, 1);
        App { model, log_sink, demo_page, metrics: Box::new(NoFlush), labels: None }
    }

    /// The same app, storing `POST /labels` batches in `store`.
    pub fn with_labels(self, store: LabelStore) -> Self {
        App { labels: Some(store), ..self }
    }

    /// The same app, flushing EMF metrics through `metrics` when a batch records more values than one EMF
    /// document holds.
    pub fn with_metrics(self, metrics: Box<dyn FlushMetrics>) -> Self {
        App { metrics, ..self }
    }

    /// Answers one API Gateway request. Never fails: every error becomes a JSON error response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_id = request_id(&request);
        let result = self.route(&request, &request_id).await;
        let response = result.unwrap_or_else(|e| {
            if e.status().is_server_error() {
                tracing::error!(request_id, error = %e, "request failed");
            } else {
                tracing::info!(request_id, status = e.status().as_u16(), error = %e, "request refused");
            }
            e.into_response()
        });
        response
    }

    async fn route(&self, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
        let path = request.raw_http_path().trim_end_matches('/');
        let method = request.method();
        let allow = match path {
            "" => "GET",
            "/health" | "/model" => "GET",
            "/predict" | "/predict/batch" | "/labels" => "POST",
            other => return Err(ApiError::NotFound(other.to_string())),
        };
        if method.as_str() != allow {
            return Err(ApiError::MethodNotAllowed { method: method.to_string(), allow });
        }
        match (path, method) {
            ("", _) => Ok(respond(StatusCode::OK, "text/html; charset=utf-8", self.demo_page.clone())),
            ("/health", _) => {
                Ok(json(StatusCode::OK, &serde_json::json!({"status": "ok", "model_version": self.model.version()})))
            }
            ("/model", _) => Ok(json(StatusCode::OK, self.model.card())),
            ("/labels", _) => self.labels(json_body(request)?, request_id).await,
            ("/predict", &Method::POST) => {
                let body = json_body(request)?;
                let started = Instant::now();
                let transaction = parse_transaction(body)?;
                let score = self.model.score(&transaction.features)?;
                let latency = started.elapsed();
                let record = self.record(transaction, score, request_id, latency);
                self.record_metrics(std::slice::from_ref(&record), latency);
                let prediction = self.prediction(&record);
                self.log_sink.submit(std::slice::from_ref(&record)).await;
                Ok(json(StatusCode::OK, &prediction))
            }
            _ => {
                let body = json_body(request)?;
                let started = Instant::now();
                let transactions = parse_batch(body, MAX_BATCH_SIZE)?;
                let features: Vec<_> = transactions.iter().map(|t| t.features).collect();
                let scores = self.model.score_batch(&features)?;
                let latency = started.elapsed();
                let records: Vec<PredictionLogRecord> =
                    transactions.into_iter().zip(scores).map(|(t, s)| self.record(t, s, request_id, latency)).collect();
                self.record_metrics(&records, latency);
                let predictions = records.iter().map(|r| self.prediction(r)).collect();
                self.log_sink.submit(&records).await;
                let response = BatchResponse {
                    model_version: self.model.version(),
                    threshold: self.model.threshold(),
                    predictions,
                };
                Ok(json(StatusCode::OK, &response))
            }
        }
    }

    /// Stores the valid labels of a batch as one object and reports the others; `now` is the arrival.
    async fn labels(&self, body: &[u8], request_id: &str) -> Result<Response<Body>, ApiError> {
        let now = OffsetDateTime::now_utc();
        let store = self.labels.as_ref().ok_or_else(|| {
            ApiError::LabelsUnavailable("this deployment has no LOG_BUCKET to store labels in".into())
        })?;
        let parsed = parse_request(body, now)?;
        metrics::counter!(LABELS_REJECTED_TOTAL).increment(parsed.rejected_records() as u64);
        if parsed.records.is_empty() {
            return Err(ApiError::InvalidLabels(parsed.errors));
        }
        let unknown_prediction_ids: Vec<UnknownId> = parsed
            .records
            .iter()
            .filter_map(|(record, label)| match label.target {
                LabelTarget::Prediction(id) if !could_name_a_prediction(id, now) => {
                    Some(UnknownId { record: *record, prediction_id: id })
                }
                _ => None,
            })
            .collect();
        let unverified_transaction_ids =
            parsed.records.iter().filter(|(_, l)| matches!(l.target, LabelTarget::Transaction(_))).count();
        let key = store.store(parsed.records.iter().map(|(_, l)| l), now).await.map_err(|e| {
            metrics::counter!(LABELS_STORE_FAILURES_TOTAL).increment(1);
            ApiError::LabelsUnavailable(e)
        })?;
        metrics::counter!(LABELS_ACCEPTED_TOTAL).increment(parsed.records.len() as u64);
        tracing::info!(
            request_id,
            key,
            accepted = parsed.records.len(),
            rejected = parsed.rejected_records(),
            unknown = unknown_prediction_ids.len(),
            "labels stored"
        );
        let response = LabelsResponse {
            accepted: parsed.records.len(),
            key,
            rejected: &parsed.errors,
            unknown_prediction_ids,
            unverified_transaction_ids,
        };
        Ok(json(StatusCode::OK, &response))
    }

    /// One latency per request (a batch is scored in one model call, so its items have no latency of their
    /// own), one count and one probability per prediction, flushed every [`HISTOGRAM_VALUES_PER_FLUSH`]
    /// predictions so none is dropped.
    fn record_metrics(&self, records: &[PredictionLogRecord], latency: Duration) {
        metrics::histogram!(PREDICT_LATENCY_SECONDS).record(latency.as_secs_f64());
        let chunks = records.chunks(HISTOGRAM_VALUES_PER_FLUSH);
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.enumerate() {
            let fraud = chunk.iter().filter(|r| r.is_fraud).count() as u64;
            metrics::counter!(PREDICTIONS_TOTAL, "result" => "fraud").increment(fraud);
            metrics::counter!(PREDICTIONS_TOTAL, "result" => "legit").increment(chunk.len() as u64 - fraud);
            let probability = metrics::histogram!(FRAUD_PROBABILITY);
            for r in chunk {
                probability.record(r.fraud_probability);
            }
            // The runner flushes once more when the invocation ends.
            if i < last {
                self.metrics.flush();
            }
        }
    }

    fn record(&self, t: Transaction, score: Score, request_id: &str, latency: Duration) -> PredictionLogRecord {
        let timestamp = OffsetDateTime::now_utc();
        PredictionLogRecord {
            schema_version: LOG_SCHEMA_VERSION,
            prediction_id: new_prediction_id(timestamp),
            timestamp,
            request_id: request_id.to_string(),
            model_version: self.model.version().to_string(),
            features: FeatureMap(t.features),
            fraud_probability: score.fraud_probability,
            is_fraud: score.is_fraud,
            threshold: self.model.threshold(),
            latency_us: latency.as_micros() as u64,
            transaction_id: t.transaction_id,
        }
    }

    fn prediction<'r>(&self, r: &'r PredictionLogRecord) -> Prediction<'r> {
        Prediction {
            prediction_id: r.prediction_id,
            is_fraud: r.is_fraud,
            fraud_probability: r.fraud_probability,
            threshold: r.threshold,
            model_version: &r.model_version,
            transaction_id: r.transaction_id.as_deref(),
        }
    }
}

/// The API Gateway request id (what clients and access logs see), else the Lambda one.
fn request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()))
    .unwrap_or_default()
}

/// The body of a JSON POST, after the content-type and size checks.
fn json_body(request: &Request) -> Result<&[u8], ApiError> {
    // Borrowed (no allocation) whenever the header is UTF-8, i.e. always but for malformed requests.
    let raw = request.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()).unwrap_or_default();
    let content_type = String::from_utf8_lossy(raw);
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        let shown = if content_type.is_empty() { "nothing".to_string() } else { format!("{content_type:?}") };
        return Err(ApiError::UnsupportedMediaType(shown));
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { got: body.len(), limit: MAX_BODY_BYTES });
    }
    Ok(body)
}

fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    respond(status, "application/json", serde_json::to_string(value).expect("responses always serialise"))
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::Text(body))
        .expect("static headers are valid")
}
