package sdk

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/sdk/internal/replayonly"
)

// WithIdentityV1 makes e refuse, with 401, every request that is not signed by one of keys:
// discovery and invocations alike (health stays open). keys are the public key ids a Restate
// server (restate-server or resolute, started with a request identity private key) logs and
// signs with: "publickeyv1_" followed by base58. Several keys can be valid at once, for
// rotation; the same form as the official SDKs' WithIdentityV1. A malformed key panics, as
// binding a service twice does: it is a setup mistake, not a runtime condition.
func (e *Endpoint) WithIdentityV1(keys ...string) *Endpoint {
	set, err := identity.ParseKeySet(keys...)
	if err != nil {
		panic(fmt.Sprintf("sdk: WithIdentityV1: %v", err))
	}
	if e.identity == nil {
		e.identity = identity.KeySet{}
	}
	for id, pub := range set {
		e.identity[id] = pub
	}
	return e
}

// refuseStranger answers 401 and returns true when e requires a request identity and r does not
// carry a valid one. The signed audience is the request's path as the server sent it (before any
// prefix stripping), as sdk-go checks it.
func (e *Endpoint) refuseStranger(w http.ResponseWriter, r *http.Request, last string) bool {
	if e.identity == nil || last == "health" || replayonly.From(r.Context()) != nil { // sdk/replay, in-process
		return false
	}
	path := r.RequestURI
	if path == "" { // a request built in-process rather than read from the wire
		path = r.URL.RequestURI()
	}
	path, _, _ = strings.Cut(path, "?")
	if err := identity.Verify(e.identity, path, r.Header, time.Now()); err != nil {
		jsonError(w, http.StatusUnauthorized, "%v", err)
		return true
	}
	return false
}
