package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
)

// subscriptionResponse is restate-server's SubscriptionResponse.
type subscriptionResponse struct {
	ID      string            `json:"id"`
	Source  string            `json:"source"`
	Sink    string            `json:"sink"`
	Options map[string]string `json:"options"`
}

type subscriptionsResponse struct {
	Subscriptions []subscriptionResponse `json:"subscriptions"`
}

// createSubscriptionRequest is restate-server's CreateSubscriptionRequest, read by
// kafkajson.go.
type createSubscriptionRequest struct {
	Source  json.RawMessage `json:"source"`
	Sink    json.RawMessage `json:"sink"`
	Options json.RawMessage `json:"options"`
}

// decode returns the source, sink and options (nil when absent or null), or why they are
// refused: not strings, not URIs (registry.CheckSubscriptionURI), missing.
func (b createSubscriptionRequest) decode() (source, sink string, options map[string]string, why string) {
	uris := [2]string{}
	for i, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"source", b.Source}, {"sink", b.Sink}} {
		v, why := stringField(f.name, f.raw)
		switch {
		case why != "":
			return "", "", nil, why
		case v == nil:
			return "", "", nil, "missing field `" + f.name + "`"
		}
		if err := registry.CheckSubscriptionURI(f.name, *v); err != nil {
			return "", "", nil, err.Error()
		}
		uris[i] = *v
	}
	options, why = stringMapField("options", b.Options, true)
	return uris[0], uris[1], options, why
}

func toSubscriptionResponse(s registry.Subscription) subscriptionResponse {
	return subscriptionResponse{ID: s.ID.String(), Source: s.Source(), Sink: s.Sink(), Options: redacted(s.Options)}
}

// listSubscriptions answers GET /subscriptions, oldest first, with restate-server's exact-match
// filters ?sink= and ?source=.
func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, false) {
		return
	}
	q := r.URL.Query()
	out := subscriptionsResponse{Subscriptions: []subscriptionResponse{}}
	for _, s := range h.deps.KafkaView.Subscriptions() {
		if q.Has("sink") && s.Sink() != q.Get("sink") || q.Has("source") && s.Source() != q.Get("source") {
			continue
		}
		out.Subscriptions = append(out.Subscriptions, toSubscriptionResponse(s))
	}
	writeJSON(w, http.StatusOK, out)
}

// subscriptionID reads the path's id, answering 400 as restate-server's path decoding does.
func subscriptionID(w http.ResponseWriter, r *http.Request) (ids.SubscriptionID, bool) {
	raw := r.PathValue("id")
	id, err := ids.ParseSubscriptionID(raw)
	if err != nil {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Invalid URL: Cannot parse `subscription` with value `%s`: %s", raw, idDecodeError(raw)))
		return ids.SubscriptionID{}, false
	}
	return id, true
}

func (h *Handler) getSubscription(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, false) {
		return
	}
	id, ok := subscriptionID(w, r)
	if !ok {
		return
	}
	s, ok := h.deps.KafkaView.Subscription(id)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested subscription '%s' does not exist", id))
		return
	}
	writeJSON(w, http.StatusOK, toSubscriptionResponse(s))
}

// createSubscription answers POST /subscriptions: 201 with the subscription; 422 for a body or
// a source or sink that is not a URI (restate-server's decoding), 400 for the rest (the state
// machine's rejections).
func (h *Handler) createSubscription(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, true) {
		return
	}
	var body createSubscriptionRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	source, sink, options, why := body.decode()
	if why != "" {
		textError(w, http.StatusUnprocessableEntity, deserializeError(why))
		return
	}
	s, err := h.deps.KafkaChanges.CreateSubscription(r.Context(), source, sink, options)
	var rej *registry.RejectedError
	if errors.As(err, &rej) && rej.Status == http.StatusUnprocessableEntity {
		textError(w, rej.Status, deserializeError(rej.Message))
		return
	}
	if err != nil {
		registryError(w, err, "Error when creating the subscription")
		return
	}
	w.Header().Set("Location", "subscriptions/"+s.ID.String())
	writeJSON(w, http.StatusCreated, toSubscriptionResponse(s))
}

func (h *Handler) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, true) {
		return
	}
	id, ok := subscriptionID(w, r)
	if !ok {
		return
	}
	if err := h.deps.KafkaChanges.DeleteSubscription(r.Context(), id); err != nil {
		registryError(w, err, "Error when deleting the subscription")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// idDecodeError says why raw is not a subscription id in restate-server's words (its
// IdDecoder's checks, in its order).
func idDecodeError(raw string) string {
	prefix, rest, ok := strings.Cut(raw, "_")
	switch {
	case raw == "":
		return "bad length"
	case !ok:
		return "bad format"
	case !slices.Contains([]string{"inv", "dp", "sub", "prom", "sign", "snap", "mut", "vq"}, prefix):
		return "unrecognized resource type: " + prefix
	case rest == "":
		return "bad length"
	case rest[0] != '1':
		return "unrecognized codec version"
	case prefix != "sub":
		return "id doesn't match the expected type"
	case len(rest) < 23:
		return "bad length"
	}
	if _, err := ids.ParseSubscriptionID("sub_" + rest[:23]); err != nil {
		return "base62 decode error"
	}
	return "bad length" // more after the 22 digits
}
