// Package discovery owns the deployment manifest: the Go form of the endpoint manifest
// (endpoint_manifest_schema.json, manifest versions v1..v4) and the discovery call that fetches it
// from a deployment (GET {uri}/discover).
//
// Discover is IO (one HTTP request through a caller-supplied client); ParseManifest is pure and
// validates everything the runtime relies on: content type, protocol mode, a protocol range that
// overlaps the runtime's [V5, V7], service and handler names, service and handler types, input and
// output content types. Unknown JSON fields are ignored, so a newer SDK adding optional fields can
// still register.
//
// Errors are *Error values carrying a Restate error code (META0003 unreachable endpoint or bad
// status, META0012 unsupported protocol range, META0013 bad discovery response), so the admin API
// can return Restate's error shape. ErrBadURI (wrapped) means the URI itself is unusable.
//
// Example:
//
//	m, err := discovery.Discover(ctx, client, "http://127.0.0.1:9080/", nil)
//	if err != nil {
//		var de *discovery.Error
//		if errors.As(err, &de) { log.Print(de.Code) }
//	}
//	for _, svc := range m.Services { ... }
//
// Everything here is safe for concurrent use; Manifest values are plain data.
package discovery
