package admin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/resolute-run/resolute/objects"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/statemachine"
	"github.com/resolute-run/resolute/runtime/storage"
)

// States reads and patches Virtual Object state (the partition router).
type States interface {
	PatchState(ctx context.Context, p command.PatchState) (statemachine.Outcome, error)
	State(ctx context.Context, service, key string) ([]storage.StateEntry, error)
}

// byteArrays is a JSON object of byte arrays ({"k": [104, 105]}), as restate writes state values.
type byteArrays map[string][]int

func (b byteArrays) bytes() (map[string][]byte, error) {
	out := make(map[string][]byte, len(b))
	for k, vals := range b {
		v := make([]byte, len(vals))
		for i, n := range vals {
			if n < 0 || n > 255 {
				return nil, fmt.Errorf("new_state[%q][%d] = %d is not a byte", k, i, n)
			}
			v[i] = byte(n)
		}
		out[k] = v
	}
	return out, nil
}

func toByteArrays(state []storage.StateEntry) byteArrays {
	out := make(byteArrays, len(state))
	for _, e := range state {
		vals := make([]int, len(e.Value))
		for i, c := range e.Value {
			vals[i] = int(c)
		}
		out[string(e.Key)] = vals
	}
	return out
}

// stateService resolves the path's service, which must be a Virtual Object.
func (h *Handler) stateService(w http.ResponseWriter, r *http.Request) (string, bool) {
	if h.deps.States == nil {
		apiError(w, http.StatusServiceUnavailable, "", "state operations are not available on this server")
		return "", false
	}
	s, ok := h.service(w, r)
	if !ok {
		return "", false
	}
	if s.Type != command.VirtualObject {
		apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The service '%s' is not a Virtual Object: only Virtual Objects have state that can be modified", s.Name))
		return "", false
	}
	return s.Name, true
}

// modifyState is POST /services/{name}/state: the key's state replaced through the log, in the
// key's lock order (202, as restate-server: applied once the key is free). A version that no
// longer matches is refused with 409 when that is known at once.
func (h *Handler) modifyState(w http.ResponseWriter, r *http.Request) {
	service, ok := h.stateService(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodySize+1))
	if err != nil || int64(len(body)) > h.cfg.MaxBodySize {
		apiError(w, http.StatusBadRequest, "", "Cannot read the request body: too large or broken")
		return
	}
	var req struct {
		ObjectKey *string    `json:"object_key"`
		NewState  byteArrays `json:"new_state"`
		Version   *string    `json:"version"`
		Scope     *string    `json:"scope"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "", "Failed to parse the request body as JSON: "+describeJSONError(err))
		return
	}
	if req.ObjectKey == nil || req.NewState == nil {
		apiError(w, http.StatusBadRequest, "", "Failed to parse the request body as JSON: missing field `object_key` or `new_state`")
		return
	}
	if req.Scope != nil && *req.Scope != "" {
		apiError(w, http.StatusBadRequest, "", "scoped Virtual Object instances are not supported by this server")
		return
	}
	values, err := req.NewState.bytes()
	if err != nil {
		apiError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	p := command.PatchState{Service: service, Key: *req.ObjectKey}
	if req.Version != nil {
		p.Version = *req.Version
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p.State = append(p.State, command.StateEntry{Key: []byte(k), Value: values[k]})
	}
	var entropy [16]byte
	if _, err := rand.Read(entropy[:]); err != nil {
		apiError(w, http.StatusInternalServerError, "", "id entropy: "+err.Error())
		return
	}
	p.ID = ids.NewInvocationID(ids.KeyedPartitionKey(service, p.Key), entropy)
	o, err := h.deps.States.PatchState(r.Context(), p)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "", "Error when routing the request internally. Reason: "+err.Error())
		return
	}
	if o.Code == statemachine.Invalid {
		apiError(w, http.StatusConflict, "", o.Message)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// stateResponse is GET /services/{name}/state/{key} (ours: restate reads state by SQL): the
// state in the form POST /services/{name}/state takes, with the version a patch may name.
type stateResponse struct {
	Service   string     `json:"service"`
	ObjectKey string     `json:"object_key"`
	Version   string     `json:"version"`
	State     byteArrays `json:"state"`
}

func (h *Handler) getState(w http.ResponseWriter, r *http.Request) {
	service, ok := h.stateService(w, r)
	if !ok {
		return
	}
	key := r.PathValue("key")
	state, err := h.deps.States.State(r.Context(), service, key)
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, stateResponse{Service: service, ObjectKey: key, Version: objects.StateVersion(state), State: toByteArrays(state)})
}
