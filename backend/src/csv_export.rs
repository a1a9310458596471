//! CSV export: RFC 4180 quoting (by the `csv` crate) and neutralised formula cells, so a sheet
//! opened in a spreadsheet never runs a cell as a formula (targets.md R11).

use crate::{Error, Result};

/// Prefixes a cell that a spreadsheet would read as a formula with `'`.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
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
            vec!["+1".to_string(), "say \"hi\"".to_string()],
            vec!["-2".to_string(), "@SUM(A1)".to_string()],
            vec!["\tx".to_string(), "line\nbreak".to_string()],
        ];
        let out = to_csv(&rows).unwrap();
        assert_eq!(
            out,
            "name,note\r\n\"'=HYPERLINK(\"\"x\"\")\",\"a,b\"\r\n'+1,\"say \"\"hi\"\"\"\r\n'-2,'@SUM(A1)\r\n'\tx,\"line\nbreak\"\r\n"
        );
    }

    #[test]
    fn plain_cells_are_untouched() {
        assert_eq!(neutralise("Ava Thompson"), "Ava Thompson");
        assert_eq!(neutralise("12.50"), "12.50");
    }
}
