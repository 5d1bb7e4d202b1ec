//! AWS clients, built once per process. `AWS_ENDPOINT_URL` (honoured by aws-config) points them at local
//! servers; `S3_FORCE_PATH_STYLE=true` makes S3 use path-style addressing, which local servers need.

use crate::config::{parse_or, ConfigError, EnvSource};

/// The shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

pub fn s3_client(sdk: &aws_config::SdkConfig, env: &impl EnvSource) -> Result<aws_sdk_s3::Client, ConfigError> {
    let path_style = parse_or(env, "S3_FORCE_PATH_STYLE", false)?;
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(path_style).build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

pub fn sqs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}
