//! Every way a request can fail, and the one mapping from failure to HTTP status and JSON body.

use fraudwatch_core::body::BodyError;
use fraudwatch_core::label::LabelError;
use fraudwatch_core::schema::{FieldError, RequestError};
use fraudwatch_model::ModelError;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Body(#[from] BodyError),
    #[error("{} field(s) are missing or invalid", .0.len())]
    InvalidFields(Vec<FieldError>),
    #[error("body is {got} bytes; the limit is {limit}")]
    PayloadTooLarge { got: usize, limit: usize },
    #[error("content-type must be application/json, got {0}")]
    UnsupportedMediaType(String),
    #[error("no route for {0}")]
    NotFound(String),
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("{0}")]
    InvalidQuery(String),
    #[error(
        "model {model_version} is served without reason codes: its card names no explanation (trees.json); \
         score without `explain=true`, or serve a model trained with one"
    )]
    ExplanationUnavailable { model_version: String },
    #[error("scoring failed: {0}")]
    Scoring(#[from] ModelError),
    #[error("no label is valid ({} problem(s))", .0.len())]
    InvalidLabels(Vec<LabelError>),
    #[error("labels cannot be stored now, nothing was written (retry the whole batch: repeats count once): {0}")]
    LabelsUnavailable(String),
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Body(e) => ApiError::Body(e),
            RequestError::InvalidFields(f) => ApiError::InvalidFields(f),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a [FieldError]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<&'a [LabelError]>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Body(BodyError::MalformedJson(_)) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            // The request is fine; the model being served cannot answer it (a 5xx would page for a choice).
            ApiError::ExplanationUnavailable { .. } => StatusCode::CONFLICT,
            ApiError::Body(BodyError::WrongShape(_) | BodyError::BatchSize { .. })
            | ApiError::InvalidFields(_)
            | ApiError::InvalidLabels(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::LabelsUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            // Not reachable by any input: the model was checked at cold start. Kept honest as a 500.
            ApiError::Scoring(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Body(BodyError::MalformedJson(_)) => "malformed_json",
            ApiError::Body(BodyError::WrongShape(_)) => "invalid_body",
            ApiError::InvalidFields(_) => "invalid_fields",
            ApiError::Body(BodyError::BatchSize { .. }) => "batch_size",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::ExplanationUnavailable { .. } => "explanation_unavailable",
            ApiError::Scoring(_) => "scoring_failed",
            ApiError::InvalidLabels(_) => "invalid_labels",
            ApiError::LabelsUnavailable(_) => "labels_unavailable",
        }
    }

    fn detail(&self) -> String {
        match self {
            // serde_json's message alone: the code already says what kind of failure it is.
            ApiError::Body(BodyError::MalformedJson(m) | BodyError::WrongShape(m)) => m.clone(),
            ApiError::InvalidFields(fields) => fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            ApiError::InvalidLabels(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            other => other.to_string(),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let fields = match &self {
            ApiError::InvalidFields(f) => Some(f.as_slice()),
            _ => None,
        };
        let rejected = match &self {
            ApiError::InvalidLabels(r) => Some(r.as_slice()),
            _ => None,
        };
        let body = ErrorBody { error: self.code(), detail: self.detail(), fields, rejected };
        let json = serde_json::to_string(&body).expect("error bodies always serialise");
        let mut builder = Response::builder().status(self.status()).header(header::CONTENT_TYPE, "application/json");
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            builder = builder.header(header::ALLOW, allow);
        }
        builder.body(Body::Text(json)).expect("static headers are valid")
    }
}
