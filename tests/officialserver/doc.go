// Package officialserver checks the other half of protocol compatibility: services written with
// Resolute's Go SDK, registered with the official Restate server (restate-server 1.7.12 from npm,
// compat/ts/node_modules) and invoked through its ingress, at protocol V6 (the official default)
// and V7 (its experimental flag). TestAttachOutputMatchesOfficial also runs one script of ingress
// attach and output requests against restate-server and against our server and requires the
// same answers.
package officialserver
