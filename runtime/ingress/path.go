package ingress

import (
	"net/url"
	"strings"

	"github.com/resolute-run/resolute/runtime/command"
)

// routeKind says what a request path addresses.
type routeKind uint8

const (
	routeInvoke routeKind = iota + 1
	routeHealth
	routeLater // a Restate API we do not serve yet
	routeAwakeable
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
}

// parsePath parses an escaped request path the way the official ingress does. serviceType looks
// a service up (the path's shape depends on whether it is keyed); an unknown service is a 404.
func parsePath(escaped string, serviceType func(string) (command.ServiceType, bool)) (route, *httpError) {
	if n := strings.Count(escaped, "/"); n < 2 || n > 7 || !strings.HasPrefix(escaped, "/") {
		return route{}, badPath(unescapeForMessage(escaped))
	}
	segs := strings.Split(escaped[1:], "/")
	switch segs[0] {
	case "restate":
		return parseRestatePath(segs[1:])
	case "openapi":
		return route{}, ingressError(404, msgNotFound)
	}
	return parseServicePath(segs, serviceType)
}

func parseRestatePath(segs []string) (route, *httpError) {
	switch segs[0] {
	case "health":
		return route{kind: routeHealth}, nil
	case "awakeables", "a":
		return parseAwakeablePath(segs[1:])
	case "invocation", "workflow", "call", "send", "scope", "attach", "output", "lookup":
		// TODO(ingress): attach/output and the /restate/call|send API arrive with their own issues.
		return route{kind: routeLater}, nil
	}
	return route{}, ingressError(404, msgNotFound)
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
