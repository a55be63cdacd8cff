// The official Restate TypeScript SDK as the sink of a Kafka subscription (tests/kafka,
// TestTSSDKAsSink). Run: node --import ./polyfill.mjs kafkasink.mjs [port]
// The port comes from argv[2], else env PORT, else 9080.
import * as restate from "@restatedev/restate-sdk";

// TsOrders/{key}/add(n): what a subscription's record (or an RPC) hands it. The value is
// appended to the key's list, and the invocation's headers (ctx.request().headers: the Kafka
// metadata when a record made the invocation) to the key's header list; returns the list's
// length. TsOrders/{key}/get (shared): {seen, headers}.
const tsOrders = restate.object({
  name: "TsOrders",
  handlers: {
    add: async (ctx, n) => {
      const seen = (await ctx.get("seen")) ?? [];
      const headers = (await ctx.get("headers")) ?? [];
      seen.push(n);
      headers.push(Object.fromEntries(ctx.request().headers));
      ctx.set("seen", seen);
      ctx.set("headers", headers);
      return seen.length;
    },
    get: restate.handlers.object.shared(async (ctx) => ({
      seen: (await ctx.get("seen")) ?? [],
      headers: (await ctx.get("headers")) ?? [],
    })),
  },
});

const port = Number(process.argv[2] ?? process.env.PORT ?? 9080);
const bound = await restate.endpoint().bind(tsOrders).listen(port);
console.log(`kafka sink ts service listening on ${bound}`);
