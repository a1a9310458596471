//! CSV export: RFC 4180 quoting (by the `csv` crate) and neutralised formula cells, so a sheet
//! opened in a spreadsheet never runs a cell as a formula (targets.md R11).

use crate::{Error, Result};

/// Prefixes a cell that a spreadsheet would read as a formula with `'`. A plain signed number
/// (`-12.50`, a clawback) is a number, not a formula, and stays numeric.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !is_number(cell) => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// `[+-]digits[.digits]` and nothing else.
fn is_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    !int.is_empty() && !frac.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Writes rows (the first is the header) as CSV with CRLF line ends.
pub fn to_csv(rows: &[Vec<String>]) -> Result<String> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for row in rows {
        w.write_record(row.iter().map(|c| neutralise(c))).map_err(|e| Error::Internal(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_quoting_follows_rfc_4180() {
        let rows = vec![
            vec!["name".to_string(), "note".to_string()],
            vec!["=HYPERLINK(\"x\")".to_string(), "a,b".to_string()],
            vec!["+1+1".to_string(), "say \"hi\"".to_string()],
            vec!["-2+3".to_string(), "@SUM(A1)".to_string()],
            vec!["\tx".to_string(), "line\nbreak".to_string()],
        ];
        let out = to_csv(&rows).unwrap();
        assert_eq!(out, "name,note\r\n\"'=HYPERLINK(\"\"x\"\")\",\"a,b\"\r\n'+1+1,\"say \"\"hi\"\"\"\r\n'-2+3,'@SUM(A1)\r\n'\tx,\"line\nbreak\"\r\n");
    }

    #[test]
    fn plain_cells_are_untouched() {
        assert_eq!(neutralise("Ava Thompson"), "Ava Thompson");
        assert_eq!(neutralise("12.50"), "12.50");
    }

    #[test]
    fn signed_numbers_stay_numbers_and_anything_else_with_a_sign_is_neutralised() {
        for n in ["-12.50", "+3", "-0.01", "-7"] {
            assert_eq!(neutralise(n), n);
        }
        for f in ["-", "-.5", "-1.", "-1e5", "-1.2.3", "+A1", "-SUM(A1)", "- 1", "=1"] {
            assert_eq!(neutralise(f), format!("'{f}"), "{f}");
        }
    }
}
