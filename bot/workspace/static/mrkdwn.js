// Slack's mrkdwn rendered as DOM nodes, and Block Kit text objects. Text goes in through
// textContent or createTextNode, never innerHTML.

import { el } from "./dom.js";
import { channelById, displayName } from "./state.js";
import { openChannel } from "./app.js";

// -- mrkdwn -----------------------------------------------------------------------------

// Slack sends &, < and > escaped in text; they are shown as the characters, as text.
function unescapeText(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function isWordChar(ch) {
  return ch !== undefined && /[A-Za-z0-9]/.test(ch);
}

export function safeUrl(url) {
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

export function mrkdwn(text) {
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

export function textObject(object, cls) {
  if (!object) return null;
  if (object.type === "mrkdwn") {
    const node = mrkdwn(object.text);
    if (cls) node.classList.add(cls);
    return node;
  }
  return el("div", { class: `plain ${cls || ""}` }, object.text);
}

export function plain(object) {
  return object ? object.text : "";
}
