//! Messages between the team and partners: the team's inbox at `/communication` and the
//! partner's at `/portal/messages`, one component for both (the server decides what each sees).

use crate::api::messages::{load_inbox, load_thread, ReplyThread, StartThread};
use crate::components::{ErrorNote, PortalShell, TeamShell};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// `/communication`: the team's conversations with partners.
#[component]
pub fn CommunicationPage() -> impl IntoView {
    view! {
        <TeamShell>
            <Title text="Messages"/>
            <header class="page-head">
                <div>
                    <h1>"Messages"</h1>
                    <p class="muted">"Conversations with your partners. Start one from a partner's profile (Message)."</p>
                </div>
            </header>
            <Messenger team=true/>
        </TeamShell>
    }
}

/// `/portal/messages`: the partner's conversations with the team.
#[component]
pub fn PortalMessagesPage() -> impl IntoView {
    view! {
        <PortalShell>
            <Title text="Messages"/>
            <section class="portal-hero">
                <h1>"Messages"</h1>
                <p class="muted">"Talk to the partner team: questions, payouts, anything."</p>
            </section>
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
                <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                    {move || Suspend::new(async move {
                        match inbox.await {
                            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                            Ok(inbox) => {
                                let current = selected.get_untracked();
                                view! {
                                    <div class="threads-head">
                                        <span class="muted">{if inbox.unread > 0 { format!("{} unread", inbox.unread) } else { "All read".to_string() }}</span>
                                        {(!team && inbox.can_write).then(|| view! { <a class="btn" href=format!("{base}?new=1")>"New message"</a> })}
                                    </div>
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
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </aside>
            <section class="card conversation">
                {move || start.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
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
                        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                            {move || Suspend::new(async move {
                                match thread.await {
                                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                                    Ok(None) => view! { <p class="muted empty">"Choose a conversation."</p> }.into_any(),
                                    Ok(Some(t)) => view! {
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
                                        {move || reply.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })}
                                    }.into_any(),
                                }
                            })}
                        </Transition>
                    }.into_any()
                }}
            </section>
        </div>
    }
}
