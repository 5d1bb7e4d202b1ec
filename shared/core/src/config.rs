//! Configuration from the environment, read once at cold start. A missing or malformed variable
//! fails start-up with an error that names it.

use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {var} {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

/// Reads variables from a source; the process environment in production, a map in tests.
pub trait EnvSource {
    fn get(&self, var: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, var: &str) -> Option<String> {
        std::env::var(var).ok()
    }
}

impl<const N: usize> EnvSource for [(&str, &str); N] {
    fn get(&self, var: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == var).map(|(_, v)| v.to_string())
    }
}

/// A set, non-blank variable, or `None`.
pub fn optional(env: &impl EnvSource, var: &str) -> Option<String> {
    env.get(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub fn required(env: &impl EnvSource, var: &str) -> Result<String, ConfigError> {
    optional(env, var).ok_or_else(|| ConfigError { var: var.into(), problem: "is required but not set".into() })
}

/// The variable parsed as `T`, or `default` when unset.
pub fn parse_or<T: FromStr>(env: &impl EnvSource, var: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(env, var) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| ConfigError { var: var.into(), problem: format!("= {v:?} is invalid: {e}") }),
    }
}

/// An `s3://bucket/prefix` URI split into bucket and prefix (without trailing slash).
pub fn parse_s3_uri(var: &str, uri: &str) -> Result<(String, String), ConfigError> {
    let problem = |p: &str| ConfigError { var: var.into(), problem: format!("= {uri:?} {p}") };
    let rest = uri.strip_prefix("s3://").ok_or_else(|| problem("must start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(problem("has no bucket"));
    }
    Ok((bucket.to_string(), prefix.trim_end_matches('/').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_variable() {
        let env = [("A", "12"), ("B", "x"), ("C", "  ")];
        assert_eq!(parse_or(&env, "A", 0u32), Ok(12));
        assert_eq!(parse_or(&env, "MISSING", 7u32), Ok(7));
        assert_eq!(parse_or(&env, "C", 7u32), Ok(7));
        let err = parse_or(&env, "B", 0u32).unwrap_err();
        assert_eq!(err.to_string(), "configuration: B = \"x\" is invalid: invalid digit found in string");
        assert_eq!(required(&env, "C").unwrap_err().to_string(), "configuration: C is required but not set");
    }

    #[test]
    fn s3_uris_split_into_bucket_and_prefix() {
        assert_eq!(parse_s3_uri("X", "s3://b/models/fd/").unwrap(), ("b".into(), "models/fd".into()));
        assert_eq!(parse_s3_uri("X", "s3://b").unwrap(), ("b".into(), "".into()));
        assert!(parse_s3_uri("X", "https://b").is_err());
        assert!(parse_s3_uri("X", "s3:///k").is_err());
    }
}
