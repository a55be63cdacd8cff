// The official TypeScript ingress client (@restatedev/restate-sdk-clients) driving the services of
// service.mjs through a server's ingress, for tests/tsclient. Run:
//
//	INGRESS=http://127.0.0.1:8080 ADMIN=http://127.0.0.1:9070 EFFECTS_FILE=/path/effects node --import ./polyfill.mjs ingressclient.mjs
//
// ADMIN is the admin API (to cancel and kill invocations). EFFECTS_FILE is the file service.mjs appends its side effects to (TsSteps.awake publishes its
// awakeable's id there). Every step runs in order on a fresh server and prints one JSON line
//
//	{"step": name, "value": …, "fetches": n}  or  {"step": name, "error": {…}, "fetches": n}
//
// where fetches counts the HTTP requests the client made for the step and an error is the
// client's HttpCallError (status, the body's code, message and source, and the
// x-restate-error-source header) or another error's message. What a step cannot print as it is
// (the clock) the step turns into facts (true/false). The test compares the lines with what it
// expects, on both servers.
import * as clients from "@restatedev/restate-sdk-clients";
import { readFileSync } from "node:fs";

const url = process.env.INGRESS;
const adminURL = process.env.ADMIN;
const effectsFile = process.env.EFFECTS_FILE;
if (!url || !adminURL || !effectsFile) throw new Error("INGRESS, ADMIN and EFFECTS_FILE must be set");

let fetches = 0;
let lastErrorSource;
// countingFetch is the client's fetch (ConnectionOpts.fetch): it counts requests and keeps the
// x-restate-error-source header of the last failed response.
const countingFetch = async (input, init) => {
  fetches++;
  const resp = await fetch(input, init);
  if (!resp.ok) lastErrorSource = resp.headers.get("x-restate-error-source");
  return resp;
};

const ingress = clients.connect({ url, fetch: countingFetch });
// retrying retries what its default policy calls retryable (network errors, 408, 425, 429, 5xx)
// unless the server says the error is the invocation's own (x-restate-error-source: invocation).
const retrying = clients.connect({
  url,
  fetch: countingFetch,
  retry: { maxAttempts: 3, initialInterval: 10, maxInterval: 10 },
});

const TsCounter = { name: "TsCounter" };
const TsSteps = { name: "TsSteps" };
const TsOrder = { name: "TsOrder" };

function describe(e) {
  if (e instanceof clients.HttpCallError) {
    let body;
    try {
      body = JSON.parse(e.responseText);
    } catch {
      body = e.responseText;
    }
    return { status: e.status, body, errorSource: lastErrorSource ?? null };
  }
  return { message: String(e?.message ?? e) };
}

// pending starts a call whose promise the step awaits later: its rejection must not count as
// unhandled meanwhile (Node would exit).
function pending(promise) {
  promise.catch(() => {});
  return promise;
}

async function step(name, fn) {
  const before = fetches;
  lastErrorSource = undefined;
  const line = { step: name };
  try {
    const value = await fn();
    line.value = value === undefined ? null : value;
  } catch (e) {
    line.error = describe(e);
  }
  line.fetches = fetches - before;
  console.log(JSON.stringify(line));
}

// fetchJSON is a plain GET, for what the client has no method for (attach and output by
// idempotency key, output by invocation id).
async function fetchJSON(path) {
  const resp = await fetch(url + path);
  const text = await resp.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: resp.status, body, errorSource: resp.headers.get("x-restate-error-source") };
}

// effect waits for the first effect line of service.mjs that starts with prefix and returns the
// rest of it.
async function effect(prefix) {
  for (let i = 0; i < 3000; i++) {
    let text = "";
    try {
      text = readFileSync(effectsFile, "utf8");
    } catch {}
    const line = text.split("\n").find((l) => l.startsWith(prefix));
    if (line) return line.slice(prefix.length);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no effect line ${prefix}`);
}

// awakeableID waits for TsSteps.awake's effect line "ts <tag> awakeable <id>".
const awakeableID = (tag) => effect(`ts ${tag} awakeable `);

// cancel and kill an invocation through the admin API (the client has no method for them).
async function admin(id, op) {
  const resp = await fetch(`${adminURL}/invocations/${id}/${op}`, { method: "PATCH" });
  await resp.arrayBuffer();
  return resp.status;
}

// --- calls -----------------------------------------------------------------------------------
const counter = ingress.objectClient(TsCounter, "c1");
await step("object call", () => counter.add(5));
await step("object call again", () => counter.add(2));
await step("shared handler call", () => counter.get());
await step("service call", () => ingress.serviceClient(TsSteps).run("bob"));
await step("generic call", () =>
  ingress.call({ service: "TsCounter", key: "c1", handler: "get", parameter: undefined, opts: clients.rpc.opts({ input: clients.serde.json, output: clients.serde.json }) }),
);
await step("unknown handler", () => ingress.serviceClient(TsSteps).nope("x"));
await step("unknown service", () => ingress.serviceClient({ name: "Nowhere" }).run("x"));

// --- idempotency keys ------------------------------------------------------------------------
const idem = (k) => clients.rpc.opts({ idempotencyKey: k });
await step("idempotent call", () => counter.add(10, idem("k1")));
// The same key with another argument: still the first call's answer, and no second add.
await step("idempotent call repeated", () => counter.add(99, idem("k1")));
await step("count after idempotent calls", () => counter.get());
await step("idempotent call, another key", () => counter.add(1, idem("k2")));
// Refused before anything runs: an idempotency key that is not ASCII, and a limit key (flow
// control) without a scope.
await step("idempotency key not ASCII", () => counter.add(1, idem("\u00fc")));
await step("limit key without scope", () => counter.add(1, clients.rpc.opts({ limitKey: "tenant1/user42" })));
await step("invalid limit key", () => counter.add(1, clients.rpc.opts({ limitKey: "a b" })));
// Scopes (flow control) need restate-server's vqueues, off by default: refused on both.
const scoped = ingress.scope("tenant1");
await step("scoped call", () => scoped.serviceClient(TsSteps).run("x"));
await step("scoped send", () => scoped.serviceSendClient(TsSteps).run("x"));
await step("scoped object call with limit key", () => scoped.objectClient(TsCounter, "c1").add(1, clients.rpc.opts({ limitKey: "u1" })));
await step("scoped workflow submit", () => scoped.workflowClient(TsOrder, "w9").workflowSubmit("x"));
await step("invalid scope", () => ingress.scope("a b").serviceClient(TsSteps).run("x"));
await step("count after refused calls", () => counter.get());

// --- sends -----------------------------------------------------------------------------------
const sendIdem = (k, delay) => clients.rpc.sendOpts({ idempotencyKey: k, delay });
const sent = await (async () => {
  let s;
  await step("send with idempotency key", async () => (s = await ingress.objectSendClient(TsCounter, "c2").add(3, sendIdem("s1"))));
  return s;
})();
await step("send repeated", () => ingress.objectSendClient(TsCounter, "c2").add(3, sendIdem("s1")));
await step("attach to send (result)", () => ingress.result(sent));
await step("call with the send's idempotency key", () => ingress.objectClient(TsCounter, "c2").add(3, idem("s1")));
await step("attach by idempotency key", () => fetchJSON("/restate/invocation/TsCounter/c2/add/s1/attach"));
await step("output by idempotency key", () => fetchJSON("/restate/invocation/TsCounter/c2/add/s1/output"));
await step("output by invocation id", () => fetchJSON(`/restate/invocation/${sent.invocationId}/output`));
await step("output of an unknown idempotency key", () => fetchJSON("/restate/invocation/TsCounter/c2/add/never/output"));
await step("count after sends", () => ingress.objectClient(TsCounter, "c2").get());

const plain = await (async () => {
  let s;
  await step("send without idempotency key", async () => (s = await ingress.serviceSendClient(TsSteps).run("ann")));
  return s;
})();
await step("result of a send without idempotency key", () => ingress.result(plain));

const delayMs = 1000;
const delayed = await (async () => {
  let s;
  const t0 = Date.now();
  await step("send with delay", async () => {
    s = await ingress.serviceSendClient(TsSteps).sleep(1, sendIdem("d1", delayMs));
    const at = Date.parse(s.executionTime);
    return { invocationId: s.invocationId, status: s.status, attachable: s.attachable, executionTimeAfterDelay: at >= t0 + delayMs };
  });
  return { ...s, t0 };
})();
await step("attach to delayed send", async () => {
  const { before, after } = await ingress.result(delayed);
  return { ranAfterExecutionTime: before >= Date.parse(delayed.executionTime), ranAfterDelay: before - delayed.t0 >= delayMs, sleptInOrder: after >= before };
});

// --- awakeables ------------------------------------------------------------------------------
const steps = ingress.serviceClient(TsSteps);
await step("awakeable resolved", async () => {
  const call = pending(steps.awake({ tag: "a1", sleepMs: 0 }));
  const resolved = await ingress.resolveAwakeable(await awakeableID("a1"), { x: 1 });
  return { resolved: resolved ?? null, call: await call };
});
await step("awakeable rejected", async () => {
  const call = pending(steps.awake({ tag: "a2", sleepMs: 0 }));
  const rejected = await ingress.rejectAwakeable(await awakeableID("a2"), "nope");
  try {
    return { rejected: rejected ?? null, call: await call };
  } catch (e) {
    return { rejected: rejected ?? null, callError: describe(e) };
  }
});
await step("resolve an awakeable again", async () => ingress.resolveAwakeable(await awakeableID("a1"), { x: 2 }));
await step("resolve a malformed awakeable id", () => ingress.resolveAwakeable("sign_1bad", 1));

// A terminal failure is not retried, even by a client with retries on and an idempotency key.
await step("terminal error, retrying client", async () => {
  const call = pending(retrying.serviceClient(TsSteps).awake({ tag: "a3", sleepMs: 0 }, idem("a3")));
  await ingress.rejectAwakeable(await awakeableID("a3"), "final");
  return await call;
});

// --- the outcome of a failed, cancelled or killed invocation, through attach ------------------
const sendAwake = (tag) => ingress.serviceSendClient(TsSteps).awake({ tag, sleepMs: 0 }, sendIdem(tag));
await step("attach to a failed send", async () => {
  const s = await sendAwake("f1");
  await ingress.rejectAwakeable(await awakeableID("f1"), "bad");
  return await ingress.result(s);
});
for (const [op, done] of [["cancel", "cancelled"], ["kill", "killed"]]) {
  await step(`attach to a send ${done} while attached`, async () => {
    const s = await sendAwake(op);
    await awakeableID(op);
    const attached = pending(ingress.result(s));
    const status = await admin(s.invocationId, op);
    try {
      return { status, value: await attached };
    } catch (e) {
      return { status, attachError: describe(e) };
    }
  });
}

// --- workflows -------------------------------------------------------------------------------
const wf = ingress.workflowClient(TsOrder, "w1");
await step("workflow output before submit", () => wf.workflowOutput());
const submission = await (async () => {
  let s;
  await step("workflow submit", async () => (s = await wf.workflowSubmit("book")));
  return s;
})();
await step("workflow submit again", () => wf.workflowSubmit("book"));
await step("workflow output while running", async () => {
  const o = await wf.workflowOutput();
  return { ready: o.ready };
});
await step("workflow shared handler", () => wf.peek());
await step("workflow approve", () => wf.approve("ann"));
await step("workflow attach", () => wf.workflowAttach());
await step("workflow output", () => wf.workflowOutput());
await step("workflow result by submission", () => ingress.result(submission));
await step("workflow submit after completion", () => wf.workflowSubmit("book"));
await step("workflow run with idempotency key", () => wf.run("book", idem("w")));

const rejectedWf = ingress.workflowClient(TsOrder, "w2");
await step("rejected workflow submit", () => rejectedWf.workflowSubmit("pen"));
await step("rejected workflow reject", () => rejectedWf.reject("out of stock"));
await step("rejected workflow attach", () => rejectedWf.workflowAttach());
await step("rejected workflow output", () => rejectedWf.workflowOutput());
await step("rejected workflow attach, retrying client", () => retrying.workflowClient(TsOrder, "w2").workflowAttach());
await step("attach to a workflow never submitted", () => ingress.workflowClient(TsOrder, "w3").workflowAttach());
await step("shared handler of a workflow never submitted", () => ingress.workflowClient(TsOrder, "w3").peek());
await step("workflow cancelled while attached", async () => {
  const cancelled = ingress.workflowClient(TsOrder, "w5");
  const s = await cancelled.workflowSubmit("box");
  await effect("ts tsorder w5 run");
  const attached = pending(cancelled.workflowAttach());
  const out = { status: await admin(s.invocationId, "cancel") };
  try {
    out.value = await attached;
  } catch (e) {
    out.attachError = describe(e);
  }
  try {
    out.output = await cancelled.workflowOutput();
  } catch (e) {
    out.outputError = describe(e);
  }
  out.resubmitted = (await cancelled.workflowSubmit("box")).status;
  return out;
});

// A delayed submission: not ready before its run, its promise can be completed before the run
// starts, and attach waits for the run.
const later = ingress.workflowClient(TsOrder, "w4");
await step("delayed workflow submit", async () => {
  const s = await later.workflowSubmit("cup", clients.rpc.sendOpts({ delay: 500 }));
  return { invocationId: s.invocationId, status: s.status };
});
await step("delayed workflow output", async () => (await later.workflowOutput()).ready);
await step("delayed workflow approve", () => later.approve("bea"));
await step("delayed workflow attach", () => later.workflowAttach());

// --- the client in a browser ------------------------------------------------------------------
// browserFetch does what a browser does with the client's cross-origin requests from a page at
// origin (the Fetch standard's CORS protocol): a preflight OPTIONS when the method or a header is
// not CORS-safelisted (the client always sends x-restateclient-retry-attempt, and JSON bodies),
// which must allow the origin, the method and every header; then the request with an Origin
// header, whose response must allow the origin too, or the page sees only a network error
// ("Failed to fetch").
const origin = "http://app.example";
const safelistedTypes = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];
function preflightHeaders(method, headers) {
  const names = Object.entries(headers ?? {})
    .filter(([k, v]) => {
      const n = k.toLowerCase();
      if (n === "content-type") return !safelistedTypes.includes(String(v).split(";")[0].trim().toLowerCase());
      return !["accept", "accept-language", "content-language"].includes(n);
    })
    .map(([k]) => k.toLowerCase())
    .sort();
  return { needed: names.length > 0 || !["GET", "HEAD", "POST"].includes(method), names };
}
const listHas = (list, item) =>
  list !== null && list.split(",").map((s) => s.trim().toLowerCase()).some((s) => s === item.toLowerCase() || s === "*");
async function browserFetch(input, init) {
  const method = (init?.method ?? "GET").toUpperCase();
  const pf = preflightHeaders(method, init?.headers);
  if (pf.needed) {
    const reqHeaders = { Origin: origin, "Access-Control-Request-Method": method };
    if (pf.names.length > 0) reqHeaders["Access-Control-Request-Headers"] = pf.names.join(",");
    fetches++;
    const resp = await fetch(input, { method: "OPTIONS", headers: reqHeaders });
    await resp.arrayBuffer();
    const allowOrigin = resp.headers.get("access-control-allow-origin");
    if (!resp.ok) throw new TypeError(`Failed to fetch (CORS preflight answered ${resp.status})`);
    if (allowOrigin !== origin && allowOrigin !== "*") throw new TypeError(`Failed to fetch (CORS preflight allows origin ${allowOrigin})`);
    if (!["GET", "HEAD", "POST"].includes(method) && !listHas(resp.headers.get("access-control-allow-methods"), method))
      throw new TypeError(`Failed to fetch (CORS preflight does not allow ${method})`);
    for (const h of pf.names) {
      if (!listHas(resp.headers.get("access-control-allow-headers"), h)) throw new TypeError(`Failed to fetch (CORS preflight does not allow header ${h})`);
    }
  }
  const resp = await countingFetch(input, { ...init, headers: { ...(init?.headers ?? {}), Origin: origin } });
  const allowOrigin = resp.headers.get("access-control-allow-origin");
  if (allowOrigin !== origin && allowOrigin !== "*") throw new TypeError(`Failed to fetch (CORS: response allows origin ${allowOrigin})`);
  return resp;
}
const browser = clients.connect({ url, fetch: browserFetch });
const inBrowser = browser.objectClient(TsCounter, "b1");
await step("browser: object call", () => inBrowser.add(4));
await step("browser: idempotent send", async () => {
  const s = await browser.objectSendClient(TsCounter, "b1").add(6, sendIdem("b"));
  return { status: s.status, attached: await browser.result(s) };
});
await step("browser: unknown handler", () => browser.serviceClient(TsSteps).nope("x"));
await step("browser: workflow output", () => browser.workflowClient(TsOrder, "w1").workflowOutput());
await step("browser: reject an awakeable", async () => {
  const call = pending(steps.awake({ tag: "b1", sleepMs: 0 }));
  const rejected = await browser.rejectAwakeable(await awakeableID("b1"), "from a page");
  try {
    return { rejected: rejected ?? null, call: await call };
  } catch (e) {
    return { rejected: rejected ?? null, callError: describe(e) };
  }
});

// Calls left waiting by a failed step must not keep the process alive.
process.exit(0);
