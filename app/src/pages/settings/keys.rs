//! Settings → API keys: create a key (shown once), see when each was used, revoke.

use super::CopyField;
use crate::api::access::{load_keys, CreateKey, RevokeKey};
use crate::components::{Async, DataTable, Outcome, OutcomeView};
use leptos::prelude::*;

#[component]
pub(super) fn KeysTab() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| load_keys());
    let name = RwSignal::new(String::new());
    let on_create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateKey { name: name.get_untracked() });
    };
    view! {
        <section class="card settings-form" aria-label="Create an API key">
            <h2>"Create an API key"</h2>
            <p class="muted">"A key acts for this account on the REST API (" <a href="/api/v1/openapi.json" rel="external">"OpenAPI"</a> "). Only a hash is stored: copy the key now, it is shown once."</p>
            <form class="form inline-form" on:submit=on_create>
                <label>"Name"<input type="text" required prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) placeholder="e.g. Shop backend" aria-label="Key name"/></label>
                <div><button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create key"</button></div>
            </form>
            <OutcomeView action=create ok=|k| view! {
                <div class="notice issued" role="status">
                    <div>"Your new key. Copy it now: it will not be shown again."</div>
                    <CopyField label="New API key" value=k.secret/>
                </div>
            }/>
        </section>
        <Outcome action=revoke ok=|_| "Key revoked; it is refused from now on.".to_string()/>
        <Async resource=keys loading="Loading keys…" let:rows>
            <DataTable class="table keys" cols=["Name", "Key", "Created", "Last used", "Status", ""] rows empty="No API keys yet." row=move |k| {
                let id = k.id;
                let live = k.revoked.is_none();
                view! {
                    <tr>
                        <td class="name">{k.name.clone()}</td>
                        <td class="num">{k.prefix}</td>
                        <td class="num">{k.created}</td>
                        <td class="num">{k.last_used.unwrap_or_else(|| "never".into())}</td>
                        <td>{match k.revoked {
                            Some(t) => view! { <span class="badge member-deactivated">"revoked"</span><div class="sub">{t}</div> }.into_any(),
                            None => view! { <span class="badge member-active">"active"</span> }.into_any(),
                        }}</td>
                        <td class="row-actions">{live.then(|| view! {
                            <button class="btn btn-danger" aria-label=format!("Revoke {}", k.name)
                                on:click=move |_| { revoke.dispatch(RevokeKey { id }); }>"Revoke"</button>
                        })}</td>
                    </tr>
                }
            }/>
        </Async>
    }
}
