//! The expression language: SQL expressions parsed by `sqlparser`, compiled against a schema
//! into a typed tree, and evaluated per batch with Arrow compute kernels.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, Datum, Scalar, BooleanArray, Float64Array, Int64Array, StringArray, UInt32Array};
use arrow::compute::kernels::{boolean, cmp, numeric};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;

use sqlparser::ast::{self, BinaryOperator, Spanned, UnaryOperator, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::error::{Error, Result};
use crate::types::{is_float, is_numeric, is_string, parse_type};

#[derive(Debug, Clone, Copy)]
enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, Copy)]
enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy)]
enum Func {
    Lower,
    Upper,
    Length,
    Trim,
    Contains,
    StartsWith,
    EndsWith,
    Abs,
    Coalesce,
}

#[derive(Debug, Clone)]
enum Node {
    Column(usize),
    /// A one-row array: evaluated as an Arrow scalar.
    Literal(ArrayRef),
    Cast(Box<Node>, DataType),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    Arith(ArithOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    IsNull(Box<Node>, bool),
    Like { expr: Box<Node>, pattern: Box<Node>, negated: bool, ci: bool },
    Call(Func, Vec<Node>),
}

/// A compiled expression and the type it produces.
#[derive(Debug, Clone)]
pub struct Expr {
    node: Node,
    pub data_type: DataType,
}

struct Ctx<'a> {
    text: &'a str,
    /// `None` when only checking syntax and names: every column is then of unknown type.
    schema: Option<&'a Schema>,
    /// Every column name the expression refers to, in order of appearance.
    names: std::cell::RefCell<Vec<String>>,
}

impl Ctx<'_> {
    fn err(&self, at: &ast::Expr, message: impl Into<String>) -> Error {
        let start = at.span().start;
        Error::Expression {
            expr: self.text.to_string(),
            line: start.line.max(1),
            column: start.column.max(1),
            message: message.into(),
        }
    }
}

fn parse(text: &str) -> Result<ast::Expr> {
    let syntax = |message: String| {
        let (line, column) = position_in(&message);
        Error::Expression { expr: text.to_string(), line, column, message }
    };
    let mut parser = Parser::new(&GenericDialect {}).try_with_sql(text).map_err(|e| syntax(e.to_string()))?;
    let expr = parser.parse_expr().map_err(|e| syntax(e.to_string()))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(Error::Expression {
            expr: text.to_string(),
            line: next.span.start.line.max(1),
            column: next.span.start.column.max(1),
            message: format!("unexpected {} after the end of the expression", next.token),
        });
    }
    Ok(expr)
}

/// sqlparser puts "Line: L, Column: C" in its messages.
fn position_in(message: &str) -> (u64, u64) {
    let grab = |key: &str| {
        message.find(key).and_then(|i| {
            message[i + key.len()..].trim_start().chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()
        })
    };
    (grab("Line:").unwrap_or(1), grab("Column:").unwrap_or(1))
}

/// Check an expression without data: syntax, functions, arity and literal casts.
pub fn check(text: &str) -> Result<()> {
    let ast = parse(text)?;
    Ctx { text, schema: None, names: Default::default() }.compile(&ast).map(|_| ())
}

/// The column names an expression refers to (it is checked as `check` does).
pub fn columns(text: &str) -> Result<Vec<String>> {
    let ast = parse(text)?;
    let ctx = Ctx { text, schema: None, names: Default::default() };
    ctx.compile(&ast)?;
    Ok(ctx.names.into_inner())
}

impl Expr {
    pub fn compile(text: &str, schema: &Schema) -> Result<Expr> {
        let ast = parse(text)?;
        let ctx = Ctx { text, schema: Some(schema), names: Default::default() };
        let (node, data_type) = ctx.compile(&ast)?;
        Ok(Expr { node, data_type })
    }

    /// Evaluate over a batch; always returns an array of the batch's length.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        let v = eval(&self.node, batch)?;
        v.into_array(batch.num_rows())
    }

    /// Evaluate as a predicate: nulls count as false, as in SQL WHERE.
    pub fn predicate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let arr = self.evaluate(batch)?;
        arr.as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .ok_or_else(|| Error::Internal("predicate did not produce booleans".into()))
    }
}

type Typed = (Node, DataType);

impl Ctx<'_> {
    fn compile(&self, e: &ast::Expr) -> Result<Typed> {
        use ast::Expr as E;
        match e {
            E::Identifier(ident) => self.column(e, &ident.value),
            E::CompoundIdentifier(parts) => {
                let name = parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
                self.column(e, &name)
            }
            E::Value(v) => self.literal(e, &v.value),
            E::Nested(inner) => self.compile(inner),
            E::UnaryOp { op, expr } => {
                let (n, t) = self.compile(expr)?;
                match op {
                    UnaryOperator::Not => Ok((Node::Not(Box::new(self.boolean(expr, n, &t)?)), DataType::Boolean)),
                    UnaryOperator::Minus if is_numeric(&t) || t == DataType::Null => Ok((Node::Neg(Box::new(n)), t)),
                    UnaryOperator::Plus if is_numeric(&t) || t == DataType::Null => Ok((n, t)),
                    _ => Err(self.err(e, format!("operator {op} does not apply to {t}"))),
                }
            }
            E::BinaryOp { left, op, right } => self.binary(e, left, op, right),
            E::IsNull(inner) => Ok((Node::IsNull(Box::new(self.compile(inner)?.0), false), DataType::Boolean)),
            E::IsNotNull(inner) => Ok((Node::IsNull(Box::new(self.compile(inner)?.0), true), DataType::Boolean)),
            E::InList { expr, list, negated } => {
                if list.is_empty() {
                    return Err(self.err(e, "IN needs at least one value"));
                }
                let mut acc: Option<Node> = None;
                for item in list {
                    let (cmp, _) = self.comparison(e, expr, CmpOp::Eq, item)?;
                    acc = Some(match acc {
                        None => cmp,
                        Some(prev) => Node::Or(Box::new(prev), Box::new(cmp)),
                    });
                }
                let node = acc.expect("non-empty list");
                Ok((if *negated { Node::Not(Box::new(node)) } else { node }, DataType::Boolean))
            }
            E::Between { expr, negated, low, high } => {
                let (lo, _) = self.comparison(e, expr, CmpOp::GtEq, low)?;
                let (hi, _) = self.comparison(e, expr, CmpOp::LtEq, high)?;
                let both = Node::And(Box::new(lo), Box::new(hi));
                Ok((if *negated { Node::Not(Box::new(both)) } else { both }, DataType::Boolean))
            }
            E::Like { negated, expr, pattern, escape_char, any, .. }
            | E::ILike { negated, expr, pattern, escape_char, any, .. } => {
                if escape_char.is_some() || *any {
                    return Err(self.err(e, "LIKE … ESCAPE and LIKE ANY are not supported"));
                }
                let ci = matches!(e, E::ILike { .. });
                let (x, xt) = self.compile(expr)?;
                let (p, pt) = self.compile(pattern)?;
                let x = self.stringy(expr, x, &xt)?;
                let p = self.stringy(pattern, p, &pt)?;
                Ok((Node::Like { expr: Box::new(x), pattern: Box::new(p), negated: *negated, ci }, DataType::Boolean))
            }
            E::Cast { expr, data_type, format, .. } => {
                if format.is_some() {
                    return Err(self.err(e, "CAST … FORMAT is not supported"));
                }
                let target = parse_type(&data_type.to_string())
                    .ok_or_else(|| self.err(e, format!("unknown type {data_type}")))?;
                let (n, t) = self.compile(expr)?;
                Ok((self.cast(e, n, &t, &target)?, target))
            }
            E::Function(f) => self.call(e, f),
            other => Err(self.err(e, format!("unsupported expression: {other}"))),
        }
    }

    fn column(&self, at: &ast::Expr, name: &str) -> Result<Typed> {
        self.names.borrow_mut().push(name.to_string());
        let Some(schema) = self.schema else { return Ok((Node::Column(0), DataType::Null)) };
        match schema.index_of(name) {
            Ok(i) => Ok((Node::Column(i), schema.field(i).data_type().clone())),
            Err(_) => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Err(self.err(at, format!("unknown column {name:?}; columns are: {}", names.join(", "))))
            }
        }
    }

    fn literal(&self, at: &ast::Expr, v: &Value) -> Result<Typed> {
        let arr: ArrayRef = match v {
            Value::Number(s, _) => match s.parse::<i64>() {
                Ok(i) => Arc::new(Int64Array::from(vec![i])),
                Err(_) => match s.parse::<f64>() {
                    Ok(f) => Arc::new(Float64Array::from(vec![f])),
                    Err(_) => return Err(self.err(at, format!("bad number {s}"))),
                },
            },
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Arc::new(StringArray::from(vec![s.as_str()])),
            Value::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
            Value::Null => new_null_array(&DataType::Null, 1),
            other => return Err(self.err(at, format!("unsupported literal {other}"))),
        };
        let t = arr.data_type().clone();
        Ok((Node::Literal(arr), t))
    }

    fn cast(&self, at: &ast::Expr, node: Node, from: &DataType, to: &DataType) -> Result<Node> {
        if from == to || *to == DataType::Null {
            return Ok(node);
        }
        if let Node::Literal(arr) = &node {
            // Fold literal casts now so a bad literal is reported with its position.
            let strict = CastOptions { safe: false, ..Default::default() };
            let folded = cast_with_options(arr, to, &strict)
                .map_err(|err| self.err(at, format!("cannot use {} as {to}: {err}", display_literal(arr))))?;
            return Ok(Node::Literal(folded));
        }
        if *from != DataType::Null && !arrow::compute::can_cast_types(from, to) {
            return Err(self.err(at, format!("cannot cast {from} to {to}")));
        }
        Ok(Node::Cast(Box::new(node), to.clone()))
    }

    fn boolean(&self, at: &ast::Expr, node: Node, t: &DataType) -> Result<Node> {
        match t {
            DataType::Boolean | DataType::Null => Ok(node),
            other => Err(self.err(at, format!("expected a boolean condition, found {other}"))),
        }
    }

    fn stringy(&self, at: &ast::Expr, node: Node, t: &DataType) -> Result<Node> {
        match t {
            DataType::Utf8 | DataType::Null => Ok(node),
            t if is_string(t) => self.cast(at, node, t, &DataType::Utf8),
            other => Err(self.err(at, format!("expected a string, found {other}"))),
        }
    }

    /// Make two operands the same type, the way SQL engines usually do.
    fn unify(&self, at: &ast::Expr, l: Typed, r: Typed) -> Result<(Node, Node, DataType)> {
        let ((ln, lt), (rn, rt)) = (l, r);
        if lt == rt {
            return Ok((ln, rn, lt));
        }
        let target = match (&lt, &rt) {
            (DataType::Null, t) | (t, DataType::Null) => t.clone(),
            (a, b) if is_numeric(a) && is_numeric(b) => {
                if is_float(a) || is_float(b) { DataType::Float64 } else { DataType::Int64 }
            }
            (a, b) if is_string(a) && is_string(b) => DataType::Utf8,
            (a, t) if is_string(a) => t.clone(),
            (t, b) if is_string(b) => t.clone(),
            (a, b) if a.is_temporal() && b.is_temporal() => a.clone(),
            (a, b) => return Err(self.err(at, format!("cannot combine {a} with {b}"))),
        };
        Ok((self.cast(at, ln, &lt, &target)?, self.cast(at, rn, &rt, &target)?, target))
    }

    fn comparison(&self, at: &ast::Expr, l: &ast::Expr, op: CmpOp, r: &ast::Expr) -> Result<Typed> {
        let (ln, rn, _) = self.unify(at, self.compile(l)?, self.compile(r)?)?;
        Ok((Node::Cmp(op, Box::new(ln), Box::new(rn)), DataType::Boolean))
    }

    fn binary(&self, e: &ast::Expr, left: &ast::Expr, op: &BinaryOperator, right: &ast::Expr) -> Result<Typed> {
        let cmp = match op {
            BinaryOperator::Eq => Some(CmpOp::Eq),
            BinaryOperator::NotEq => Some(CmpOp::NotEq),
            BinaryOperator::Lt => Some(CmpOp::Lt),
            BinaryOperator::LtEq => Some(CmpOp::LtEq),
            BinaryOperator::Gt => Some(CmpOp::Gt),
            BinaryOperator::GtEq => Some(CmpOp::GtEq),
            _ => None,
        };
        if let Some(c) = cmp {
            return self.comparison(e, left, c, right);
        }
        let (ln, lt) = self.compile(left)?;
        let (rn, rt) = self.compile(right)?;
        match op {
            BinaryOperator::And | BinaryOperator::Or => {
                let l = Box::new(self.boolean(left, ln, &lt)?);
                let r = Box::new(self.boolean(right, rn, &rt)?);
                let node = if matches!(op, BinaryOperator::And) { Node::And(l, r) } else { Node::Or(l, r) };
                Ok((node, DataType::Boolean))
            }
            BinaryOperator::StringConcat => Err(self.err(e, "use concat() — || is not supported yet")),
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo => {
                let arith = match op {
                    BinaryOperator::Plus => ArithOp::Add,
                    BinaryOperator::Minus => ArithOp::Sub,
                    BinaryOperator::Multiply => ArithOp::Mul,
                    BinaryOperator::Divide => ArithOp::Div,
                    _ => ArithOp::Rem,
                };
                for (side, t) in [(left, &lt), (right, &rt)] {
                    if !(is_numeric(t) || *t == DataType::Null) {
                        return Err(self.err(side, format!("arithmetic needs numbers, found {t}")));
                    }
                }
                let (ln, rn, t) = if matches!(arith, ArithOp::Div) {
                    // Division is always floating point: 7 / 2 = 3.5, never 3.
                    let f = DataType::Float64;
                    (self.cast(left, ln, &lt, &f)?, self.cast(right, rn, &rt, &f)?, f)
                } else {
                    self.unify(e, (ln, lt), (rn, rt))?
                };
                Ok((Node::Arith(arith, Box::new(ln), Box::new(rn)), t))
            }
            other => Err(self.err(e, format!("unsupported operator {other}"))),
        }
    }

    fn call(&self, e: &ast::Expr, f: &ast::Function) -> Result<Typed> {
        let name = f.name.to_string().to_ascii_lowercase();
        let func = match name.as_str() {
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "length" | "char_length" => Func::Length,
            "trim" => Func::Trim,
            "contains" => Func::Contains,
            "starts_with" => Func::StartsWith,
            "ends_with" => Func::EndsWith,
            "abs" => Func::Abs,
            "coalesce" => Func::Coalesce,
            _ => {
                return Err(self.err(
                    e,
                    format!("unknown function {name}; known: lower, upper, length, trim, contains, starts_with, ends_with, abs, coalesce"),
                ))
            }
        };
        let ast::FunctionArguments::List(list) = &f.args else {
            return Err(self.err(e, format!("{name} needs arguments in parentheses")));
        };
        let mut args = Vec::new();
        for a in &list.args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => args.push((x, self.compile(x)?)),
                _ => return Err(self.err(e, format!("{name}: only plain positional arguments are supported"))),
            }
        }
        let arity = |n: usize| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(self.err(e, format!("{name} takes {n} argument(s), got {}", args.len())))
            }
        };
        match func {
            Func::Lower | Func::Upper | Func::Trim | Func::Length => {
                arity(1)?;
                let (x, (n, t)) = args.pop().expect("arity checked");
                let n = self.stringy(x, n, &t)?;
                let out = if matches!(func, Func::Length) { DataType::Int64 } else { DataType::Utf8 };
                Ok((Node::Call(func, vec![n]), out))
            }
            Func::Contains | Func::StartsWith | Func::EndsWith => {
                arity(2)?;
                let mut nodes = Vec::new();
                for (x, (n, t)) in args {
                    nodes.push(self.stringy(x, n, &t)?);
                }
                Ok((Node::Call(func, nodes), DataType::Boolean))
            }
            Func::Abs => {
                arity(1)?;
                let (x, (n, t)) = args.pop().expect("arity checked");
                if !(is_numeric(&t) || t == DataType::Null) {
                    return Err(self.err(x, format!("abs needs a number, found {t}")));
                }
                Ok((Node::Call(func, vec![n]), t))
            }
            Func::Coalesce => {
                if args.is_empty() {
                    return Err(self.err(e, "coalesce needs at least one argument"));
                }
                let mut it = args.into_iter();
                let (_, mut acc) = it.next().expect("non-empty");
                let mut nodes = vec![];
                for (x, next) in it {
                    let (a, b, t) = self.unify(x, acc, next)?;
                    nodes = nodes.into_iter().map(|n| Node::Cast(Box::new(n), t.clone())).collect();
                    if nodes.is_empty() {
                        nodes.push(a);
                    }
                    nodes.push(b);
                    acc = (Node::Literal(new_null_array(&t, 1)), t);
                }
                let t = acc.1;
                if nodes.is_empty() {
                    nodes.push(acc.0);
                }
                Ok((Node::Call(func, nodes), t))
            }
        }
    }
}

fn display_literal(arr: &ArrayRef) -> String {
    arrow::util::display::array_value_to_string(arr, 0).map(|s| format!("{s:?}")).unwrap_or_else(|_| "literal".into())
}

enum Val {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Val {
    fn into_array(self, len: usize) -> Result<ArrayRef> {
        match self {
            Val::Array(a) => Ok(a),
            Val::Scalar(s) => Ok(arrow::compute::take(&s, &UInt32Array::from(vec![0u32; len]), None)?),
        }
    }

    fn map(self, f: impl FnOnce(&ArrayRef) -> Result<ArrayRef>) -> Result<Val> {
        Ok(match self {
            Val::Array(a) => Val::Array(f(&a)?),
            Val::Scalar(s) => Val::Scalar(f(&s)?),
        })
    }
}

/// Run a Datum kernel on two values; the result is a scalar only if both inputs were.
fn datum2(l: &Val, r: &Val, f: impl Fn(&dyn Datum, &dyn Datum) -> Result<ArrayRef, arrow::error::ArrowError>) -> Result<Val> {
    let scalar = |a: &ArrayRef| Scalar::new(a.clone());
    let out = match (l, r) {
        (Val::Array(a), Val::Array(b)) => f(a, b)?,
        (Val::Array(a), Val::Scalar(b)) => f(a, &scalar(b))?,
        (Val::Scalar(a), Val::Array(b)) => f(&scalar(a), b)?,
        (Val::Scalar(a), Val::Scalar(b)) => return Ok(Val::Scalar(f(&scalar(a), &scalar(b))?)),
    };
    Ok(Val::Array(out))
}

fn as_bool(a: &ArrayRef) -> Result<&BooleanArray> {
    a.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| Error::Internal(format!("expected booleans, got {}", a.data_type())))
}

fn as_bool_array(v: Val, len: usize) -> Result<BooleanArray> {
    let a = match v.into_array(len)? {
        a if *a.data_type() == DataType::Null => cast_with_options(&a, &DataType::Boolean, &CastOptions::default())?,
        a => a,
    };
    Ok(as_bool(&a)?.clone())
}

fn strings(a: &ArrayRef) -> Result<&StringArray> {
    a.as_any().downcast_ref::<StringArray>().ok_or_else(|| Error::Internal(format!("expected strings, got {}", a.data_type())))
}

fn eval(node: &Node, batch: &RecordBatch) -> Result<Val> {
    let len = batch.num_rows();
    Ok(match node {
        Node::Column(i) => Val::Array(batch.column(*i).clone()),
        Node::Literal(a) => Val::Scalar(a.clone()),
        Node::Cast(inner, t) => eval(inner, batch)?.map(|a| Ok(cast_with_options(a, t, &CastOptions::default())?))?,
        Node::Cmp(op, l, r) => {
            let (l, r) = (eval(l, batch)?, eval(r, batch)?);
            let op = *op;
            datum2(&l, &r, move |a, b| {
                let out = match op {
                    CmpOp::Eq => cmp::eq(a, b),
                    CmpOp::NotEq => cmp::neq(a, b),
                    CmpOp::Lt => cmp::lt(a, b),
                    CmpOp::LtEq => cmp::lt_eq(a, b),
                    CmpOp::Gt => cmp::gt(a, b),
                    CmpOp::GtEq => cmp::gt_eq(a, b),
                }?;
                Ok(Arc::new(out) as ArrayRef)
            })?
        }
        Node::Arith(op, l, r) => {
            let (l, r) = (eval(l, batch)?, eval(r, batch)?);
            let op = *op;
            datum2(&l, &r, move |a, b| match op {
                ArithOp::Add => numeric::add(a, b),
                ArithOp::Sub => numeric::sub(a, b),
                ArithOp::Mul => numeric::mul(a, b),
                ArithOp::Div => numeric::div(a, b),
                ArithOp::Rem => numeric::rem(a, b),
            })?
        }
        Node::Neg(inner) => eval(inner, batch)?.map(|a| Ok(numeric::neg(a)?))?,
        Node::And(l, r) | Node::Or(l, r) => {
            let l = as_bool_array(eval(l, batch)?, len)?;
            let r = as_bool_array(eval(r, batch)?, len)?;
            let out = if matches!(node, Node::And(..)) { boolean::and_kleene(&l, &r)? } else { boolean::or_kleene(&l, &r)? };
            Val::Array(Arc::new(out))
        }
        Node::Not(inner) => Val::Array(Arc::new(boolean::not(&as_bool_array(eval(inner, batch)?, len)?)?)),
        Node::IsNull(inner, negated) => {
            let a = eval(inner, batch)?.into_array(len)?;
            let out = if *negated { boolean::is_not_null(&a)? } else { boolean::is_null(&a)? };
            Val::Array(Arc::new(out))
        }
        Node::Like { expr, pattern, negated, ci } => {
            let (x, p) = (eval(expr, batch)?, eval(pattern, batch)?);
            let (negated, ci) = (*negated, *ci);
            datum2(&x, &p, move |a, b| {
                use arrow::compute::kernels::comparison as c;
                let out = match (negated, ci) {
                    (false, false) => c::like(a, b),
                    (true, false) => c::nlike(a, b),
                    (false, true) => c::ilike(a, b),
                    (true, true) => c::nilike(a, b),
                }?;
                Ok(Arc::new(out) as ArrayRef)
            })?
        }
        Node::Call(func, args) => call(*func, args, batch)?,
    })
}

fn call(func: Func, args: &[Node], batch: &RecordBatch) -> Result<Val> {
    use arrow::compute::kernels::comparison as c;
    let len = batch.num_rows();
    let map_str = |v: Val, f: fn(&str) -> String| {
        v.map(|a| Ok(Arc::new(strings(a)?.iter().map(|s| s.map(f)).collect::<StringArray>()) as ArrayRef))
    };
    Ok(match func {
        Func::Lower => map_str(eval(&args[0], batch)?, str::to_lowercase)?,
        Func::Upper => map_str(eval(&args[0], batch)?, str::to_uppercase)?,
        Func::Trim => map_str(eval(&args[0], batch)?, |s| s.trim().to_string())?,
        Func::Length => eval(&args[0], batch)?.map(|a| {
            Ok(Arc::new(strings(a)?.iter().map(|s| s.map(|s| s.chars().count() as i64)).collect::<Int64Array>()) as ArrayRef)
        })?,
        Func::Contains | Func::StartsWith | Func::EndsWith => {
            let (a, b) = (eval(&args[0], batch)?, eval(&args[1], batch)?);
            datum2(&a, &b, move |x, y| {
                let out = match func {
                    Func::Contains => c::contains(x, y),
                    Func::StartsWith => c::starts_with(x, y),
                    _ => c::ends_with(x, y),
                }?;
                Ok(Arc::new(out) as ArrayRef)
            })?
        }
        Func::Abs => eval(&args[0], batch)?.map(|a| {
            let zero = cast_with_options(&(Arc::new(Int64Array::from(vec![0])) as ArrayRef), a.data_type(), &CastOptions::default())?;
            let negative = cmp::lt(a, &Scalar::new(zero))?;
            let negated = numeric::neg(a)?;
            Ok(arrow::compute::kernels::zip::zip(&negative, &negated, a)?)
        })?,
        Func::Coalesce => {
            let mut acc = eval(&args[0], batch)?.into_array(len)?;
            for next in &args[1..] {
                let next = eval(next, batch)?.into_array(len)?;
                let have = boolean::is_not_null(&acc)?;
                acc = arrow::compute::kernels::zip::zip(&have, &acc, &next)?;
            }
            Val::Array(acc)
        }
    })
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        Error::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("qty", DataType::Int64, true),
            Field::new("price", DataType::Float64, true),
            Field::new("region", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(1), Some(5), None, Some(10)])),
                Arc::new(Float64Array::from(vec![Some(2.5), Some(1.0), Some(3.0), None])),
                Arc::new(StringArray::from(vec![Some("EU"), Some("US"), Some("eu-west"), None])),
            ],
        )
        .unwrap()
    }

    fn rows(text: &str) -> Vec<Option<bool>> {
        let b = batch();
        let e = Expr::compile(text, b.schema().as_ref()).unwrap_or_else(|e| panic!("{text}: {e}"));
        let a = e.evaluate(&b).unwrap();
        as_bool(&a).unwrap().iter().collect()
    }

    #[test]
    fn predicates() {
        let (t, f, n) = (Some(true), Some(false), None);
        let cases: &[(&str, Vec<Option<bool>>)] = &[
            ("qty > 1", vec![f, t, n, t]),
            ("qty >= 5 and price < 2", vec![f, t, f, n]),
            ("qty = 1 or region = 'US'", vec![t, t, n, n]),
            ("not qty > 1", vec![t, f, n, f]),
            ("qty in (1, 10)", vec![t, f, n, t]),
            ("qty not in (1, 10)", vec![f, t, n, f]),
            ("qty between 2 and 10", vec![f, t, n, t]),
            ("qty is null", vec![f, f, t, f]),
            ("region is not null", vec![t, t, t, f]),
            ("region like 'E%'", vec![t, f, f, n]),
            ("region ilike 'e%'", vec![t, f, t, n]),
            ("contains(region, 'west')", vec![f, f, t, n]),
            ("starts_with(lower(region), 'eu')", vec![t, f, t, n]),
            ("qty * price > 4", vec![f, t, n, n]),
            ("qty / 2 = 0.5", vec![t, f, n, f]),
            ("qty % 2 = 1", vec![t, t, n, f]),
            ("-qty < 0", vec![t, t, n, t]),
            ("abs(-qty) = qty", vec![t, t, n, t]),
            ("coalesce(qty, 0) = 0", vec![f, f, t, f]),
            ("length(region) = 2", vec![t, t, f, n]),
            ("qty > '4'", vec![f, t, n, t]),
            ("cast(qty as string) = '5'", vec![f, t, n, f]),
            ("(qty > 1) = true", vec![f, t, n, t]),
        ];
        for (text, want) in cases {
            assert_eq!(&rows(text), want, "{text}");
        }
    }

    #[test]
    fn derive_arithmetic_types() {
        let b = batch();
        assert_eq!(Expr::compile("qty + 1", &b.schema()).unwrap().data_type, DataType::Int64);
        assert_eq!(Expr::compile("qty * price", &b.schema()).unwrap().data_type, DataType::Float64);
        assert_eq!(Expr::compile("qty / 2", &b.schema()).unwrap().data_type, DataType::Float64);
        let arr = Expr::compile("42", &b.schema()).unwrap().evaluate(&b).unwrap();
        assert_eq!(arr.len(), 4);
    }

    fn error(text: &str) -> (String, u64, u64) {
        match Expr::compile(text, batch().schema().as_ref()).unwrap_err() {
            Error::Expression { message, line, column, .. } => (message, line, column),
            other => panic!("{text}: unexpected {other}"),
        }
    }

    #[test]
    fn errors_name_position() {
        let cases: &[(&str, &str, u64)] = &[
            ("qty > ", "Expected", 1),
            ("qty >> 1 +", "", 1),
            ("qtty > 1", "unknown column \"qtty\"", 1),
            ("qty > 1 and colour = 'x'", "unknown column \"colour\"", 13),
            ("frob(qty)", "unknown function frob", 1),
            ("region + 1", "arithmetic needs numbers", 1),
            ("qty > 1 qty", "unexpected", 9),
            ("lower(qty, 1)", "takes 1 argument", 1),
            ("qty and price", "expected a boolean", 1),
        ];
        for (text, needle, column) in cases {
            let (message, line, col) = error(text);
            assert!(message.contains(needle), "{text}: {message}");
            assert_eq!(line, 1, "{text}");
            if *column > 1 {
                assert_eq!(col, *column, "{text}: {message}");
            }
        }
    }

    #[test]
    fn check_without_schema() {
        check("a > 1 and lower(b) like 'x%'").unwrap();
        assert!(check("a >").is_err());
        assert!(check("nosuch(a)").is_err());
    }
}
