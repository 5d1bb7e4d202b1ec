use std::sync::Arc;

use fraudwatch_core::aws::{self, PREDICT_S3_FALLBACK, PREDICT_SQS, PREDICT_STARTUP_S3};
use fraudwatch_core::config::ProcessEnv;
use fraudwatch_core::startup::StartupFailure;
use fraudwatch_core::store::{ObjectStore, S3Store};
use fraudwatch_core::telemetry::{self, FlushToStdout};
use lambda_http::{Error, Request};
use predict::api::App;
use predict::config::PredictConfig;
use predict::labels::LabelStore;
use predict::log_sink::SqsLogSink;

#[tokio::main]
async fn main() -> Result<(), StartupFailure> {
    telemetry::init_logging();
    let config = PredictConfig::from_env(&ProcessEnv)?;
    let sdk = aws::sdk_config().await;
    let (model, explainer) = predict::load_model(
        &config.model_source,
        &config.onnx_runtime,
        &aws::s3_client(&sdk, &ProcessEnv, PREDICT_STARTUP_S3)?,
    )
    .await?;
    // One store (and budget) for the log fallback and the labels, both in LOG_BUCKET.
    let bucket: Option<Arc<dyn ObjectStore>> = match config.fallback_bucket {
        Some(bucket) => Some(Arc::new(S3Store::new(aws::s3_client(&sdk, &ProcessEnv, PREDICT_S3_FALLBACK)?, bucket))),
        None => None,
    };
    let labels = bucket.clone().map(|bucket| LabelStore { bucket });
    let log_sink =
        SqsLogSink { sqs: aws::sqs_client(&sdk, PREDICT_SQS), queue_url: config.queue_url, fallback: bucket };
    let metrics = telemetry::init_metrics(predict::FUNCTION, &telemetry::stage(&ProcessEnv))?;
    let mut app = App::new(model, log_sink).with_explainer(explainer).with_metrics(Box::new(FlushToStdout(metrics)));
    if let Some(labels) = labels {
        app = app.with_labels(labels);
    }
    let app: &'static App<SqsLogSink> = Box::leak(Box::new(app));
    metrics_cloudwatch_embedded::lambda::handler::run_http(metrics, |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    })
    .await?;
    Ok(())
}
