//! Hash aggregation: group keys are encoded with arrow-row into bytes, one hash-map entry per
//! distinct key. Memory grows with the number of groups, never with the number of rows;
//! past `max_groups` distinct keys the step fails with a limit error rather than risk the
//! worker being OOM-killed (spilling to disk is not implemented).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::compute::{cast, cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use crate::error::{Error, Result};
use crate::plan::{AggFn, AggSpec, Aggregate};
use crate::read::{column_names, BATCH_ROWS};
use crate::types::{is_float, is_string};

/// How a value column is held while accumulating.
#[derive(Clone, Copy, PartialEq)]
enum Repr {
    Int,
    Float,
    Str,
}

enum State {
    Count(Vec<i64>),
    SumInt(Vec<Option<i64>>),
    SumFloat(Vec<Option<f64>>),
    Mean(Vec<f64>, Vec<i64>),
    ExtInt(Vec<Option<i64>>),
    ExtFloat(Vec<Option<f64>>),
    ExtStr(Vec<Option<String>>),
}

struct Acc {
    func: AggFn,
    column: Option<usize>,
    repr: Repr,
    /// The column's own type, restored on output for min/max (dates, timestamps…).
    source: DataType,
    state: State,
}

pub struct Aggregator {
    keys: Vec<usize>,
    converter: RowConverter,
    groups: HashMap<Box<[u8]>, u32, ahash::RandomState>,
    order: Vec<Box<[u8]>>,
    accs: Vec<Acc>,
    schema: SchemaRef,
    max_groups: usize,
    memory_budget: Option<u64>,
    /// Estimated bytes held for the groups: each key twice (map and order), map overhead, and
    /// one slot per accumulator.
    held: u64,
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{:.1} KiB", b as f64 / 1024.0),
    }
}

/// Bytes per group besides its key: hash map entry and box headers, accumulator slots.
const GROUP_OVERHEAD: u64 = 64;
const SLOT: u64 = 24;

impl Aggregator {
    pub fn new(step: usize, spec: &Aggregate, input: &Schema, memory_budget: Option<u64>) -> Result<Aggregator> {
        let col = |name: &str| {
            input.index_of(name).map_err(|_| {
                Error::plan(step, format!("aggregate: unknown column {name:?}; columns are: {}", column_names(input)))
            })
        };
        let keys = spec.by.iter().map(|k| col(k)).collect::<Result<Vec<_>>>()?;
        if spec.aggs.is_empty() {
            return Err(Error::plan(step, "aggregate: aggs is empty; add at least one of count, sum, min, max, mean"));
        }
        let fields_in: Vec<SortField> = keys.iter().map(|&k| SortField::new(input.field(k).data_type().clone())).collect();
        let converter = RowConverter::new(fields_in)?;
        let mut fields: Vec<Field> = keys.iter().map(|&k| input.field(k).clone()).collect();
        let mut accs = Vec::new();
        for a in &spec.aggs {
            let acc = Self::acc(step, a, input, &col)?;
            let name = a.alias.clone().unwrap_or_else(|| match &a.column {
                Some(c) => format!("{}_{c}", fn_name(a.func)),
                None => fn_name(a.func).to_string(),
            });
            fields.push(Field::new(name, out_type(&acc), true));
            accs.push(acc);
        }
        Ok(Aggregator {
            keys,
            converter,
            groups: HashMap::default(),
            order: Vec::new(),
            accs,
            schema: Arc::new(Schema::new(fields)),
            max_groups: spec.max_groups,
            memory_budget,
            held: 0,
        })
    }

    fn acc(step: usize, a: &AggSpec, input: &Schema, col: &dyn Fn(&str) -> Result<usize>) -> Result<Acc> {
        let column = match (&a.column, a.func) {
            (Some(c), _) => Some(col(c)?),
            (None, AggFn::Count) => None,
            (None, f) => return Err(Error::plan(step, format!("aggregate: {} needs a column", fn_name(f)))),
        };
        let source = column.map(|c| input.field(c).data_type().clone()).unwrap_or(DataType::Int64);
        let repr = if is_float(&source) {
            Repr::Float
        } else if is_string(&source) {
            Repr::Str
        } else {
            Repr::Int
        };
        let numeric = source.is_numeric() || source == DataType::Null;
        let state = match a.func {
            AggFn::Count => State::Count(Vec::new()),
            AggFn::Sum | AggFn::Mean if !numeric => {
                return Err(Error::plan(step, format!("aggregate: {} needs a numeric column, {:?} is {source}", fn_name(a.func), a.column.as_deref().unwrap_or(""))))
            }
            AggFn::Sum if repr == Repr::Float => State::SumFloat(Vec::new()),
            AggFn::Sum => State::SumInt(Vec::new()),
            AggFn::Mean => State::Mean(Vec::new(), Vec::new()),
            AggFn::Min | AggFn::Max => match repr {
                Repr::Float => State::ExtFloat(Vec::new()),
                Repr::Str => State::ExtStr(Vec::new()),
                Repr::Int if !numeric && !source.is_temporal() && source != DataType::Boolean => {
                    return Err(Error::plan(step, format!("aggregate: {} does not support {source}", fn_name(a.func))))
                }
                Repr::Int => State::ExtInt(Vec::new()),
            },
        };
        Ok(Acc { func: a.func, column, repr, source, state })
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let ids = self.group_ids(batch)?;
        let groups = self.order.len();
        for acc in &mut self.accs {
            acc.grow(groups);
            let values = match acc.column {
                None => None,
                Some(c) => Some(as_repr(batch.column(c), acc.repr)?),
            };
            acc.update(&ids, values.as_ref(), n)?;
        }
        Ok(())
    }

    fn group_ids(&mut self, batch: &RecordBatch) -> Result<Vec<u32>> {
        let n = batch.num_rows();
        if self.keys.is_empty() {
            if self.order.is_empty() {
                self.order.push(Box::default());
            }
            return Ok(vec![0; n]);
        }
        let cols: Vec<ArrayRef> = self.keys.iter().map(|&k| batch.column(k).clone()).collect();
        let rows = self.converter.convert_columns(&cols)?;
        let mut ids = Vec::with_capacity(n);
        for row in rows.iter() {
            let key = row.as_ref();
            let id = match self.groups.get(key) {
                Some(&id) => id,
                None => {
                    if self.order.len() >= self.max_groups {
                        return Err(Error::Limit(format!(
                            "aggregate: more than {} distinct groups (max_groups); raise max_groups or aggregate on fewer keys",
                            self.max_groups
                        )));
                    }
                    self.held += 2 * key.len() as u64 + GROUP_OVERHEAD + SLOT * self.accs.len() as u64;
                    if let Some(budget) = self.memory_budget.filter(|&b| self.held > b) {
                        return Err(Error::Limit(format!(
                            "aggregate: {} groups need about {}, over the memory budget of {} (limits.memory_bytes); \
                             raise it or aggregate on fewer keys",
                            self.order.len() + 1,
                            human(self.held),
                            human(budget)
                        )));
                    }
                    let id = self.order.len() as u32;
                    let owned: Box<[u8]> = key.into();
                    self.groups.insert(owned.clone(), id);
                    self.order.push(owned);
                    id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    pub fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        let groups = if self.keys.is_empty() { 1 } else { self.order.len() };
        if self.keys.is_empty() && self.order.is_empty() {
            self.order.push(Box::default());
        }
        let mut cols: Vec<ArrayRef> = if self.keys.is_empty() {
            Vec::new()
        } else {
            let parser = self.converter.parser();
            let rows = self.order.iter().map(|k| parser.parse(k));
            self.converter.convert_rows(rows)?
        };
        for acc in &mut self.accs {
            acc.grow(groups);
            cols.push(acc.output()?);
        }
        let batch = RecordBatch::try_new(self.schema.clone(), cols)?;
        let mut out = Vec::new();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = BATCH_ROWS.min(batch.num_rows() - offset);
            out.push(batch.slice(offset, len));
            offset += len;
        }
        if out.is_empty() {
            out.push(batch);
        }
        Ok(out)
    }
}

fn fn_name(f: AggFn) -> &'static str {
    match f {
        AggFn::Count => "count",
        AggFn::Sum => "sum",
        AggFn::Min => "min",
        AggFn::Max => "max",
        AggFn::Mean => "mean",
    }
}

fn out_type(acc: &Acc) -> DataType {
    match (&acc.state, acc.func) {
        (State::Count(_), _) => DataType::Int64,
        (State::SumInt(_), _) => DataType::Int64,
        (State::SumFloat(_), _) | (State::Mean(..), _) => DataType::Float64,
        (State::ExtStr(_), _) => DataType::Utf8,
        (State::ExtFloat(_), _) => DataType::Float64,
        (State::ExtInt(_), _) => acc.source.clone(),
    }
}

enum Values {
    Int(Int64Array),
    Float(Float64Array),
    Str(StringArray),
}

fn as_repr(col: &ArrayRef, repr: Repr) -> Result<Values> {
    let lenient = CastOptions::default();
    Ok(match repr {
        Repr::Int => {
            let a = if col.data_type().is_temporal() {
                // Dates and timestamps accumulate as their integer representation.
                let physical = if matches!(col.data_type(), DataType::Date32 | DataType::Time32(_)) { DataType::Int32 } else { DataType::Int64 };
                cast(&cast(col, &physical)?, &DataType::Int64)?
            } else {
                cast_with_options(col, &DataType::Int64, &lenient)?
            };
            Values::Int(a.as_any().downcast_ref::<Int64Array>().expect("cast to int64").clone())
        }
        Repr::Float => Values::Float(
            cast(col, &DataType::Float64)?.as_any().downcast_ref::<Float64Array>().expect("cast to float64").clone(),
        ),
        Repr::Str => Values::Str(cast(col, &DataType::Utf8)?.as_any().downcast_ref::<StringArray>().expect("cast to utf8").clone()),
    })
}

/// Fold each present value into its group's running min or max.
fn extreme<T: PartialOrd + Copy>(slots: &mut [Option<T>], ids: &[u32], values: impl Iterator<Item = Option<T>>, max: bool) {
    for (i, x) in values.enumerate() {
        if let Some(x) = x {
            let slot = &mut slots[ids[i] as usize];
            let better = match *slot {
                None => true,
                Some(y) => if max { x > y } else { x < y },
            };
            if better {
                *slot = Some(x);
            }
        }
    }
}

impl Acc {
    fn grow(&mut self, n: usize) {
        match &mut self.state {
            State::Count(v) => v.resize(n, 0),
            State::SumInt(v) | State::ExtInt(v) => v.resize(n, None),
            State::SumFloat(v) | State::ExtFloat(v) => v.resize(n, None),
            State::Mean(s, c) => {
                s.resize(n, 0.0);
                c.resize(n, 0);
            }
            State::ExtStr(v) => v.resize(n, None),
        }
    }

    fn update(&mut self, ids: &[u32], values: Option<&Values>, n: usize) -> Result<()> {
        let max = self.func == AggFn::Max;
        match (&mut self.state, values) {
            (State::Count(v), None) => ids.iter().for_each(|&g| v[g as usize] += 1),
            (State::Count(v), Some(vals)) => {
                let valid = |i: usize| match vals {
                    Values::Int(a) => a.is_valid(i),
                    Values::Float(a) => a.is_valid(i),
                    Values::Str(a) => a.is_valid(i),
                };
                (0..n).filter(|&i| valid(i)).for_each(|i| v[ids[i] as usize] += 1);
            }
            (State::SumInt(v), Some(Values::Int(a))) => {
                for (i, x) in a.iter().enumerate() {
                    if let Some(x) = x {
                        let slot = &mut v[ids[i] as usize];
                        *slot = Some(slot.unwrap_or(0).checked_add(x).ok_or_else(|| Error::Limit("aggregate: sum overflows int64; cast the column to float64 first".into()))?);
                    }
                }
            }
            (State::SumFloat(v), Some(Values::Float(a))) => {
                for (i, x) in a.iter().enumerate() {
                    if let Some(x) = x {
                        let slot = &mut v[ids[i] as usize];
                        *slot = Some(slot.unwrap_or(0.0) + x);
                    }
                }
            }
            (State::Mean(s, c), Some(vals)) => {
                let f = match vals {
                    Values::Int(a) => a.iter().map(|x| x.map(|x| x as f64)).collect::<Vec<_>>(),
                    Values::Float(a) => a.iter().collect(),
                    Values::Str(_) => return Err(Error::Internal("mean over strings".into())),
                };
                for (i, x) in f.into_iter().enumerate() {
                    if let Some(x) = x {
                        s[ids[i] as usize] += x;
                        c[ids[i] as usize] += 1;
                    }
                }
            }
            (State::ExtInt(v), Some(Values::Int(a))) => extreme(v, ids, a.iter(), max),
            (State::ExtFloat(v), Some(Values::Float(a))) => extreme(v, ids, a.iter(), max),
            (State::ExtStr(v), Some(Values::Str(a))) => {
                for (i, x) in a.iter().enumerate() {
                    if let Some(x) = x {
                        let slot = &mut v[ids[i] as usize];
                        let better = match slot {
                            None => true,
                            Some(y) => if max { x > y.as_str() } else { x < y.as_str() },
                        };
                        if better {
                            *slot = Some(x.to_string());
                        }
                    }
                }
            }
            _ => return Err(Error::Internal("aggregate state and values disagree".into())),
        }
        Ok(())
    }

    fn output(&mut self) -> Result<ArrayRef> {
        Ok(match &mut self.state {
            State::Count(v) => Arc::new(Int64Array::from(std::mem::take(v))),
            State::SumInt(v) => Arc::new(Int64Array::from(std::mem::take(v))),
            State::SumFloat(v) | State::ExtFloat(v) => Arc::new(Float64Array::from(std::mem::take(v))),
            State::Mean(s, c) => Arc::new(
                s.iter().zip(c.iter()).map(|(s, &c)| if c == 0 { None } else { Some(s / c as f64) }).collect::<Float64Array>(),
            ),
            State::ExtInt(v) => {
                let ints: ArrayRef = Arc::new(Int64Array::from(std::mem::take(v)));
                if self.source.is_temporal() {
                    let physical = if matches!(self.source, DataType::Date32 | DataType::Time32(_)) { DataType::Int32 } else { DataType::Int64 };
                    cast(&cast(&ints, &physical)?, &self.source)?
                } else {
                    cast(&ints, &self.source)?
                }
            }
            State::ExtStr(v) => Arc::new(StringArray::from(std::mem::take(v))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    fn spec(json: &str) -> Aggregate {
        match Plan::from_json(&format!(r#"{{"steps":[{{"op":"read_csv"}},{json},{{"op":"write_csv"}}]}}"#)).unwrap().steps.remove(1) {
            crate::plan::Step::Aggregate(a) => a,
            _ => unreachable!(),
        }
    }

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("region", DataType::Utf8, true),
            Field::new("qty", DataType::Int64, true),
            Field::new("price", DataType::Float64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["EU", "US", "EU", "EU"])),
                Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(4)])),
                Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 5.0])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn group_by_region() {
        let s = spec(r#"{"op":"aggregate","by":["region"],"aggs":[{"fn":"count"},{"fn":"count","column":"qty"},{"fn":"sum","column":"qty"},{"fn":"mean","column":"price"},{"fn":"max","column":"price","as":"top"},{"fn":"min","column":"qty"}]}"#);
        let b = batch();
        let mut agg = Aggregator::new(1, &s, &b.schema(), None).unwrap();
        agg.update(&b).unwrap();
        agg.update(&b).unwrap();
        let out = &agg.finish().unwrap()[0];
        let names: Vec<_> = out.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["region", "count", "count_qty", "sum_qty", "mean_price", "top", "min_qty"]);
        let i64s = |c: usize| out.column(c).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec();
        assert_eq!(i64s(1), [6, 2]);
        assert_eq!(i64s(2), [4, 2]);
        assert_eq!(i64s(3), [10, 4]);
        let mean = out.column(4).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(mean.value(0), 3.0);
        let top = out.column(5).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(top.values().to_vec(), [5.0, 2.0]);
        assert_eq!(i64s(6), [1, 2]);
    }

    #[test]
    fn global_aggregate_of_nothing_is_one_row() {
        let s = spec(r#"{"op":"aggregate","aggs":[{"fn":"count"},{"fn":"sum","column":"qty"}]}"#);
        let mut agg = Aggregator::new(1, &s, &batch().schema(), None).unwrap();
        let out = agg.finish().unwrap();
        assert_eq!(out[0].num_rows(), 1);
        assert!(out[0].column(1).is_null(0));
    }

    #[test]
    fn too_many_groups_is_a_limit_error() {
        let s = spec(r#"{"op":"aggregate","by":["qty"],"aggs":[{"fn":"count"}],"max_groups":2}"#);
        let mut agg = Aggregator::new(1, &s, &batch().schema(), None).unwrap();
        assert!(matches!(agg.update(&batch()), Err(Error::Limit(_))));
        let s = spec(r#"{"op":"aggregate","by":["qty"],"aggs":[{"fn":"count"}]}"#);
        let mut agg = Aggregator::new(1, &s, &batch().schema(), Some(100)).unwrap();
        match agg.update(&batch()) {
            Err(Error::Limit(m)) => assert!(m.contains("memory budget"), "{m}"),
            other => panic!("expected a memory limit, got {:?}", other.err()),
        }
    }

    #[test]
    fn sum_of_strings_is_a_plan_error() {
        let s = spec(r#"{"op":"aggregate","aggs":[{"fn":"sum","column":"region"}]}"#);
        assert!(matches!(Aggregator::new(1, &s, &batch().schema(), None), Err(Error::Plan { .. })));
    }
}
