//! The partner portal landing page.

use crate::api::portal::load_portal_home;
use crate::components::{ErrorNote, PortalShell, StatusBadge, TierBadge};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/portal`.
#[component]
pub fn PortalPage() -> impl IntoView {
    let home = Resource::new(|| (), |_| load_portal_home());
    view! {
        <PortalShell>
            <Title text="Portal"/>
            <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match home.await {
                        Ok(h) => view! {
                            <section class="portal-hero">
                                <h1>"Welcome back, " {h.partner_name.clone()}</h1>
                                <p class="muted">"Your partnership with " {h.account_name.clone()}</p>
                            </section>
                            <section class="cards">
                                {h.enrollments.into_iter().map(|e| view! {
                                    <article class="card enrollment">
                                        <header>
                                            <h2>{e.program}</h2>
                                            <StatusBadge status=e.status/>
                                        </header>
                                        <dl class="facts">
                                            <div><dt>"Tier"</dt><dd><TierBadge tier=e.tier/></dd></div>
                                            <div><dt>"Commission"</dt><dd>{e.commission}</dd></div>
                                            <div><dt>"Partner since"</dt><dd>{e.joined}</dd></div>
                                        </dl>
                                    </article>
                                }).collect_view()}
                            </section>
                        }.into_any(),
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalShell>
    }
}
