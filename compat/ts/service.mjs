// Official Restate TypeScript SDK services for Resolute's compatibility test
// (tests/compat). Run: node --import ./polyfill.mjs service.mjs [port [effects-file]]
// The port comes from argv[2], else env PORT, else 9080. Side effects append one line each to
// the effects file (argv[3], else env EFFECTS_FILE; none: not recorded), so the test can count
// how often they ran without asking the server.
import * as restate from "@restatedev/restate-sdk";
import { appendFileSync, existsSync } from "node:fs";

// GoCounter and GoSteps are served by compat/gosdk; only their names are needed to call them.
const GoCounter = { name: "GoCounter" };
const GoSteps = { name: "GoSteps" };

const effectsFile = process.argv[3] ?? process.env.EFFECTS_FILE;
function effect(line) {
  if (effectsFile) appendFileSync(effectsFile, `ts ${line}\n`);
}

const tsCounter = restate.object({
  name: "TsCounter",
  handlers: {
    // add(n): read state, record n through a durable side effect, write, return.
    add: async (ctx, n) => {
      const count = (await ctx.get("count")) ?? 0;
      const delta = await ctx.run("delta", () => Number(n));
      const next = count + delta;
      ctx.set("count", next);
      return next;
    },
    get: restate.handlers.object.shared(async (ctx) => (await ctx.get("count")) ?? 0),
    // callGo(n): GoCounter/{same key}/add(n), result passed through.
    callGo: async (ctx, n) => ctx.objectClient(GoCounter, ctx.key).add(Number(n)),
    // sendGo(n): one-way GoCounter/{same key}/add(n); returns before it runs.
    sendGo: async (ctx, n) => {
      ctx.objectSendClient(GoCounter, ctx.key).add(Number(n));
      return "sent";
    },
    // callGoTwice({n, idem}): two calls of GoCounter/{same key}/add(n) with one idempotency
    // key; both answers (equal when the callee ran once).
    callGoTwice: async (ctx, { n, idem }) => {
      const opts = restate.rpc.opts({ idempotencyKey: idem });
      const a = await ctx.objectClient(GoCounter, ctx.key).add(Number(n), opts);
      const b = await ctx.objectClient(GoCounter, ctx.key).add(Number(n), opts);
      return [a, b];
    },
  },
});

// attempts counts, per tag, how often flaky ran in this process.
const attempts = new Map();

const tsSteps = restate.service({
  name: "TsSteps",
  handlers: {
    // run(name): three journaled steps, each feeding the next.
    run: async (ctx, name) => {
      const greeting = await ctx.run("greet", () => `hello ${name}`);
      const length = await ctx.run("length", () => greeting.length);
      const doubled = await ctx.run("double", () => length * 2);
      return { greeting, length, doubled };
    },
    // sleep(ms): the clock before and after a durable sleep of ms, each journaled.
    sleep: async (ctx, ms) => {
      const before = await ctx.run("before", () => Date.now());
      await ctx.sleep(Number(ms));
      const after = await ctx.run("after", () => Date.now());
      return { before, after };
    },
    // callSleep(ms): GoSteps/sleep(ms), result passed through (the caller waits on a call).
    callSleep: async (ctx, ms) => ctx.serviceClient(GoSteps).sleep(Number(ms)),
    // flaky({tag, failures}): throws a retryable error on its first `failures` attempts, then
    // returns the attempt number. Every attempt is an effect line "ts <tag> attempt <n>".
    flaky: async (ctx, { tag, failures }) => {
      const n = (attempts.get(tag) ?? 0) + 1;
      attempts.set(tag, n);
      effect(`${tag} attempt ${n}`);
      if (n <= failures) throw new Error(`planned failure ${n} of ${tag}`);
      return n;
    },
    // work({tag, steps, sleepMs}): `steps` journaled effects "ts <tag> s<i>", a durable sleep
    // of sleepMs (if > 0), a last effect "ts <tag> done"; returns steps.
    work: async (ctx, { tag, steps, sleepMs }) => {
      for (let i = 1; i <= steps; i++) {
        await ctx.run(`s${i}`, () => effect(`${tag} s${i}`));
      }
      if (sleepMs > 0) await ctx.sleep(sleepMs);
      await ctx.run("done", () => effect(`${tag} done`));
      return steps;
    },
    // awake({tag, sleepMs}): creates an awakeable, publishes its id as the effect line
    // "ts <tag> awakeable <id>" (once, through ctx.run), sleeps sleepMs if > 0 (so that a
    // resolution can arrive before it awaits), then awaits the awakeable and returns its value;
    // a rejection is rethrown as the terminal error it is.
    awake: async (ctx, { tag, sleepMs }) => {
      const { id, promise } = ctx.awakeable();
      await ctx.run("publish", () => effect(`${tag} awakeable ${id}`));
      if (sleepMs > 0) await ctx.sleep(sleepMs);
      return await promise;
    },
    // waitSignal({tag, name}): publishes its invocation id as the effect line
    // "ts <tag> invocation <id>" (through ctx.run), then awaits the named signal and returns it.
    waitSignal: async (ctx, { tag, name }) => {
      const id = ctx.request().id;
      await ctx.run("publish", () => effect(`${tag} invocation ${id}`));
      return await ctx.signal(name);
    },
    // signal({id, name, value}): sends the named signal to invocation id.
    signal: async (ctx, { id, name, value }) => {
      ctx.invocation(id).signal(name).resolve(value);
      return "signalled";
    },
    // reject({id, reason}): rejects another invocation's awakeable from a handler.
    reject: async (ctx, { id, reason }) => {
      ctx.rejectAwakeable(id, reason);
      return "rejected";
    },
    // resolve({id, value}): resolves another invocation's awakeable from a handler.
    resolve: async (ctx, { id, value }) => {
      ctx.resolveAwakeable(id, value);
      return "resolved";
    },
    // attachOrder({workflow, key, item}): sends the workflow's run one way, then attaches to it
    // by the invocation id the send returned (AttachInvocationCommand); returns its result.
    attachOrder: async (ctx, { workflow, key, item }) => {
      const handle = ctx.workflowSendClient({ name: workflow }, key).run(item);
      const id = await handle.invocationId;
      return await ctx.invocation(id).attach();
    },
  },
});

// TsLazy is a Virtual Object with lazy state (enableLazyState): its attempts start without the
// key's state, so add(n) reads "count" with a GetLazyStateCommand, then writes the sum.
const tsLazy = restate.object({
  name: "TsLazy",
  options: { enableLazyState: true },
  handlers: {
    add: async (ctx, n) => {
      const next = ((await ctx.get("count")) ?? 0) + Number(n);
      ctx.set("count", next);
      return next;
    },
  },
});

// order(name, options): a workflow (TsOrder; TsBrief with a workflow retention of 1 s). run records
// the effect "ts <name lower-cased> <key> run" once, sets "status" to "waiting", waits for the
// durable promise "approval" and returns "<item> approved by <who>"; shared handlers approve,
// reject (complete the promise), peek and status.
function order(name, options) {
  return restate.workflow({
    name,
    options,
    handlers: {
      run: async (ctx, item) => {
        await ctx.run("started", () => effect(`${name.toLowerCase()} ${ctx.key} run`));
        ctx.set("status", "waiting");
        const by = await ctx.promise("approval").get();
        ctx.set("status", "approved");
        return `${item} approved by ${by}`;
      },
      approve: async (ctx, by) => {
        await ctx.promise("approval").resolve(by);
        return "ok";
      },
      reject: async (ctx, reason) => {
        await ctx.promise("approval").reject(reason);
        return "ok";
      },
      peek: async (ctx) => {
        const v = await ctx.promise("approval").peek();
        return v === undefined ? "unset" : `set ${v}`;
      },
      status: async (ctx) => (await ctx.get("status")) ?? "none",
    },
  });
}

// Lifecycle services (tests/compat/lifecycle_test.go): cancel, kill, pause and resume, restart as
// new, purge and retention, driven through the admin API.
const TsLifeChild = { name: "TsLifeChild" };

// TsLifeParent/{key}/run(tag) publishes "ts <tag> parent <invocation id>", calls
// TsLifeChild/wait(tag) and returns its answer. On a terminal error (its cancellation) it
// compensates: the effect "ts <tag> parent compensated <code>" and the state "compensated" = tag,
// then rethrows. compensated() answers that state ("none" unset); it is exclusive, so it needs
// the key's lock.
const tsLifeParent = restate.object({
  name: "TsLifeParent",
  handlers: {
    run: async (ctx, tag) => {
      const id = ctx.request().id;
      await ctx.run("publish", () => effect(`${tag} parent ${id}`));
      try {
        return await ctx.serviceClient(TsLifeChild).wait(tag);
      } catch (e) {
        if (e instanceof restate.TerminalError) {
          await ctx.run("compensate", () => effect(`${tag} parent compensated ${e.code}`));
          ctx.set("compensated", tag);
        }
        throw e;
      }
    },
    compensated: async (ctx) => (await ctx.get("compensated")) ?? "none",
  },
});

// TsLifeChild/wait(tag) publishes "ts <tag> child <invocation id>" and awaits an awakeable nobody
// resolves; a terminal error (its cancellation) is recorded as "ts <tag> child compensated
// <code>" and rethrown. TsLifeChild/cancel(id) cancels invocation id from a handler.
const tsLifeChild = restate.service({
  name: "TsLifeChild",
  handlers: {
    wait: async (ctx, tag) => {
      const { promise } = ctx.awakeable();
      const id = ctx.request().id;
      await ctx.run("publish", () => effect(`${tag} child ${id}`));
      try {
        return await promise;
      } catch (e) {
        if (e instanceof restate.TerminalError) {
          await ctx.run("compensate", () => effect(`${tag} child compensated ${e.code}`));
        }
        throw e;
      }
    },
    cancel: async (ctx, id) => {
      ctx.invocation(id).cancel();
      return "cancelled";
    },
  },
});

// TsFragile/run({tag, marker}) journals a first step (so that the invocation is pinned to its
// deployment), then fails with a retryable error while the file marker exists, then returns
// "fixed <tag>". Every attempt is the effect line "ts <tag> attempt". Its retry policy (from
// discovery) pauses after 3 attempts; the test may PATCH it.
const tsFragile = restate.service({
  name: "TsFragile",
  options: { retryPolicy: { maxAttempts: 3, onMaxAttempts: "pause", initialInterval: 10, maxInterval: 10 } },
  handlers: {
    run: async (ctx, { tag, marker }) => {
      await ctx.run("enter", () => tag);
      effect(`${tag} attempt`);
      if (existsSync(marker)) throw new Error(`${tag}: the deployment is broken (${marker} exists)`);
      return `fixed ${tag}`;
    },
  },
});

// stamper(name, options) is a service with stamp(tag): two journaled steps, the effects
// "ts <tag> first <invocation id>" and "ts <tag> second <invocation id>"; it returns
// "<tag> first run by <id of the invocation whose first step ran>". TsRerun keeps journals for an
// hour (restart as new, purge); TsFleeting keeps idempotency entries and journals for 1 s; TsKept
// has the defaults (the test PATCHes its retention).
function stamper(name, options) {
  return restate.service({
    name,
    options,
    handlers: {
      stamp: async (ctx, tag) => {
        const id = ctx.request().id;
        const first = await ctx.run("first", () => {
          effect(`${tag} first ${id}`);
          return id;
        });
        await ctx.run("second", () => effect(`${tag} second ${id}`));
        return `${tag} first run by ${first}`;
      },
    },
  });
}

const port = Number(process.argv[2] ?? process.env.PORT ?? 9080);
const bound = await restate.serve({
  services: [
    tsCounter,
    tsSteps,
    tsLazy,
    order("TsOrder"),
    order("TsBrief", { workflowRetention: 1000 }),
    tsLifeParent,
    tsLifeChild,
    tsFragile,
    stamper("TsRerun", { journalRetention: 3600_000 }),
    stamper("TsFleeting", { idempotencyRetention: 1000, journalRetention: 1000 }),
    stamper("TsKept"),
  ],
  port,
});
console.log(`compat ts service listening on ${bound}`);
