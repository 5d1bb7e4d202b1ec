use drift_check::{reference_for, App, DriftCheckConfig};
use fraudwatch_core::registry::RegistryUri;
use fraudwatch_core::startup::StartupFailure;
use fraudwatch_core::{aws, config::ProcessEnv};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), StartupFailure> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = DriftCheckConfig::from_env(&ProcessEnv)?;
    let sdk = aws::sdk_config().await;
    let s3 = aws::s3_client(&sdk, &ProcessEnv)?;
    let reference = reference_for(&s3, RegistryUri::from_env(&ProcessEnv)?).await?;
    lambda_runtime::tracing::info!(
        model_version = reference.model_version,
        reference_rows = reference.data.rows(),
        "reference loaded"
    );
    let app = &App::new(s3, config, reference);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| app.handle(event))).await?;
    Ok(())
}
