//! Settings → Email: the account's outbox with each email's delivery state.

use crate::api::comms::load_outbox;
use crate::components::{Async, DataTable, Pager};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Settings → Email: every email the account sent or will send, with its delivery state.
#[component]
pub(super) fn EmailTab() -> impl IntoView {
    let query = use_query_map();
    let status = Memo::new(move |_| query.read().get("status").unwrap_or_default());
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1));
    let data = Resource::new(
        move || (status.get(), q.get(), page.get()),
        |(s, q, p)| load_outbox(Some(s).filter(|s| !s.is_empty()), Some(q).filter(|q| !q.is_empty()), p),
    );
    let href = move |s: &str, p: u64| {
        let mut parts = vec!["tab=email".to_string(), format!("status={s}")];
        let q = q.get_untracked();
        if !q.is_empty() {
            parts.push(format!("q={}", models::url_encode(&q)));
        }
        if p > 1 {
            parts.push(format!("page={p}"));
        }
        format!("/settings?{}", parts.join("&"))
    };
    view! {
        <form class="card filters" method="get" action="/settings">
            <input type="hidden" name="tab" value="email"/>
            <input type="search" name="q" placeholder="Recipient or subject" aria-label="Search emails" prop:value=move || q.get()/>
            <select name="status" aria-label="Status" prop:value=move || status.get()>
                <option value="">"Any status"</option>
                {["queued", "sending", "sent", "failed", "suppressed"].into_iter().map(|s| view! { <option value=s>{s}</option> }).collect_view()}
            </select>
            <button class="btn" type="submit">"Filter"</button>
        </form>
        <Async resource=data loading="Loading emails…" let:p>
            {
                        let s = status.get_untracked();
                        view! {
                            <p class="muted">
                                {if p.delivering {
                                    "This server delivers mail over SMTP (TRELLIS_SMTP_URL); the outbox_delivery job sends queued emails every minute and retries failures with backoff.".to_string()
                                } else {
                                    "TRELLIS_SMTP_URL is not set: emails stay here, readable below, until SMTP is configured.".to_string()
                                }}
                                {format!(" {} emails.", p.list.total)}
                            </p>
                            <DataTable class="table outbox" cols=["Email", "To", "Status", "Queued", "Opened"] rows=p.list.items row=|e| view! {
                                <tr>
                                    <td>
                                        <details>
                                            <summary><span class="name">{e.subject.clone()}</span><span class="sub">{format!(" · {}", e.kind)}</span></summary>
                                            <pre class="email-body">{e.body.clone()}</pre>
                                        </details>
                                    </td>
                                    <td>{match e.partner_id {
                                        Some(pid) => view! { <a href=format!("/partners/{pid}")>{e.to.clone()}</a> }.into_any(),
                                        None => view! { <span>{e.to.clone()}</span> }.into_any(),
                                    }}</td>
                                    <td>
                                        <span class=format!("badge mail-{}", e.status)>{e.status.clone()}</span>
                                        <div class="sub">{match (&e.sent, &e.next_attempt) {
                                            (Some(t), _) => format!("sent {t}"),
                                            (None, Some(t)) if e.attempts > 0 => format!("attempt {} · next {t}", e.attempts + 1),
                                            _ => String::new(),
                                        }}</div>
                                        {e.last_error.clone().map(|x| view! { <div class="sub error-text">{x}</div> })}
                                    </td>
                                    <td class="num">{e.created.clone()}</td>
                                    <td class="num">{e.opened.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }/>
                            <Pager total=p.list.total page=p.list.page per_page=p.list.per_page href=move |n| href(&s, n)/>
                        }
            }
        </Async>
    }
}
