package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// handleSerdePreview serves the serde preview as restate-server 1.7.12 does (its
// rest_api/serdes.rs; like restate-server, not in GET /openapi):
//
//	POST /internal/services/{service}/serdes/encode/{serde}
//	POST /internal/services/{service}/serdes/decode/{serde}
//
// A serde is a handler's input or output ("greet/input") or a service-level one, as the
// deployment names it. The request goes to the service's deployment, at
// /serdes/{service}/encode|decode/{serde}, where the SDK turns JSON into the serde's bytes
// (encode) or the bytes into JSON (decode) for serdes that have a JSON preview.
func (h *Handler) handleSerdePreview() {
	for _, op := range []string{"encode", "decode"} {
		h.mux.HandleFunc("POST /internal/services/{service}/serdes/"+op+"/{serde...}", func(w http.ResponseWriter, r *http.Request) {
			h.serdePreview(w, r, op)
		})
	}
}

// serdePreview forwards the request body to the deployment and answers what it answered: its
// status, content type and body on success; 500 with its answer otherwise (a serde that does
// not exist or has no preview: the TypeScript SDK answers 404, restate-server 500).
func (h *Handler) serdePreview(w http.ResponseWriter, r *http.Request, op string) {
	name, serde := r.PathValue("service"), r.PathValue("serde")
	svc, ok := h.deps.Registry.Service(name)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("service '%s' not found", name))
		return
	}
	dep, ok := h.deps.Registry.Deployment(svc.DeploymentID)
	if !ok || dep.URI == "" {
		apiError(w, http.StatusInternalServerError, "", fmt.Sprintf("service '%s': no deployment reachable over HTTP", name))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		apiError(w, http.StatusBadRequest, "", "cannot read the request body: "+err.Error())
		return
	}
	segments := strings.Split(serde, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	target := strings.TrimSuffix(dep.URI, "/") + "/serdes/" + url.PathEscape(name) + "/" + op + "/" + strings.Join(segments, "/")
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", fmt.Sprintf("serde preview request to %s: %v", target, err))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for _, hd := range dep.AdditionalHeaders {
		req.Header.Set(hd.Name, hd.Value)
	}
	client := h.deps.Discovery
	if dep.UseHTTP11 || client == nil {
		client = h.deps.DiscoveryHTTP11
	}
	resp, err := client.Do(req)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "", fmt.Sprintf("serde preview: cannot reach the deployment: %v", err))
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxBodySize+1))
	switch {
	case err != nil:
		apiError(w, http.StatusInternalServerError, "", fmt.Sprintf("serde preview: reading the deployment's answer: %v", err))
	case int64(len(out)) > h.cfg.MaxBodySize:
		apiError(w, http.StatusInternalServerError, "", fmt.Sprintf("serde preview: the deployment's answer is larger than %d bytes", h.cfg.MaxBodySize))
	case resp.StatusCode/100 != 2:
		apiError(w, http.StatusInternalServerError, "", fmt.Sprintf("serde preview: the deployment answered %d: %s", resp.StatusCode, bytes.TrimSpace(out)))
	default:
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	}
}
