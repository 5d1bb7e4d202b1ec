//! Routing and the request handler: parse, call the shared crates, log, map errors to responses.

use std::time::{Duration, Instant};

use fraudwatch_core::card::ModelCard;
use fraudwatch_core::log_record::{
    FeatureMap, LoggedContribution, LoggedExplanation, PredictionLogRecord, LOG_SCHEMA_VERSION,
};
use fraudwatch_core::metric_names::{
    FRAUD_PROBABILITY, LABELS_ACCEPTED_TOTAL, LABELS_REJECTED_TOTAL, LABELS_STORE_FAILURES_TOTAL, PREDICTIONS_TOTAL,
    PREDICT_LATENCY_SECONDS,
};
use fraudwatch_core::prediction_id::PredictionId;
use fraudwatch_core::schema::{parse_batch, parse_transaction, shown_name, Features, Transaction, FEATURE_COUNT};
use fraudwatch_core::telemetry::{FlushMetrics, NoFlush, HISTOGRAM_VALUES_PER_FLUSH};
use fraudwatch_explain::{Direction, Explainer, MARGIN_OUTPUT};
use fraudwatch_model::{FraudModel, Score};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::labels::LabelStore;
use crate::log_sink::PredictionLogSink;
use fraudwatch_core::label::{could_name_a_prediction, parse_request, LabelError, LabelTarget};

/// Largest accepted request body. API Gateway HTTP APIs accept 10 MB and Lambda 6 MB; a full batch of
/// [`MAX_BATCH_SIZE`] transactions is about 350 KB of JSON, so 1 MiB leaves room without inviting abuse.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Most transactions scored in one `POST /predict/batch` call.
pub const MAX_BATCH_SIZE: usize = 500;
/// Reasons returned (and logged) per explained prediction: the features with the largest |contribution|.
pub const REASONS_RETURNED: usize = 5;
/// The query parameter that asks for reasons: `?explain=true`.
pub const EXPLAIN_PARAMETER: &str = "explain";

const DEMO_PAGE: &str = include_str!("demo.html");
/// Real transactions from `model/parity.csv` (held out from training) for the demo page to start from.
const DEMO_TRANSACTIONS: &str = include_str!("demo-transactions.json");

/// Everything a request needs, built once per cold start.
pub struct App<S> {
    pub model: FraudModel,
    /// The served model's TreeSHAP; `None` for a model whose card names no explanation (served without reasons).
    pub explainer: Option<Explainer>,
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
    prediction_id: PredictionId,
}

/// The answer for one transaction, borrowed from its log record (no per-prediction copies of its strings).
#[derive(Serialize)]
pub struct Prediction<'a> {
    pub prediction_id: PredictionId,
    pub is_fraud: bool,
    pub fraud_probability: f32,
    pub threshold: f32,
    pub model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<&'a str>,
    /// Only with `?explain=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<ExplanationView>,
}

/// Why the model scored a transaction as it did (`GET /model` → `reason_codes` says how to read it).
/// In float32 like the log record, so the two say exactly the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplanationView {
    pub bias: f32,
    pub margin: f32,
    pub reasons: Vec<ReasonView>,
    pub other_features: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReasonView {
    pub feature: &'static str,
    /// The transaction's value of the feature.
    pub value: f32,
    pub contribution: f32,
    pub direction: Direction,
}

/// One prediction explained, as answered and as logged (both from the same contributions).
struct Explained {
    view: ExplanationView,
    logged: LoggedExplanation,
}

/// The card as `GET /model` serves it, with how to read the reasons.
#[derive(Serialize)]
struct ModelInfo<'a> {
    #[serde(flatten)]
    card: &'a ModelCard,
    reason_codes: ReasonCodesGuide,
}

#[derive(Serialize)]
struct ReasonCodesGuide {
    available: bool,
    request: &'static str,
    method: &'static str,
    output: &'static str,
    /// The margin when no feature is known: every prediction's reasons are measured from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    bias: Option<f32>,
    reasons_returned: usize,
    how_to_read: String,
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
        App { model, explainer: None, log_sink, demo_page, metrics: Box::new(NoFlush), labels: None }
    }

    /// The same app, answering `?explain=true` with `explainer` (built once at cold start); `None` leaves it
    /// refused (409), for a model whose card names no explanation.
    pub fn with_explainer(self, explainer: Option<Explainer>) -> Self {
        App { explainer, ..self }
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
            ("/model", _) => Ok(json(StatusCode::OK, &self.model_info())),
            ("/labels", _) => self.labels(json_body(request)?, request_id).await,
            ("/predict", &Method::POST) => {
                let explainer = self.explainer_requested(request)?;
                let body = json_body(request)?;
                let started = Instant::now();
                let transaction = parse_transaction(body)?;
                let score = self.model.score(&transaction.features)?;
                let explained = explainer.map(|e| explain(e, &transaction.features));
                let latency = started.elapsed();
                let (record, view) = self.record(transaction, score, explained, request_id, latency);
                self.record_metrics(std::slice::from_ref(&record), latency);
                let prediction = self.prediction(&record, view);
                self.log_sink.submit(std::slice::from_ref(&record)).await;
                Ok(json(StatusCode::OK, &prediction))
            }
            _ => {
                let explainer = self.explainer_requested(request)?;
                let body = json_body(request)?;
                let started = Instant::now();
                let transactions = parse_batch(body, MAX_BATCH_SIZE)?;
                let features: Vec<_> = transactions.iter().map(|t| t.features).collect();
                let scores = self.model.score_batch(&features)?;
                let explained: Vec<Option<Explained>> =
                    features.iter().map(|f| explainer.map(|e| explain(e, f))).collect();
                let latency = started.elapsed();
                let (records, views): (Vec<PredictionLogRecord>, Vec<Option<ExplanationView>>) = transactions
                    .into_iter()
                    .zip(scores)
                    .zip(explained)
                    .map(|((t, s), e)| self.record(t, s, e, request_id, latency))
                    .unzip();
                self.record_metrics(&records, latency);
                let predictions = records.iter().zip(views).map(|(r, v)| self.prediction(r, v)).collect();
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
            ApiError::LabelsUnavailable(e.to_string())
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

    /// The explainer when the request asks for reasons (`?explain=true`), after checking the query: the only
    /// parameter of the predict routes is `explain`, given once, `true` or `false`.
    fn explainer_requested(&self, request: &Request) -> Result<Option<&Explainer>, ApiError> {
        let query = request.query_string_parameters();
        if query.is_empty() {
            return Ok(None);
        }
        let mut unknown: Vec<&str> = query.iter().map(|(k, _)| k).filter(|k| *k != EXPLAIN_PARAMETER).collect();
        unknown.sort_unstable();
        if let Some(name) = unknown.first() {
            return Err(ApiError::InvalidQuery(format!(
                "unknown query parameter `{}`: the only one is `{EXPLAIN_PARAMETER}` (true or false)",
                shown_name(name)
            )));
        }
        let values = query.all(EXPLAIN_PARAMETER).unwrap_or_default();
        let explain = match values.as_slice() {
            ["true"] => true,
            ["false"] => false,
            [value] => {
                return Err(ApiError::InvalidQuery(format!(
                    "query parameter `{EXPLAIN_PARAMETER}` must be true or false, got `{}`",
                    shown_name(value)
                )))
            }
            many => {
                return Err(ApiError::InvalidQuery(format!(
                    "query parameter `{EXPLAIN_PARAMETER}` is given {} times; give it once",
                    many.len()
                )))
            }
        };
        match (&self.explainer, explain) {
            (_, false) => Ok(None),
            (Some(explainer), true) => Ok(Some(explainer)),
            (None, true) => Err(ApiError::ExplanationUnavailable { model_version: self.model.version().to_string() }),
        }
    }

    fn model_info(&self) -> ModelInfo<'_> {
        let other = FEATURE_COUNT - REASONS_RETURNED;
        ModelInfo {
            card: self.model.card(),
            reason_codes: ReasonCodesGuide {
                available: self.explainer.is_some(),
                request: "POST /predict?explain=true or POST /predict/batch?explain=true",
                method: "exact path-dependent TreeSHAP of the served trees (what XGBoost's pred_contribs computes)",
                output: MARGIN_OUTPUT,
                bias: self.explainer.as_ref().map(|e| e.bias() as f32),
                reasons_returned: REASONS_RETURNED,
                how_to_read: format!(
                    "Each explained prediction carries `explanation`: `margin` is its log-odds (fraud_probability = \
                     1 / (1 + e^-margin)); `bias` is the margin when no feature is known, the same for every \
                     prediction; `reasons` are the {REASONS_RETURNED} features whose contribution moved the margin \
                     most, largest |contribution| first, each with the transaction's `value`, its `contribution` in \
                     log-odds and its `direction` (`towards_fraud` raised the score, `towards_legit` lowered it); a \
                     feature that did not move the margin is never a reason; `other_features` is the sum of the \
                     other {other} contributions, so bias + the reasons' contributions + other_features = margin \
                     (up to float32 rounding). Contributions add on the log-odds scale, not in probability."
                ),
            },
        }
    }

    /// The log record of one prediction, and its explanation as the response shows it.
    fn record(
        &self,
        t: Transaction,
        score: Score,
        explained: Option<Explained>,
        request_id: &str,
        latency: Duration,
    ) -> (PredictionLogRecord, Option<ExplanationView>) {
        let (view, logged) = explained.map(|e| (e.view, e.logged)).unzip();
        let timestamp = OffsetDateTime::now_utc();
        let record = PredictionLogRecord {
            schema_version: LOG_SCHEMA_VERSION,
            prediction_id: PredictionId::new(timestamp),
            timestamp,
            request_id: request_id.to_string(),
            model_version: self.model.version().to_string(),
            features: FeatureMap(t.features),
            fraud_probability: score.fraud_probability,
            is_fraud: score.is_fraud,
            threshold: self.model.threshold(),
            latency_us: latency.as_micros() as u64,
            transaction_id: t.transaction_id,
            explanation: logged,
        };
        (record, view)
    }

    fn prediction<'r>(&self, r: &'r PredictionLogRecord, explanation: Option<ExplanationView>) -> Prediction<'r> {
        Prediction {
            prediction_id: r.prediction_id,
            is_fraud: r.is_fraud,
            fraud_probability: r.fraud_probability,
            threshold: r.threshold,
            model_version: &r.model_version,
            transaction_id: r.transaction_id.as_deref(),
            explanation,
        }
    }
}

/// TreeSHAP of one transaction, its top reasons and the sum of the rest.
fn explain(explainer: &Explainer, features: &Features) -> Explained {
    let contributions = explainer.contributions(features);
    let top = contributions.top(REASONS_RETURNED);
    let mut other_features = contributions.features;
    for reason in &top {
        other_features[reason.index] = 0.0;
    }
    let other_features = other_features.iter().sum::<f64>() as f32;
    let (bias, margin) = (contributions.bias as f32, contributions.margin as f32);
    Explained {
        view: ExplanationView {
            bias,
            margin,
            reasons: top
                .iter()
                .map(|r| ReasonView {
                    feature: r.feature,
                    value: features[r.index],
                    contribution: r.contribution as f32,
                    direction: r.direction(),
                })
                .collect(),
            other_features,
        },
        logged: LoggedExplanation {
            bias,
            margin,
            top: top
                .iter()
                .map(|r| LoggedContribution { feature: r.feature.to_string(), contribution: r.contribution as f32 })
                .collect(),
            other_features,
        },
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
