// Block Kit rendered like the Slack client: blocks, elements, inputs bound to the open modal,
// and what a click sends to the workspace.

import { $, api, el, toast } from "./dom.js";
import { ui } from "./state.js";
import { mrkdwn, plain, safeUrl, textObject } from "./mrkdwn.js";
import { refresh } from "./app.js";

// -- Block Kit ---------------------------------------------------------------------------

// ctx: {kind: "message", channel, ts} or {kind: "view", view, modal: bool}
export function renderBlocks(blocks, ctx) {
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
export function image(url, alt, cls) {
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
    case "file_input": {
      values[id] = values[id] ?? [];
      const types = element.filetypes || [];
      control = el("input", {
        id: fieldId, type: "file", class: "bk-file", multiple: (element.max_files ?? 10) > 1,
        accept: types.length ? types.map((t) => `.${t}`).join(",") : null,
      });
      control.addEventListener("change", async () => {
        const picked = [...control.files].slice(0, element.max_files ?? 10);
        try {
          set(await Promise.all(picked.map((file) => uploadFile(file))));
        } catch (e) {
          toast(`Slack did not take the file: ${e.message}`, "error");
        }
      });
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

// A file picked in a file_input goes to the workspace at once, as Slack stores it on upload; the
// submission carries its file object.
async function uploadFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const answer = await api("/workspace/upload", { user: ui.me, name: file.name, content: btoa(binary) });
  return answer.file;
}

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
