// Package identity signs requests to deployments and verifies them, in restate-server's "request
// identity" scheme v1, so that a deployment can refuse requests that do not come from its server.
//
// The server holds an Ed25519 private key (a PKCS#8 PEM file, as `openssl genpkey -algorithm
// ed25519` writes; restate-server reads it from RESTATE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE). On
// every request to a deployment (discovery and invocation attempts) it sets
//
//	x-restate-signature-scheme: v1
//	x-restate-jwt-v1: <JWT>
//
// where the JWT is signed with EdDSA, its header names the key (kid
// "publickeyv1_<base58 of the public key>"), and its claims are aud = the request's path,
// iat = now, nbf = now - leeway, exp = now + leeway (leeway 60s), and sub = the Virtual Object key
// for keyed invocations. A deployment configured with the public key ids verifies the signature,
// the audience and the time window; the official SDKs do the same (sdk-go's WithIdentityV1).
//
// Everything here is safe for concurrent use; nothing keeps state beyond the key.
package identity
