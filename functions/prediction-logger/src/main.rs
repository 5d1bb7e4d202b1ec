use aws_lambda_events::event::sqs::SqsEvent;
use fraudwatch_core::startup::StartupFailure;
use fraudwatch_core::{aws, config::ProcessEnv};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use prediction_logger::{Logger, LoggerConfig, S3Store};

#[tokio::main]
async fn main() -> Result<(), StartupFailure> {
    prediction_logger::init_tracing();
    let config = LoggerConfig::from_env(&ProcessEnv)?;
    let sdk = aws::sdk_config().await;
    let store = S3Store { client: aws::s3_client(&sdk, &ProcessEnv)?, bucket: config.bucket };
    let logger = &Logger::new(store);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(logger.handle(event).await)
    }))
    .await?;
    Ok(())
}
