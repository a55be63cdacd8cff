// The official TypeScript SDK's side of TestRunRetryMatchesOfficialTSSDK (sdk/runretry_official_test.go):
// service Retry whose handlers run a step that always fails with a retryable error, with retry
// options as our side's.
// Run: node --import <compat/ts/polyfill.mjs> tsretry.mjs <restate-sdk dist/index.js> <port>
import { pathToFileURL } from "node:url";

const restate = await import(pathToFileURL(process.argv[2]).href);
const flaky = () => {
  throw new Error("flaky");
};
const r = restate.service({
  name: "Retry",
  handlers: {
    attempts: async (ctx) =>
      ctx.run("flaky", flaky, { maxRetryAttempts: 3, initialRetryInterval: 100, retryIntervalFactor: 3, maxRetryInterval: 1000 }),
    duration: async (ctx) =>
      ctx.run("flaky", flaky, { maxRetryDuration: 5000, initialRetryInterval: 100, retryIntervalFactor: 3, maxRetryInterval: 1000 }),
  },
});
await restate.serve({ services: [r], port: Number(process.argv[3]) });
