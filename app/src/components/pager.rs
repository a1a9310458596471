//! The one pager: which rows are shown, previous and next page, "Page n of m".

use leptos::prelude::*;
use models::page::Page;

/// Links to the previous and next page of a list, with the rows shown and the page number.
/// Reads only the numbers of [`Page`]; `href` makes the address of a page (from 1).
#[component]
pub fn Pager<H>(
    /// Rows matching, over all pages.
    total: u64,
    /// The page shown, from 1.
    page: u64,
    /// Rows per page.
    per_page: u64,
    /// The address of page `n`.
    href: H,
) -> impl IntoView
where
    H: Fn(u64) -> String + 'static,
{
    let p = Page::<()>::numbers(total, page, per_page);
    let current = p.current();
    let link = |to: Option<u64>, label: &'static str, rel: &'static str| match to {
        Some(n) => view! { <a class="btn" href=href(n) rel=rel>{label}</a> }.into_any(),
        None => view! { <span class="btn disabled">{label}</span> }.into_any(),
    };
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="muted">{format!("{}–{} of {}", p.first_row(), p.last_row(), p.total)}</span>
            <span class="pager-links">
                {link(p.has_prev().then(|| current - 1), "← Previous", "prev")}
                <span class="muted">{format!("Page {current} of {}", p.pages())}</span>
                {link(p.has_next().then(|| current + 1), "Next →", "next")}
            </span>
        </nav>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::Pager;
    use leptos::prelude::*;

    fn html(total: u64, page: u64, per_page: u64) -> String {
        Owner::new().with(|| view! { <Pager total page per_page href=|n| format!("/list?page={n}")/> }.to_html())
    }

    #[test]
    fn a_middle_page_links_both_ways() {
        let h = html(45, 2, 20);
        assert!(h.contains("21–40 of 45"), "{h}");
        assert!(h.contains("Page 2 of 3"), "{h}");
        assert!(h.contains(r#"href="/list?page=1" rel="prev""#), "{h}");
        assert!(h.contains(r#"href="/list?page=3" rel="next""#), "{h}");
    }

    #[test]
    fn the_ends_disable_their_link() {
        let h = html(5, 1, 20);
        assert!(h.contains("1–5 of 5") && h.contains("Page 1 of 1"), "{h}");
        assert!(!h.contains("href="), "{h}");
        assert_eq!(h.matches("btn disabled").count(), 2, "{h}");
    }
}
