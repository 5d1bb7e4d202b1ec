//! API Gateway events for predict's tests and benches and the end-to-end tests (feature `test-util`, enabled only
//! by dev-dependencies: the function's own build has none of this).

use serde_json::{json, Value};

/// A request as API Gateway HTTP API (payload format 2.0) delivers it to predict: a captured event
/// (`tests/fixtures/apigw-v2-request.json`: an IAM-authorised `POST /predict` of `application/json`) with the parts
/// a test varies replaced, read by lambda_http's own event parser.
#[derive(Debug, Clone)]
pub struct ApiGatewayEvent(Value);

impl ApiGatewayEvent {
    /// `<method> <path>` with neither a body nor a `content-type`.
    pub fn new(method: &str, path: &str) -> Self {
        ApiGatewayEvent(serde_json::from_str(include_str!("../tests/fixtures/apigw-v2-request.json")).unwrap())
            .method(method)
            .path(path)
            .content_type(None)
            .no_body()
    }

    /// `POST <path>` of the JSON `body` (`content-type: application/json`).
    pub fn post(path: &str, body: &str) -> Self {
        ApiGatewayEvent::new("POST", path).content_type(Some("application/json")).body(body)
    }

    pub fn method(mut self, method: &str) -> Self {
        self.0["requestContext"]["http"]["method"] = json!(method);
        self
    }

    pub fn path(mut self, path: &str) -> Self {
        self.0["rawPath"] = json!(path);
        self.0["requestContext"]["http"]["path"] = json!(path);
        self
    }

    /// The query string as API Gateway passes it (`rawQueryString`, without the `?`).
    pub fn query(mut self, query: &str) -> Self {
        self.0["rawQueryString"] = json!(query);
        self
    }

    /// The `content-type` header, or none.
    pub fn content_type(mut self, content_type: Option<&str>) -> Self {
        let headers = self.0["headers"].as_object_mut().expect("the fixture has headers");
        match content_type {
            Some(value) => headers.insert("content-type".into(), json!(value)),
            None => headers.remove("content-type"),
        };
        self
    }

    /// A text body.
    pub fn body(mut self, body: &str) -> Self {
        self.0["body"] = json!(body);
        self.0["isBase64Encoded"] = json!(false);
        self
    }

    /// A binary body, as API Gateway passes one: base64-encoded, flagged `isBase64Encoded`.
    pub fn base64_body(mut self, encoded: &str) -> Self {
        self.0["body"] = json!(encoded);
        self.0["isBase64Encoded"] = json!(true);
        self
    }

    /// No body at all (no `body` field), as for a GET.
    pub fn no_body(mut self) -> Self {
        self.0.as_object_mut().expect("an event is an object").remove("body");
        self.0["isBase64Encoded"] = json!(false);
        self
    }

    /// The event as the Lambda runtime receives it (what a bench parses inside its timed loop).
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }

    pub fn request(&self) -> lambda_http::Request {
        lambda_http::request::from_str(&self.to_json()).expect("a well-formed API Gateway v2 event")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn the_event_carries_what_the_test_set() {
        let request = ApiGatewayEvent::post("/labels", "{}").method("PUT").query("explain=true").request();
        assert_eq!((request.method().as_str(), request.uri().path()), ("PUT", "/labels"));
        assert_eq!(request.query_string_parameters().first("explain"), Some("true"));
        assert_eq!(request.headers()["content-type"], "application/json");
        assert_eq!(request.body().as_ref(), b"{}");

        let bare = ApiGatewayEvent::new("GET", "/health").request();
        assert_eq!(bare.method().as_str(), "GET");
        assert!(!bare.headers().contains_key("content-type"));
        assert!(bare.body().is_empty());
        let binary = ApiGatewayEvent::post("/predict", "").base64_body("AAE=").request();
        assert_eq!(binary.body().as_ref(), [0u8, 1]);
    }
}
