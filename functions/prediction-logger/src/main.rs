use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use fraudwatch_core::aws::{self, LOGGER_S3};
use fraudwatch_core::config::ProcessEnv;
use fraudwatch_core::startup::StartupFailure;
use fraudwatch_core::store::S3Store;
use fraudwatch_core::telemetry;
use lambda_runtime::{Error, LambdaEvent};
use prediction_logger::{Logger, LoggerConfig};

#[tokio::main]
async fn main() -> Result<(), StartupFailure> {
    telemetry::init_logging();
    let config = LoggerConfig::from_env(&ProcessEnv)?;
    let sdk = aws::sdk_config().await;
    let store = S3Store::new(aws::s3_client(&sdk, &ProcessEnv, LOGGER_S3)?, config.bucket);
    let logger = &Logger::with_delivery(Arc::new(store), config.delivery);
    let metrics = telemetry::init_metrics(prediction_logger::FUNCTION, &telemetry::stage(&ProcessEnv))?;
    metrics_cloudwatch_embedded::lambda::handler::run(metrics, move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(logger.handle(event).await)
    })
    .await?;
    Ok(())
}
