//! Messages between the team and partners: the team's inbox at `/communication` and the
//! partner's at `/portal/messages`, one component for both (the server decides what each sees).

use crate::api::comms::{load_broadcasts, load_inbox, load_thread, PreviewBroadcast, ReplyThread, SendBroadcast, StartThread};
use crate::components::{PortalHead, ActionError, Async, DataTable, Outcome, OutcomeView, PageHead, PortalShell, TeamShell};
use crate::pages::sequences::{Sequences, Templates};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// `/communication`: the team's conversations with partners, broadcasts (`?view=broadcasts`),
/// sequences (`?view=sequences`) and templates (`?view=templates`).
#[component]
pub fn CommunicationPage() -> impl IntoView {
    let query = use_query_map();
    let view_name = Memo::new(move |_| query.read().get("view").unwrap_or_default());
    let tab = move |name: &'static str, label: &'static str| {
        let href = if name.is_empty() { "/communication".to_string() } else { format!("/communication?view={name}") };
        view! { <a class="tab" href=href class:active=move || view_name.read().as_str() == name>{label}</a> }
    };
    view! {
        <TeamShell>
            <Title text="Communication"/>
            <PageHead title="Communication" intro="Conversations with partners (start one from a partner's profile: Message), broadcasts to a segment or a program, automated sequences and each program's email templates."/>
            <nav class="tabs">
                {tab("", "Messages")}
                {tab("broadcasts", "Broadcasts")}
                {tab("sequences", "Sequences")}
                {tab("templates", "Templates")}
            </nav>
            {move || match view_name.get().as_str() {
                "broadcasts" => view! { <Broadcasts/> }.into_any(),
                "sequences" => view! { <Sequences/> }.into_any(),
                "templates" => view! { <Templates/> }.into_any(),
                _ => view! { <Messenger team=true/> }.into_any(),
            }}
        </TeamShell>
    }
}

/// Compose a broadcast (audience, preview, subject, text, when) and see every broadcast's figures.
#[component]
fn Broadcasts() -> impl IntoView {
    let send = ServerAction::<SendBroadcast>::new();
    let preview = ServerAction::<PreviewBroadcast>::new();
    let data = Resource::new(move || send.version().get(), |_| load_broadcasts());
    let audience = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let send_at = RwSignal::new(String::new());
    let ids = move || {
        let a = audience.get_untracked();
        let id = a.get(2..).and_then(|x| x.parse::<i64>().ok());
        if a.starts_with("s:") { (id, None) } else if a.starts_with("p:") { (None, id) } else { (None, None) }
    };
    view! {
        <Async resource=data loading="Loading broadcasts…" let:page>
            {page.can_send.then(|| view! {
                <section class="card broadcast-compose">
                    <h2>"New broadcast"</h2>
                    <div class="form-grid">
                        <label>"Audience"
                            <select aria-label="Audience" on:change=move |ev| {
                                audience.set(event_target_value(&ev));
                                let (segment_id, program_id) = ids();
                                if segment_id.is_some() || program_id.is_some() {
                                    preview.dispatch(PreviewBroadcast { segment_id, program_id });
                                }
                            }>
                                <option value="">"Choose…"</option>
                                <optgroup label="Segments">
                                    {page.segments.iter().map(|(id, n)| view! { <option value=format!("s:{id}")>{n.clone()}</option> }).collect_view()}
                                </optgroup>
                                <optgroup label="Programs">
                                    {page.programs.iter().map(|(id, n)| view! { <option value=format!("p:{id}")>{format!("All active partners of {n}")}</option> }).collect_view()}
                                </optgroup>
                            </select>
                        </label>
                        <label>"Send at (UTC, empty: now)"
                            <input type="datetime-local" aria-label="Send at" prop:value=send_at on:input=move |ev| send_at.set(event_target_value(&ev))/>
                        </label>
                    </div>
                    <OutcomeView action=preview ok=|p| view! {
                        <p class="notice preview" role="status">
                            <strong>{format!("{} recipients", p.recipients)}</strong>
                            {format!(" · {}", p.audience)}
                            {(!p.sample.is_empty()).then(|| format!(" · e.g. {}", p.sample.join(", ")))}
                        </p>
                    }/>
                    <label>"Subject"<input type="text" aria-label="Subject" maxlength="200" prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev))/></label>
                    <label>"Message"
                        <textarea rows="6" aria-label="Message" prop:value=body on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                        <span class="sub">"Variables such as {{name}}, {{program}}, {{tier}} or {{link}} are filled for each partner (all of them: Templates tab). A plain-text and a branded HTML email are sent, with an unsubscribe link."</span>
                    </label>
                    <div class="actions">
                        <button class="btn btn-primary" disabled=move || send.pending().get() || audience.read().is_empty() on:click=move |_| {
                            let (segment_id, program_id) = ids();
                            send.dispatch(SendBroadcast { input: models::BroadcastInput {
                                segment_id, program_id,
                                subject: subject.get_untracked(),
                                body: body.get_untracked(),
                                send_at: Some(send_at.get_untracked()).filter(|s| !s.is_empty()),
                            }});
                        }>{move || if send_at.read().is_empty() { "Send now" } else { "Schedule" }}</button>
                    </div>
                    <Outcome action=send ok=|_| "Broadcast saved: queued for every recipient (or scheduled).".to_string()/>
                </section>
            })}
            <h2 class="section">"Broadcasts"</h2>
            <DataTable class="table broadcasts" cols=["Broadcast", "Status", ">Sent", ">Delivered", ">Opened", ">Open rate"] rows=page.items
                none="No broadcasts yet." row=|b| view! {
                    <tr>
                        <td><div class="name">{b.subject}</div><div class="sub">{format!("{} · {}", b.audience, b.send_at)}</div></td>
                        <td><span class=format!("badge mail-{}", if b.status == "sent" { "sent" } else { "queued" })>{b.status.clone()}</span></td>
                        <td class="num right">{b.recipients}</td>
                        <td class="num right">{b.delivered}</td>
                        <td class="num right">{b.opened}</td>
                        <td class="num right">{b.open_rate}</td>
                    </tr>
            }/>
        </Async>
    }
}

/// `/portal/messages`: the partner's conversations with the team.
#[component]
pub fn PortalMessagesPage() -> impl IntoView {
    view! {
        <PortalShell>
            <Title text="Messages"/>
            <PortalHead title="Messages" intro="Talk to the partner team: questions, payouts, anything."/>
            <Messenger team=false/>
        </PortalShell>
    }
}

#[component]
fn Messenger(team: bool) -> impl IntoView {
    let query = use_query_map();
    let base = if team { "/communication" } else { "/portal/messages" };
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let selected = Memo::new(move |_| query.read().get("thread").and_then(|t| t.parse::<i64>().ok()));
    let new_to = Memo::new(move |_| query.read().get("partner").and_then(|t| t.parse::<i64>().ok()));
    let composing = Memo::new(move |_| query.read().get("new").is_some() || new_to.get().is_some());
    let start = ServerAction::<StartThread>::new();
    let reply = ServerAction::<ReplyThread>::new();
    let inbox = Resource::new(move || (q.get(), start.version().get(), reply.version().get(), selected.get()), |(q, _, _, _)| {
        load_inbox(Some(q).filter(|q| !q.is_empty()))
    });
    let thread = Resource::new(move || (selected.get(), reply.version().get()), |(id, _)| async move {
        match id {
            Some(id) => load_thread(id).await.map(Some),
            None => Ok(None),
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = start.value().get() {
            navigate(&format!("{base}?thread={id}"), Default::default());
        }
    });
    view! {
        <div class="messenger">
            <aside class="card threads">
                <form method="get" action=base class="thread-search">
                    <input type="search" name="q" placeholder="Search messages" aria-label="Search messages" prop:value=move || q.get()/>
                </form>
                <Async resource=inbox loading="Loading…" let:inbox>
                    {
                        let current = selected.get_untracked();
                        view! {
                            <div class="threads-head">
                                <span class="muted">{if inbox.unread > 0 { format!("{} unread", inbox.unread) } else { "All read".to_string() }}</span>
                                {(!team && inbox.can_write).then(|| view! { <a class="btn" href=format!("{base}?new=1")>"New message"</a> })}
                            </div>
                            {(!team && !inbox.announcements.is_empty()).then(|| view! {
                                <details class="announcements" open>
                                    <summary>{format!("Announcements ({})", inbox.announcements.len())}</summary>
                                    <ul>
                                        {inbox.announcements.iter().map(|a| view! {
                                            <li><div class="thread-subject">{a.subject.clone()}</div><div class="bubble">{a.body.clone()}</div><div class="sub">{a.at.clone()}</div></li>
                                        }).collect_view()}
                                    </ul>
                                </details>
                            })}
                            {if inbox.threads.is_empty() {
                                view! { <p class="muted empty">"No conversations yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="thread-list">
                                        {inbox.threads.into_iter().map(|t| view! {
                                            <li>
                                                <a href=format!("{base}?thread={}", t.id) class:active={current == Some(t.id)} class:unread={t.unread > 0}>
                                                    <div class="thread-top">
                                                        <span class="thread-subject">{t.subject.clone()}</span>
                                                        {(t.unread > 0).then(|| view! { <span class="badge unread-count">{t.unread}</span> })}
                                                    </div>
                                                    {team.then(|| view! { <div class="sub">{t.partner_name.clone()}</div> })}
                                                    <div class="sub snippet">{t.snippet.clone()}</div>
                                                    <div class="sub">{t.last_message_at.clone()}</div>
                                                </a>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }
                    }
                </Async>
            </aside>
            <section class="card conversation">
                <ActionError action=start/>
                {move || if composing.get() && selected.get().is_none() {
                    view! {
                        <ActionForm action=start attr:class="compose">
                            <h2>{if team { "New message" } else { "Write to the partner team" }}</h2>
                            {new_to.get().map(|p| view! { <input type="hidden" name="partner_id" value=p/> })}
                            <label>"Subject"<input type="text" name="subject" required maxlength="200"/></label>
                            <label>"Message"<textarea name="body" rows="6" required maxlength="5000"></textarea></label>
                            <button class="btn btn-primary" type="submit" disabled=move || start.pending().get()>"Send"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! {
                        <Async resource=thread loading="Loading…" let:t>
                            {match t {
                                None => view! { <p class="muted empty">"Choose a conversation."</p> }.into_any(),
                                Some(t) => view! {
                                    <header class="conversation-head">
                                        <h2>{t.subject.clone()}</h2>
                                        {team.then(|| view! { <a class="sub" href=format!("/partners/{}", t.partner_id)>{t.partner_name.clone()}</a> })}
                                    </header>
                                    <ol class="messages">
                                        {t.messages.into_iter().map(|m| view! {
                                            <li class:mine=m.mine>
                                                <div class="bubble">{m.body}</div>
                                                <div class="sub">{format!("{} · {}", m.author, m.at)}</div>
                                            </li>
                                        }).collect_view()}
                                    </ol>
                                    {t.can_reply.then(|| view! {
                                        <ActionForm action=reply attr:class="reply">
                                            <input type="hidden" name="thread_id" value=t.id/>
                                            <label class="grow"><span class="visually-hidden">"Reply"</span>
                                                <textarea name="body" rows="3" placeholder="Write a reply…" aria-label="Reply" required maxlength="5000"></textarea>
                                            </label>
                                            <button class="btn btn-primary" type="submit" disabled=move || reply.pending().get()>"Send"</button>
                                        </ActionForm>
                                    })}
                                    <ActionError action=reply/>
                                }.into_any(),
                            }}
                        </Async>
                    }.into_any()
                }}
            </section>
        </div>
    }
}
