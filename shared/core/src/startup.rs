//! How a function's `main` reports a failed cold start: one readable line naming what is wrong
//! (returning an error from `main` would print its `Debug` form instead).

use std::error::Error;
use std::fmt;

/// Any start-up error, printed by `main` as its message and the chain of causes.
pub struct StartupFailure(Box<dyn Error + Send + Sync>);

impl<E: Into<Box<dyn Error + Send + Sync>>> From<E> for StartupFailure {
    fn from(e: E) -> Self {
        StartupFailure(e.into())
    }
}

impl fmt::Debug for StartupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
