// The demo workspace page: renders FakeSlack's state like the Slack client and sends what the
// person does to /workspace/*. Every piece of text from the bot or a person goes into the page
// through textContent or createTextNode, never innerHTML, so no message can inject markup.
"use strict";

(() => {
  const POLL_MS = 1000;
  const ui = {
    me: localStorage.getItem("paybot-demo-user"),
    data: null,
    version: null,
    channel: null,
    appTab: "home",
    thread: null, // {channel, ts}
    pane: null, // "thread" | "processor"
    modal: { id: null, hash: null, values: {}, errors: {}, busy: false },
    seen: {},
    seenBy: {},
    polling: false,
  };
  const $ = (id) => document.getElementById(id);

  // -- small helpers ----------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(path, body) {
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
    return data;
  }

  function toast(text, kind, extra) {
    const item = el("div", { class: `toast ${kind || ""}`, role: "status" }, el("span", {}, text), extra);
    $("toasts").append(item);
    setTimeout(() => item.remove(), kind === "error" ? 9000 : 7000);
  }

  function users() {
    const map = new Map();
    for (const u of (ui.data && ui.data.users) || []) map.set(u.id, u);
    return map;
  }

  function displayName(userId) {
    if (userId === "USLACKBOT") return "Slackbot";
    const user = users().get(userId);
    if (!user) return userId;
    return user.is_bot ? user.real_name : user.real_name || user.name;
  }

  function channelById(id) {
    return ((ui.data && ui.data.channels) || []).find((c) => c.id === id);
  }

  function timeOf(ts) {
    const date = new Date(parseFloat(ts) * 1000);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // -- mrkdwn -----------------------------------------------------------------------------

  // Slack sends &, < and > escaped in text; they are shown as the characters, as text.
  function unescapeText(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function isWordChar(ch) {
    return ch !== undefined && /[A-Za-z0-9]/.test(ch);
  }

  function safeUrl(url) {
    return /^(https?:|mailto:)/i.test(url) ? url : null;
  }

  function angleToken(inner) {
    const [target, label] = splitOnce(inner, "|");
    if (target.startsWith("@")) {
      return el("span", { class: "mention" }, `@${label || displayName(target.slice(1))}`);
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const channel = channelById(id);
      const name = label || (channel ? channel.name : id);
      return el("a", { class: "mention channel-link", href: "#", onclick: (e) => { e.preventDefault(); if (channel) openChannel(id); } }, `#${name}`);
    }
    if (target.startsWith("!")) {
      const special = target.slice(1);
      if (["here", "channel", "everyone"].includes(special)) return el("span", { class: "mention" }, `@${special}`);
      return document.createTextNode(unescapeText(label || special));
    }
    const url = safeUrl(unescapeText(target));
    const text = unescapeText(label || target);
    return url
      ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text)
      : document.createTextNode(text);
  }

  function splitOnce(text, separator) {
    const at = text.indexOf(separator);
    return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
  }

  const MARKS = { "*": "strong", _: "em", "~": "s" };

  function closingMark(text, mark, from) {
    for (let j = from + 1; j < text.length; j++) {
      if (text[j] === "\n") return -1;
      if (text[j] === mark && text[j - 1] !== " " && !isWordChar(text[j + 1])) return j;
    }
    return -1;
  }

  function inline(text) {
    const out = [];
    let plain = "";
    const flush = () => {
      if (plain) out.push(document.createTextNode(unescapeText(plain)));
      plain = "";
    };
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === "`") {
        const end = text.indexOf("`", i + 1);
        if (end > i + 1) {
          flush();
          out.push(el("code", {}, unescapeText(text.slice(i + 1, end))));
          i = end + 1;
          continue;
        }
      }
      if (ch === "<") {
        const end = text.indexOf(">", i + 1);
        const inner = end > i + 1 ? text.slice(i + 1, end) : "";
        if (inner && !inner.includes("<") && !inner.includes("\n")) {
          flush();
          out.push(angleToken(inner));
          i = end + 1;
          continue;
        }
      }
      if (MARKS[ch] && !isWordChar(text[i - 1]) && text[i + 1] && text[i + 1] !== " " && text[i + 1] !== ch) {
        const end = closingMark(text, ch, i);
        if (end > i + 1) {
          flush();
          out.push(el(MARKS[ch], {}, inline(text.slice(i + 1, end))));
          i = end + 1;
          continue;
        }
      }
      plain += ch;
      i++;
    }
    flush();
    return out;
  }

  function mrkdwn(text) {
    const root = el("div", { class: "mrkdwn" });
    const parts = String(text || "").split("```");
    parts.forEach((part, index) => {
      if (index % 2 === 1 && index < parts.length - 1) {
        root.append(el("pre", {}, unescapeText(part.replace(/^\n/, ""))));
        return;
      }
      let quote = null;
      part.split("\n").forEach((line, n, lines) => {
        if (line.startsWith(">")) {
          if (!quote) {
            quote = el("blockquote");
            root.append(quote);
          } else {
            quote.append(el("br"));
          }
          quote.append(...inline(line.slice(1)));
          return;
        }
        quote = null;
        root.append(...inline(line));
        if (n < lines.length - 1) root.append(el("br"));
      });
    });
    return root;
  }

  function textObject(object, cls) {
    if (!object) return null;
    if (object.type === "mrkdwn") {
      const node = mrkdwn(object.text);
      if (cls) node.classList.add(cls);
      return node;
    }
    return el("div", { class: `plain ${cls || ""}` }, object.text);
  }

  function plain(object) {
    return object ? object.text : "";
  }

  // -- Block Kit ---------------------------------------------------------------------------

  // ctx: {kind: "message", channel, ts} or {kind: "view", view, modal: bool}
  function renderBlocks(blocks, ctx) {
    return el("div", { class: "blocks" }, (blocks || []).map((block) => renderBlock(block, ctx)));
  }

  function renderBlock(block, ctx) {
    switch (block.type) {
      case "header":
        return el("div", { class: "bk-header" }, plain(block.text));
      case "section": {
        const main = el("div", { class: "bk-section-main" }, textObject(block.text));
        if (block.fields && block.fields.length) {
          main.append(el("div", { class: "bk-fields" }, block.fields.map((f) => textObject(f, "bk-field"))));
        }
        const accessory = block.accessory ? el("div", { class: "bk-accessory" }, renderElement(block.accessory, block, ctx)) : null;
        return el("div", { class: "bk-section" }, main, accessory);
      }
      case "divider":
        return el("hr", { class: "bk-divider" });
      case "context":
        return el("div", { class: "bk-context" }, (block.elements || []).map((item) =>
          item.type === "image" ? image(item.image_url, item.alt_text, "bk-context-image") : textObject(item)));
      case "actions":
        return el("div", { class: "bk-actions" }, (block.elements || []).map((item) => renderElement(item, block, ctx)));
      case "input":
        return renderInput(block, ctx);
      case "image":
        return el("figure", { class: "bk-image" },
          block.title ? el("figcaption", {}, plain(block.title)) : null,
          image(block.image_url, block.alt_text));
      case "markdown":
        return mrkdwn(block.text);
      case "rich_text":
        return el("div", { class: "plain" }, richText(block));
      default:
        return el("div", { class: "bk-unknown" }, `[${block.type} block]`);
    }
  }

  function richText(node) {
    if (!node) return "";
    if (typeof node.text === "string") return node.text;
    return (node.elements || []).map(richText).join("");
  }

  // Only this server's files and data: URLs load; anything else would need the network.
  function image(url, alt, cls) {
    const missing = () => el("span", { class: "img-missing" }, `🖼 ${alt || "image"}`);
    const local = typeof url === "string" && (/^data:image\//i.test(url) || /^\/(?!\/)/.test(url));
    if (!local) return missing();
    const img = el("img", { class: cls || "bk-img", alt: alt || "", src: url });
    img.addEventListener("error", () => img.replaceWith(missing()));
    img.addEventListener("load", () => {
      const list = img.closest(".messages, .thread");
      if (list && list.dataset.stick === "1") list.scrollTop = list.scrollHeight;
    });
    return img;
  }

  function optionText(option) {
    return option && option.text ? option.text.text : "";
  }

  function allOptions(element) {
    const options = [...(element.options || [])];
    for (const group of element.option_groups || []) options.push(...(group.options || []));
    return options;
  }

  function renderElement(element, block, ctx) {
    const picked = (selected) => act(element, block, ctx, selected);
    switch (element.type) {
      case "button": {
        const cls = `bk-button ${element.style || ""}`;
        if (element.url && safeUrl(element.url)) {
          return el("a", { class: cls, href: element.url, target: "_blank", rel: "noopener noreferrer", onclick: () => picked(null) }, plain(element.text));
        }
        return el("button", { type: "button", class: cls, onclick: () => picked(null) }, plain(element.text));
      }
      case "static_select":
      case "external_select": {
        const select = el("select", { class: "bk-select", "aria-label": plain(element.placeholder) || "Choose" },
          el("option", { value: "" }, plain(element.placeholder) || "Select an item"),
          allOptions(element).map((o) => el("option", { value: o.value }, optionText(o))));
        if (element.initial_option) select.value = element.initial_option.value;
        select.addEventListener("change", () => select.value && picked(select.value));
        return select;
      }
      case "users_select":
        return usersSelect(element, element.initial_user, (value) => value && picked(value));
      case "overflow":
        return overflow(element, picked);
      case "datepicker": {
        const input = el("input", { type: "date", class: "bk-date", value: element.initial_date || "" });
        input.addEventListener("change", () => input.value && picked(input.value));
        return input;
      }
      case "radio_buttons":
      case "checkboxes":
        return choices(element, `${ctx.ts || ctx.view?.id}-${block.block_id || ""}-${element.action_id}`,
          element.type === "checkboxes" ? (element.initial_options || []).map((o) => o.value) : element.initial_option ? [element.initial_option.value] : [],
          (values) => picked(element.type === "checkboxes" ? values : values[0]));
      case "image":
        return image(element.image_url, element.alt_text, "bk-accessory-image");
      default:
        return el("span", { class: "bk-unknown" }, `[${element.type}]`);
    }
  }

  function usersSelect(element, initial, onChange) {
    const people = ((ui.data && ui.data.users) || []).filter((u) => !u.is_bot);
    const select = el("select", { class: "bk-select", "aria-label": plain(element.placeholder) || "Choose a person" },
      el("option", { value: "" }, plain(element.placeholder) || "Choose a person"),
      people.map((u) => el("option", { value: u.id }, `${u.real_name} (@${u.name})`)));
    if (initial) select.value = initial;
    select.addEventListener("change", () => onChange(select.value));
    return select;
  }

  function overflow(element, picked) {
    const menu = el("div", { class: "overflow-menu", hidden: true },
      (element.options || []).map((o) => el("button", { type: "button", onclick: () => { menu.hidden = true; picked(o.value); } }, optionText(o))));
    const toggle = el("button", { type: "button", class: "bk-button overflow", "aria-label": "More actions", onclick: () => { menu.hidden = !menu.hidden; } }, "⋯");
    return el("div", { class: "overflow-wrap" }, toggle, menu);
  }

  function choices(element, name, initial, onChange) {
    const multiple = element.type === "checkboxes";
    const box = el("div", { class: "bk-choices" });
    for (const option of element.options || []) {
      const input = el("input", { type: multiple ? "checkbox" : "radio", name, value: option.value });
      input.checked = initial.includes(option.value);
      input.addEventListener("change", () => {
        const chosen = [...box.querySelectorAll("input")].filter((i) => i.checked).map((i) => i.value);
        onChange(chosen);
      });
      box.append(el("label", { class: "bk-choice" }, input, textObject(option.text),
        option.description ? textObject(option.description, "muted") : null));
    }
    return box;
  }

  // An input block of a modal: bound to ui.modal.values, sent on submit.
  function renderInput(block, ctx) {
    const element = block.element || {};
    const id = block.block_id;
    const values = ui.modal.values;
    const error = ui.modal.errors[id];
    const set = (value) => {
      values[id] = value;
      if (ui.modal.errors[id]) {
        delete ui.modal.errors[id];
        wrapper.querySelector(".bk-error")?.remove();
        wrapper.classList.remove("has-error");
      }
      if (block.dispatch_action) act(element, block, ctx, value);
    };
    const fieldId = `input-${id}`;
    let control;
    switch (element.type) {
      case "plain_text_input": {
        const current = values[id] ?? element.initial_value ?? "";
        values[id] = current;
        control = el(element.multiline ? "textarea" : "input", {
          id: fieldId, class: "bk-text", name: id,
          placeholder: plain(element.placeholder) || null,
          maxlength: element.max_length || null,
          rows: element.multiline ? 4 : null,
        });
        control.value = current;
        control.addEventListener("input", () => set(control.value));
        break;
      }
      case "static_select": {
        values[id] = values[id] ?? (element.initial_option ? element.initial_option.value : "");
        control = el("select", { id: fieldId, class: "bk-select", name: id },
          el("option", { value: "" }, plain(element.placeholder) || "Select an item"),
          allOptions(element).map((o) => el("option", { value: o.value }, optionText(o))));
        control.value = values[id];
        control.addEventListener("change", () => set(control.value));
        break;
      }
      case "users_select":
        values[id] = values[id] ?? element.initial_user ?? "";
        control = usersSelect(element, values[id], set);
        control.id = fieldId;
        break;
      case "datepicker":
        values[id] = values[id] ?? element.initial_date ?? "";
        control = el("input", { id: fieldId, type: "date", class: "bk-date", value: values[id] });
        control.addEventListener("change", () => set(control.value));
        break;
      case "radio_buttons":
      case "checkboxes": {
        const multiple = element.type === "checkboxes";
        const initial = multiple
          ? (element.initial_options || []).map((o) => o.value)
          : element.initial_option ? [element.initial_option.value] : [];
        const current = values[id] ?? (multiple ? initial : initial[0] || "");
        values[id] = current;
        control = choices(element, fieldId, multiple ? current : [current].filter(Boolean),
          (chosen) => set(multiple ? chosen : chosen[0] || ""));
        break;
      }
      default:
        control = el("span", { class: "bk-unknown" }, `[${element.type}]`);
    }
    const wrapper = el("div", { class: `bk-input ${error ? "has-error" : ""}`, dataset: { blockId: id } },
      el("label", { class: "bk-label", for: fieldId }, plain(block.label),
        block.optional ? el("span", { class: "optional" }, " (optional)") : null),
      control,
      block.hint ? el("div", { class: "bk-hint" }, plain(block.hint)) : null,
      error ? el("div", { class: "bk-error", role: "alert" }, error) : null);
    return wrapper;
  }

  // -- talking to the workspace ------------------------------------------------------------

  async function act(element, block, ctx, selected) {
    if (element.confirm && !(await confirmDialog(element.confirm))) return;
    const body = {
      user: ui.me,
      action_id: element.action_id,
      block_id: block.block_id || null,
      value: element.value ?? null,
      selected: selected ?? null,
    };
    if (ctx.kind === "view") {
      body.view_id = ctx.view.id;
      body.values = ctx.modal ? ui.modal.values : {};
    } else {
      body.channel = ctx.channel;
      body.ts = ctx.ts;
    }
    try {
      await api("/workspace/action", body);
    } catch (error) {
      toast(error.message, "error");
    }
    refresh(true);
  }

  async function send(text, threadTs) {
    const channel = ui.thread && threadTs ? ui.thread.channel : ui.channel;
    await api("/workspace/command", { user: ui.me, channel, text, thread_ts: threadTs || null });
    refresh(true);
  }

  function confirmDialog(confirm) {
    return new Promise((resolve) => {
      const root = $("dialog-root");
      const done = (answer) => {
        root.replaceChildren();
        resolve(answer);
      };
      const dialog = el("div", { class: "modal confirm", role: "dialog", "aria-modal": "true", "aria-label": plain(confirm.title) || "Are you sure?" },
        el("div", { class: "modal-header" }, el("h2", {}, plain(confirm.title) || "Are you sure?")),
        el("div", { class: "modal-body" }, textObject(confirm.text)),
        el("div", { class: "modal-footer" },
          el("button", { type: "button", class: "bk-button", onclick: () => done(false) }, plain(confirm.deny) || "Cancel"),
          el("button", { type: "button", class: `bk-button ${confirm.style === "danger" ? "danger" : "primary"} confirm-ok`, onclick: () => done(true) }, plain(confirm.confirm) || "Yes")));
      root.replaceChildren(el("div", { class: "backdrop" }, dialog));
      dialog.querySelector(".confirm-ok").focus();
    });
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

  function openChannel(id) {
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

  async function refresh(force) {
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
})();
