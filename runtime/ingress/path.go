package ingress

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/resolute-run/resolute/runtime/command"
)

// routeKind says what a request path addresses.
type routeKind uint8

const (
	routeInvoke routeKind = iota + 1
	routeHealth
	routeAwakeable
	routeAttach   // attach to an invocation, or read its output
	routeScope    // a call or send in a scope (scope.go)
	routeByTarget // POST /restate/attach|output, the invocation named by the body (api.go)
	routeLookup   // POST /restate/lookup (api.go)
)

// route is a parsed request path.
type route struct {
	kind    routeKind
	service string
	key     string
	keyed   bool
	handler string
	send    bool
	// awakeable is the (escaped) awakeable id and reject says /reject rather than /resolve.
	awakeable string
	reject    bool
	// attach is what a routeAttach addresses.
	attach attachRoute
	// scope is a routeScope's scope, unescaped.
	scope string
}

// parsePath parses an escaped request path the way the official ingress does. serviceType looks
// a service up (the path's shape depends on whether it is keyed); an unknown service is a 404.
func parsePath(escaped string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	escaped = trimTrailingSlashes(escaped)
	if n := strings.Count(escaped, "/"); n < 2 || n > 7 || !strings.HasPrefix(escaped, "/") {
		return route{}, badPath(unescapeForMessage(escaped))
	}
	segs := strings.Split(escaped[1:], "/")
	switch segs[0] {
	case "restate":
		return parseRestatePath(segs[1:], serviceType)
	case "openapi":
		return route{}, ingressError(404, msgNotFound)
	}
	return parseServicePath(segs, serviceType)
}

func parseRestatePath(segs []string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	switch segs[0] {
	case "health":
		return route{kind: routeHealth}, nil
	case "awakeables", "a":
		return parseAwakeablePath(segs[1:])
	case "invocation":
		return parseInvocationPath(segs[1:], serviceType)
	case "workflow":
		return parseWorkflowPath(segs[1:])
	case "scope":
		return parseScopePath(segs[1:], serviceType)
	}
	return parseRestateAPIVerb(segs[0], segs[1:], serviceType)
}

// parseAwakeablePath reads {id}/resolve|reject, as the official ingress does: segments after the
// operation are ignored, a missing operation is a 400 and an unknown one a 404.
func parseAwakeablePath(segs []string) (route, *httpError) {
	if len(segs) < 2 || (len(segs) == 2 && segs[1] == "") {
		return route{}, ingressError(400, msgBadAwakeablePath)
	}
	r := route{kind: routeAwakeable, awakeable: segs[0]}
	switch segs[1] {
	case "resolve":
	case "reject":
		r.reject = true
	default:
		return route{}, ingressError(404, msgNotFound)
	}
	return r, nil
}

func parseServicePath(segs []string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	r := route{kind: routeInvoke, service: segs[0]}
	ty, ok := serviceType(r.service)
	if !ok {
		return route{}, serviceNotFound(r.service)
	}
	rest := segs[1:]
	if ty == command.VirtualObject || ty == command.Workflow {
		key, err := url.PathUnescape(rest[0])
		if err != nil {
			return route{}, ingressError(400, "bad path, cannot decode key: "+err.Error())
		}
		r.key, r.keyed, rest = key, true, rest[1:]
	}
	if len(rest) == 0 {
		return route{}, ingressError(400, msgBadServicePath)
	}
	r.handler, rest = rest[0], rest[1:]
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == "send":
		r.send = true
	default:
		return route{}, ingressError(400, msgBadServicePath)
	}
	return r, nil
}

func unescapeForMessage(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// attachRoute is a parsed /restate/invocation/... or /restate/workflow/... path. Exactly one of
// the three ways to name the invocation is set: by id, by idempotency key, or the run of a
// workflow.
type attachRoute struct {
	// output says /output (the result now) rather than /attach (wait for it).
	output bool
	// id is the invocation id as written in the path (not unescaped, as the official ingress).
	id string
	// byIdempotencyKey: service, key (if keyed) and handler name the target, idempotencyKey the
	// key as written in the path (not unescaped, as the official ingress).
	byIdempotencyKey bool
	keyed            bool
	idempotencyKey   string
	// workflow: service names the workflow and key its key.
	workflow bool
	service  string
	key      string
	handler  string
}

// Restate's ingress answers these prefixes like any other path after trimming trailing slashes
// (its router normalizes every path so). Only the attach and output paths and the newer API's
// are trimmed here (restate-server answers /restate/call/S/h/ as /restate/call/S/h): the
// service paths keep their own rule (see TestErrors "trailing slash").
var trimmedPrefixes = []string{"/restate/invocation", "/restate/workflow", "/restate/call/", "/restate/send/", "/restate/attach/", "/restate/output/", "/restate/lookup/", "/restate/scope/"}

func trimTrailingSlashes(escaped string) string {
	for _, p := range trimmedPrefixes {
		if strings.HasPrefix(escaped, p) {
			return strings.TrimRight(escaped, "/")
		}
	}
	return escaped
}

// parseInvocationPath reads what follows /restate/invocation/ as the official ingress does:
//
//	{id}/attach|output
//	{service}/{handler}/{idempotency-key}/attach|output        (service not keyed)
//	{service}/{key}/{handler}/{idempotency-key}/attach|output  (Virtual Object, Workflow)
//
// With three segments or more the first one is a service, looked up (404 if unknown) to know
// whether a key follows; the handler is not checked (an unknown one names no invocation). Too
// few segments are a 400, a last segment other than attach or output a 404, and segments after
// it are ignored.
func parseInvocationPath(segs []string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	badPath := ingressError(400, msgBadInvocationPath)
	if len(segs) < 2 {
		return route{}, badPath
	}
	a := attachRoute{id: segs[0]}
	last := segs[1]
	if len(segs) > 2 {
		ty, ok := serviceType(segs[0])
		if !ok {
			return route{}, serviceNotFound(segs[0])
		}
		a = attachRoute{byIdempotencyKey: true, service: segs[0]}
		rest := segs[1:]
		if ty == command.VirtualObject || ty == command.Workflow {
			key, herr := decodeKey(rest[0])
			if herr != nil {
				return route{}, herr
			}
			a.keyed, a.key, rest = true, key, rest[1:]
		}
		if len(rest) < 3 {
			return route{}, badPath
		}
		a.handler, a.idempotencyKey, last = rest[0], rest[1], rest[2]
	}
	return attachOperation(a, last)
}

// parseWorkflowPath reads {name}/{key}/attach|output, which follows /restate/workflow/. The
// workflow is not looked up: an unknown one names no invocation.
func parseWorkflowPath(segs []string) (route, *httpError) {
	if len(segs) < 3 {
		return route{}, ingressError(400, msgBadWorkflowPath)
	}
	key, herr := decodeKey(segs[1])
	if herr != nil {
		return route{}, herr
	}
	return attachOperation(attachRoute{workflow: true, service: segs[0], key: key}, segs[2])
}

func attachOperation(a attachRoute, op string) (route, *httpError) {
	switch op {
	case "attach":
	case "output":
		a.output = true
	default:
		return route{}, ingressError(404, msgNotFound)
	}
	return route{kind: routeAttach, attach: a}, nil
}

// decodeKey unescapes a key segment. The official ingress leaves a malformed escape as it is and
// refuses bytes that are not UTF-8, in the words of Rust's FromUtf8Error (as its Debug prints it).
func decodeKey(seg string) (string, *httpError) {
	key, err := url.PathUnescape(seg)
	if err != nil {
		key = seg
	}
	if !utf8.ValidString(key) {
		return "", ingressError(400, "bad path, cannot decode key: "+fromUTF8Error(key))
	}
	return key, nil
}

// fromUTF8Error words invalid UTF-8 as Rust's Debug of a FromUtf8Error:
// "FromUtf8Error { bytes: [195, 40], error: Utf8Error { valid_up_to: 0, error_len: Some(1) } }",
// where valid_up_to is the length of the valid prefix and error_len the length of the invalid
// sequence after it (None when the input ends inside a sequence that could still be valid).
func fromUTF8Error(s string) string {
	bytes := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		bytes[i] = strconv.Itoa(int(s[i]))
	}
	valid := 0
	for valid < len(s) {
		r, n := utf8.DecodeRuneInString(s[valid:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		valid += n
	}
	errLen := "None"
	if n, ok := utf8ErrorLen(s[valid:]); ok {
		errLen = "Some(" + strconv.Itoa(n) + ")"
	}
	return fmt.Sprintf("FromUtf8Error { bytes: [%s], error: Utf8Error { valid_up_to: %d, error_len: %s } }", strings.Join(bytes, ", "), valid, errLen)
}

// utf8ErrorLen is Rust's Utf8Error::error_len for bytes b that start with an invalid sequence:
// how many bytes of it are invalid, or ok=false when b ends before the sequence could be judged.
func utf8ErrorLen(b string) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	c := b[0]
	var width int
	lo, hi := byte(0x80), byte(0xBF) // the second byte's range
	switch {
	case 0xC2 <= c && c <= 0xDF:
		width = 2
	case 0xE0 <= c && c <= 0xEF:
		width = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case 0xF0 <= c && c <= 0xF4:
		width = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1, true
	}
	for i := 1; i < width; i++ {
		if i >= len(b) {
			return 0, false
		}
		if i > 1 {
			lo, hi = 0x80, 0xBF
		}
		if b[i] < lo || b[i] > hi {
			return i, true
		}
	}
	return width, true // not reached for invalid input
}
