//! One conversion: attribution, the visitor's click path and the ledger entries.

use crate::api::tracking::load_conversion_detail;
use crate::components::{Async, DataTable, PageHead, TeamShell};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// `/conversions/:id`.
#[component]
pub fn ConversionPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0));
    let data = Resource::new(move || id.get(), load_conversion_detail);
    view! {
        <TeamShell>
            <Title text="Conversion"/>
            <Async resource=data loading="Loading…" suspense=true let:c>
                <PageHead title={format!("Conversion {}", c.external_id)} intro={format!("{} · {}", c.program, c.occurred)}>
                    <span class=format!("badge conv-{}", c.status)>{c.status.clone()}</span>
                </PageHead>
                <section class="cards">
                    <article class="card">
                        <dl class="facts">
                            <div><dt>"Amount"</dt><dd>{c.amount}</dd></div>
                            <div><dt>"Refunded"</dt><dd>{c.refunded}</dd></div>
                            <div><dt>"Partner"</dt><dd>{c.partner.map(|(_, n)| n).unwrap_or_else(|| "—".into())}</dd></div>
                            <div><dt>"Attributed via"</dt><dd>{c.attributed_via.unwrap_or_else(|| "—".into())}</dd></div>
                            <div><dt>"Customer"</dt><dd>{c.customer_id.unwrap_or_else(|| "—".into())}</dd></div>
                        </dl>
                        {c.reason.map(|r| view! { <p class="muted">{format!("Earns nothing: {r}")}</p> })}
                    </article>
                </section>
                <h2 class="section">"Click path"</h2>
                <DataTable cols=["When", "Referrer", "User agent", ""] rows=c.click_path empty="No clicks: attributed without a click." row=|k| view! {
                    <tr class:won=k.attributed>
                        <td class="num">{k.at}</td>
                        <td>{k.referrer.unwrap_or_else(|| "direct".into())}</td>
                        <td class="sub ua">{k.user_agent.unwrap_or_default()}</td>
                        <td>
                            {k.attributed.then(|| view! { <span class="badge status-active">"attributed click"</span> })}
                            {k.flag.map(|f| view! { <span class="badge flag">{f}</span> })}
                        </td>
                    </tr>
                }/>
                <h2 class="section">"Ledger entries"</h2>
                <DataTable cols=["Kind", ">Amount", "Rate · tier", "Status", "Created", "Note"] rows=c.entries empty="No commission." row=|e| view! {
                    <tr>
                        <td>{e.kind}</td>
                        <td class="num right">{e.amount}</td>
                        <td>{format!("{} · {}", e.rate, e.tier)}</td>
                        <td>{e.status}{e.approved_by.map(|a| view! { <div class="sub">{a}</div> })}</td>
                        <td class="num">{e.created}</td>
                        <td class="sub">{e.note.unwrap_or_default()}</td>
                    </tr>
                }/>
            </Async>
        </TeamShell>
    }
}
