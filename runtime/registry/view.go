package registry

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// View is an immutable snapshot of the registry. Slices and maps reachable from it are shared:
// treat them as read-only.
type View struct {
	services    []Service // sorted by name
	deployments []Deployment
	byService   map[string]int
	byID        map[ids.DeploymentID]int
	nodes       []Node // sorted by id
	joins       []Join // sorted by node
	// kafkaClusters (by name) and subscriptions (by id): kafka.go, subscriptions.go.
	kafkaClusters []KafkaCluster
	subscriptions []Subscription
}

func loadView(r pebble.Reader) (*View, error) {
	svcs, err := scanServices(r) // key order = name order
	if err != nil {
		return nil, err
	}
	deps, err := scanDeployments(r)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(deps, func(a, b Deployment) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), strings.Compare(a.ID.String(), b.ID.String()))
	})
	nodes, err := scanNodes(r)
	if err != nil {
		return nil, err
	}
	joins, err := scanJoins(r)
	if err != nil {
		return nil, err
	}
	clusters, err := scanKafkaClusters(r)
	if err != nil {
		return nil, err
	}
	subs, err := scanSubscriptions(r)
	if err != nil {
		return nil, err
	}
	v := &View{services: svcs, deployments: deps, nodes: nodes, joins: joins, kafkaClusters: clusters, subscriptions: subs, byService: make(map[string]int, len(svcs)), byID: make(map[ids.DeploymentID]int, len(deps))}
	for i, s := range svcs {
		v.byService[s.Name] = i
	}
	for i, d := range deps {
		v.byID[d.ID] = i
	}
	return v, nil
}

// Service returns the latest revision of the named service.
func (v *View) Service(name string) (Service, bool) {
	i, ok := v.byService[name]
	if !ok {
		return Service{}, false
	}
	return v.services[i], true
}

// Services returns every service, sorted by name.
func (v *View) Services() []Service { return v.services }

// Deployment returns a deployment by id.
func (v *View) Deployment(id ids.DeploymentID) (Deployment, bool) {
	i, ok := v.byID[id]
	if !ok {
		return Deployment{}, false
	}
	return v.deployments[i], true
}

// Deployments returns every deployment, oldest first.
func (v *View) Deployments() []Deployment { return v.deployments }

// DeploymentFor returns the deployment new invocations of service go to.
func (v *View) DeploymentFor(service string) (Deployment, bool) {
	s, ok := v.Service(service)
	if !ok {
		return Deployment{}, false
	}
	return v.Deployment(s.DeploymentID)
}

// Handler returns a handler of the latest revision of service.
func (v *View) Handler(service, handler string) (Handler, bool) {
	s, ok := v.Service(service)
	if !ok {
		return Handler{}, false
	}
	return s.Handler(handler)
}

// Target resolves a service and handler to the types an invocation needs.
func (v *View) Target(service, handler string) (command.ServiceType, command.HandlerType, bool) {
	s, ok := v.Service(service)
	if !ok {
		return 0, 0, false
	}
	h, ok := s.Handler(handler)
	return s.Type, h.Type, ok
}

// View returns the current snapshot; use it to make several reads consistent.
func (r *Registry) View() *View { return r.view.Load() }

// Service returns the latest revision of the named service.
func (r *Registry) Service(name string) (Service, bool) { return r.View().Service(name) }

// Services returns every service, sorted by name.
func (r *Registry) Services() []Service { return r.View().Services() }

// Deployment returns a deployment by id.
func (r *Registry) Deployment(id ids.DeploymentID) (Deployment, bool) {
	return r.View().Deployment(id)
}

// Deployments returns every deployment, oldest first.
func (r *Registry) Deployments() []Deployment { return r.View().Deployments() }

// DeploymentFor returns the deployment new invocations of service go to.
func (r *Registry) DeploymentFor(service string) (Deployment, bool) {
	return r.View().DeploymentFor(service)
}

// Handler returns a handler of the latest revision of service.
func (r *Registry) Handler(service, handler string) (Handler, bool) {
	return r.View().Handler(service, handler)
}

func typeName(t command.ServiceType) string {
	switch t {
	case command.Service:
		return "Service"
	case command.VirtualObject:
		return "VirtualObject"
	case command.Workflow:
		return "Workflow"
	}
	return "Unknown"
}
