// Official Restate TypeScript SDK services for Resolute's compatibility test
// (tests/compat). Run: node --import ./polyfill.mjs service.mjs [port]
// The port comes from argv[2], else env PORT, else 9080.
import * as restate from "@restatedev/restate-sdk";

// GoCounter is served by compat/gosdk; only its name is needed to call it.
const GoCounter = { name: "GoCounter" };

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
  },
});

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
  },
});

const port = Number(process.argv[2] ?? process.env.PORT ?? 9080);
const bound = await restate.serve({ services: [tsCounter, tsSteps], port });
console.log(`compat ts service listening on ${bound}`);
