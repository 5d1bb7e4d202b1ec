//! `fraudctl demo`: a deployed stage's demo page, in the operator's browser. Every route of the API needs
//! authorization (`ApiAuth`: IAM by default, or JWT; there is deliberately no unauthenticated route) and a browser
//! can neither sign a request nor attach a token to a page load, so fraudctl serves the page on 127.0.0.1 and
//! forwards each of the page's own requests (`GET /`, `GET /model`, `POST /predict`) to the API with the operator's
//! authentication (SigV4 with their AWS credentials, or their bearer token), answering with the API's response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};

use crate::api_auth::{ApiAuth, ApiAuthArgs};

/// The requests the demo page makes: nothing else is forwarded with the operator's credentials.
const PAGE_ROUTES: [(Method, &str); 3] = [(Method::GET, "/"), (Method::GET, "/model"), (Method::POST, "/predict")];
/// The API's own request limit (API Gateway's payload limit for predict).
const MAX_BODY: usize = 1024 * 1024;

#[derive(Args)]
pub struct DemoArgs {
    /// The API's base URL: the stack's ApiUrl output.
    #[arg(long)]
    endpoint: String,
    /// Where the page is served: a loopback address (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    auth: ApiAuthArgs,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!("--listen {}: the page is served with your credentials, so only on a loopback address", args.listen);
    }
    let auth = ApiAuth::for_endpoint(&args.auth, &args.endpoint).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen)", args.listen))?;
    let local = listener.local_addr()?;
    let proxy = Arc::new(Proxy {
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
        endpoint: args.endpoint.trim_end_matches('/').to_string(),
        auth,
        local,
    });
    println!("the demo page of {}: http://{local}/  (Ctrl-C stops it)", proxy.endpoint);
    loop {
        let (stream, _) = listener.accept().await?;
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(proxy.forward(request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                eprintln!("fraudctl demo: connection failed: {e}");
            }
        });
    }
}

struct Proxy {
    http: reqwest::Client,
    endpoint: String,
    auth: ApiAuth,
    local: SocketAddr,
}

impl Proxy {
    async fn forward(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        // Only this address, by name or number: a page of another site that resolves its own name to 127.0.0.1
        // (DNS rebinding) must not reach the API with the operator's credentials.
        let port = self.local.port();
        let host = request.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        if host != format!("127.0.0.1:{port}") && host != format!("localhost:{port}") && host != self.local.to_string()
        {
            return error(
                StatusCode::MISDIRECTED_REQUEST,
                "wrong_host",
                &format!("serves only http://{}/", self.local),
            );
        }
        let (method, path) = (request.method().clone(), request.uri().path().to_string());
        if !PAGE_ROUTES.iter().any(|(m, p)| *m == method && *p == path) {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "fraudctl demo forwards only the demo page's requests: GET /, GET /model, POST /predict",
            );
        }
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body exceeds 1 MiB"),
        };
        let mut upstream = self.http.request(method, format!("{}{path}", self.endpoint)).body(body);
        if let Some(content_type) = content_type {
            upstream = upstream.header(CONTENT_TYPE, content_type);
        }
        match self.send(upstream).await {
            Ok(response) => response,
            Err(e) => error(StatusCode::BAD_GATEWAY, "api_unreachable", &format!("{}: {e:#}", self.endpoint)),
        }
    }

    async fn send(&self, upstream: reqwest::RequestBuilder) -> Result<Response<Full<Bytes>>> {
        let mut request = upstream.build()?;
        self.auth.authorize(&mut request)?;
        let answer = self.http.execute(request).await?;
        let mut response = Response::builder().status(answer.status().as_u16());
        if let Some(content_type) = answer.headers().get(CONTENT_TYPE) {
            response = response.header(CONTENT_TYPE, content_type.as_bytes());
        }
        Ok(response.body(Full::new(answer.bytes().await?))?)
    }
}

/// An error in the API's own shape (`{error, detail}`).
fn error(status: StatusCode, error: &str, detail: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": error, "detail": detail }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}
