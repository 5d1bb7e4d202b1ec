//! How fraudctl authenticates to the predict API, as the stack was deployed (`ApiAuth` in infra/template.yaml):
//! AWS SigV4 with the operator's own AWS credentials for `ApiAuth=IAM` (the default), a bearer token for
//! `ApiAuth=JWT`, nothing for the local stack.

use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use clap::{Args, ValueEnum};
use reqwest::header::{HeaderName, HeaderValue};

/// The SigV4 service name API Gateway's IAM authorization checks.
pub const EXECUTE_API: &str = "execute-api";

#[derive(Args)]
pub struct ApiAuthArgs {
    /// How requests are authenticated. auto: SigV4 for an API Gateway URL (the ApiUrl output,
    /// https://<id>.execute-api.<region>.amazonaws.com), a bearer token if one is given, nothing otherwise (the
    /// local stack); sigv4: always sign (an IAM-auth API behind a custom domain; give --region); none: never.
    #[arg(long, value_enum, default_value_t = AuthMode::Auto)]
    auth: AuthMode,
    /// The region to sign for when the URL does not name one (a custom domain). Default: the AWS settings'
    /// region (AWS_REGION, the profile's).
    #[arg(long)]
    region: Option<String>,
    /// `Authorization: Bearer <token>` for an API with the JWT authorizer.
    #[arg(long, env = "FRAUDWATCH_BEARER_TOKEN")]
    bearer_token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    Auto,
    Sigv4,
    None,
}

/// What each request to the API carries.
#[derive(Debug)]
pub enum ApiAuth {
    Anonymous,
    Bearer(String),
    SigV4(SigV4),
}

impl ApiAuth {
    /// The authentication `args` ask for at `endpoint`. SigV4 resolves the AWS credentials (the SDK's default chain:
    /// environment, profile, SSO, container or instance role) once, here.
    pub async fn for_endpoint(args: &ApiAuthArgs, endpoint: &str) -> Result<ApiAuth> {
        let url = reqwest::Url::parse(endpoint).with_context(|| format!("--endpoint {endpoint:?} is not a URL"))?;
        let signs = match args.auth {
            AuthMode::None => false,
            AuthMode::Sigv4 => true,
            AuthMode::Auto => args.bearer_token.is_none() && api_gateway_region(&url).is_some(),
        };
        match (signs, &args.bearer_token) {
            (true, Some(_)) => bail!(
                "--auth sigv4 and --bearer-token both set the Authorization header: an API has one authorizer \
                 (ApiAuth=IAM signs, ApiAuth=JWT takes the token)"
            ),
            (false, Some(token)) => Ok(ApiAuth::Bearer(token.clone())),
            (false, None) => Ok(ApiAuth::Anonymous),
            (true, None) => {
                let sdk = fraudwatch_core::aws::sdk_config().await;
                let region = args
                    .region
                    .clone()
                    .or_else(|| api_gateway_region(&url))
                    .or_else(|| sdk.region().map(|r| r.to_string()))
                    .with_context(|| {
                        format!("no region to sign requests to {endpoint} for: give --region or set AWS_REGION")
                    })?;
                let provider = sdk.credentials_provider().context(NO_CREDENTIALS)?;
                let credentials = provider.provide_credentials().await.context(NO_CREDENTIALS)?;
                Ok(ApiAuth::SigV4(SigV4 { credentials, region, service: EXECUTE_API }))
            }
        }
    }

    /// Adds the authentication to `request`, which must be complete (its body is part of a signature).
    pub fn authorize(&self, request: &mut reqwest::Request) -> Result<()> {
        match self {
            ApiAuth::Anonymous => Ok(()),
            ApiAuth::Bearer(token) => {
                let value = HeaderValue::try_from(format!("Bearer {token}"))
                    .context("--bearer-token holds characters an HTTP header cannot carry")?;
                request.headers_mut().insert(reqwest::header::AUTHORIZATION, value);
                Ok(())
            }
            ApiAuth::SigV4(signer) => signer.sign(request, SystemTime::now()),
        }
    }
}

const NO_CREDENTIALS: &str = "no AWS credentials to sign the requests with (SigV4, for an API with ApiAuth=IAM): \
    set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --auth none for an API without IAM auth";

/// The region in an API Gateway URL (`<api-id>.execute-api.<region>.amazonaws.com[.cn]`), or None for any other host.
fn api_gateway_region(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    let rest = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    match rest.split('.').collect::<Vec<_>>()[..] {
        [_api_id, "execute-api", region] if !region.is_empty() => Some(region.to_string()),
        _ => None,
    }
}

/// AWS Signature Version 4 for one service and region, with credentials resolved once.
#[derive(Debug)]
pub struct SigV4 {
    credentials: Credentials,
    region: String,
    service: &'static str,
}

impl SigV4 {
    /// Signs `request` as of `time` (headers: `authorization`, `x-amz-date`, and `x-amz-security-token` for
    /// temporary credentials). What is signed is what reqwest sends: the method, the URL's path and query, the
    /// headers already set (`host` from the URL) and the body bytes.
    pub fn sign(&self, request: &mut reqwest::Request, time: SystemTime) -> Result<()> {
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()?
            .into();
        let body = match request.body() {
            None => SignableBody::Bytes(&[]),
            Some(body) => SignableBody::Bytes(body.as_bytes().context("a streaming body cannot be signed")?),
        };
        let headers = request.headers().iter().map(|(name, value)| (name.as_str(), value.to_str().unwrap_or("")));
        let signable = SignableRequest::new(request.method().as_str(), request.url().as_str(), headers, body)?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        let (headers, _query) = instructions.into_parts();
        for header in headers {
            let mut value = HeaderValue::from_str(header.value())?;
            value.set_sensitive(header.sensitive());
            request.headers_mut().insert(HeaderName::from_static(header.name()), value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// The vectors of AWS's SigV4 test suite that fraudctl's requests resemble (plain paths, queries, headers of
    /// any case, a form body, temporary credentials), as the aws-sigv4 crate ships them: cli/tests/fixtures/
    /// aws-sigv4-test-suite (its README says where from).
    const VECTORS: [&str; 10] = [
        "get-vanilla",
        "get-vanilla-query",
        "get-vanilla-query-order-key-case",
        "get-unreserved",
        "get-header-value-trim",
        "post-vanilla",
        "post-vanilla-query",
        "post-header-key-case",
        "get-vanilla-with-session-token",
        "post-sts-header-before",
    ];

    fn suite() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-sigv4-test-suite")
    }

    struct Vector {
        request: reqwest::Request,
        signer: SigV4,
        time: SystemTime,
        /// The `Authorization` and `X-Amz-*` headers of header-signed-request.txt.
        expected: Vec<(String, String)>,
    }

    /// A test vector as the request fraudctl would build: `Host` comes from the URL, the other headers of
    /// request.txt are set on the request.
    fn vector(name: &str) -> Vector {
        let dir = suite().join(name);
        let context: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("context.json")).unwrap()).unwrap();
        assert_eq!(context["sign_body"], false, "{name}: fraudctl adds no x-amz-content-sha256");
        assert_eq!(context["normalize"], true, "{name}: fraudctl normalises paths (as API Gateway expects)");
        let text = std::fs::read_to_string(dir.join("request.txt")).unwrap();
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let request_line: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let (method, target) = (request_line[0], request_line[1]);
        let mut host = String::new();
        let mut headers = reqwest::header::HeaderMap::new();
        for line in lines {
            let (key, value) = line.split_once(':').unwrap();
            if key.eq_ignore_ascii_case("host") {
                host = value.to_string();
            } else {
                headers.append(HeaderName::from_bytes(key.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
            }
        }
        let http = reqwest::Client::new();
        let url = format!("https://{host}{target}");
        let mut builder = http.request(method.parse().unwrap(), url).headers(headers);
        if !body.is_empty() {
            builder = builder.body(body.to_string());
        }
        let creds = &context["credentials"];
        let credentials = Credentials::new(
            creds["access_key_id"].as_str().unwrap(),
            creds["secret_access_key"].as_str().unwrap(),
            creds["token"].as_str().map(String::from),
            None,
            "test-suite",
        );
        let time: SystemTime = time::OffsetDateTime::parse(
            context["timestamp"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .into();
        let service: &'static str = String::leak(context["service"].as_str().unwrap().to_string());
        let signed = std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap();
        let expected = signed
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(key, _)| {
                key.eq_ignore_ascii_case("authorization") || key.to_ascii_lowercase().starts_with("x-amz-")
            })
            .map(|(key, value)| (key.to_ascii_lowercase(), value.to_string()))
            .collect();
        Vector {
            request: builder.build().unwrap(),
            signer: SigV4 { credentials, region: context["region"].as_str().unwrap().into(), service },
            time,
            expected,
        }
    }

    #[test]
    fn signatures_equal_the_aws_sigv4_test_suite() {
        for name in VECTORS {
            let Vector { mut request, signer, time, expected } = vector(name);
            signer.sign(&mut request, time).unwrap();
            for (key, value) in &expected {
                let got = request.headers().get(key.as_str()).map(|v| v.to_str().unwrap());
                assert_eq!(got, Some(value.as_str()), "{name}: {key}");
            }
            let signature = std::fs::read_to_string(suite().join(name).join("header-signature.txt")).unwrap();
            let authorization = request.headers()["authorization"].to_str().unwrap();
            assert!(authorization.ends_with(&format!("Signature={}", signature.trim())), "{name}: {authorization}");
        }
    }

    /// A real server checks what fraudctl sends. API Gateway's IAM authorization cannot run here; s3s-fs verifies
    /// SigV4 from the request as it arrives (method, path, the signed headers, the body's hash) for the services
    /// `s3` and `sts`, and for `sts` — like `execute-api` — without an x-amz-content-sha256 header. So fraudctl's
    /// own `POST /predict`, signed by the same code for service `sts`, must pass its check (and then fail as an
    /// operation S3 does not have), while the same request signed with another secret, or with its body changed
    /// after signing, must not.
    #[tokio::test]
    async fn a_real_sigv4_verifier_accepts_a_signed_predict_request_and_refuses_a_wrong_secret_or_body() {
        use fraudwatch_tests::{S3Server, ACCESS_KEY, REGION, SECRET_KEY};
        let s3 = S3Server::start().await.unwrap();
        let http = reqwest::Client::new();
        let url = format!("{}/predict", s3.endpoint());
        let send = |secret: &'static str, tamper: bool| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let features = std::array::from_fn(|i| i as f32 * 0.5 - 3.0);
                let mut request = crate::traffic::predict_request(&http, &url, features).unwrap();
                let credentials = Credentials::new(ACCESS_KEY, secret, None, None, "test");
                let signer = SigV4 { credentials, region: REGION.into(), service: "sts" };
                signer.sign(&mut request, SystemTime::now()).unwrap();
                if tamper {
                    let other = crate::traffic::predict_request(&http, &url, features.map(|x| x + 1.0)).unwrap();
                    *request.body_mut() = other.body().and_then(|b| b.as_bytes()).map(|b| b.to_vec().into());
                }
                let response = http.execute(request).await.unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        let (status, body) = send(SECRET_KEY, false).await;
        assert_eq!(status, 501, "{body}");
        assert!(body.contains("<Code>NotImplemented</Code><Message>Unknown operation"), "{body}");
        for (secret, tamper) in [("not-the-secret", false), (SECRET_KEY, true)] {
            let (status, body) = send(secret, tamper).await;
            assert_eq!(status, 403, "{body}");
            assert!(body.contains("<Code>SignatureDoesNotMatch</Code>"), "{body}");
        }
    }

    fn args(auth: AuthMode, bearer_token: Option<&str>) -> ApiAuthArgs {
        ApiAuthArgs { auth, region: None, bearer_token: bearer_token.map(String::from) }
    }

    #[test]
    fn api_gateway_urls_name_their_region_and_other_hosts_do_not() {
        let region = |url: &str| api_gateway_region(&reqwest::Url::parse(url).unwrap());
        assert_eq!(region("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"), Some("eu-west-1".into()));
        assert_eq!(region("https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/"), Some("cn-north-1".into()));
        assert_eq!(region("http://127.0.0.1:9000/lambda-url/predict"), None);
        assert_eq!(region("https://fraud.example.com"), None);
        assert_eq!(region("https://bucket.s3.eu-west-1.amazonaws.com"), None);
        assert_eq!(region("https://execute-api.eu-west-1.amazonaws.com.evil.example"), None);
    }

    #[tokio::test]
    async fn the_local_stack_and_bearer_tokens_are_not_signed() {
        let local = "http://127.0.0.1:9000/lambda-url/predict";
        let auth = ApiAuth::for_endpoint(&args(AuthMode::Auto, None), local).await.unwrap();
        assert!(matches!(auth, ApiAuth::Anonymous), "{auth:?}");
        // The unsigned path leaves the request exactly as built.
        let http = reqwest::Client::new();
        let mut request = http.post(format!("{local}/predict")).json(&serde_json::json!({"V1": 1.0})).build().unwrap();
        let before: Vec<_> = request.headers().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        auth.authorize(&mut request).unwrap();
        let after: Vec<_> = request.headers().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(before, after);

        let gateway = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";
        let auth = ApiAuth::for_endpoint(&args(AuthMode::Auto, Some("t0k3n")), gateway).await.unwrap();
        let mut request = http.get(format!("{gateway}/health")).build().unwrap();
        auth.authorize(&mut request).unwrap();
        assert_eq!(request.headers()["authorization"], "Bearer t0k3n");
        assert!(request.headers().get("x-amz-date").is_none());

        let refused = ApiAuth::for_endpoint(&args(AuthMode::Sigv4, Some("t0k3n")), gateway).await.unwrap_err();
        assert!(refused.to_string().contains("--bearer-token"), "{refused}");
    }
}
