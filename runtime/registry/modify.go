package registry

import (
	"context"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/ids"
)

// ModifyServiceCommand changes a service's settings, as restate-server's PATCH /services/{name}:
// each set field replaces the service-level setting of the service's latest revision. A later
// registration that writes a new revision of the service starts again from its manifest (as
// restate-server does); a registration that changes nothing keeps the modified settings.
// Durations are milliseconds.
type ModifyServiceCommand struct {
	Service string `msgpack:"n"`
	// Public, when set, makes the service callable at the ingress (true) or only from handlers.
	Public                      *bool  `msgpack:"p,omitempty"`
	IdempotencyRetention        *int64 `msgpack:"ir,omitempty"`
	WorkflowCompletionRetention *int64 `msgpack:"wr,omitempty"`
	JournalRetention            *int64 `msgpack:"jr,omitempty"`
	InactivityTimeout           *int64 `msgpack:"it,omitempty"`
	AbortTimeout                *int64 `msgpack:"at,omitempty"`
	// The retry policy, ours (restate-server 1.7 has no retry policy in PATCH): each set field
	// replaces the manifest's service-level one. RetryOnMaxAttempts is "PAUSE" or "KILL" ("" keeps).
	RetryInitialInterval *int64   `msgpack:"rii,omitempty"`
	RetryMaxInterval     *int64   `msgpack:"rmi,omitempty"`
	RetryMaxAttempts     *int64   `msgpack:"rma,omitempty"`
	RetryFactor          *float64 `msgpack:"ref,omitempty"`
	RetryOnMaxAttempts   string   `msgpack:"roma,omitempty"`
}

// DeleteDeploymentCommand removes a deployment and the services it is the latest deployment
// of (restate-server's forced DELETE /deployments/{id}).
type DeleteDeploymentCommand struct {
	ID ids.DeploymentID `msgpack:"id"`
}

// UpdateDeploymentCommand changes a deployment's address and connection settings after the
// proposer re-ran discovery at the new address (restate-server's PATCH /deployments/{id}).
type UpdateDeploymentCommand struct {
	ID ids.DeploymentID `msgpack:"id"`
	// Deployment carries the new URI, protocol facts and SDK version from the new discovery.
	Deployment Deployment `msgpack:"d"`
	// Headers replace the deployment's additional headers when SetHeaders.
	SetHeaders bool `msgpack:"sh,omitempty"`
	// Services are the services discovered at the new address.
	Services []Service `msgpack:"s"`
	// Overwrite replaces the deployment's service definitions with Services (breaking changes
	// allowed); otherwise the new address must serve what the deployment exposes.
	Overwrite bool `msgpack:"o,omitempty"`
	DryRun    bool `msgpack:"dr,omitempty"`
}

func applyModifyService(b *pebble.Batch, c *ModifyServiceCommand) (Result, error) {
	s, ok, err := getService(b, c.Service)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return reject("", 404, fmt.Sprintf("not found in the schema registry: service with name '%s'", c.Service)), nil
	}
	if c.WorkflowCompletionRetention != nil && s.Type != command.Workflow {
		return reject("", 400, fmt.Sprintf("modifying retention time for service type %s is unsupported", typeName(s.Type))), nil
	}
	o := &s.Options
	if c.Public != nil {
		o.IngressPrivate = !*c.Public
	}
	o.IdempotencyRetention = laidOver(o.IdempotencyRetention, c.IdempotencyRetention)
	o.JournalRetention = laidOver(o.JournalRetention, c.JournalRetention)
	o.InactivityTimeout = laidOver(o.InactivityTimeout, c.InactivityTimeout)
	o.AbortTimeout = laidOver(o.AbortTimeout, c.AbortTimeout)
	o.RetryPolicyInitialInterval = laidOver(o.RetryPolicyInitialInterval, c.RetryInitialInterval)
	o.RetryPolicyMaxInterval = laidOver(o.RetryPolicyMaxInterval, c.RetryMaxInterval)
	o.RetryPolicyMaxAttempts = laidOver(o.RetryPolicyMaxAttempts, c.RetryMaxAttempts)
	o.RetryPolicyExponentiationFactor = laidOver(o.RetryPolicyExponentiationFactor, c.RetryFactor)
	if c.RetryOnMaxAttempts != "" {
		o.RetryPolicyOnMaxAttempts = c.RetryOnMaxAttempts
	}
	if c.WorkflowCompletionRetention != nil {
		// The manifest sets it on the workflow handler, where Service.Retention reads it first.
		o.WorkflowCompletionRetention = c.WorkflowCompletionRetention
		s.Handlers = slices.Clone(s.Handlers)
		for i := range s.Handlers {
			if s.Handlers[i].Type == command.WorkflowHandler {
				s.Handlers[i].Options.WorkflowCompletionRetention = c.WorkflowCompletionRetention
			}
		}
	}
	if err := put(b, serviceKey(s.Name), &s); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Modified, Service: &s}, nil
}

func laidOver[T any](under, over *T) *T {
	if over != nil {
		return over
	}
	return under
}

func findDeployment(b *pebble.Batch, id ids.DeploymentID) (*Deployment, error) {
	deps, err := scanDeployments(b)
	if err != nil {
		return nil, err
	}
	for i := range deps {
		if deps[i].ID == id {
			return &deps[i], nil
		}
	}
	return nil, nil
}

func applyDeleteDeployment(b *pebble.Batch, c *DeleteDeploymentCommand) (Result, error) {
	dep, err := findDeployment(b, c.ID)
	if err != nil || dep == nil {
		return reject("", 404, fmt.Sprintf("not found in the schema registry: deployment with id '%s'", c.ID)), err
	}
	if err := b.Delete(deploymentKey(dep.ID), nil); err != nil {
		return Result{}, fmt.Errorf("registry: delete deployment %s: %w", dep.ID, err)
	}
	if err := deleteServicesOf(b, dep.ID, dep.Services, nil); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Deleted, Deployment: *dep}, nil
}

// deleteServicesOf deletes the services of olds that id is still the latest deployment of,
// except those named in keep.
func deleteServicesOf(b *pebble.Batch, id ids.DeploymentID, olds, keep []Service) error {
	for _, old := range olds {
		if _, kept := slices.BinarySearchFunc(keep, old.Name, byName); kept {
			continue
		}
		cur, ok, err := getService(b, old.Name)
		if err != nil {
			return err
		}
		if ok && cur.DeploymentID == id {
			if err := b.Delete(serviceKey(old.Name), nil); err != nil {
				return fmt.Errorf("registry: delete service %q: %w", old.Name, err)
			}
		}
	}
	return nil
}

func applyUpdateDeployment(b *pebble.Batch, c *UpdateDeploymentCommand) (Result, error) {
	dep, err := findDeployment(b, c.ID)
	if err != nil || dep == nil {
		return reject("", 404, fmt.Sprintf("not found in the schema registry: %s", c.ID)), err
	}
	svcs := normalizeServices(c.Services)
	if !c.Overwrite {
		if why := incompatibleUpdate(*dep, c.Deployment, svcs); why != "" {
			return reject("META0016", 400, "an update deployment operation must provide an endpoint with the same services and handlers. The update tried to "+why), nil
		}
	}
	next := *dep
	next.URI, next.UseHTTP11, next.SDKVersion = c.Deployment.URI, c.Deployment.UseHTTP11, c.Deployment.SDKVersion
	next.ProtocolMode = c.Deployment.ProtocolMode
	next.MinProtocolVersion, next.MaxProtocolVersion = c.Deployment.MinProtocolVersion, c.Deployment.MaxProtocolVersion
	if c.SetHeaders {
		next.AdditionalHeaders = normalizeHeaders(c.Deployment.AdditionalHeaders)
	}
	if !c.Overwrite {
		return finishUpdate(b, c, next, nil)
	}
	for i := range svcs {
		cur, ok, err := getService(b, svcs[i].Name)
		if err != nil {
			return Result{}, err
		}
		svcs[i].DeploymentID, svcs[i].Revision = next.ID, 1
		if ok {
			svcs[i].Revision = cur.Revision
			if cur.DeploymentID != next.ID {
				svcs[i].Revision = cur.Revision + 1
			}
		}
	}
	next.Services = svcs
	return finishUpdate(b, c, next, dep)
}

// finishUpdate writes next unless this is a dry run; replaced is the deployment whose services
// an overwrite replaces (nil when the services are kept).
func finishUpdate(b *pebble.Batch, c *UpdateDeploymentCommand, next Deployment, replaced *Deployment) (Result, error) {
	res := Result{Outcome: Modified, Deployment: next}
	if c.DryRun {
		return res, nil
	}
	if err := put(b, deploymentKey(next.ID), &next); err != nil {
		return Result{}, err
	}
	if replaced == nil {
		return res, nil
	}
	for i := range next.Services {
		if err := put(b, serviceKey(next.Services[i].Name), &next.Services[i]); err != nil {
			return Result{}, err
		}
	}
	return res, deleteServicesOf(b, next.ID, replaced.Services, next.Services)
}

// incompatibleUpdate says what an update without overwrite would change that it may not: the
// protocol versions (restate-server's check), or a service or handler the deployment exposes
// that the new address does not serve with the same type (ours: restate-server 1.7.12 accepts
// those, though its message says the services must be the same).
func incompatibleUpdate(old, next Deployment, svcs []Service) string {
	if old.MinProtocolVersion != next.MinProtocolVersion || old.MaxProtocolVersion != next.MaxProtocolVersion {
		return fmt.Sprintf("change the supported protocol versions from %d..=%d to %d..=%d",
			old.MinProtocolVersion, old.MaxProtocolVersion, next.MinProtocolVersion, next.MaxProtocolVersion)
	}
	for _, s := range old.Services {
		i, ok := slices.BinarySearchFunc(svcs, s.Name, byName)
		if !ok {
			return fmt.Sprintf("remove the service '%s'", s.Name)
		}
		if svcs[i].Type != s.Type {
			return fmt.Sprintf("change the type of the service '%s' from %s to %s", s.Name, typeName(s.Type), typeName(svcs[i].Type))
		}
		for _, h := range s.Handlers {
			nh, ok := svcs[i].Handler(h.Name)
			if !ok {
				return fmt.Sprintf("remove the handler '%s/%s'", s.Name, h.Name)
			}
			if nh.Type != h.Type {
				return fmt.Sprintf("change the type of the handler '%s/%s'", s.Name, h.Name)
			}
		}
	}
	return ""
}

// ModifyServiceRequest is a PATCH /services/{name} as the admin API decoded it.
type ModifyServiceRequest = ModifyServiceCommand

// ModifyService changes a service's settings through the metadata shard and returns the
// service as stored. A rejection (unknown service, bad field) is a *RejectedError.
func (c Client) ModifyService(ctx context.Context, req ModifyServiceRequest) (Service, error) {
	res, err := c.propose(ctx, Command{Kind: KindModifyService, ModifyService: &req}, "modify service "+req.Service)
	if err != nil {
		return Service{}, err
	}
	if res.Service == nil {
		return Service{}, fmt.Errorf("registry: modify service %s: result without the service", req.Service)
	}
	return *res.Service, nil
}

// DeleteDeployment removes a deployment through the metadata shard (forced deletion: in-flight
// invocations of it may fail). An unknown id is a *RejectedError with status 404.
func (c Client) DeleteDeployment(ctx context.Context, id ids.DeploymentID) error {
	_, err := c.propose(ctx, Command{Kind: KindDeleteDeployment, DeleteDeployment: &DeleteDeploymentCommand{ID: id}}, "delete deployment "+id.String())
	return err
}

// UpdateDeploymentRequest is a PATCH /deployments/{id} after discovery at the (new) address.
type UpdateDeploymentRequest struct {
	ID  ids.DeploymentID
	URI string // any form NormalizeURI accepts
	// AdditionalHeaders replace the deployment's when not nil.
	AdditionalHeaders map[string]string
	UseHTTP11         bool
	Overwrite         bool
	DryRun            bool
	Manifest          discovery.Manifest
}

// UpdateDeployment changes a deployment's address through the metadata shard.
func (c Client) UpdateDeployment(ctx context.Context, req UpdateDeploymentRequest) (Deployment, error) {
	uri, err := discovery.NormalizeURI(req.URI)
	if err != nil {
		return Deployment{}, err
	}
	svcs, err := ServicesFromManifest(req.Manifest)
	if err != nil {
		return Deployment{}, err
	}
	m := req.Manifest
	cmd := &UpdateDeploymentCommand{
		ID: req.ID,
		Deployment: Deployment{
			URI: uri, ProtocolMode: string(m.ProtocolMode), MinProtocolVersion: m.MinProtocolVersion,
			MaxProtocolVersion: m.MaxProtocolVersion, UseHTTP11: req.UseHTTP11,
			AdditionalHeaders: headerList(req.AdditionalHeaders), SDKVersion: m.SDKVersion,
		},
		SetHeaders: req.AdditionalHeaders != nil, Services: svcs, Overwrite: req.Overwrite, DryRun: req.DryRun,
	}
	res, err := c.propose(ctx, Command{Kind: KindUpdateDeployment, UpdateDeployment: cmd}, "update deployment "+req.ID.String())
	return res.Deployment, err
}

// propose encodes and proposes cmd and decodes its result; a rejection is a *RejectedError.
func (c Client) propose(ctx context.Context, cmd Command, what string) (Result, error) {
	data, err := EncodeCommand(cmd)
	if err != nil {
		return Result{}, err
	}
	out, err := c.Propose(ctx, data)
	if err != nil {
		return Result{}, fmt.Errorf("registry: propose %s: %w", what, err)
	}
	res, err := DecodeResult(out)
	if err != nil {
		return Result{}, err
	}
	if res.Outcome == Rejected {
		if res.Error == nil {
			return Result{}, fmt.Errorf("registry: %s: rejected without a reason", what)
		}
		return Result{}, &RejectedError{*res.Error}
	}
	return res, nil
}
