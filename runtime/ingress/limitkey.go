package ingress

import (
	"fmt"
	"net/http"
	"strings"
)

// limitKeyHeader carries a flow-control limit key (restate-server 1.7's vqueues), which only a
// scoped invocation (/restate/scope/...) may have; the official TS ingress client sends it for
// the limitKey option.
const limitKeyHeader = "X-Restate-Limit-Key"

// Limits of a limit key: at most two components ("tenant" or "tenant/user"), each 1 to 36 bytes
// of [a-zA-Z0-9_.-].
const (
	maxLimitKeyComponents = 2
	maxLimitKeyComponent  = 36
)

// limitKeyParam is the query parameter that carries a limit key when the header does not.
const limitKeyParam = "limit-key"

// checkLimitKey answers a request with a limit key (the header, else the first limit-key query
// parameter) as restate-server 1.7.12 does on these paths (scopes need its vqueues, which we do
// not have): a value that is not a valid key is refused as invalid, a valid one because it needs
// a scope. An empty value is no limit key.
func checkLimitKey(hdr http.Header, rawQuery string) *httpError {
	var v string
	if vals := hdr.Values(limitKeyHeader); len(vals) > 0 {
		v = vals[0]
		if !validHeaderValue(v) {
			return badHeader("x-restate-limit-key")
		}
	} else {
		v, _ = formValue(rawQuery, limitKeyParam)
	}
	if v == "" {
		return nil
	}
	if reason := invalidLimitKey(v); reason != "" {
		return ingressError(http.StatusBadRequest, "invalid limit-key: "+reason)
	}
	return ingressError(http.StatusBadRequest, msgLimitKeyWithoutScope)
}

// invalidLimitKey says why v is not a limit key ("" if it is one). Components are split as Rust's
// split_terminator splits: one trailing '/' ends the last component rather than starting an empty
// one.
func invalidLimitKey(v string) string {
	for i, c := range strings.Split(strings.TrimSuffix(v, "/"), "/") {
		if i == maxLimitKeyComponents {
			return fmt.Sprintf("too many path components in the given limit-key (max %d)", maxLimitKeyComponents)
		}
		if reason := invalidScopeKey(c); reason != "" {
			return "invalid limit-key component: " + reason
		}
	}
	return ""
}

// invalidScopeKey says why c is neither a scope nor a limit-key component ("" if it is one).
func invalidScopeKey(c string) string {
	switch {
	case c == "":
		return "value cannot be empty"
	case len(c) > maxLimitKeyComponent:
		return fmt.Sprintf("value too long: %d bytes (max %d)", len(c), maxLimitKeyComponent)
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '.' || b == '-') {
			return "value contains characters outside the allowed set [a-zA-Z0-9_.-]"
		}
	}
	return ""
}
