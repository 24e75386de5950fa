//! Row-wise table steps. Each is compiled against its input schema before any data flows,
//! so an unknown column fails the job at once, not after an hour of reading.

use std::sync::Arc;

use arrow::compute::{cast_with_options, filter_record_batch, CastOptions};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::aggregate::Aggregator;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Limits, Step};
use crate::read::column_names;
use crate::types::{parse_type, TYPE_NAMES};

/// One compiled table step.
pub enum Op {
    Filter(Expr),
    Project { indices: Vec<usize>, schema: SchemaRef },
    Cast { targets: Vec<(usize, arrow::datatypes::DataType)>, schema: SchemaRef },
    Derive { expr: Expr, replace: Option<usize>, schema: SchemaRef },
    Aggregate(Box<Aggregator>),
}

fn index(step: usize, op: &str, schema: &Schema, name: &str) -> Result<usize> {
    schema
        .index_of(name)
        .map_err(|_| Error::plan(step, format!("{op}: unknown column {name:?}; columns are: {}", column_names(schema))))
}

impl Op {
    /// Compile `step` (index `i` in the plan) against `input`; returns the op and its output schema.
    pub fn compile(i: usize, step: &Step, input: SchemaRef, limits: &Limits) -> Result<(Op, SchemaRef)> {
        Ok(match step {
            Step::Filter { r#where } => {
                let expr = Expr::compile(r#where, &input)?;
                if expr.data_type != arrow::datatypes::DataType::Boolean {
                    return Err(Error::plan(i, format!("filter: where must be a condition, {where:?} is {}", expr.data_type)));
                }
                (Op::Filter(expr), input)
            }
            Step::Select { columns } => {
                let indices = columns.iter().map(|c| index(i, "select", &input, c)).collect::<Result<Vec<_>>>()?;
                let schema = Arc::new(input.project(&indices)?);
                (Op::Project { indices, schema: schema.clone() }, schema)
            }
            Step::Rename { columns } => {
                for old in columns.keys() {
                    index(i, "rename", &input, old)?;
                }
                let fields: Vec<Field> = input
                    .fields()
                    .iter()
                    .map(|f| match columns.get(f.name()) {
                        Some(new) => f.as_ref().clone().with_name(new),
                        None => f.as_ref().clone(),
                    })
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                let indices = (0..input.fields().len()).collect();
                (Op::Project { indices, schema: schema.clone() }, schema)
            }
            Step::Cast { columns } => {
                let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
                let mut targets = Vec::new();
                for (name, type_name) in columns {
                    let idx = index(i, "cast", &input, name)?;
                    let t = parse_type(type_name).ok_or_else(|| {
                        Error::plan(i, format!("cast: {name}: unknown type {type_name:?}; use one of {TYPE_NAMES}"))
                    })?;
                    if !arrow::compute::can_cast_types(input.field(idx).data_type(), &t) {
                        return Err(Error::plan(i, format!("cast: {name}: cannot cast {} to {t}", input.field(idx).data_type())));
                    }
                    fields[idx] = Field::new(name, t.clone(), true);
                    targets.push((idx, t));
                }
                let schema = Arc::new(Schema::new(fields));
                (Op::Cast { targets, schema: schema.clone() }, schema)
            }
            Step::Derive { column, expr } => {
                let expr = Expr::compile(expr, &input)?;
                let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
                let field = Field::new(column, expr.data_type.clone(), true);
                let replace = input.index_of(column).ok();
                match replace {
                    Some(idx) => fields[idx] = field,
                    None => fields.push(field),
                }
                let schema = Arc::new(Schema::new(fields));
                (Op::Derive { expr, replace, schema: schema.clone() }, schema)
            }
            Step::Aggregate(spec) => {
                let agg = Aggregator::new(i, spec, &input, limits.memory_bytes)?;
                let schema = agg.schema();
                (Op::Aggregate(Box::new(agg)), schema)
            }
            other => return Err(Error::plan(i, format!("{} is not a table step", other.name()))),
        })
    }

    /// Transform one batch; aggregation swallows batches and answers at `finish`.
    pub fn apply(&mut self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        Ok(Some(match self {
            Op::Filter(expr) => {
                let mask = expr.predicate(&batch)?;
                filter_record_batch(&batch, &mask)?
            }
            Op::Project { indices, schema } => {
                let cols = indices.iter().map(|i| batch.column(*i).clone()).collect();
                RecordBatch::try_new(schema.clone(), cols)?
            }
            Op::Cast { targets, schema } => {
                let mut cols = batch.columns().to_vec();
                let strict = CastOptions { safe: false, ..Default::default() };
                for (idx, t) in targets.iter() {
                    cols[*idx] = cast_with_options(&cols[*idx], t, &strict).map_err(|e| Error::InputFormat {
                        uri: String::new(),
                        location: Default::default(),
                        message: format!("cast {} to {t}: {e}", schema.field(*idx).name()),
                    })?;
                }
                RecordBatch::try_new(schema.clone(), cols)?
            }
            Op::Derive { expr, replace, schema } => {
                let value = expr.evaluate(&batch)?;
                let mut cols = batch.columns().to_vec();
                match replace {
                    Some(idx) => cols[*idx] = value,
                    None => cols.push(value),
                }
                RecordBatch::try_new(schema.clone(), cols)?
            }
            Op::Aggregate(agg) => {
                agg.update(&batch)?;
                return Ok(None);
            }
        }))
    }

    pub fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        match self {
            Op::Aggregate(agg) => agg.finish(),
            _ => Ok(Vec::new()),
        }
    }
}
