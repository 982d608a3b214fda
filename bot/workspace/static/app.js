// The demo workspace page: renders FakeSlack's state like the Slack client and sends what the
// person does to /workspace/*. Every piece of text from the bot or a person goes into the page
// through textContent or createTextNode, never innerHTML, so no message can inject markup.
// The app: layout, navigation and polling; mrkdwn.js and blocks.js render what it shows.

import { $, api, el, toast } from "./dom.js";
import { POLL_MS, channelById, displayName, timeOf, ui } from "./state.js";
import { mrkdwn, plain } from "./mrkdwn.js";
import { image, renderBlocks } from "./blocks.js";

async function send(text, threadTs) {
  const channel = ui.thread && threadTs ? ui.thread.channel : ui.channel;
  await api("/workspace/command", { user: ui.me, channel, text, thread_ts: threadTs || null });
  refresh(true);
}

// -- rendering ---------------------------------------------------------------------------

function visibleMessages() {
  return (ui.data && ui.data.messages) || [];
}

function render() {
  const data = ui.data;
  if (!data) return;
  $("team-name").textContent = data.team;
  renderPeople();
  renderSidebar();
  renderConversation();
  renderPane();
  renderModal();
  $("processor-toggle").hidden = !data.processor;
}

function renderPeople() {
  const select = $("acting-as");
  const wanted = ui.data.people.map((p) => p.id).join(",");
  if (select.dataset.people !== wanted) {
    select.replaceChildren(...ui.data.people.map((p) => el("option", { value: p.id }, `${p.name} · ${p.note}`)));
    select.dataset.people = wanted;
  }
  select.value = ui.me;
}

function renderSidebar() {
  const unread = (channelId) => visibleMessages().filter((m) => m.channel === channelId && !m.thread_ts && parseFloat(m.ts) > (ui.seen[channelId] || 0)).length;
  const item = (channel, label) => {
    const count = channel.id === ui.channel ? 0 : unread(channel.id);
    return el("li", {},
      el("button", { type: "button", class: `nav-item ${channel.id === ui.channel ? "active" : ""} ${count ? "unread" : ""}`, dataset: { channel: channel.id }, onclick: () => openChannel(channel.id) },
        label, count ? el("span", { class: "badge" }, String(count)) : null));
  };
  const channels = ui.data.channels.filter((c) => c.kind === "channel");
  const apps = ui.data.channels.filter((c) => c.kind === "app");
  $("channel-list").replaceChildren(...channels.map((c) => item(c, `# ${c.name}`)));
  $("app-list").replaceChildren(...apps.map((c) => item(c, el("span", {}, el("span", { class: "app-dot" }), c.name))));
  const tips = ui.data.tips || [];
  if ($("tips").dataset.tips !== tips.join("\n")) {
    $("tips").dataset.tips = tips.join("\n");
    $("tips").replaceChildren(...tips.map((tip) => el("li", {}, el("button", { type: "button", class: "tip", onclick: () => fillComposer(tip) }, tip))));
  }
}

function fillComposer(text) {
  if (isApp() && ui.appTab === "home") setTab("messages");
  const input = $("composer-input");
  input.value = text;
  input.focus();
}

function isApp() {
  const channel = channelById(ui.channel);
  return channel && channel.kind === "app";
}

function renderConversation() {
  const channel = channelById(ui.channel);
  if (!channel) return;
  const app = channel.kind === "app";
  $("conversation-title").textContent = app ? "Paybot" : `# ${channel.name}`;
  $("conversation-purpose").textContent = app ? "The app's Home tab and your direct messages with it." : channel.purpose;
  $("tabs").hidden = !app;
  const onHome = app && ui.appTab === "home";
  $("tab-home").classList.toggle("active", onHome);
  $("tab-messages").classList.toggle("active", app && !onHome);
  $("home").hidden = !onHome;
  $("messages").hidden = onHome;
  $("composer").hidden = onHome;
  $("composer-input").placeholder = app ? "Message Paybot (try /pay help)" : `Message #${channel.name} (type /pay help)`;
  if (onHome) {
    renderHome();
    return;
  }
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const messages = visibleMessages().filter((m) => m.channel === channel.id && !m.thread_ts);
  const nodes = messages.map((m) => renderMessage(m, false));
  if (!nodes.length) nodes.push(el("div", { class: "empty" }, "No messages yet."));
  box.replaceChildren(...nodes);
  if (nearBottom || box.dataset.channel !== channel.id) {
    box.scrollTop = box.scrollHeight;
    box.dataset.stick = "1";
  }
  box.dataset.channel = channel.id;
  ui.seen[channel.id] = Math.max(ui.seen[channel.id] || 0, ...messages.map((m) => parseFloat(m.ts)));
}

function renderHome() {
  const home = ui.data.home;
  const box = $("home");
  if (!home) {
    box.replaceChildren(el("div", { class: "empty" }, "Paybot has not published a Home tab for you yet."));
    return;
  }
  if (box.dataset.hash === home.hash) return;
  box.dataset.hash = home.hash;
  box.replaceChildren(renderBlocks(home.blocks, { kind: "view", view: home, modal: false }));
}

function replies(message) {
  return visibleMessages().filter((m) => m.channel === message.channel && m.thread_ts === message.ts);
}

function renderMessage(m, inThread) {
  const bot = m.user === ui.data.bot;
  const name = displayName(m.user);
  const initials = name.split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
  const hue = [...m.user].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 8;
  const body = m.blocks && m.blocks.length ? renderBlocks(m.blocks, { kind: "message", channel: m.channel, ts: m.ts }) : mrkdwn(m.text);
  const threadReplies = inThread ? [] : replies(m);
  const footer = [];
  if (!inThread && !m.ephemeral) {
    if (threadReplies.length) {
      footer.push(el("button", { type: "button", class: "replies-link", onclick: () => openThread(m) },
        `${threadReplies.length} ${threadReplies.length === 1 ? "reply" : "replies"}`));
    }
  }
  const tools = !inThread && !m.ephemeral
    ? el("div", { class: "message-tools" }, el("button", { type: "button", class: "reply-button", title: "Reply in thread", "aria-label": "Reply in thread", onclick: () => openThread(m) }, "Reply in thread"))
    : null;
  return el("div", { class: `message ${m.ephemeral ? "ephemeral" : ""}`, dataset: { ts: m.ts } },
    el("div", { class: `avatar hue-${hue} ${bot ? "bot" : ""}` }, bot ? "P" : initials),
    el("div", { class: "message-main" },
      el("div", { class: "message-meta" },
        el("span", { class: "author" }, name),
        bot ? el("span", { class: "app-badge" }, "APP") : null,
        el("span", { class: "time" }, timeOf(m.ts)),
        m.edited ? el("span", { class: "edited" }, "(edited)") : null),
      m.ephemeral ? el("div", { class: "ephemeral-note" }, "Only visible to you") : null,
      body,
      (m.attachments || []).map(renderAttachment),
      (m.files || []).map(renderFile),
      footer.length ? el("div", { class: "message-footer" }, footer) : null),
    tools);
}

function renderAttachment(attachment) {
  const color = /^#?[0-9a-f]{6}$/i.test(attachment.color || "") ? "custom" : attachment.color || "";
  return el("div", { class: `attachment ${color}` },
    attachment.title ? el("div", { class: "attachment-title" }, attachment.title) : null,
    attachment.text ? mrkdwn(attachment.text) : null,
    (attachment.fields || []).map((f) => el("div", { class: "bk-field" }, el("strong", {}, f.title), el("div", {}, mrkdwn(f.value)))),
    attachment.blocks ? renderBlocks(attachment.blocks, { kind: "message" }) : null);
}

function renderFile(file) {
  if (file.image) return el("figure", { class: "file" }, image(file.url, file.title), el("figcaption", {}, file.title));
  return el("a", { class: "file-chip", href: file.url, download: file.name }, `📄 ${file.title}`);
}

function renderPane() {
  const pane = $("side-pane");
  pane.hidden = !ui.pane;
  $("thread").hidden = ui.pane !== "thread";
  $("thread-composer").hidden = ui.pane !== "thread";
  $("processor").hidden = ui.pane !== "processor";
  if (ui.pane !== "thread") {
    if (ui.pane === "processor") $("pane-title").textContent = "Sandbox processor";
    return;
  }
  const parent = visibleMessages().find((m) => m.channel === ui.thread.channel && m.ts === ui.thread.ts);
  const channel = channelById(ui.thread.channel);
  $("pane-title").textContent = channel && channel.kind === "channel" ? `Thread · #${channel.name}` : "Thread";
  const box = $("thread");
  if (!parent) {
    box.replaceChildren(el("div", { class: "empty" }, "This message is gone."));
    return;
  }
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const list = replies(parent);
  box.replaceChildren(renderMessage(parent, true),
    el("div", { class: "thread-divider" }, `${list.length} ${list.length === 1 ? "reply" : "replies"}`),
    ...list.map((m) => renderMessage(m, true)));
  if (nearBottom) {
    box.scrollTop = box.scrollHeight;
    box.dataset.stick = "1";
  }
}

function renderModal() {
  const view = ui.data.modal;
  const root = $("modal-root");
  if (!view) {
    if (ui.modal.id) ui.modal = { id: null, hash: null, values: {}, errors: {}, busy: false };
    root.replaceChildren();
    return;
  }
  if (view.id === ui.modal.id && view.hash === ui.modal.hash && root.firstChild) return;
  if (view.id !== ui.modal.id) ui.modal = { id: view.id, hash: null, values: {}, errors: {}, busy: false };
  else ui.modal.errors = {};
  ui.modal.hash = view.hash;
  drawModal(view);
}

function drawModal(view) {
  const root = $("modal-root");
  const depth = ui.data.modal_depth || 1;
  const closeLabel = plain(view.close) || (depth > 1 ? "Back" : "Cancel");
  const submit = view.submit
    ? el("button", { type: "button", class: "bk-button primary modal-submit", onclick: submitModal, disabled: ui.modal.busy }, plain(view.submit))
    : null;
  const dialog = el("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": "modal-title" },
    el("div", { class: "modal-header" },
      el("h2", { id: "modal-title" }, plain(view.title)),
      el("button", { type: "button", class: "icon-button", "aria-label": "Close", onclick: () => closeModal(view.root_view_id || view.id) }, "×")),
    el("div", { class: "modal-body" }, renderBlocks(view.blocks, { kind: "view", view, modal: true })),
    el("div", { class: "modal-footer" },
      el("button", { type: "button", class: "bk-button modal-close", onclick: () => closeModal(view.id) }, closeLabel),
      submit));
  root.replaceChildren(el("div", { class: "backdrop" }, dialog));
}

function requiredErrors(view) {
  const errors = {};
  for (const block of view.blocks || []) {
    if (block.type !== "input" || block.optional) continue;
    const value = ui.modal.values[block.block_id];
    const empty = value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length);
    if (empty) errors[block.block_id] = "Please complete this required field.";
    const min = (block.element || {}).min_length;
    if (!empty && min && String(value).length < min) errors[block.block_id] = `Enter at least ${min} characters.`;
  }
  return errors;
}

async function submitModal() {
  const view = ui.data.modal;
  if (!view || ui.modal.busy) return;
  const errors = requiredErrors(view);
  if (Object.keys(errors).length) {
    ui.modal.errors = errors;
    drawModal(view);
    return;
  }
  ui.modal.busy = true;
  drawModal(view);
  try {
    const answer = await api("/workspace/submit", { user: ui.me, view_id: view.id, values: ui.modal.values });
    ui.modal.busy = false;
    if (answer.errors && Object.keys(answer.errors).length) {
      ui.modal.errors = answer.errors;
      drawModal(view);
    }
  } catch (error) {
    ui.modal.busy = false;
    drawModal(view);
    toast(error.message, "error");
  }
  refresh(true);
}

async function closeModal(viewId) {
  try {
    await api("/workspace/close", { user: ui.me, view_id: viewId });
  } catch (error) {
    toast(error.message, "error");
  }
  refresh(true);
}

// -- navigation --------------------------------------------------------------------------

export function openChannel(id) {
  ui.channel = id;
  if (ui.pane === "thread") ui.pane = null;
  if (isApp() && ui.appTab === "home") askForHome();
  render();
}

function setTab(tab) {
  ui.appTab = tab;
  if (tab === "home") askForHome();
  render();
}

async function askForHome() {
  try {
    await api("/workspace/home", { user: ui.me });
  } catch (error) {
    toast(error.message, "error");
  }
  refresh(true);
}

function openThread(message) {
  ui.thread = { channel: message.channel, ts: message.ts };
  ui.pane = "thread";
  render();
  $("thread").scrollTop = $("thread").scrollHeight;
}

// -- polling -----------------------------------------------------------------------------

export async function refresh(force) {
  if (!ui.me || (ui.polling && !force)) return;
  ui.polling = true;
  try {
    const since = force || ui.version === null ? "" : `&since=${encodeURIComponent(ui.version)}`;
    const data = await api(`/workspace/state?user=${encodeURIComponent(ui.me)}${since}`);
    if (data.changed) {
      ui.data = data;
      ui.version = data.version;
      if (!ui.channel || !channelById(ui.channel)) ui.channel = data.channels[0].id;
      render();
    }
  } catch (error) {
    document.body.classList.add("offline");
    return;
  } finally {
    ui.polling = false;
  }
  document.body.classList.remove("offline");
}

async function start() {
  const people = await api("/workspace/people");
  if (!people.some((p) => p.id === ui.me)) ui.me = people[0].id;
  ui.seenBy[ui.me] = ui.seen;
  await refresh(true);
  setInterval(() => refresh(false), POLL_MS);
}

function switchUser(id) {
  ui.me = id;
  localStorage.setItem("paybot-demo-user", id);
  ui.version = null;
  ui.data = null;
  ui.modal = { id: null, hash: null, values: {}, errors: {}, busy: false };
  $("modal-root").replaceChildren();
  $("home").dataset.hash = "";
  ui.seenBy[id] = ui.seenBy[id] || {};
  ui.seen = ui.seenBy[id];
  if (ui.pane === "thread") ui.pane = null;
  if (isAppChannelId(ui.channel)) ui.channel = null;
  refresh(true).then(() => {
    if (isApp() && ui.appTab === "home") askForHome();
  });
}

function isAppChannelId(id) {
  return typeof id === "string" && id.startsWith("D");
}

// -- wiring ------------------------------------------------------------------------------

function composer(form, input, threadOnly) {
  const submit = async () => {
    const text = input.value.trim();
    if (!text) return;
    $("composer-error").textContent = "";
    input.value = "";
    try {
      await send(text, threadOnly ? ui.thread.ts : null);
    } catch (error) {
      if (!input.value) input.value = text;
      if (threadOnly) toast(error.message, "error");
      else $("composer-error").textContent = error.message;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  });
}

function processorForm(id, what) {
  const form = $(id);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(form).entries());
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const news = await api("/workspace/processor", { what, ...fields });
      const lookup = news.transaction_id
        ? el("button", { type: "button", class: "tip", onclick: () => fillComposer(`/pay lookup ${news.transaction_id}`) }, "Look it up")
        : null;
      toast(news.text, news.ok ? "" : "error", lookup);
      $("proc-log").prepend(el("li", { class: news.ok ? "" : "error" }, news.text));
    } catch (error) {
      toast(error.message, "error");
    } finally {
      button.disabled = false;
    }
    refresh(true);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const list of [$("messages"), $("thread")]) {
    list.addEventListener("scroll", () => {
      list.dataset.stick = list.scrollHeight - list.scrollTop - list.clientHeight < 60 ? "1" : "";
    });
  }
  composer($("composer"), $("composer-input"), false);
  composer($("thread-composer"), $("thread-input"), true);
  $("acting-as").addEventListener("change", (event) => switchUser(event.target.value));
  $("pane-close").addEventListener("click", () => { ui.pane = null; render(); });
  $("processor-toggle").addEventListener("click", () => { ui.pane = ui.pane === "processor" ? null : "processor"; render(); });
  $("tab-home").addEventListener("click", () => setTab("home"));
  $("tab-messages").addEventListener("click", () => setTab("messages"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && $("dialog-root").firstChild) $("dialog-root").querySelector(".modal-footer button")?.click();
  });
  processorForm("proc-charge", "charge");
  processorForm("proc-chargeback", "chargeback");
  processorForm("proc-return", "return");
  processorForm("proc-settle", "settle");
  start();
});
