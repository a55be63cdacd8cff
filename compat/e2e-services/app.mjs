// Entry point of Restate's TypeScript e2e test services, in place of upstream's
// src/app.ts (restatedev/sdk-typescript, packages/tests/restate-e2e-services),
// which also loads the native `heapdump` module and logs a table of streams
// every 30 s. Same contract as upstream: every service of src/ registered
// (or those named in SERVICES=A,B), served over h2c on PORT (default 9080),
// request signing keys in E2E_REQUEST_SIGNING.
//
//   npm run build && PORT=9080 node app.mjs
import "./polyfill.mjs";

import * as http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";

import "./dist/interpreter/entry_point.js";
import "./dist/awakeable_holder.js";
import "./dist/counter.js";
import "./dist/event_handler.js";
import "./dist/list.js";
import "./dist/map.js";
import "./dist/cancel_test.js";
import "./dist/non_determinism.js";
import "./dist/failing.js";
import "./dist/side_effect.js";
import "./dist/workflow.js";
import "./dist/proxy.js";
import "./dist/test_utils.js";
import "./dist/kill.js";
import "./dist/virtual_object_command_interpreter.js";
import "./dist/promise_combinators.js";
import "./dist/explicit_cancellation.js";
import "./dist/signals.js";
import "./dist/preview_serdes.js";
import "./dist/ingress_default_serde.js";
import "./dist/hooks.js";
import "./dist/memory_leak.js";
import { REGISTRY } from "./dist/services.js";

const port = parseInt(process.env.PORT || "9080", 10);
const identityKeys = process.env.E2E_REQUEST_SIGNING
  ? process.env.E2E_REQUEST_SIGNING.split(",")
  : undefined;
const selected =
  !process.env.SERVICES || process.env.SERVICES === "*"
    ? undefined
    : new Set(process.env.SERVICES.split(","));

const server = http2.createServer(
  restate.createEndpointHandler({
    services: REGISTRY.definitions(selected),
    identityKeys,
  })
);
if (process.env.MAX_CONCURRENT_STREAMS) {
  server.updateSettings({
    maxConcurrentStreams: parseInt(process.env.MAX_CONCURRENT_STREAMS, 10),
  });
}
server.listen(port, "127.0.0.1", () => {
  console.log(`Server listening on 127.0.0.1:${port}`);
});
