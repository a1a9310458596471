//! Segments (saved directory filters with live counts) and the account's custom fields.

use crate::api::partners::{list_fields, list_segments, DefineField, DeleteSegment, RemoveField};
use crate::components::{ActionError, Async, DataTable, FromDirectory, Outcome};
use leptos::prelude::*;
use models::{CustomFieldDef, FieldKind};

/// `/directory/segments`.
#[component]
pub fn SegmentsPage() -> impl IntoView {
    let delete = ServerAction::<DeleteSegment>::new();
    let data = Resource::new(move || delete.version().get(), |_| list_segments());
    view! {
        <FromDirectory title="Segments" heading="Segments" intro="Saved directory filters. Members are whoever matches now; counts are live.">
            <ActionError action=delete/>
            <Async resource=data loading="Loading segments…" let:list>
                <DataTable class="table segments" cols=["Segment", "Filter", ">Partners", ""] rows=list
                    empty="No segments yet: filter the directory and save it as a segment." row=move |s| {
                    let id = s.id;
                    view! {
                        <tr>
                            <td><a class="name" href=s.query.href()>{s.name.clone()}</a></td>
                            <td class="muted">{s.description}</td>
                            <td class="num right" data-count=s.count>{s.count}</td>
                            <td class="right">
                                <a class="btn" href=s.query.href()>"Open"</a>
                                " "
                                <button class="btn btn-danger" on:click=move |_| { delete.dispatch(DeleteSegment { id }); }>"Delete"</button>
                            </td>
                        </tr>
                    }
                }/>
            </Async>
        </FromDirectory>
    }
}

/// `/directory/fields`.
#[component]
pub fn FieldsPage() -> impl IntoView {
    let define = ServerAction::<DefineField>::new();
    let remove = ServerAction::<RemoveField>::new();
    let data = Resource::new(move || (define.version().get(), remove.version().get()), |_| list_fields());
    let key = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let kind = RwSignal::new(FieldKind::Text);
    let options = RwSignal::new(String::new());
    let required = RwSignal::new(false);
    let submit = move |_| {
        define.dispatch(DefineField {
            field: CustomFieldDef {
                key: key.get_untracked(),
                label: label.get_untracked(),
                kind: kind.get_untracked(),
                options: options.get_untracked().split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect(),
                required: required.get_untracked(),
            },
        });
    };
    view! {
        <FromDirectory title="Custom fields" heading="Custom fields" intro="Attributes your team records about partners. Values are checked on every form, bulk action, import and API call, and filter the directory.">
            <Async resource=data loading="Loading fields…" let:list>
                <DataTable cols=["Key", "Label", "Type", "Options", "Required", ""] rows=list empty="No custom fields yet." row=move |f| {
                    let k = f.key.clone();
                    view! {
                        <tr>
                            <td><code>{f.key}</code></td>
                            <td>{f.label}</td>
                            <td>{f.kind.label()}</td>
                            <td class="muted">{f.options.join(", ")}</td>
                            <td>{if f.required { "yes" } else { "no" }}</td>
                            <td class="right"><button class="btn btn-danger" on:click=move |_| { remove.dispatch(RemoveField { key: k.clone() }); }>"Remove"</button></td>
                        </tr>
                    }
                }/>
            </Async>
            <h2 class="section">"Add or change a field"</h2>
            <div class="card form-grid">
                <label>"Key"<input type="text" placeholder="niche" prop:value=key on:input=move |ev| key.set(event_target_value(&ev))/></label>
                <label>"Label"<input type="text" placeholder="Niche" prop:value=label on:input=move |ev| label.set(event_target_value(&ev))/></label>
                <label>"Type"
                    <select on:change=move |ev| kind.set(FieldKind::parse(&event_target_value(&ev)).unwrap_or(FieldKind::Text))>
                        {FieldKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Options (choice only, comma-separated)"<input type="text" placeholder="Outdoor, Travel" prop:value=options on:input=move |ev| options.set(event_target_value(&ev))/></label>
                <label class="check"><input type="checkbox" prop:checked=required on:change=move |ev| required.set(event_target_checked(&ev))/>" Required"</label>
                <button class="btn btn-primary" disabled=move || define.pending().get() on:click=submit>"Save field"</button>
            </div>
            <Outcome action=define ok=|f| format!("Saved {}.", f.label)/>
            <ActionError action=remove/>
        </FromDirectory>
    }
}
