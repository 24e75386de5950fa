//! Pravah's engine: stream one object through a plan of steps into another object.
//! Pure Rust; the PyO3 bindings live in `engine/python`.

mod aggregate;
mod archive;
mod codec;
mod compress;
mod csv;
#[cfg(test)]
mod draw;
mod error;
mod hash_behind;
pub mod expr;
pub mod fuzzing;
mod jsonl;
mod ops;
mod parquet_out;
mod picture;
pub mod plan;
mod pool;
mod read;
mod rejects;
mod run;
pub mod scan;
pub mod storage;
mod text;
pub mod types;
mod write;

pub use error::{Error, Location as ErrorLocation, Result};
pub use run::{inspect, run, Inspection, OnProgress, Progress, Report};
pub use scan::{page as list_page, scan, Cancel as ScanCancel, Summary as ScanSummary};
pub use storage::Options;

/// Check one step alone: its name, options and expressions (not its place in the plan).
pub fn check_step(step_json: &str) -> Result<()> {
    let step: plan::Step = serde_json::from_str(step_json).map_err(|e| Error::plan(0, e.to_string()))?;
    match &step {
        plan::Step::Filter { r#where: e } | plan::Step::Derive { expr: e, .. } => expr::check(e),
        plan::Step::ReadCsv(opts) => csv::check(opts),
        _ => Ok(()),
    }
}

/// Check a plan without running it: step names, options, order and expression syntax.
pub fn check_plan(plan_json: &str) -> Result<()> {
    let plan = plan::Plan::from_json(plan_json)?;
    for step in &plan.steps {
        match step {
            plan::Step::Filter { r#where: e } | plan::Step::Derive { expr: e, .. } => expr::check(e)?,
            plan::Step::ReadCsv(opts) => csv::check(opts)?,
            _ => {}
        }
    }
    Ok(())
}
