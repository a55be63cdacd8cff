// The official TypeScript SDK's side of TestRandMatchesOfficialSDKs (sdk/rand_official_test.go):
// service R, handler draw, returning what ctx.rand gives, in the order our handler draws it.
// Run: node --import <compat/ts/polyfill.mjs> tsrand.mjs <restate-sdk dist/index.js> <port>
import { pathToFileURL } from "node:url";

const restate = await import(pathToFileURL(process.argv[2]).href);
const r = restate.service({
  name: "R",
  handlers: {
    draw: async (ctx) => [ctx.rand.uuidv4(), ctx.rand.uuidv4(), ctx.rand.random()],
  },
});
await restate.serve({ services: [r], port: Number(process.argv[3]) });
