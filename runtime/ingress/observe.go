package ingress

import (
	"net/http"
	"time"
)

// RouteKind is what an ingress request was, as metrics tell requests apart.
type RouteKind uint8

// Route kinds.
const (
	RouteOther     RouteKind = iota // unparsable or unknown paths, routes not served
	RouteCall                       // POST /{service}[/{key}]/{handler}
	RouteSend                       // .../send
	RouteAttach                     // GET .../attach
	RouteOutput                     // GET .../output
	RouteAwakeable                  // POST /restate/awakeables/{id}/resolve|reject
	RouteHealth                     // GET /restate/health (when the ingress itself answers it)
	NumRouteKinds
)

var routeKindNames = [NumRouteKinds]string{"other", "call", "send", "attach", "output", "awakeable", "health"}

func (k RouteKind) String() string {
	if k < NumRouteKinds {
		return routeKindNames[k]
	}
	return "other"
}

// Observer is told of every request the ingress answered: what it was, the status answered and
// how long it took. It is called on the request's goroutine and must be cheap.
type Observer interface {
	ObserveRequest(kind RouteKind, status int, elapsed time.Duration)
}

func (r route) metricKind() RouteKind {
	switch r.kind {
	case routeInvoke:
		if r.send {
			return RouteSend
		}
		return RouteCall
	case routeAttach, routeByTarget:
		if r.attach.output {
			return RouteOutput
		}
		return RouteAttach
	case routeAwakeable:
		return RouteAwakeable
	case routeHealth:
		return RouteHealth
	}
	return RouteOther
}

// statusWriter remembers the status a handler answered (200 if it wrote without one).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
