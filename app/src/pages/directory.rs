//! The partner directory: counts by status as filter tabs, search, program picker, pagination.
//! The filter lives in the URL, so a view can be bookmarked and shared, and changing it
//! navigates on the client without a reload.

use crate::api::directory::list_directory;
use crate::components::{ErrorNote, StatusBadge, TeamShell, TierBadge};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_query_map};
use models::{DirectoryPage as Page, StatusCounts};

/// The directory filter as read from the URL.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filter {
    program: Option<i64>,
    status: Option<String>,
    q: Option<String>,
    page: u64,
}

impl Filter {
    /// The URL of this filter.
    fn href(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.program {
            parts.push(format!("program={p}"));
        }
        if let Some(s) = &self.status {
            parts.push(format!("status={s}"));
        }
        if let Some(q) = self.q.as_ref().filter(|q| !q.is_empty()) {
            parts.push(format!("q={}", encode(q)));
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            "/directory".into()
        } else {
            format!("/directory?{}", parts.join("&"))
        }
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const TABS: &[(Option<&str>, &str)] = &[
    (None, "All"),
    (Some("active"), "Active"),
    (Some("pending"), "Pending"),
    (Some("paused"), "Paused"),
    (Some("suspended"), "Suspended"),
];

fn count_of(c: &StatusCounts, status: Option<&str>) -> u64 {
    match status {
        None => c.all,
        Some("active") => c.active,
        Some("pending") => c.pending,
        Some("paused") => c.paused,
        Some("suspended") => c.suspended,
        _ => 0,
    }
}

/// `/directory`.
#[component]
pub fn DirectoryPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        Filter {
            program: q.get("program").and_then(|p| p.parse().ok()),
            status: q.get("status").filter(|s| !s.is_empty() && s != "all"),
            q: q.get("q").filter(|s| !s.is_empty()),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    });
    let data = Resource::new(
        move || filter.get(),
        |f| list_directory(f.program, f.status, f.q, Some(f.page)),
    );

    view! {
        <TeamShell>
            <Title text="Directory"/>
            <header class="page-head">
                <div>
                    <h1>"Partner directory"</h1>
                    <p class="muted">"Every partner of every program, with their tier and status."</p>
                </div>
            </header>
            <Transition fallback=|| view! { <div class="loading">"Loading partners…"</div> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => view! { <DirectoryView page filter=filter.get_untracked()/> }.into_any(),
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </TeamShell>
    }
}

#[component]
fn DirectoryView(page: Page, filter: Filter) -> impl IntoView {
    let navigate = use_navigate();
    let program_filter = filter.clone();
    let on_program = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let f = Filter { program: value.parse().ok(), page: 1, ..program_filter.clone() };
        navigate(&f.href(), Default::default());
    };
    let last_page = page.total.div_ceil(page.per_page).max(1);
    let first_row = if page.total == 0 { 0 } else { (page.page - 1) * page.per_page + 1 };
    let last_row = ((page.page - 1) * page.per_page + page.items.len() as u64).min(page.total);
    let prev = (page.page > 1).then(|| Filter { page: page.page - 1, ..filter.clone() }.href());
    let next = (page.page < last_page).then(|| Filter { page: page.page + 1, ..filter.clone() }.href());
    let selected_program = filter.program;

    view! {
        <nav class="tabs" aria-label="Filter by status">
            {TABS
                .iter()
                .map(|(status, label)| {
                    let href = Filter { status: status.map(str::to_string), page: 1, ..filter.clone() }.href();
                    let active = filter.status.as_deref() == *status;
                    let n = count_of(&page.counts, *status);
                    view! {
                        <a href=href class="tab" class:active=active data-status=status.unwrap_or("all")>
                            {*label}
                            <span class="count">{n}</span>
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <div class="toolbar">
            <Form method="GET" action="/directory" attr:class="search">
                {filter.program.map(|p| view! { <input type="hidden" name="program" value=p/> })}
                {filter.status.clone().map(|s| view! { <input type="hidden" name="status" value=s/> })}
                <input
                    type="search"
                    name="q"
                    placeholder="Search name, email or company"
                    value=filter.q.clone().unwrap_or_default()
                    aria-label="Search partners"
                />
                <button type="submit" class="btn">"Search"</button>
            </Form>
            <label class="picker">
                "Program "
                <select on:change=on_program aria-label="Program">
                    <option value="" selected=selected_program.is_none()>"All programs"</option>
                    {page
                        .programs
                        .iter()
                        .map(|p| view! { <option value=p.id selected=selected_program == Some(p.id)>{p.name.clone()}</option> })
                        .collect_view()}
                </select>
            </label>
        </div>
        <div class="card table-card">
            <table class="table">
                <thead>
                    <tr>
                        <th>"Partner"</th>
                        <th>"Company"</th>
                        <th>"Program"</th>
                        <th>"Tier"</th>
                        <th>"Status"</th>
                        <th>"Joined"</th>
                    </tr>
                </thead>
                <tbody>
                    {if page.items.is_empty() {
                        view! { <tr><td colspan="6" class="empty">"No partners match this filter."</td></tr> }.into_any()
                    } else {
                        page.items
                            .into_iter()
                            .map(|row| view! {
                                <tr>
                                    <td>
                                        <a class="name" href=format!("/partners/{}", row.partner_id)>{row.name}</a>
                                        <div class="sub">{row.email}</div>
                                    </td>
                                    <td>{row.company.unwrap_or_else(|| "—".into())}</td>
                                    <td>{row.program}</td>
                                    <td><TierBadge tier=row.tier/></td>
                                    <td><StatusBadge status=row.status/></td>
                                    <td class="num">{row.joined}</td>
                                </tr>
                            })
                            .collect_view()
                            .into_any()
                    }}
                </tbody>
            </table>
        </div>
        <div class="pager">
            <span class="muted">{format!("{first_row}–{last_row} of {}", page.total)}</span>
            <span class="pager-links">
                {match prev {
                    Some(h) => view! { <a class="btn" href=h rel="prev">"← Previous"</a> }.into_any(),
                    None => view! { <span class="btn disabled">"← Previous"</span> }.into_any(),
                }}
                <span class="muted">{format!("Page {} of {last_page}", page.page)}</span>
                {match next {
                    Some(h) => view! { <a class="btn" href=h rel="next">"Next →"</a> }.into_any(),
                    None => view! { <span class="btn disabled">"Next →"</span> }.into_any(),
                }}
            </span>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_their_url() {
        let f = Filter { program: Some(2), status: Some("active".into()), q: Some("a b&c".into()), page: 3 };
        assert_eq!(f.href(), "/directory?program=2&status=active&q=a%20b%26c&page=3");
        assert_eq!(Filter::default().href(), "/directory");
    }
}
