package server

import (
	"fmt"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/registry"
)

// resolver answers the invoker's questions from the registry.
type resolver struct{ reg *registry.Registry }

func (r resolver) Deployment(service string) (invoker.Deployment, error) {
	d, ok := r.reg.DeploymentFor(service)
	if !ok {
		return invoker.Deployment{}, fmt.Errorf("no deployment serves service %q", service)
	}
	return toInvokerDeployment(d), nil
}

func (r resolver) DeploymentByID(id ids.DeploymentID) (invoker.Deployment, error) {
	d, ok := r.reg.Deployment(id)
	if !ok {
		return invoker.Deployment{}, fmt.Errorf("deployment %s is not registered (removed?)", id)
	}
	return toInvokerDeployment(d), nil
}

func toInvokerDeployment(d registry.Deployment) invoker.Deployment {
	headers := make(map[string]string, len(d.AdditionalHeaders))
	for _, h := range d.AdditionalHeaders {
		headers[h.Name] = h.Value
	}
	return invoker.Deployment{
		ID:                d.ID,
		URI:               d.URI,
		MinProtocol:       d.MinProtocolVersion,
		MaxProtocol:       d.MaxProtocolVersion,
		RequestResponse:   d.ProtocolMode == "REQUEST_RESPONSE",
		UseHTTP11:         d.UseHTTP11,
		AdditionalHeaders: headers,
	}
}

func (r resolver) ResolveCall(service, handler string) (command.CallResolution, error) {
	svc, ok := r.reg.Service(service)
	if !ok {
		return command.CallResolution{}, fmt.Errorf("%w: service %q not found", invoker.ErrUnknownTarget, service)
	}
	h, ok := r.reg.Handler(service, handler)
	if !ok {
		return command.CallResolution{}, fmt.Errorf("%w: handler %s/%s not found", invoker.ErrUnknownTarget, service, handler)
	}
	plain, idempotent := svc.Retention(handler, false), svc.Retention(handler, true)
	return command.CallResolution{ServiceType: svc.Type, HandlerType: h.Type, Retention: &plain, IdempotentRetention: &idempotent}, nil
}

func (r resolver) Overrides(service, handler string) invoker.Overrides {
	svc, ok := r.reg.Service(service)
	if !ok {
		return invoker.Overrides{}
	}
	return invoker.ServiceOverrides(svc, handler)
}
