//! AWS clients, built once per process, each with the time budget of the call it makes. `AWS_ENDPOINT_URL`
//! (honoured by aws-config) points them at local servers; `S3_FORCE_PATH_STYLE=true` makes S3 use path-style
//! addressing, which local servers need.
//!
//! The SDK's defaults set no attempt or operation timeout, so a dependency that accepts connections and never
//! answers (a stall, not an outage) would hold every call until Lambda's own timeout kills the invocation —
//! and with it the fallbacks. Every client here therefore carries a [`CallBudget`], and the budgets are chosen
//! so each function's worst case fits its Lambda timeout (docs/contracts.md#timeouts; checked by
//! `tests/tests/thresholds.rs` against infra/template.yaml).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::config::{parse_or, ConfigError, EnvSource};

/// How long one kind of call may take: each attempt, all attempts together (retries and their back-off
/// included), and how many attempts the SDK's standard retry strategy makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallBudget {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

impl CallBudget {
    /// The SDK timeouts of this budget (for clients built outside this module, e.g. drift-check's secrets).
    pub fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK retry strategy of this budget.
    pub fn retries(&self) -> RetryConfig {
        RetryConfig::standard().with_max_attempts(self.max_attempts)
    }
}

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// predict → SQS SendMessageBatch: p99 is tens of milliseconds, so a second without an answer is a stall.
/// Three attempts inside 2.5 s, then the direct S3 write takes over.
pub const PREDICT_SQS: CallBudget =
    CallBudget { connect: ms(500), attempt: ms(1_000), operation: ms(2_500), max_attempts: 3 };
/// predict → S3 PutObject of one ~1 KB record, the fallback when SQS failed: 3 s, then stdout.
pub const PREDICT_S3_FALLBACK: CallBudget =
    CallBudget { connect: ms(500), attempt: ms(1_500), operation: ms(3_000), max_attempts: 2 };
/// prediction-logger → S3 PutObject of one record. A record that misses it is reported as a batch item failure
/// and redelivered by SQS.
pub const LOGGER_S3: CallBudget =
    CallBudget { connect: ms(1_000), attempt: ms(2_000), operation: ms(5_000), max_attempts: 3 };
/// drift-check → S3 (list pages of 1,000 keys, GETs of one record, the report PUTs).
pub const DRIFT_S3: CallBudget =
    CallBudget { connect: ms(1_000), attempt: ms(5_000), operation: ms(15_000), max_attempts: 3 };
/// drift-check's cold-start reads (the registry's champion and reference, up to a few MB) and fraudctl. Lambda
/// re-runs an init that overran its 10 s inside the first invocation's timeout, which is drift-check's 300 s.
pub const STARTUP_S3: CallBudget =
    CallBudget { connect: ms(1_000), attempt: ms(10_000), operation: ms(30_000), max_attempts: 3 };
/// predict's cold-start reads of the registry's champion (pointer, card, model, trees; together under
/// `predict::REGISTRY_READ_DEADLINE`): a re-run init gets only predict's 10 s timeout, so a stall must fail each
/// read in seconds, with an error naming the registry, not run into Lambda's kill.
pub const PREDICT_STARTUP_S3: CallBudget =
    CallBudget { connect: ms(500), attempt: ms(3_000), operation: ms(6_000), max_attempts: 2 };
/// drift-check's cold-start read of the Pushgateway's credentials from Secrets Manager.
pub const STARTUP_SECRET: CallBudget =
    CallBudget { connect: ms(1_000), attempt: ms(3_000), operation: ms(8_000), max_attempts: 3 };

/// The shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// An S3 client for calls of `budget`.
pub fn s3_client(
    sdk: &aws_config::SdkConfig,
    env: &impl EnvSource,
    budget: CallBudget,
) -> Result<aws_sdk_s3::Client, ConfigError> {
    let path_style = parse_or(env, "S3_FORCE_PATH_STYLE", false)?;
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .timeout_config(budget.timeouts())
        .retry_config(budget.retries())
        .build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

/// An SQS client for calls of `budget`.
pub fn sqs_client(sdk: &aws_config::SdkConfig, budget: CallBudget) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(budget.timeouts())
        .retry_config(budget.retries())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attempt_fits_its_operation() {
        for b in [PREDICT_SQS, PREDICT_S3_FALLBACK, LOGGER_S3, DRIFT_S3, STARTUP_S3, PREDICT_STARTUP_S3, STARTUP_SECRET]
        {
            assert!(b.connect <= b.attempt && b.attempt <= b.operation && b.max_attempts >= 1, "{b:?}");
        }
    }
}
