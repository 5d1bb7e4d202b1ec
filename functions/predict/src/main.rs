use fraudwatch_core::startup::StartupFailure;
use fraudwatch_core::{aws, config::ProcessEnv};
use lambda_http::{Error, Request};
use predict::api::App;
use predict::config::PredictConfig;
use predict::log_sink::{S3Fallback, SqsLogSink};

#[tokio::main]
async fn main() -> Result<(), StartupFailure> {
    lambda_http::tracing::init_default_subscriber();
    let config = PredictConfig::from_env(&ProcessEnv)?;
    let sdk = aws::sdk_config().await;
    let s3 = aws::s3_client(&sdk, &ProcessEnv)?;
    let model = predict::load_model(&config.model_source, &config.onnx_runtime, &s3).await?;
    let fallback = config.fallback_bucket.map(|bucket| S3Fallback { s3, bucket });
    let log_sink = SqsLogSink { sqs: aws::sqs_client(&sdk), queue_url: config.queue_url, fallback };
    let app: &'static App<SqsLogSink> = Box::leak(Box::new(App::new(model, log_sink)));
    let metrics = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(fraudwatch_core::metric_names::EMF_NAMESPACE)
        .lambda_cold_start_metric("ColdStart")
        .init()?;
    metrics_cloudwatch_embedded::lambda::handler::run_http(metrics, |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    })
    .await?;
    Ok(())
}
