//! Prints the checked-in `infra/prometheus/alertmanager.yml` made runnable on this machine (every e-mail
//! receiver delivering to a local SMTP server, no SNS, short group waits): what `scripts/up` runs Alertmanager
//! with, made by the same code as the tests' ([`fraudwatch_tests::alerting::local_alertmanager_config`]).
//!
//! `local-alertmanager-config --smtp 127.0.0.1:2525 > alertmanager.yml`

use anyhow::Result;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The SMTP server (`host:port`) every e-mail receiver delivers to.
    #[arg(long)]
    smtp: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    print!("{}", fraudwatch_tests::alerting::local_alertmanager_config(&args.smtp)?);
    Ok(())
}
