// What the page knows: the person acting, the workspace as last fetched, lookups in it.

export const POLL_MS = 1000;
export const ui = {
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

function users() {
  const map = new Map();
  for (const u of (ui.data && ui.data.users) || []) map.set(u.id, u);
  return map;
}

export function displayName(userId) {
  if (userId === "USLACKBOT") return "Slackbot";
  const user = users().get(userId);
  if (!user) return userId;
  return user.is_bot ? user.real_name : user.real_name || user.name;
}

export function channelById(id) {
  return ((ui.data && ui.data.channels) || []).find((c) => c.id === id);
}

export function timeOf(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
