// Package quickstart tests README.md's quickstart as a newcomer follows it: `resolute dev` runs
// as a process, and the curl commands it prints answer what the README and the greeter example
// say. The test builds ./cmd/resolute unless RESOLUTE_BIN names a binary (.ci/run sets it).
package quickstart
