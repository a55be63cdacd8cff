package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/resolute-run/resolute/runtime/introspect"
)

// Querier runs SQL over the runtime's tables (introspect.Engine).
type Querier interface {
	Query(ctx context.Context, q string) (*introspect.Result, error)
}

// queryRequest is POST /query's body.
type queryRequest struct {
	Query *string `json:"query"`
}

// query is POST /query: SQL over the runtime's tables, answered as JSON ({"rows": [...]}) when
// the request accepts exactly application/json and as an Arrow IPC stream otherwise, as
// restate-server answers (the official CLI asks for both). A query the engine refuses is 400
// with its message; a partition that cannot be read is 503.
func (h *Handler) query(w http.ResponseWriter, r *http.Request) {
	if h.deps.Query == nil {
		apiError(w, http.StatusServiceUnavailable, "", "Query service not available")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodySize+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "", "Failed to read the request body: "+err.Error())
		return
	}
	if int64(len(body)) > h.cfg.MaxBodySize {
		apiError(w, http.StatusRequestEntityTooLarge, "", "The request body is larger than "+strconv.FormatInt(h.cfg.MaxBodySize, 10)+" bytes")
		return
	}
	var req queryRequest
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "", "Failed to parse the request body as JSON: "+err.Error())
		return
	}
	if req.Query == nil || strings.TrimSpace(*req.Query) == "" {
		apiError(w, http.StatusBadRequest, "", "Failed to deserialize the JSON body: missing field `query`")
		return
	}
	res, err := h.deps.Query.Query(r.Context(), *req.Query)
	if err != nil {
		var qe *introspect.QueryError
		switch {
		case errors.As(err, &qe):
			apiError(w, http.StatusBadRequest, "", "Query error: "+qe.Error())
		case r.Context().Err() != nil:
			apiError(w, http.StatusServiceUnavailable, "", "Query cancelled: "+err.Error())
		default:
			apiError(w, http.StatusServiceUnavailable, "", "Query failed: "+err.Error())
		}
		return
	}
	var out bytes.Buffer
	contentType := "application/vnd.apache.arrow.stream"
	if r.Header.Get("Accept") == "application/json" {
		contentType = "application/json"
		err = introspect.WriteJSON(&out, res)
	} else {
		err = introspect.WriteArrow(&out, res)
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", "Failed to encode the query's answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}
