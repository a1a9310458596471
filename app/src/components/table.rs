//! The data table of every list: a card around a table, its column headers, one row a record,
//! and what to say when there is none.

use leptos::prelude::*;
use std::borrow::Cow;

/// A column header. A label written with a leading `>` (`">Amount"`) is right-aligned (the
/// `right` class, as numbers are); an empty label makes an empty header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Col {
    label: Cow<'static, str>,
    class: Option<&'static str>,
}

impl Col {
    /// A header of a number column in the analytics tables (the `num` class).
    pub fn num(label: impl Into<Cow<'static, str>>) -> Self {
        Col { label: label.into(), class: Some("num") }
    }

    /// The `<th>`, with a class attribute only when the column has a class.
    fn header(self) -> AnyView {
        let label = self.label.into_owned();
        match self.class {
            Some(class) => view! { <th class=class>{label}</th> }.into_any(),
            None => view! { <th>{label}</th> }.into_any(),
        }
    }

    fn parse(label: Cow<'static, str>) -> Self {
        match label.strip_prefix('>') {
            Some(rest) => Col { label: Cow::Owned(rest.to_string()), class: Some("right") },
            None => Col { label, class: None },
        }
    }
}

impl From<&'static str> for Col {
    fn from(label: &'static str) -> Self {
        Col::parse(Cow::Borrowed(label))
    }
}

impl From<String> for Col {
    fn from(label: String) -> Self {
        Col::parse(Cow::Owned(label))
    }
}

/// The headers of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cols(Vec<Col>);

impl<const N: usize> From<[&'static str; N]> for Cols {
    fn from(labels: [&'static str; N]) -> Self {
        Cols(labels.into_iter().map(Col::from).collect())
    }
}

impl From<Vec<Col>> for Cols {
    fn from(cols: Vec<Col>) -> Self {
        Cols(cols)
    }
}

/// A table of `rows`, each drawn by `row` as a `<tr>`:
///
/// ```ignore
/// <DataTable class="table keys" cols=["Name", ">Amount", ""] rows=list empty="No keys yet." row=|k| view! { <tr>…</tr> }/>
/// ```
///
/// With no rows, `empty` is said in a row of the table, or `none` is said in a paragraph in
/// place of the whole table.
#[component]
pub fn DataTable<T, F, V>(
    /// The classes of the `<table>` (`table`, `table keys`, `an-table`, …).
    #[prop(default = "table")]
    class: &'static str,
    /// The column headers.
    #[prop(into)]
    cols: Cols,
    /// Header cells before the columns (a "select all" checkbox).
    #[prop(optional, into)]
    lead: Option<AnyView>,
    /// The records.
    rows: Vec<T>,
    /// Draws one record as a `<tr>`.
    row: F,
    /// Said in a table row when there are no records.
    #[prop(optional, into)]
    empty: Option<&'static str>,
    /// Said in a paragraph instead of the table when there are no records.
    #[prop(optional, into)]
    none: Option<&'static str>,
    /// Without the card around the table.
    #[prop(optional)]
    bare: bool,
) -> impl IntoView
where
    T: 'static,
    F: Fn(T) -> V + 'static,
    V: IntoView + 'static,
{
    if rows.is_empty() {
        if let Some(text) = none {
            return view! { <p class="muted">{text}</p> }.into_any();
        }
    }
    let span = cols.0.len() + usize::from(lead.is_some());
    let body = if rows.is_empty() {
        empty.map(|text| view! { <tr><td colspan=span class="empty">{text}</td></tr> }).into_any()
    } else {
        rows.into_iter().map(row).collect_view().into_any()
    };
    let table = view! {
        <table class=class>
            <thead>
                <tr>
                    {lead}
                    {cols.0.into_iter().map(Col::header).collect_view()}
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    };
    if bare { table.into_any() } else { view! { <div class="card table-card">{table}</div> }.into_any() }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::DataTable;
    use leptos::prelude::*;

    fn render(rows: Vec<u32>) -> String {
        Owner::new().with(|| {
            view! { <DataTable class="table nums" cols=["Name", ">Amount"] rows empty="Nothing yet." row=|n| view! { <tr><td>{n}</td></tr> }/> }.to_html()
        })
    }

    #[test]
    fn rows_under_their_headers_in_a_card() {
        let h = render(vec![7, 8]);
        assert!(h.starts_with(r#"<div class="card table-card"><table class="table nums">"#), "{h}");
        assert!(h.contains(r#"<th>Name</th><th class="right">Amount</th>"#), "{h}");
        assert!(h.contains("<td>7</td>") && h.contains("<td>8</td>"), "{h}");
        assert!(!h.contains("Nothing yet."), "{h}");
    }

    #[test]
    fn no_rows_say_so_across_every_column() {
        let h = render(Vec::new());
        assert!(h.contains(r#"<td colspan="2" class="empty">Nothing yet.</td>"#), "{h}");
    }

    #[test]
    fn none_replaces_the_table() {
        let rows: Vec<u32> = Vec::new();
        let h = Owner::new().with(|| view! { <DataTable cols=["Name"] rows none="No rows." row=|n| view! { <tr><td>{n}</td></tr> }/> }.to_html());
        assert_eq!(h, r#"<p class="muted">No rows.</p>"#);
    }
}
