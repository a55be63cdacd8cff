package client

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/resolute-run/resolute/sdk"
)

// Restate's ingress paths, as restate-server and Resolute serve them:
//
//	/{service}/{handler}[/send]                       a Service's handler
//	/{object}/{key}/{handler}[/send]                  a Virtual Object's or Workflow's handler
//	/restate/invocation/{id}/attach|output
//	/restate/invocation/{service}/{handler}/{idempotency-key}/attach|output
//	/restate/invocation/{object}/{key}/{handler}/{idempotency-key}/attach|output
//	/restate/workflow/{workflow}/{key}/attach|output
//	/restate/awakeables/{id}/resolve|reject
//
// A target with a key is keyed (an empty key names a Service's handler). Names and keys are
// path-escaped, and the ingress unescapes keys; it reads an idempotency key in a path as it is
// written, so only a key that needs no escaping can be named there (see invocation.path).

// invokePath is the path of a call (send=false) or a send to t.
func invokePath(t sdk.Target, send bool) string {
	p := "/" + url.PathEscape(t.Service)
	if t.Key != "" {
		p += "/" + url.PathEscape(t.Key)
	}
	p += "/" + url.PathEscape(t.Handler)
	if send {
		p += "/send"
	}
	return p
}

// invocation names an invocation to attach to or read the output of: by id, by the target and
// idempotency key of the request that started it, or as the run of the workflow with a key.
// Exactly one form is set.
type invocation struct {
	id string

	byIdempotencyKey bool
	target           sdk.Target
	idempotencyKey   string

	workflow    string
	workflowKey string
}

func byID(id string) invocation { return invocation{id: id} }

func byIdempotencyKey(t sdk.Target, key string) invocation {
	return invocation{byIdempotencyKey: true, target: t, idempotencyKey: key}
}

func byWorkflow(workflow, key string) invocation {
	return invocation{workflow: workflow, workflowKey: key}
}

// errUnnamed refuses an invocation name that no path can hold.
var errUnnamed = errors.New("client: no invocation named")

// path is the attach or output path of inv (op is "attach" or "output").
func (inv invocation) path(op string) (string, error) {
	switch {
	case inv.workflow != "":
		return "/restate/workflow/" + url.PathEscape(inv.workflow) + "/" + url.PathEscape(inv.workflowKey) + "/" + op, nil
	case inv.byIdempotencyKey:
		k := inv.idempotencyKey
		if k == "" {
			return "", fmt.Errorf("%w: empty idempotency key", errUnnamed)
		}
		if url.PathEscape(k) != k {
			// restate-server (and Resolute, as it) looks the key up as written in the path,
			// escapes included: an escaped key would name another invocation, or none.
			return "", fmt.Errorf("%w: idempotency key %q: the ingress reads it from the path without unescaping, so it must be made of characters a path segment holds as they are", errUnnamed, k)
		}
		return "/restate/invocation" + invokePath(inv.target, false) + "/" + k + "/" + op, nil
	case inv.id != "":
		return "/restate/invocation/" + url.PathEscape(inv.id) + "/" + op, nil
	}
	return "", fmt.Errorf("%w: empty invocation id", errUnnamed)
}

// awakeablePath is the path resolving (reject=false) or rejecting the awakeable id.
func awakeablePath(id string, reject bool) string {
	op := "resolve"
	if reject {
		op = "reject"
	}
	return "/restate/awakeables/" + url.PathEscape(id) + "/" + op
}
