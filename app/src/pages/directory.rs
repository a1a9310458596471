//! The partner directory: status tabs with counts, filters (program, tier, source, owner,
//! health, a custom field, free text), sorting, selection and bulk actions, saved segments and
//! CSV export. The filter lives in the URL, so a view can be bookmarked and shared, and changing
//! it navigates on the client without a reload.

use crate::api::partners::{list_directory, BulkApply, SaveSegment};
use crate::components::{FilterSelect, Async, DataTable, HealthPill, Outcome, OutcomeView, PageHead, Pager, StatusBadge, TeamShell, TierBadge};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_location;
use models::{
    BulkAction, BulkReport, BulkTarget, DirectoryPage as Page, DirectoryQuery, DirectorySort, EnrollmentStatus, HealthBand,
};
use std::collections::BTreeSet;

const TABS: &[(Option<EnrollmentStatus>, &str)] = &[
    (None, "All"),
    (Some(EnrollmentStatus::Active), "Active"),
    (Some(EnrollmentStatus::Pending), "Pending"),
    (Some(EnrollmentStatus::Paused), "Paused"),
    (Some(EnrollmentStatus::Suspended), "Suspended"),
    (Some(EnrollmentStatus::Rejected), "Rejected"),
];

/// A bulk report in one sentence.
pub fn bulk_summary(r: &BulkReport) -> String {
    let mut s = format!("{} changed, {} already so", r.changed, r.unchanged);
    if !r.refused.is_empty() {
        let reasons: Vec<String> = r.refused.iter().take(3).map(|(who, why)| format!("{who}: {why}")).collect();
        s.push_str(&format!(", {} refused — {}", r.refused.len(), reasons.join("; ")));
        if r.refused.len() > 3 {
            s.push('…');
        }
    }
    s
}

/// `/directory`.
#[component]
pub fn DirectoryPage() -> impl IntoView {
    let location = use_location();
    let filter = Memo::new(move |_| DirectoryQuery::from_query_string(&location.search.get()));
    let bulk = ServerAction::<BulkApply>::new();
    let data = Resource::new(move || (filter.get(), bulk.version().get()), |(f, _)| list_directory(f));

    view! {
        <TeamShell>
            <Title text="Directory"/>
            <PageHead title="Partner directory" intro="Every partner of every program: tier, status, 90-day performance and health.">
                <nav class="head-links">
                    <a class="btn" href="/directory/segments">"Segments"</a>
                    <a class="btn" href="/directory/import">"Import CSV"</a>
                    <a class="btn" href="/directory/fields">"Custom fields"</a>
                    <a class="btn btn-primary" href="/directory/new">"Add partner"</a>
                </nav>
            </PageHead>
            <Async resource=data loading="Loading partners…" let:page>
                <DirectoryView page filter=filter.get_untracked() bulk/>
            </Async>
        </TeamShell>
    }
}

#[component]
fn DirectoryView(page: Page, filter: DirectoryQuery, bulk: ServerAction<BulkApply>) -> impl IntoView {
    let at = {
        let filter = filter.clone();
        move |p: u64| DirectoryQuery { page: p, ..filter.clone() }.href()
    };
    let (current, per_page) = (page.list.page, page.list.per_page);
    let export = format!("/directory/export.csv?{}", DirectoryQuery { page: 0, ..filter.clone() }.to_query_string());
    let mine = DirectoryQuery { owner: Some(page.me), page: 1, ..filter.clone() }.href();
    let is_mine = filter.owner == Some(page.me);
    let sort = filter.sort.unwrap_or(DirectorySort::Name);
    let field = filter.fields.first().cloned();
    let can_edit = page.can_edit;
    let total = page.list.total;

    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let all_matching = RwSignal::new(false);
    let page_ids: Vec<i64> = page.list.items.iter().map(|r| r.enrollment_id).collect();
    let action = RwSignal::new("status".to_string());
    let value = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let segment_name = RwSignal::new(String::new());
    let save = ServerAction::<SaveSegment>::new();
    let apply_filter = filter.clone();
    let apply = move |_| {
        let v = value.get_untracked();
        let act = match action.get_untracked().as_str() {
            "status" => match EnrollmentStatus::parse(&v) {
                Ok(status) => BulkAction::SetStatus { status, reason: Some(reason.get_untracked()).filter(|r| !r.trim().is_empty()) },
                Err(_) => return,
            },
            "tier" => BulkAction::SetTier { tier: v },
            "commission" => BulkAction::SetCommission { commission: Some(v).filter(|v| !v.trim().is_empty()) },
            "owner" => BulkAction::SetOwner { owner: v.parse().ok() },
            _ => BulkAction::AddNote { text: v },
        };
        let target = if all_matching.get_untracked() {
            BulkTarget::Filter { query: DirectoryQuery { page: 0, ..apply_filter.clone() } }
        } else {
            BulkTarget::Ids { ids: selected.get_untracked().into_iter().collect() }
        };
        bulk.dispatch(BulkApply { target, action: act });
    };
    let save_filter = filter.clone();
    let tiers = page.tiers.clone();
    let owners = page.owners.clone();

    view! {
        <nav class="tabs" aria-label="Filter by status">
            {TABS.iter().map(|(status, label)| {
                let href = DirectoryQuery { status: *status, page: 1, ..filter.clone() }.href();
                let active = filter.status == *status;
                view! {
                    <a href=href class="tab" class:active=active data-status=status.map(|s| s.as_str()).unwrap_or("all")>
                        {*label}<span class="count">{page.counts.of(*status)}</span>
                    </a>
                }
            }).collect_view()}
            <a href=mine class="tab" class:active=is_mine data-status="mine">"My partners"</a>
        </nav>
        <Form method="GET" action="/directory" attr:class="filters card">
            {filter.status.map(|s| view! { <input type="hidden" name="status" value=s.as_str()/> })}
            <input type="search" name="q" placeholder="Name, email or company" value=filter.q.clone().unwrap_or_default() aria-label="Search partners"/>
            <FilterSelect name="program" label="Program" any="All programs" selected=filter.program_id.map(|p| p.to_string())
                options=page.programs.iter().map(|p| (p.id.to_string(), p.name.clone())).collect()/>
            <FilterSelect name="tier" label="Tier" any="Any tier" selected=filter.tier.clone()
                options=page.tiers.iter().map(|t| (t.clone(), t.clone())).collect()/>
            <FilterSelect name="source" label="Acquisition source" any="Any source" selected=filter.source.clone()
                options=page.sources.iter().map(|s| (s.clone(), s.clone())).collect()/>
            <FilterSelect name="owner" label="Relationship owner" any="Any owner" selected=filter.owner.map(|o| o.to_string())
                options=page.owners.iter().map(|o| (o.id.to_string(), o.name.clone())).collect()/>
            <FilterSelect name="health" label="Health" any="Any health" selected=filter.health.map(|h| h.as_str().to_string())
                options=HealthBand::ALL.iter().map(|h| (h.as_str().to_string(), h.label().to_string())).collect()/>
            {(!page.fields.is_empty()).then(|| view! {
                <select name="cf_key" aria-label="Custom field">
                    <option value="">"Custom field…"</option>
                    {page.fields.iter().map(|f| view! { <option value=f.key.clone() selected=field.as_ref().is_some_and(|x| x.key == f.key)>{f.label.clone()}</option> }).collect_view()}
                </select>
                <input type="text" name="cf_value" placeholder="equals" value=field.as_ref().map(|f| f.value.clone()).unwrap_or_default() aria-label="Custom field value"/>
            })}
            <select name="sort" aria-label="Sort by">
                {DirectorySort::ALL.iter().map(|s| view! { <option value=s.as_str() selected=sort == *s>{format!("Sort: {}", s.label())}</option> }).collect_view()}
            </select>
            <label class="check"><input type="checkbox" name="desc" value="1" checked=filter.desc/>" descending"</label>
            <button type="submit" class="btn btn-primary">"Apply"</button>
            <a class="btn" href="/directory">"Reset"</a>
        </Form>
        <div class="toolbar">
            <span class="muted">{format!("{total} matching")}</span>
            <a class="btn" href=export download>"Export CSV"</a>
            {can_edit.then(|| view! {
                <input type="text" placeholder="Segment name" prop:value=segment_name on:input=move |ev| segment_name.set(event_target_value(&ev)) aria-label="Segment name"/>
                <button class="btn" disabled=move || segment_name.read().trim().is_empty() || save.pending().get() on:click={
                    let f = save_filter.clone();
                    move |_| { save.dispatch(SaveSegment { name: segment_name.get_untracked(), query: f.clone() }); }
                }>"Save as segment"</button>
            })}
            <OutcomeView action=save ok=|_| view! { <span class="notice inline" role="status">"Segment saved. "<a href="/directory/segments">"See segments"</a></span> }/>
        </div>
        {can_edit.then(|| view! {
            <div class="actions card bulk-bar">
                <span class="muted">{move || if all_matching.get() { format!("All {total} matching") } else { format!("{} selected", selected.read().len()) }}</span>
                <label class="check"><input type="checkbox" prop:checked=all_matching on:change=move |ev| all_matching.set(event_target_checked(&ev))/>{format!(" all {total} matching this filter")}</label>
                <select aria-label="Bulk action" on:change=move |ev| { action.set(event_target_value(&ev)); value.set(String::new()); }>
                    <option value="status">"Change status"</option>
                    <option value="tier">"Set tier"</option>
                    <option value="commission">"Set commission"</option>
                    <option value="owner">"Set owner"</option>
                    <option value="note">"Add note"</option>
                </select>
                {move || {
                    let tiers = tiers.clone();
                    let owners = owners.clone();
                    match action.get().as_str() {
                        "status" => view! {
                            <select aria-label="New status" on:change=move |ev| value.set(event_target_value(&ev))>
                                <option value="">"to…"</option>
                                {EnrollmentStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                            </select>
                            <input type="text" placeholder="Reason (optional)" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) aria-label="Reason"/>
                        }.into_any(),
                        "tier" => view! {
                            <select aria-label="New tier" on:change=move |ev| value.set(event_target_value(&ev))>
                                <option value="">"to…"</option>
                                {tiers.into_iter().map(|t| { let v = t.clone(); view! { <option value=v>{t}</option> } }).collect_view()}
                            </select>
                        }.into_any(),
                        "owner" => view! {
                            <select aria-label="New owner" on:change=move |ev| value.set(event_target_value(&ev))>
                                <option value="">"nobody"</option>
                                {owners.into_iter().map(|o| view! { <option value=o.id>{o.name}</option> }).collect_view()}
                            </select>
                        }.into_any(),
                        "commission" => view! {
                            <input type="text" placeholder="12.5% or 5.00 (empty: tier rate)" prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) aria-label="Commission"/>
                        }.into_any(),
                        _ => view! {
                            <input type="text" placeholder="Note" prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) aria-label="Note"/>
                        }.into_any(),
                    }
                }}
                <button class="btn btn-primary" disabled=move || bulk.pending().get() || (!all_matching.get() && selected.read().is_empty()) || (action.get() == "status" && value.read().is_empty()) on:click=apply>"Apply"</button>
            </div>
        })}
        <Outcome action=bulk ok=|r| bulk_summary(&r)/>
        <DataTable class="table directory"
            lead=can_edit.then(|| view! { <th><input type="checkbox" aria-label="Select this page" on:change={
                let ids = page_ids.clone();
                move |ev| if event_target_checked(&ev) { selected.set(ids.iter().copied().collect()) } else { selected.set(BTreeSet::new()) }
            }/></th> }).into_any()
            cols=["Partner", "Program", "Tier", "Status", ">Revenue 90 d", ">Conv.", ">Rate", "Last conversion", "Health", "Owner"]
            rows=page.list.items empty="No partners match this filter." row=move |row| {
                let id = row.enrollment_id;
                let conversion_rate = row.conversion_rate_display();
                view! {
                    <tr>
                        {can_edit.then(|| view! { <td><input type="checkbox" aria-label=format!("Select {}", row.name)
                            prop:checked=move || selected.read().contains(&id)
                            on:change=move |_| selected.update(|s| { if !s.remove(&id) { s.insert(id); } })/></td> })}
                        <td>
                            <a class="name" href=format!("/partners/{}", row.partner_id)>{row.name.clone()}</a>
                            <div class="sub">{row.email}{row.company.map(|c| format!(" · {c}"))}</div>
                        </td>
                        <td>{row.program}<div class="sub">{format!("joined {}", row.joined)}</div></td>
                        <td><TierBadge tier=row.tier/></td>
                        <td><StatusBadge status=row.status/></td>
                        <td class="num right">{row.revenue_90d.display()}</td>
                        <td class="num right">{row.conversions_90d}</td>
                        <td class="num right">{conversion_rate}</td>
                        <td class="num">{row.last_conversion.unwrap_or_else(|| "never".into())}</td>
                        <td><HealthPill score=row.health band=row.health_band/></td>
                        <td>{row.owner.unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
        }/>
        <Pager total page=current per_page href=at/>
    }
}
