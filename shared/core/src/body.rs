//! Why a request body cannot be read at all: one rule for every JSON body predict takes (a transaction, a batch of
//! them, a batch of labels), so each failure has one status and one code whatever the route.

/// A body that is not JSON, not the request's shape, or a batch of too many or no items — as opposed to items in it
/// being invalid, which each route reports item by item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON at all (syntax error, truncated, invalid UTF-8, nested too deep).
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not the shape of the request (e.g. an array where an object belongs).
    #[error("body has the wrong shape: {0}")]
    WrongShape(String),
    /// A batch with more `items` than allowed, or none.
    #[error("a request holds 1 to {max} {items}; this one has {got}")]
    BatchSize { items: &'static str, got: usize, max: usize },
}

impl From<serde_json::Error> for BodyError {
    /// serde_json's own split: bytes that are no JSON document, or a document of the wrong shape.
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => BodyError::WrongShape(e.to_string()),
            Category::Syntax | Category::Eof | Category::Io => BodyError::MalformedJson(e.to_string()),
        }
    }
}
