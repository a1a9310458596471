//! Settings → Audit log: who changed what, with search, filters, paging and CSV export.

use crate::api::access::load_audit;
use crate::components::{Async, DataTable, Pager};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use models::AuditQuery;

fn audit_href(q: &AuditQuery, base: &str) -> String {
    let mut parts = if base == "/settings" { vec!["tab=audit".to_string()] } else { Vec::new() };
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    for (k, v) in [("q", &q.q), ("actor", &q.actor), ("kind", &q.kind), ("from", &q.from), ("to", &q.to)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", enc(v)));
        }
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if parts.is_empty() { base.to_string() } else { format!("{base}?{}", parts.join("&")) }
}

#[component]
pub(super) fn AuditTab() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let text = |k: &str| q.get(k).filter(|v| !v.is_empty());
        AuditQuery {
            q: text("q"),
            actor: text("actor"),
            kind: text("kind"),
            from: text("from"),
            to: text("to"),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    });
    let data = Resource::new(move || filter.get(), load_audit);
    let navigate = use_navigate();
    let go = move |f: AuditQuery| navigate(&audit_href(&f, "/settings"), Default::default());
    let search = RwSignal::new(filter.get_untracked().q.unwrap_or_default());
    view! {
        <Async resource=data loading="Loading the audit log…" let:page>
            {
                let go = go.clone();
                let f = filter.get_untracked();
                let set = {
                    let go = go.clone();
                    move |change: fn(&mut AuditQuery, String)| {
                        let go = go.clone();
                        move |ev: leptos::ev::Event| {
                            let mut next = filter.get_untracked();
                            change(&mut next, event_target_value(&ev));
                            next.page = 1;
                            go(next);
                        }
                    }
                };
                let on_search = {
                    let go = go.clone();
                    move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        let mut next = filter.get_untracked();
                        next.q = Some(search.get_untracked()).filter(|s| !s.trim().is_empty());
                        next.page = 1;
                        go(next);
                    }
                };
                let at = {
                    let f = f.clone();
                    move |n: u64| audit_href(&AuditQuery { page: n, ..f.clone() }, "/settings")
                };
                view! {
                    <div class="toolbar audit-filters">
                        <form class="search" on:submit=on_search>
                            <input type="search" placeholder="Search who, what, values…" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) aria-label="Search the audit log"/>
                            <button type="submit" class="btn">"Search"</button>
                        </form>
                        <label class="picker">"Actor "
                            <select on:change=set(|q, v| q.actor = Some(v).filter(|v| !v.is_empty())) aria-label="Actor">
                                <option value="" selected=f.actor.is_none()>"Anyone"</option>
                                {page.actors.iter().map(|a| view! { <option value=a.clone() selected=f.actor.as_deref() == Some(a.as_str())>{a.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="picker">"Kind "
                            <select on:change=set(|q, v| q.kind = Some(v).filter(|v| !v.is_empty())) aria-label="Kind">
                                <option value="" selected=f.kind.is_none()>"Any change"</option>
                                {page.kinds.iter().map(|k| view! { <option value=k.clone() selected=f.kind.as_deref() == Some(k.as_str())>{k.replace('_', " ")}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="picker">"From "<input type="date" value=f.from.clone().unwrap_or_default() on:change=set(|q, v| q.from = Some(v).filter(|v| !v.is_empty())) aria-label="From"/></label>
                        <label class="picker">"To "<input type="date" value=f.to.clone().unwrap_or_default() on:change=set(|q, v| q.to = Some(v).filter(|v| !v.is_empty())) aria-label="To"/></label>
                        <a class="btn" href=audit_href(&AuditQuery { page: 1, ..f.clone() }, "/settings/audit.csv") rel="external" download="audit-log.csv">"Export CSV"</a>
                    </div>
                    <p class="muted small">{format!("{} entries", page.list.total)}</p>
                    <DataTable class="table audit" cols=["When", "Who", "What", "Subject", "Before ↓ after"] rows=page.list.items empty="No entries match." row=|r| view! {
                        <tr>
                            <td class="num">{r.at}</td>
                            <td>{r.actor}</td>
                            <td><span class="badge">{r.kind.replace('_', " ")}</span></td>
                            <td>{r.subject}</td>
                            <td class="change">
                                <div class="before">{r.before.unwrap_or_else(|| "—".into())}</div>
                                <div class="arrow" aria-hidden="true">"↓"</div>
                                <div class="after">{r.after.unwrap_or_else(|| "—".into())}</div>
                            </td>
                        </tr>
                    }/>
                    <Pager total=page.list.total page=page.list.page per_page=page.list.per_page href=at/>
                }
            }
        </Async>
    }
}
