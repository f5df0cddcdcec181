//! Behaviour tests of the SQL92 selector.

use std::collections::BTreeMap;

use super::{Expression, FilterError, MAX_DEPTH, MAX_EXPRESSION_LEN};

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn eval(expr: &str, pairs: &[(&str, &str)]) -> bool {
    match Expression::parse(expr) {
        Ok(e) => e.matches(&props(pairs)),
        Err(e) => panic!("{expr:?} failed to parse: {e}"),
    }
}

fn err(expr: &str) -> FilterError {
    match Expression::parse(expr) {
        Ok(e) => panic!("{expr:?} parsed as {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn apache_doc_examples_select_as_documented() {
    assert!(eval("a > 5 AND b = 'abc'", &[("a", "6"), ("b", "abc")]));
    assert!(!eval("a > 5 AND b = 'abc'", &[("a", "5"), ("b", "abc")]));
    assert!(!eval("a > 5 AND b = 'abc'", &[("a", "6"), ("b", "abd")]));
    assert!(eval("a BETWEEN 0 AND 3", &[("a", "0")]));
    assert!(eval("a BETWEEN 0 AND 3", &[("a", "3")]));
    assert!(!eval("a BETWEEN 0 AND 3", &[("a", "4")]));
    assert!(eval("TAGS IN ('TagA','TagB')", &[("TAGS", "TagB")]));
    assert!(!eval("TAGS IN ('TagA','TagB')", &[("TAGS", "TagC")]));
}

#[test]
fn each_comparison_operator_on_numbers() {
    let a = [("a", "5")];
    for (expr, want) in [
        ("a = 5", true),
        ("a = 6", false),
        ("a <> 5", false),
        ("a <> 6", true),
        ("a > 4", true),
        ("a > 5", false),
        ("a >= 5", true),
        ("a >= 6", false),
        ("a < 6", true),
        ("a < 5", false),
        ("a <= 5", true),
        ("a <= 4", false),
        ("6 > a", true),
        ("a > -1", true),
        ("a = 5.0", true),
        ("a < 5.5", true),
        ("a > 4.99e0", true),
        ("a = 5L", true),
    ] {
        assert_eq!(eval(expr, &a), want, "{expr}");
    }
    assert!(eval("a = -3", &[("a", "-3")]));
    assert!(eval("a < -2.5", &[("a", "-3.25")]));
    assert!(eval("a = -9223372036854775808", &[("a", "-9223372036854775808")]));
    assert!(eval("a > 9223372036854775806", &[("a", "9223372036854775807")]), "longs compare exactly");
}

#[test]
fn numeric_literal_parses_property_and_unparseable_value_is_false() {
    assert!(eval("a = 10", &[("a", "10")]));
    assert!(eval("a > 1.5", &[("a", "2")]));
    assert!(eval("a = 2", &[("a", "2.0")]));
    for expr in ["a = 1", "a <> 1", "a > 1", "a < 1", "NOT (a = 1)", "a BETWEEN 0 AND 3", "a NOT BETWEEN 0 AND 3"] {
        assert!(!eval(expr, &[("a", "abc")]), "{expr}");
    }
}

#[test]
fn string_literal_compares_strings_and_never_orders() {
    assert!(eval("a = '10'", &[("a", "10")]));
    assert!(!eval("a = '10'", &[("a", "10.0")]), "string equality is textual");
    assert!(eval("a <> 'x'", &[("a", "y")]));
    assert!(eval("a = 'it''s'", &[("a", "it's")]));
    assert!(eval("a = ''", &[("a", "")]));
    for expr in ["a > 'a'", "a >= 'b'", "a < 'c'", "a <= 'b'", "NOT (a > 'a')", "a BETWEEN 'a' AND 'c'"] {
        assert!(!eval(expr, &[("a", "b")]), "{expr}");
    }
}

#[test]
fn two_properties_compare_as_strings_or_numbers() {
    assert!(eval("a = b", &[("a", "x"), ("b", "x")]));
    assert!(eval("a < b", &[("a", "9"), ("b", "10")]));
    assert!(!eval("a < b", &[("a", "x"), ("b", "y")]));
}

#[test]
fn boolean_literals_and_properties() {
    assert!(eval("TRUE", &[]));
    assert!(!eval("FALSE", &[]));
    assert!(eval("NOT FALSE", &[]));
    assert!(eval("flag = TRUE", &[("flag", "true")]));
    assert!(eval("flag = true", &[("flag", "TRUE")]));
    assert!(eval("flag = FALSE", &[("flag", "false")]));
    assert!(!eval("flag = FALSE", &[("flag", "nope")]));
    assert!(eval("TRUE OR a = 1", &[]));
}

#[test]
fn between_and_not_between() {
    assert!(eval("a BETWEEN 1.5 AND 2.5", &[("a", "2")]));
    assert!(eval("a NOT BETWEEN 0 AND 3", &[("a", "4")]));
    assert!(eval("a NOT BETWEEN 0 AND 3", &[("a", "-1")]));
    assert!(!eval("a NOT BETWEEN 0 AND 3", &[("a", "2")]));
    assert!(eval("a between 0 and 3 and b = 1", &[("a", "1"), ("b", "1")]));
}

#[test]
fn in_and_not_in() {
    assert!(eval("t IN ('x')", &[("t", "x")]));
    assert!(eval("t NOT IN ('a', 'b')", &[("t", "c")]));
    assert!(!eval("t NOT IN ('a', 'b')", &[("t", "a")]));
}

#[test]
fn is_null_and_is_not_null() {
    assert!(eval("a IS NULL", &[]));
    assert!(!eval("a IS NULL", &[("a", "")]));
    assert!(eval("a IS NOT NULL", &[("a", "")]));
    assert!(!eval("a IS NOT NULL", &[]));
    assert!(eval("a is not null and b is null", &[("a", "1")]));
}

#[test]
fn string_functions_and_their_negations() {
    let p = [("s", "hello world")];
    assert!(eval("s CONTAINS 'lo w'", &p));
    assert!(!eval("s CONTAINS 'xyz'", &p));
    assert!(eval("s NOT CONTAINS 'xyz'", &p));
    assert!(eval("s STARTSWITH 'hell'", &p));
    assert!(eval("s NOT STARTSWITH 'world'", &p));
    assert!(eval("s ENDSWITH 'world'", &p));
    assert!(eval("s not endswith 'hello'", &p));
    assert!(!eval("s NOT CONTAINS 'x'", &[]), "missing property");
}

#[test]
fn missing_property_makes_every_comparison_false_even_under_not() {
    for expr in [
        "a = 1",
        "a <> 1",
        "a > 1",
        "a = 'x'",
        "a <> 'x'",
        "NOT (a > 1)",
        "NOT a > 1",
        "NOT NOT (a > 1)",
        "NOT (a = 'x')",
        "a IN ('x')",
        "a NOT IN ('x')",
        "a BETWEEN 0 AND 3",
        "a NOT BETWEEN 0 AND 3",
        "a CONTAINS 'x'",
        "NOT (a > 1 AND b = 1)",
    ] {
        assert!(!eval(expr, &[("b", "1")]), "{expr}");
    }
}

#[test]
fn unknown_follows_three_valued_logic() {
    assert!(eval("a > 1 OR b = 1", &[("b", "1")]), "unknown OR true");
    assert!(!eval("a > 1 OR b = 2", &[("b", "1")]), "unknown OR false");
    assert!(eval("NOT (a > 1 AND b = 2)", &[("b", "1")]), "NOT (unknown AND false)");
    assert!(!eval("NOT (a > 1 OR b = 2)", &[("b", "1")]), "NOT (unknown OR false)");
}

#[test]
fn and_binds_tighter_than_or() {
    // a = 1 OR (b = 2 AND c = 3)
    assert!(eval("a = 1 OR b = 2 AND c = 3", &[("a", "1")]));
    assert!(eval("a = 1 OR b = 2 AND c = 3", &[("b", "2"), ("c", "3")]));
    assert!(!eval("a = 1 OR b = 2 AND c = 3", &[("b", "2"), ("c", "4")]));
    assert!(!eval("(a = 1 OR b = 2) AND c = 3", &[("a", "1")]));
    assert!(eval("NOT a = 1 AND b = 2", &[("a", "2"), ("b", "2")]), "NOT binds tighter than AND");
}

#[test]
fn keywords_are_case_insensitive_and_identifiers_allow_dots_and_dollars() {
    assert!(eval("a = 1 oR B = 2", &[("B", "2")]));
    assert!(eval("not (x.y$z is null)", &[("x.y$z", "v")]));
    assert!(eval("_a = 'v'", &[("_a", "v")]));
    assert!(!eval("A = 1", &[("a", "1")]), "property names are case-sensitive");
}

#[test]
fn expression_is_shareable_and_reports_its_text() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Expression>();
    let e = Expression::parse("a = 1").map_err(|e| e.to_string());
    assert_eq!(e.map(|e| e.as_str().to_owned()), Ok("a = 1".to_owned()));
}

#[test]
fn malformed_inputs_are_rejected_with_positions() {
    assert_eq!(err(""), FilterError::Empty);
    assert_eq!(err("  \n\t"), FilterError::Empty);
    assert_eq!(err("(a = 1"), FilterError::UnclosedParen { pos: 0 });
    assert_eq!(err("((a = 1)"), FilterError::UnclosedParen { pos: 0 });
    assert_eq!(err("a = 1)"), FilterError::UnmatchedParen { pos: 5 });
    assert_eq!(err("a = 'abc"), FilterError::UnterminatedString { pos: 4 });
    assert_eq!(err("a = 'it''s"), FilterError::UnterminatedString { pos: 4 });
    assert!(matches!(err("a = 1 b = 2"), FilterError::TrailingInput { pos: 6, .. }));
    assert!(matches!(err("a = 1 2"), FilterError::TrailingInput { pos: 6, .. }));
    assert!(matches!(err("a != 1"), FilterError::UnexpectedChar { pos: 2, ch: '!' }));
    assert!(matches!(err("a == 1"), FilterError::Unexpected { pos: 3, .. }));
    assert!(matches!(err("a LIKE 'x%'"), FilterError::Unexpected { pos: 2, .. }));
    assert!(matches!(err("a + 1 = 2"), FilterError::UnexpectedChar { ch: '+', .. }));
    assert!(matches!(err("a"), FilterError::Unexpected { pos: 1, .. }));
    assert!(matches!(err("a ="), FilterError::Unexpected { pos: 3, .. }));
    assert!(matches!(err("a = 1 AND"), FilterError::Unexpected { pos: 9, .. }));
    assert!(matches!(err("()"), FilterError::Unexpected { pos: 1, .. }));
    assert!(matches!(err("a BETWEEN 1 OR 2"), FilterError::Unexpected { .. }));
    assert!(matches!(err("a IN ()"), FilterError::Unexpected { .. }));
    assert!(matches!(err("a IN ('x',)"), FilterError::Unexpected { .. }));
    assert!(matches!(err("a IN ('x', 1)"), FilterError::Unexpected { .. }));
    assert!(matches!(err("a IS 1"), FilterError::Unexpected { .. }));
    assert!(matches!(err("a CONTAINS 1"), FilterError::Unexpected { .. }));
    assert!(matches!(err("TRUE NOT"), FilterError::Unexpected { .. }));
    assert!(matches!(err("a = 12abc"), FilterError::InvalidNumber { pos: 4, .. }));
    assert!(matches!(err("a = 1.2.3"), FilterError::InvalidNumber { .. }));
    assert!(matches!(err("a = 99999999999999999999"), FilterError::InvalidNumber { .. }));
    assert!(matches!(err("a = 1e999"), FilterError::InvalidNumber { .. }));
    assert!(matches!(err("a = 'é' AND é = 1"), FilterError::UnexpectedChar { ch: 'é', .. }));
}

#[test]
fn error_messages_name_the_problem_and_position() {
    assert_eq!(err("a = 'x").to_string(), "unterminated string literal starting at position 4");
    assert_eq!(err("a = 1 b").to_string(), "unexpected identifier `b` at position 6 after a complete expression");
    assert_eq!(err("a >").to_string(), "expected a property or a literal at position 3, found end of expression");
}

#[test]
fn oversized_and_overnested_expressions_are_rejected() {
    let long = format!("a = '{}'", "x".repeat(MAX_EXPRESSION_LEN));
    assert!(matches!(err(&long), FilterError::TooLong { .. }));

    let ok = format!("{}a = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(eval(&ok, &[("a", "1")]));
    let deep = format!("{}a = 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(matches!(err(&deep), FilterError::TooDeep { .. }));
    let nots = format!("{}a = 1", "NOT ".repeat(MAX_DEPTH + 1));
    assert!(matches!(err(&nots), FilterError::TooDeep { .. }));
    let parens = "(".repeat(MAX_EXPRESSION_LEN);
    assert!(matches!(err(&parens), FilterError::TooDeep { .. }));

    // Long flat chains are iterative, not recursive.
    let chain = vec!["a = 1"; 400].join(" OR ");
    assert!(chain.len() <= MAX_EXPRESSION_LEN);
    assert!(eval(&chain, &[("a", "1")]));
}

#[test]
fn random_inputs_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const PIECES: [&str; 24] = [
        "a", " ", "(", ")", "'", "''", "=", "<>", "<", ">=", "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "1",
        "-2.5", ",", "CONTAINS", "TRUE", "é", "\0",
    ];
    let p = props(&[("a", "1"), ("b", "x")]);
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let text: String = if next() % 2 == 0 {
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
        };
        if let Ok(e) = Expression::parse(&text) {
            let _ = e.matches(&p);
        }
    }
}
