package admin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
)

// DeleteDeploymentFunc removes a deployment (registry.Client.DeleteDeployment).
type DeleteDeploymentFunc func(ctx context.Context, id ids.DeploymentID) error

// UpdateDeploymentFunc moves a deployment (registry.Client.UpdateDeployment).
type UpdateDeploymentFunc func(ctx context.Context, req registry.UpdateDeploymentRequest) (registry.Deployment, error)

// deploymentID reads the path's deployment id, answering 400 in restate-server's words.
func deploymentID(w http.ResponseWriter, r *http.Request) (ids.DeploymentID, bool) {
	raw := r.PathValue("id")
	id, err := ids.ParseDeploymentID(raw)
	if err != nil {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Invalid URL: Cannot parse `deployment` with value `%s`: bad format", raw))
		return ids.DeploymentID{}, false
	}
	return id, true
}

// deleteDeployment answers DELETE /deployments/{id}?force=true as restate-server 1.7.12:
// 202 with no body once deleted, 404 for an unknown id; without force (or force=false) 501
// with no body, whether the id is known or not (only forced deletion exists there).
func (h *Handler) deleteDeployment(w http.ResponseWriter, r *http.Request) {
	id, ok := deploymentID(w, r)
	if !ok {
		return
	}
	force := false
	if v, set := r.URL.Query()["force"]; set {
		switch v[0] {
		case "true":
			force = true
		case "false":
		default:
			textError(w, http.StatusBadRequest, "Failed to deserialize query string: force: provided string was not `true` or `false`")
			return
		}
	}
	if !force {
		w.WriteHeader(http.StatusNotImplemented)
		return
	}
	if h.deps.DeleteDeployment == nil {
		apiError(w, http.StatusServiceUnavailable, "", "deleting deployments is not available on this server")
		return
	}
	if err := h.deps.DeleteDeployment(r.Context(), id); err != nil {
		registryError(w, err, "Error when deleting the deployment")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// updateDeploymentRequest is restate-server 1.7's UpdateDeploymentRequest (its HTTP variant).
type updateDeploymentRequest struct {
	URI               *string           `json:"uri"`
	ARN               *string           `json:"arn"`
	AdditionalHeaders map[string]string `json:"additional_headers"`
	UseHTTP11         *bool             `json:"use_http_11"`
	Overwrite         bool              `json:"overwrite"`
	DryRun            bool              `json:"dry_run"`
}

// updateDeployment answers PATCH /deployments/{id}: discovery runs at the (new) address with
// the (new) headers, then the registry moves the deployment there; 200 with the deployment as
// GET /deployments/{id} shows it. Absent fields keep the deployment's settings.
func (h *Handler) updateDeployment(w http.ResponseWriter, r *http.Request) {
	id, ok := deploymentID(w, r)
	if !ok {
		return
	}
	var body updateDeploymentRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	if body.ARN != nil {
		apiError(w, http.StatusBadRequest, "", "The request field 'arn' is invalid. Reason: Lambda deployments are not supported by this server")
		return
	}
	if h.deps.UpdateDeployment == nil {
		apiError(w, http.StatusServiceUnavailable, "", "updating deployments is not available on this server")
		return
	}
	cur, ok := h.deps.Registry.Deployment(id)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("not found in the schema registry: %s", id))
		return
	}
	req := updateRequest(id, cur, body)
	uri, err := discovery.NormalizeURI(req.URI)
	if err != nil { // restate-server 1.7.12 answers 200 and changes nothing for "not a uri"
		apiError(w, http.StatusBadRequest, "", "The request field 'uri' is invalid. Reason: "+err.Error())
		return
	}
	client := h.deps.Discovery
	if req.UseHTTP11 {
		client = h.deps.DiscoveryHTTP11
	}
	if req.Manifest, err = discovery.Discover(r.Context(), client, uri, req.AdditionalHeaders); err != nil {
		discoveryError(w, err)
		return
	}
	d, err := h.deps.UpdateDeployment(r.Context(), req)
	if err != nil {
		registryError(w, err, "Error when updating the deployment")
		return
	}
	writeJSON(w, http.StatusOK, h.detailedDeployment(d))
}

// updateRequest lays the request's fields over the deployment's current settings.
func updateRequest(id ids.DeploymentID, cur registry.Deployment, body updateDeploymentRequest) registry.UpdateDeploymentRequest {
	req := registry.UpdateDeploymentRequest{
		ID: id, URI: cur.URI, UseHTTP11: cur.UseHTTP11, AdditionalHeaders: body.AdditionalHeaders,
		Overwrite: body.Overwrite, DryRun: body.DryRun,
	}
	if body.URI != nil {
		req.URI = *body.URI
	}
	if body.UseHTTP11 != nil {
		req.UseHTTP11 = *body.UseHTTP11
	}
	if req.AdditionalHeaders == nil {
		req.AdditionalHeaders = map[string]string{}
		for _, hd := range cur.AdditionalHeaders {
			req.AdditionalHeaders[hd.Name] = hd.Value
		}
	}
	return req
}

// detailedDeployment shows a deployment with, for each service it is still the latest revision
// of, the service as stored now (with its PATCHed settings).
func (h *Handler) detailedDeployment(d registry.Deployment) detailedDeploymentResponse {
	svcs := make([]registry.Service, len(d.Services))
	for i, s := range d.Services {
		svcs[i] = s
		if cur, ok := h.deps.Registry.Service(s.Name); ok && cur.DeploymentID == d.ID && cur.Revision == s.Revision {
			svcs[i] = cur
		}
	}
	d.Services = svcs
	return toDetailedDeploymentResponse(d, h.cfg.Policy)
}
