//! Whoever can reach the Pushgateway must not be able to silence the alerts: drift-check pushes over TLS with HTTP
//! basic auth (the gateway's own `--web.config.file`), reading the credentials from Secrets Manager at cold start.
//! A real Pushgateway started that way (a certificate from a CA made by the test, a bcrypt-hashed user), moto as
//! Secrets Manager, s3s-fs holding a window of real records, and drift-check's own start-up and run.

use std::time::Duration;

use drift_check::{load_reference, pushgateway_auth, secrets_client, App, DriftCheckConfig};
use fraudwatch_core::aws::STARTUP_SECRET;
use fraudwatch_monitor::pushgateway::BasicAuth;
use fraudwatch_tests::{
    log_objects, prediction_records, sdk_config, GatewayCredentials, Pushgateway, S3Server, SqsServer, StalledServer,
};
use serde_json::json;
use time::macros::datetime;

const BUCKET: &str = "fraudwatch-data";

/// A bucket with 1,200 records of 2026-11-20 (real held-out transactions).
async fn window() -> S3Server {
    let records = prediction_records(1200, datetime!(2026-11-20 00:00 UTC), time::Duration::SECOND).unwrap();
    S3Server::with_objects(BUCKET, log_objects(&records)).await.unwrap()
}

/// drift-check as deployed: configured from its environment, the credentials from `auth`.
fn drift_check(s3: &S3Server, gateway: &Pushgateway, secret_arn: &str, auth: BasicAuth) -> App {
    let env = [
        ("LOG_BUCKET", BUCKET),
        ("PUSHGATEWAY_URL", &gateway.url()),
        ("PUSHGATEWAY_BASIC_AUTH_SECRET_ARN", secret_arn),
    ];
    App::new(s3.client(), DriftCheckConfig::from_env(&env).unwrap(), load_reference().unwrap(), Some(auth)).unwrap()
}

/// drift-check's series on the gateway's `/metrics` (the page also has the gateway's own, ever-changing counters).
async fn drift_series(gateway: &Pushgateway) -> Vec<String> {
    let metrics = gateway.metrics_text().await.unwrap();
    metrics.lines().filter(|l| l.starts_with("fraud_drift_")).map(String::from).collect()
}

fn secret_json(c: &GatewayCredentials, password: &str) -> String {
    json!({"username": c.username, "password": password, "ca_certificate": c.ca_certificate}).to_string()
}

#[tokio::test]
async fn drift_check_pushes_with_the_secrets_credentials_and_nobody_else_can() {
    let gateway = Pushgateway::start_secured("drift-check", "correct horse battery staple").await.unwrap();
    let creds = gateway.credentials().unwrap().clone();
    let s3 = window().await;
    let moto = SqsServer::start().await.unwrap();
    let secrets = secrets_client(&sdk_config(&moto.endpoint()));
    let create =
        secrets.create_secret().name("fraudwatch-test-pushgateway").secret_string(secret_json(&creds, &creds.password));
    let arn = create.send().await.unwrap().arn().unwrap().to_string();
    let day = json!({"window": {"date": "2026-11-20"}});
    let now = time::OffsetDateTime::now_utc();

    // The configured push: drift-check's cold start reads the secret, its run pushes, the gateway holds the window.
    let auth = pushgateway_auth(&secrets, &arn).await.unwrap();
    let summary = drift_check(&s3, &gateway, &arn, auth).run(&day, now).await.unwrap();
    assert_eq!(summary.window_rows, 1200);
    let pushed = drift_series(&gateway).await;
    assert!(pushed.iter().any(|l| l.starts_with("fraud_drift_window_rows{") && l.ends_with(" 1200")), "{pushed:?}");

    // Anyone who reaches the gateway (and trusts its certificate) but has no credentials: refused, nothing changed.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(creds.ca_certificate.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let group = format!("{}/metrics/job/fraud_drift_check/stage/local", gateway.url());
    let forged = http.put(&group).body("fraud_drift_window_rows 0\n").send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let deleted = http.delete(&group).send().await.unwrap();
    assert_eq!(deleted.status(), 401);
    assert_eq!(drift_series(&gateway).await, pushed);

    // A wrong password in the secret: the run fails, saying what to check and quoting no secret.
    let wrong = BasicAuth::from_secret_json(&secret_json(&creds, "Tr0ub4dor&3")).unwrap();
    let err = drift_check(&s3, &gateway, &arn, wrong).run(&day, now).await.unwrap_err().to_string();
    assert!(err.contains("refused the credentials (HTTP 401): check the username and password in the secret"), "{err}");
    assert!(!err.contains("Tr0ub4dor") && !err.contains(&creds.password), "{err}");

    // The right password, but no CA in the secret: the gateway's certificate is not trusted, so nothing is sent.
    let untrusted = json!({"username": creds.username, "password": creds.password}).to_string();
    let untrusted = BasicAuth::from_secret_json(&untrusted).unwrap();
    let err = drift_check(&s3, &gateway, &arn, untrusted).run(&day, now).await.unwrap_err().to_string();
    assert!(err.contains("is unreachable") && err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(drift_series(&gateway).await, pushed);
}

#[tokio::test]
async fn a_stalled_secrets_manager_fails_the_cold_start_in_seconds_naming_the_secret() {
    let stalled = StalledServer::start().unwrap();
    let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:fraudwatch-pushgateway-AbCdEf"; // pragma: allowlist secret
    let started = std::time::Instant::now();
    let secrets = secrets_client(&sdk_config(&stalled.endpoint()));
    let read = pushgateway_auth(&secrets, arn);
    let err = tokio::time::timeout(STARTUP_SECRET.operation * 3, read).await.expect("no time budget").unwrap_err();
    let err = err.to_string();
    let took = started.elapsed();
    assert!(err.starts_with(&format!("reading the Pushgateway secret {arn}:")), "{err}");
    assert!(took < STARTUP_SECRET.operation + Duration::from_secs(2), "took {took:?}");
}
