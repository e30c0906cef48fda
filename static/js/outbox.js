// The phone's outbox (issue 16): writes kept in IndexedDB until the server has them. Shared by the pages
// (offline.js) and the service worker (sw.js, for Background Sync); it touches no page, so it runs in both.
//
// An item: {key, user, kind: "visit" | "clear" | "move", url, fields: [[name, value], ...], label, day,
// queuedAt, state: "waiting" | "refused", reasons, status}. `key` is its idempotency key, sent as the form's
// `idempotency_key`: the server records a key once, so a resend after a lost answer is harmless. `user` is the
// writer's key (activity_log.offline.keys.user_key): a queue is listed and sent only for its writer.
(function (global) {
  "use strict";
  const DB_NAME = "loudou-outbox";
  const ITEMS = "items";
  const SYNCS = "syncs"; // {user, at}: when the user's queue last reached the server
  const HEADER = "X-Loudou-Outbox";
  let opened = null;
  let flushing = null;

  function database() {
    opened = opened || new Promise((resolve, reject) => {
      const request = global.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(ITEMS, { keyPath: "key" }).createIndex("user", "user");
        request.result.createObjectStore(SYNCS, { keyPath: "user" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  }

  // One request in its own transaction; resolves with its result once the transaction is complete.
  async function run(store, mode, work) {
    const db = await database();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      const request = work(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }

  function newKey() {
    const bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  const put = (item) => run(ITEMS, "readwrite", (store) => store.put(item));
  const get = (key) => run(ITEMS, "readonly", (store) => store.get(key));
  const discard = (key) => run(ITEMS, "readwrite", (store) => store.delete(key));
  const lastSync = (user) => run(SYNCS, "readonly", (store) => store.get(user)).then((row) => row && row.at);

  async function list(user) {
    if (!user) return [];
    const items = await run(ITEMS, "readonly", (store) => store.index("user").getAll(user));
    return items.sort((a, b) => a.queuedAt - b.queuedAt);
  }

  // Who is signed in and a CSRF token of this session (never one from a cached page).
  async function signedIn(stateUrl) {
    const response = await fetch(stateUrl, { credentials: "same-origin", cache: "no-store", redirect: "manual" });
    if (response.status === 403 || response.type === "opaqueredirect") return { user: "", signedOut: true };
    if (!response.ok) throw new Error(`state: ${response.status}`);
    return response.json();
  }

  // One send: {outcome: "sent", url} | {outcome: "refused", reasons, status} | {outcome: "offline"}.
  async function send(item, csrf, mode) {
    let response;
    try {
      response = await fetch(item.url, {
        method: "POST",
        body: new URLSearchParams(item.fields),
        credentials: "same-origin",
        redirect: "manual",
        headers: { "X-CSRFToken": csrf, [HEADER]: mode || "later" },
      });
    } catch (error) {
      return { outcome: "offline" }; // no answer: the network, not the server
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      answer = null;
    }
    if (answer && answer.ok) return { outcome: "sent", url: answer.url };
    if (answer && answer.reasons) return { outcome: "refused", reasons: answer.reasons, status: response.status };
    // Sent to the sign-in page: the session ended. Kept with that reason, sent again after signing in.
    if (response.type === "opaqueredirect") return { outcome: "refused", reasons: [], status: 401 };
    // The server is down or restarting: kept waiting, tried again later.
    if (response.status >= 500) return { outcome: "offline" };
    return { outcome: "refused", reasons: [], status: response.status };
  }

  // Sends the waiting items of whoever is signed in, oldest first; stops at the first network failure.
  async function flushOnce(stateUrl) {
    let who;
    try {
      who = await signedIn(stateUrl);
    } catch (error) {
      return { offline: true, sent: 0, refused: 0 };
    }
    if (!who.user) return { signedOut: true, sent: 0, refused: 0 };
    const summary = { user: who.user, sent: 0, refused: 0 };
    for (const item of await list(who.user)) {
      if (item.state !== "waiting") continue;
      const result = await send(item, who.csrf);
      if (result.outcome === "offline") return { ...summary, offline: true };
      if (result.outcome === "sent") {
        await discard(item.key);
        summary.sent += 1;
      } else {
        await put({ ...item, state: "refused", reasons: result.reasons, status: result.status });
        summary.refused += 1;
      }
    }
    await run(SYNCS, "readwrite", (store) => store.put({ user: who.user, at: Date.now() }));
    return summary;
  }

  // One flush at a time per page or worker (two at once would only send twice, which the keys make harmless).
  function flush(stateUrl) {
    flushing = flushing || flushOnce(stateUrl).finally(() => {
      flushing = null;
    });
    return flushing;
  }

  // The item a page just queued, sent at once: the answer tells the page where to go, or why not.
  async function sendNow(item, stateUrl) {
    let who;
    try {
      who = await signedIn(stateUrl);
    } catch (error) {
      return { outcome: "offline" };
    }
    if (who.user !== item.user) return { outcome: "refused", reasons: [], status: 401 };
    return send(item, who.csrf, "now");
  }

  global.LoudouOutbox = { newKey, put, get, discard, list, lastSync, flush, sendNow };
})(self);
