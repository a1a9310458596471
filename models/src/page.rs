//! One paging contract for every list that comes in pages: the rows of this page, how many
//! match in all, which page this is (from 1) and how many rows a page holds. The pager of the
//! app reads only these numbers.

use serde::{Deserialize, Serialize};

/// A page of a longer list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page's rows.
    pub items: Vec<T>,
    /// Rows matching, over all pages.
    pub total: u64,
    /// The page shown, from 1.
    pub page: u64,
    /// Rows per page (at least 1 is assumed).
    pub per_page: u64,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self { items: Vec::new(), total: 0, page: 1, per_page: 1 }
    }
}

impl<T> Page<T> {
    /// The numbers of a page without its rows (what a pager needs).
    pub fn numbers(total: u64, page: u64, per_page: u64) -> Self {
        Self { items: Vec::new(), total, page, per_page }
    }

    /// How many pages there are (at least 1, so an empty list is "page 1 of 1").
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }

    /// The page shown, kept between 1 and [`Page::pages`].
    pub fn current(&self) -> u64 {
        self.page.clamp(1, self.pages())
    }

    /// Whether a page comes before this one.
    pub fn has_prev(&self) -> bool {
        self.current() > 1
    }

    /// Whether a page comes after this one.
    pub fn has_next(&self) -> bool {
        self.current() < self.pages()
    }

    /// The number (from 1) of this page's first row; 0 when nothing matches.
    pub fn first_row(&self) -> u64 {
        if self.total == 0 { 0 } else { ((self.current() - 1) * self.per_page.max(1) + 1).min(self.total) }
    }

    /// The number of this page's last row; 0 when nothing matches.
    pub fn last_row(&self) -> u64 {
        (self.current() * self.per_page.max(1)).min(self.total)
    }

    /// The same page with each row changed by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, page: self.page, per_page: self.per_page }
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn numbers_of_a_middle_page() {
        let p = Page::<()>::numbers(45, 2, 20);
        assert_eq!((p.pages(), p.first_row(), p.last_row(), p.has_prev(), p.has_next()), (3, 21, 40, true, true));
    }

    #[test]
    fn last_page_is_partial() {
        let p = Page::<()>::numbers(45, 3, 20);
        assert_eq!((p.first_row(), p.last_row(), p.has_next()), (41, 45, false));
    }

    #[test]
    fn an_empty_list_is_one_page() {
        let p = Page::<()>::numbers(0, 1, 20);
        assert_eq!((p.pages(), p.first_row(), p.last_row(), p.has_prev(), p.has_next()), (1, 0, 0, false, false));
    }

    #[test]
    fn a_page_past_the_end_counts_as_the_last() {
        let p = Page::<()>::numbers(10, 9, 5);
        assert_eq!((p.current(), p.has_next(), p.has_prev()), (2, false, true));
    }

    #[test]
    fn zero_per_page_does_not_divide_by_zero() {
        assert_eq!(Page::<()>::numbers(3, 1, 0).pages(), 3);
    }

    #[test]
    fn map_keeps_the_numbers() {
        let p = Page { items: vec![1, 2], total: 7, page: 2, per_page: 2 }.map(|n| n * 10);
        assert_eq!(p, Page { items: vec![10, 20], total: 7, page: 2, per_page: 2 });
    }
}
