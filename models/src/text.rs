//! Text every database engine can store: the one check that every write path (REST bodies,
//! server-function arguments, CSV imports, portal forms, messages) applies to its text input.
//!
//! PostgreSQL `text` cannot hold a NUL byte, and no field of Trellis has a use for the other C0
//! control characters; multi-line texts (notes, messages, templates) keep tab, line feed and
//! carriage return.

use crate::value::ParseError;

/// Which whitespace controls a text may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line (names, emails, ids): no control character at all.
    Line,
    /// Several lines (notes, messages, templates): tab, line feed and carriage return allowed.
    Multiline,
}

/// The first control character `text` may not contain, if any.
pub fn forbidden_char(text: &str, kind: TextKind) -> Option<char> {
    text.chars().find(|&c| {
        let control = c.is_control() && (c as u32) < 0x20 || c == '\u{7f}';
        control && !(kind == TextKind::Multiline && matches!(c, '\t' | '\n' | '\r'))
    })
}

/// Refuses a text with a forbidden control character, naming it for people.
pub fn check(text: &str, kind: TextKind) -> Result<(), ParseError> {
    match forbidden_char(text, kind) {
        None => Ok(()),
        Some(c) => Err(ParseError(format!("must not contain the control character U+{:04X}", c as u32))),
    }
}

/// Walks a JSON value and returns the path (`name`, `tiers[0].name`, `custom.niche`) and reason
/// of the first string — value or object key — that is not storable text. Strings anywhere in a
/// body are checked as multi-line text; services check their one-line fields themselves.
pub fn check_json(value: &serde_json::Value) -> Result<(), (String, ParseError)> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Result<(), (String, ParseError)> {
        match v {
            serde_json::Value::String(s) => check(s, TextKind::Multiline).map_err(|e| (path.clone(), e)),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    check(k, TextKind::Line).map_err(|e| (path.clone(), e))?;
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_every_control_multiline_keeps_whitespace() {
        assert!(check("Ava Thompson", TextKind::Line).is_ok());
        assert!(check("a\u{0}b", TextKind::Line).is_err());
        assert!(check("a\u{0}b", TextKind::Multiline).is_err());
        assert!(check("a\tb", TextKind::Line).is_err());
        assert!(check("line one\r\nline\ttwo", TextKind::Multiline).is_ok());
        assert!(check("bell\u{7}", TextKind::Multiline).is_err());
        assert!(check("del\u{7f}", TextKind::Multiline).is_err());
        assert!(check("naïve — ünïcode 😀", TextKind::Line).is_ok());
        assert_eq!(check("x\u{1b}", TextKind::Line).unwrap_err().0, "must not contain the control character U+001B");
    }

    #[test]
    fn json_paths_name_the_field() {
        let v = serde_json::json!({"name": "ok", "tiers": [{"name": "ok"}, {"name": "b\u{0}ad"}]});
        assert_eq!(check_json(&v).unwrap_err().0, "tiers[1].name");
        let v = serde_json::json!({"custom": {"ni\u{0}che": "x"}});
        assert_eq!(check_json(&v).unwrap_err().0, "custom.ni\u{0}che");
        assert!(check_json(&serde_json::json!({"note": "two\nlines", "n": 1})).is_ok());
    }
}
