// Promise.withResolvers arrived in Node 22; @restatedev/restate-sdk 1.17.2 calls
// it, and the CI machine runs Node 20. app.mjs imports it first.
if (typeof Promise.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
