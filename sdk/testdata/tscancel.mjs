// The official TypeScript SDK's side of TestCancellationMatchesOfficialTSSDK
// (sdk/cancel_official_test.go): object Tree, handler parent, which calls <key>-a and <key>-b,
// sends <key>-c one way, and waits for both calls.
// Run: node --import <compat/ts/polyfill.mjs> tscancel.mjs <restate-sdk dist/index.js> <port>
import { pathToFileURL } from "node:url";

const restate = await import(pathToFileURL(process.argv[2]).href);
const bin = { inputSerde: restate.serde.binary, outputSerde: restate.serde.binary, parameter: new Uint8Array() };
const tree = restate.object({
  name: "Tree",
  handlers: {
    parent: async (ctx) => {
      const a = ctx.genericCall({ service: "Tree", method: "work", key: ctx.key + "-a", ...bin });
      const b = ctx.genericCall({ service: "Tree", method: "work", key: ctx.key + "-b", ...bin });
      ctx.genericSend({ service: "Tree", method: "work", key: ctx.key + "-c", ...bin });
      await restate.RestatePromise.all([a, b]);
      return "both done";
    },
  },
});
await restate.serve({ services: [tree], port: Number(process.argv[3]) });
