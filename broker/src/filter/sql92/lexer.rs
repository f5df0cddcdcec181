//! Tokenizer for SQL92 selectors: turns the text into positioned tokens.

use super::FilterError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A property name.
    Ident(String),
    /// A single-quoted string literal, with `''` already unescaped.
    Str(String),
    /// An integer literal (Java `long`).
    Long(i64),
    /// A decimal literal (Java `double`).
    Double(f64),
    LParen,
    RParen,
    Comma,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Not,
    Between,
    In,
    Is,
    Null,
    True,
    False,
    Contains,
    StartsWith,
    EndsWith,
}

impl Tok {
    /// How the token reads in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("identifier `{name}`"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Long(v) => format!("number {v}"),
            Tok::Double(v) => format!("number {v}"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`<>`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            keyword => format!("keyword {}", keyword_name(keyword)),
        }
    }
}

fn keyword_name(tok: &Tok) -> &'static str {
    match tok {
        Tok::And => "AND",
        Tok::Or => "OR",
        Tok::Not => "NOT",
        Tok::Between => "BETWEEN",
        Tok::In => "IN",
        Tok::Is => "IS",
        Tok::Null => "NULL",
        Tok::True => "TRUE",
        Tok::False => "FALSE",
        Tok::Contains => "CONTAINS",
        Tok::StartsWith => "STARTSWITH",
        _ => "ENDSWITH",
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.'
}

fn keyword(word: &str) -> Option<Tok> {
    const KEYWORDS: [(&str, Tok); 12] = [
        ("AND", Tok::And),
        ("OR", Tok::Or),
        ("NOT", Tok::Not),
        ("BETWEEN", Tok::Between),
        ("IN", Tok::In),
        ("IS", Tok::Is),
        ("NULL", Tok::Null),
        ("TRUE", Tok::True),
        ("FALSE", Tok::False),
        ("CONTAINS", Tok::Contains),
        ("STARTSWITH", Tok::StartsWith),
        ("ENDSWITH", Tok::EndsWith),
    ];
    KEYWORDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(word)).map(|(_, t)| t.clone())
}

/// Splits `text` into tokens; the caller has already bounded its length.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let single = |tok| Token { tok, pos: start };
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'(' => out.push(single(Tok::LParen)),
            b')' => out.push(single(Tok::RParen)),
            b',' => out.push(single(Tok::Comma)),
            b'=' => out.push(single(Tok::Eq)),
            b'>' if bytes.get(i + 1) == Some(&b'=') => {
                out.push(single(Tok::Ge));
                i += 1;
            }
            b'>' => out.push(single(Tok::Gt)),
            b'<' if bytes.get(i + 1) == Some(&b'=') => {
                out.push(single(Tok::Le));
                i += 1;
            }
            b'<' if bytes.get(i + 1) == Some(&b'>') => {
                out.push(single(Tok::Ne));
                i += 1;
            }
            b'<' => out.push(single(Tok::Lt)),
            b'\'' => {
                let (s, end) = string_literal(text, start)?;
                out.push(Token { tok: Tok::Str(s), pos: start });
                i = end;
                continue;
            }
            _ if starts_number(bytes, i) => {
                let (tok, end) = number_literal(text, start)?;
                out.push(Token { tok, pos: start });
                i = end;
                continue;
            }
            _ if is_ident_start(b) => {
                while bytes.get(i).copied().is_some_and(is_ident_part) {
                    i += 1;
                }
                let word = text.get(start..i).unwrap_or_default();
                let tok = keyword(word).unwrap_or_else(|| Tok::Ident(word.to_owned()));
                out.push(Token { tok, pos: start });
                continue;
            }
            _ => {
                let ch = text.get(start..).and_then(|rest| rest.chars().next()).unwrap_or('\u{fffd}');
                return Err(FilterError::UnexpectedChar { pos: start, ch });
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Whether a numeric literal (optionally signed with `-`) starts at `i`.
fn starts_number(bytes: &[u8], i: usize) -> bool {
    let digit_at = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
    let unsigned_at = |j: usize| digit_at(j) || (bytes.get(j) == Some(&b'.') && digit_at(j + 1));
    unsigned_at(i) || (bytes.get(i) == Some(&b'-') && unsigned_at(i + 1))
}

/// Reads the string literal whose opening quote is at `start`; returns it and the offset after it.
fn string_literal(text: &str, start: usize) -> Result<(String, usize), FilterError> {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut seg = start + 1;
    let mut i = start + 1;
    loop {
        match bytes.get(i) {
            None => return Err(FilterError::UnterminatedString { pos: start }),
            Some(b'\'') => {
                value.push_str(text.get(seg..i).unwrap_or_default());
                if bytes.get(i + 1) == Some(&b'\'') {
                    value.push('\'');
                    i += 2;
                    seg = i;
                } else {
                    return Ok((value, i + 1));
                }
            }
            Some(_) => i += 1,
        }
    }
}

/// Reads a numeric literal at `start`: `-`? digits (`.` digits)? exponent? with an optional `L`
/// suffix on integers. Returns the token and the offset after it.
fn number_literal(text: &str, start: usize) -> Result<(Tok, usize), FilterError> {
    let bytes = text.as_bytes();
    let digits = |mut j: usize| {
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut i = if bytes.get(start) == Some(&b'-') { start + 1 } else { start };
    i = digits(i);
    let mut decimal = false;
    if bytes.get(i) == Some(&b'.') {
        decimal = true;
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        decimal = true;
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i);
    }
    let body = text.get(start..i).unwrap_or_default();
    let long_suffix = !decimal && matches!(bytes.get(i), Some(b'l' | b'L'));
    let end = if long_suffix { i + 1 } else { i };
    let invalid = || FilterError::InvalidNumber { pos: start, text: text.get(start..end).unwrap_or_default().into() };
    if bytes.get(end).copied().is_some_and(is_ident_part) {
        let mut j = end;
        while bytes.get(j).copied().is_some_and(is_ident_part) {
            j += 1;
        }
        let text = text.get(start..j).unwrap_or_default().into();
        return Err(FilterError::InvalidNumber { pos: start, text });
    }
    let tok = if decimal {
        match body.parse::<f64>() {
            Ok(v) if v.is_finite() => Tok::Double(v),
            _ => return Err(invalid()),
        }
    } else {
        Tok::Long(body.parse::<i64>().map_err(|_| invalid())?)
    };
    Ok((tok, end))
}
