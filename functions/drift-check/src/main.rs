use drift_check::{pushgateway_auth, reference_for, secrets_client, App, DriftCheckConfig};
use fraudwatch_core::aws::{self, DRIFT_S3, STARTUP_S3};
use fraudwatch_core::config::ProcessEnv;
use fraudwatch_core::registry::RegistryUri;
use fraudwatch_core::startup::StartupFailure;
use fraudwatch_core::telemetry;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), StartupFailure> {
    telemetry::init_logging();
    let config = DriftCheckConfig::from_env(&ProcessEnv)?;
    let sdk = aws::sdk_config().await;
    let registry_s3 = aws::s3_client(&sdk, &ProcessEnv, STARTUP_S3)?;
    let reference = reference_for(&registry_s3, RegistryUri::from_env(&ProcessEnv)?).await?;
    let auth = match &config.pushgateway_secret_arn {
        Some(arn) => Some(pushgateway_auth(&secrets_client(&sdk), arn).await?),
        None => None,
    };
    tracing::info!(
        model_version = reference.model_version,
        reference_rows = reference.data.rows(),
        explained = reference.attribution.is_some(),
        "reference loaded"
    );
    let metrics = telemetry::init_metrics(drift_check::FUNCTION, &config.run.stage)?;
    let app = &App::new(aws::s3_client(&sdk, &ProcessEnv, DRIFT_S3)?, config, reference, auth)?;
    metrics_cloudwatch_embedded::lambda::service::run(
        metrics,
        service_fn(move |event: LambdaEvent<Value>| app.handle(event)),
    )
    .await?;
    Ok(())
}
