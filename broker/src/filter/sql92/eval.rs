//! Evaluation of a parsed selector against message properties, in SQL's three-valued logic:
//! `None` is "unknown" (a missing property, or a value that cannot be compared), it propagates
//! through `NOT`, and only `Some(true)` selects a message.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::parser::{CmpOp, Node, Operand, StrOp};

/// A resolved operand. Property values stay apart from string literals: ordering comparisons
/// parse property strings as numbers but never accept a string literal.
#[derive(Clone, Copy)]
enum Val<'a> {
    Prop(&'a str),
    Str(&'a str),
    Long(i64),
    Double(f64),
    Bool(bool),
}

#[derive(Clone, Copy)]
enum Num {
    Long(i64),
    Double(f64),
}

fn resolve<'a>(operand: &'a Operand, props: &'a BTreeMap<String, String>) -> Option<Val<'a>> {
    Some(match operand {
        Operand::Property(name) => Val::Prop(props.get(name)?),
        Operand::Str(s) => Val::Str(s),
        Operand::Long(v) => Val::Long(*v),
        Operand::Double(v) => Val::Double(*v),
        Operand::Bool(b) => Val::Bool(*b),
    })
}

/// Parses a string as Java would a `long`, else a `double`.
fn parse_num(s: &str) -> Option<Num> {
    if let Ok(v) = s.parse::<i64>() {
        return Some(Num::Long(v));
    }
    s.parse::<f64>().ok().filter(|v| !v.is_nan()).map(Num::Double)
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    let as_f64 = |n| match n {
        Num::Long(v) => v as f64,
        Num::Double(v) => v,
    };
    match (a, b) {
        (Num::Long(x), Num::Long(y)) => Some(x.cmp(&y)),
        _ => as_f64(a).partial_cmp(&as_f64(b)),
    }
}

fn as_num(v: Val<'_>) -> Option<Num> {
    match v {
        Val::Prop(s) | Val::Str(s) => parse_num(s),
        Val::Long(x) => Some(Num::Long(x)),
        Val::Double(x) => Some(Num::Double(x)),
        Val::Bool(_) => None,
    }
}

/// `=`: strings compare as strings; against a number the string is parsed as one; against a
/// boolean it must read `true` or `false`.
fn equal(l: Val<'_>, r: Val<'_>) -> Option<bool> {
    match (l, r) {
        (Val::Prop(a) | Val::Str(a), Val::Prop(b) | Val::Str(b)) => Some(a == b),
        (Val::Bool(a), Val::Bool(b)) => Some(a == b),
        (Val::Prop(s) | Val::Str(s), Val::Bool(b)) | (Val::Bool(b), Val::Prop(s) | Val::Str(s)) => {
            parse_bool(s).map(|v| v == b)
        }
        (Val::Bool(_), _) | (_, Val::Bool(_)) => None,
        _ => num_cmp(as_num(l)?, as_num(r)?).map(|o| o == Ordering::Equal),
    }
}

/// `<`, `>` and friends: numeric only (property strings are parsed); string literals and
/// booleans are never ordered.
fn order(l: Val<'_>, r: Val<'_>) -> Option<Ordering> {
    match (l, r) {
        (Val::Str(_) | Val::Bool(_), _) | (_, Val::Str(_) | Val::Bool(_)) => None,
        _ => num_cmp(as_num(l)?, as_num(r)?),
    }
}

fn compare(op: CmpOp, l: Val<'_>, r: Val<'_>) -> Option<bool> {
    match op {
        CmpOp::Eq => equal(l, r),
        CmpOp::Ne => equal(l, r).map(|e| !e),
        CmpOp::Gt => order(l, r).map(Ordering::is_gt),
        CmpOp::Ge => order(l, r).map(Ordering::is_ge),
        CmpOp::Lt => order(l, r).map(Ordering::is_lt),
        CmpOp::Le => order(l, r).map(Ordering::is_le),
    }
}

/// Kleene `AND` of two truth values.
fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn negate_if(negated: bool, v: Option<bool>) -> Option<bool> {
    v.map(|b| b != negated)
}

fn string_of(v: Val<'_>) -> Option<&str> {
    match v {
        Val::Prop(s) | Val::Str(s) => Some(s),
        _ => None,
    }
}

/// Evaluates `node`; `None` means unknown.
pub(crate) fn eval(node: &Node, props: &BTreeMap<String, String>) -> Option<bool> {
    match node {
        Node::Const(b) => Some(*b),
        Node::And(terms) => {
            let mut acc = Some(true);
            for term in terms {
                acc = and3(acc, eval(term, props));
                if acc == Some(false) {
                    break;
                }
            }
            acc
        }
        Node::Or(terms) => {
            let mut acc = Some(false);
            for term in terms {
                // a OR b == NOT (NOT a AND NOT b)
                acc = and3(acc.map(|b| !b), eval(term, props).map(|b| !b)).map(|b| !b);
                if acc == Some(true) {
                    break;
                }
            }
            acc
        }
        Node::Not(inner) => eval(inner, props).map(|b| !b),
        Node::Compare { op, left, right } => compare(*op, resolve(left, props)?, resolve(right, props)?),
        Node::Between { value, low, high, negated } => {
            let v = resolve(value, props)?;
            let ge = order(v, resolve(low, props)?).map(Ordering::is_ge);
            let le = order(v, resolve(high, props)?).map(Ordering::is_le);
            negate_if(*negated, and3(ge, le))
        }
        Node::In { value, list, negated } => {
            let s = string_of(resolve(value, props)?)?;
            negate_if(*negated, Some(list.iter().any(|item| item == s)))
        }
        Node::IsNull { value, negated } => Some(resolve(value, props).is_none() != *negated),
        Node::StrFn { op, value, pattern, negated } => {
            let s = string_of(resolve(value, props)?)?;
            let hit = match op {
                StrOp::Contains => s.contains(pattern.as_str()),
                StrOp::StartsWith => s.starts_with(pattern.as_str()),
                StrOp::EndsWith => s.ends_with(pattern.as_str()),
            };
            negate_if(*negated, Some(hit))
        }
    }
}
