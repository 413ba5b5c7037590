//! Plain aligned text tables for terminal output.

use std::fmt::Write;

/// Columns whose cells are all numbers (`12`, `3.5`, `100.0%`) are right-aligned, the others
/// left-aligned.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let numeric: Vec<bool> = (0..headers.len())
        .map(|column| rows.iter().all(|row| row.get(column).is_none_or(|cell| is_number(cell))))
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            let sep = if i == 0 { "" } else { "  " };
            if numeric[i] {
                let _ = write!(out, "{sep}{cell:>width$}");
            } else {
                let _ = write!(out, "{sep}{cell:<width$}");
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut out, &mut headers.iter().copied());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &mut rule.iter().map(String::as_str));
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
    out
}

fn is_number(cell: &str) -> bool {
    let digits = cell.trim_end_matches('%');
    !digits.is_empty() && digits.parse::<f64>().is_ok()
}
