// Benchmark services written with the official Restate TypeScript SDK, the
// twin of bench/deployment (same service names, handlers and control API), so
// `go run ./bench` can drive both deployments with the same load.
//
//   node --import ./polyfill.mjs bench.mjs SERVICE_PORT CONTROL_PORT
//
// SERVICE_PORT serves the Restate service protocol over h2c; CONTROL_PORT is a
// plain HTTP/1.1 API for the benchmark harness:
//   GET  /stats   {"sleepEntered","sleepWoke","blockEntered"} (distinct invocation ids),
//                 {"sleepWokeRuns","sleepEarly"} (sleep handlers that ran past their
//                 timer, and those of them that did so before it was due),
//                 {"awakePublished","awakeDone","waitingEntered","waitingDone"} (distinct
//                 tags or workflow keys), {"awakeDoneRuns","waitingDoneRuns"} (returns of
//                 those handlers), {"ended":{"Service/handler":n}} (attempts of the
//                 Awakeable and WaitingWorkflow handlers whose stream has ended)
//   GET  /awakeables {tag: awakeable id} published by Awakeable/wait
//   GET  /waiting    {workflow key: value} returned by WaitingWorkflow/run
//   POST /reset   clear the counters and block Run bodies again
//   POST /release release every blocked Run body, and let later ones pass
//
// Awakeable and WaitingWorkflow have an inactivity timeout of WAIT_INACTIVITY_MS, so
// that the runtime makes their waiting invocations suspend soon (the default is a
// minute); the other services keep the runtime's default.
import http from "node:http";
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";

const sleepEntered = new Set();
const sleepWoke = new Set();
let sleepWokeRuns = 0;
let sleepEarly = 0;
let blockEntered = new Set();
let released = false;
let waiters = [];
let awakePublished = new Map(); // tag → awakeable id
let awakeDone = new Map(); // tag → value returned
let awakeDoneRuns = 0;
let waitingEntered = new Set(); // workflow keys whose run started
let waitingDone = new Map(); // workflow key → value returned
let waitingDoneRuns = 0;
let ended = {}; // "Service/handler" → attempts whose stream ended

const WAIT_INACTIVITY_MS = 1000;

const Bench = { name: "Bench" };

const bench = restate.service({
  name: "Bench",
  handlers: {
    noop: async (_ctx, x) => x,
    leaf: async (_ctx, x) => x,
    // steps(n): n sequential durable side effects.
    steps: async (ctx, n) => {
      let sum = 0;
      for (let i = 0; i < Number(n); i++) {
        sum += await ctx.run(`step${i}`, () => i);
      }
      return sum;
    },
    // fanout(n): call leaf n times concurrently and await them all.
    fanout: async (ctx, n) => {
      const client = ctx.serviceClient(Bench);
      const calls = [];
      for (let i = 0; i < Number(n); i++) calls.push(client.leaf(i));
      const results = await restate.RestatePromise.all(calls);
      return results.reduce((a, b) => a + b, 0);
    },
    // sleep(wakeAtMs): durable sleep until the given wall-clock time.
    sleep: async (ctx, wakeAt) => {
      const id = ctx.request().id;
      sleepEntered.add(id);
      await ctx.sleep(Math.max(0, Number(wakeAt) - Date.now()));
      if (Date.now() < Number(wakeAt)) sleepEarly++;
      sleepWokeRuns++;
      sleepWoke.add(id);
      return 0;
    },
    // block(): a Run body that waits until the harness releases it.
    block: async (ctx) => {
      const id = ctx.request().id;
      await ctx.run("block", async () => {
        blockEntered.add(id);
        if (!released) await new Promise((resolve) => waiters.push(resolve));
        return 0;
      });
      return 0;
    },
  },
});

// Run steps of Counter.addAfterSteps, the overload scenario's workload (bench/deployment: overloadSteps).
const OVERLOAD_STEPS = 8;

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx, n) => {
      const next = ((await ctx.get("count")) ?? 0) + Number(n);
      ctx.set("count", next);
      return next;
    },
    // The overload scenario's workload: OVERLOAD_STEPS Run steps, then add (as the Go deployment).
    addAfterSteps: async (ctx, n) => {
      for (let i = 0; i < OVERLOAD_STEPS; i++) {
        await ctx.run(() => i);
      }
      const next = ((await ctx.get("count")) ?? 0) + Number(n);
      ctx.set("count", next);
      return next;
    },
  },
});

// wait(tag): creates an awakeable, publishes its id under tag for the harness (in this
// process: nothing is journaled for it, and a replay publishes the same id again), waits
// for it and returns its value.
const awakeable = restate.service({
  name: "Awakeable",
  handlers: {
    wait: async (ctx, tag) => {
      const { id, promise } = ctx.awakeable();
      awakePublished.set(tag, id);
      const v = await promise;
      awakeDone.set(tag, v);
      awakeDoneRuns++;
      return v;
    },
  },
  options: { inactivityTimeout: WAIT_INACTIVITY_MS },
});

// run waits for its durable promise "value" and returns it; the shared handler
// resolve(value) completes that promise.
const waitingWorkflow = restate.workflow({
  name: "WaitingWorkflow",
  handlers: {
    run: async (ctx) => {
      waitingEntered.add(ctx.key);
      const v = await ctx.promise("value");
      waitingDone.set(ctx.key, v);
      waitingDoneRuns++;
      return v;
    },
    resolve: async (ctx, v) => {
      await ctx.promise("value").resolve(v);
    },
  },
  options: { inactivityTimeout: WAIT_INACTIVITY_MS },
});

const [servicePort, controlPort] = [Number(process.argv[2] ?? 9080), Number(process.argv[3] ?? 9081)];

// 10,000 invocations held open at once need more than the default HTTP/2
// session memory.
// Attempts of Awakeable and WaitingWorkflow handlers are counted when their stream
// closes: one that closes before its handler returned has suspended.
const endpoint = restate.createEndpointHandler({ services: [bench, counter, awakeable, waitingWorkflow] });
const server = http2.createServer(
  { maxSessionMemory: 1024, settings: { maxConcurrentStreams: 1 << 20 } },
  (req, res) => {
    const m = /\/invoke\/((?:Awakeable|WaitingWorkflow)\/[^/?]+)$/.exec(req.url.split("?")[0]);
    if (m) res.on("close", () => (ended[m[1]] = (ended[m[1]] ?? 0) + 1));
    endpoint(req, res);
  },
);
server.listen(servicePort, "127.0.0.1");

function release() {
  released = true;
  for (const w of waiters) w();
  waiters = [];
}

const control = http.createServer((req, res) => {
  if (req.url === "/stats") {
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        sleepEntered: sleepEntered.size,
        sleepWoke: sleepWoke.size,
        blockEntered: blockEntered.size,
        sleepWokeRuns,
        sleepEarly,
        awakePublished: awakePublished.size,
        awakeDone: awakeDone.size,
        awakeDoneRuns,
        waitingEntered: waitingEntered.size,
        waitingDone: waitingDone.size,
        waitingDoneRuns,
        ended,
      }),
    );
    return;
  }
  if (req.url === "/awakeables" || req.url === "/waiting") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(Object.fromEntries(req.url === "/awakeables" ? awakePublished : waitingDone)));
    return;
  }
  if (req.method === "POST" && req.url === "/reset") {
    sleepEntered.clear();
    sleepWoke.clear();
    sleepWokeRuns = 0;
    sleepEarly = 0;
    blockEntered = new Set();
    released = false;
    awakePublished = new Map();
    awakeDone = new Map();
    awakeDoneRuns = 0;
    waitingEntered = new Set();
    waitingDone = new Map();
    waitingDoneRuns = 0;
    ended = {};
  } else if (req.method === "POST" && req.url === "/release") {
    release();
  } else {
    res.statusCode = 404;
  }
  res.end();
});
control.listen(controlPort, "127.0.0.1", () => console.log(`bench ts deployment on ${servicePort}, control on ${controlPort}`));
