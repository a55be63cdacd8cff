package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/registry"
)

const signup = `{"name":"Signup","ty":"WORKFLOW","handlers":[{"name":"run","ty":"WORKFLOW","workflowCompletionRetention":60000},{"name":"status","ty":"SHARED"}]}`

func ptr[T any](v T) *T { return &v }

// rejection returns err's rejection (status 0 when err is not one).
func rejection(err error) registry.Rejection {
	var rej *registry.RejectedError
	if errors.As(err, &rej) {
		return rej.Rejection
	}
	return registry.Rejection{}
}

// TestModifyService: a PATCH replaces the service-level settings and survives a registration
// that changes nothing; a new revision of the service starts again from its manifest, as
// restate-server 1.7.12 does (probed: PATCH public=false, re-register the same URI → still
// private; force or a new URI → public again).
func TestModifyService(t *testing.T) {
	reg, err := registry.New(openMem(t))
	if err != nil {
		t.Fatal(err)
	}
	c, ctx := newClient(reg), context.Background()
	if _, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a/", Manifest: manifest(t, greeter+","+signup)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		req    registry.ModifyServiceRequest
		status int
		msg    string
	}{
		{"unknown service", registry.ModifyServiceRequest{Service: "Nope", Public: ptr(false)}, 404, "not found in the schema registry: service with name 'Nope'"},
		{"workflow retention of a service", registry.ModifyServiceRequest{Service: "Greeter", WorkflowCompletionRetention: ptr(int64(1))}, 400, "modifying retention time for service type Service is unsupported"},
	} {
		_, err := c.ModifyService(ctx, tc.req)
		if r := rejection(err); r.Status != tc.status || r.Message != tc.msg {
			t.Errorf("%s: %v, want %d %q", tc.name, err, tc.status, tc.msg)
		}
	}
	s, err := c.ModifyService(ctx, registry.ModifyServiceRequest{Service: "Greeter", Public: ptr(false), JournalRetention: ptr(int64(7200_000)), IdempotencyRetention: ptr(int64(3_000)), InactivityTimeout: ptr(int64(5_000)), RetryMaxAttempts: ptr(int64(2)), RetryOnMaxAttempts: "KILL"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := reg.Service("Greeter")
	if !stored.Options.IngressPrivate || *stored.Options.JournalRetention != 7200_000 || *stored.Options.InactivityTimeout != 5_000 || stored.Options.AbortTimeout != nil || s.Revision != 1 {
		t.Fatalf("stored after PATCH: %+v (answered %+v)", stored.Options, s.Options)
	}
	if o := stored.Options; *o.RetryPolicyMaxAttempts != 2 || o.RetryPolicyOnMaxAttempts != "KILL" || o.RetryPolicyInitialInterval != nil {
		t.Fatalf("retry policy after PATCH: %+v", o)
	}
	if r := stored.Retention("greet", true); r.Completion != 3_000 || r.Journal != 3_000 {
		t.Fatalf("idempotent retention after PATCH: %+v", r)
	}
	if _, err := c.ModifyService(ctx, registry.ModifyServiceRequest{Service: "Signup", WorkflowCompletionRetention: ptr(int64(5_000))}); err != nil {
		t.Fatal(err)
	}
	wf, _ := reg.Service("Signup")
	if r := wf.Retention("run", false); r.Completion != 5_000 {
		t.Fatalf("workflow retention after PATCH: %+v", r)
	}

	if res, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a/", Manifest: manifest(t, greeter+","+signup)}); err != nil || res.Outcome != registry.Unchanged {
		t.Fatalf("re-register: %+v %v", res, err)
	}
	if s, _ := reg.Service("Greeter"); !s.Options.IngressPrivate {
		t.Fatal("an unchanged registration dropped the PATCH")
	}
	if _, err := c.Register(ctx, registry.RegisterRequest{URI: "http://b/", Manifest: manifest(t, greeter)}); err != nil {
		t.Fatal(err)
	}
	if s, _ := reg.Service("Greeter"); s.Options.IngressPrivate || s.Options.JournalRetention != nil || s.Revision != 2 {
		t.Fatalf("a new revision kept the PATCH: %+v", s)
	}
}

func TestDeleteDeployment(t *testing.T) {
	reg, err := registry.New(openMem(t))
	if err != nil {
		t.Fatal(err)
	}
	c, ctx := newClient(reg), context.Background()
	a, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a/", Manifest: manifest(t, greeter+","+counter)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Register(ctx, registry.RegisterRequest{URI: "http://b/", Manifest: manifest(t, greeter)})
	if err != nil {
		t.Fatal(err)
	}
	var unknown ids.DeploymentID
	unknown[0] = 0xff
	if r := rejection(c.DeleteDeployment(ctx, unknown)); r.Status != 404 || r.Message != "not found in the schema registry: deployment with id '"+unknown.String()+"'" {
		t.Fatalf("unknown: %+v", r)
	}
	// a is the latest deployment of Counter only: Counter goes, Greeter stays on b.
	if err := c.DeleteDeployment(ctx, a.Deployment.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Deployment(a.Deployment.ID); ok {
		t.Fatal("deployment still there")
	}
	if _, ok := reg.Service("Counter"); ok {
		t.Fatal("Counter outlived its only deployment")
	}
	if s, ok := reg.Service("Greeter"); !ok || s.DeploymentID != b.Deployment.ID {
		t.Fatalf("Greeter: %+v %v", s, ok)
	}
}

func TestUpdateDeployment(t *testing.T) {
	reg, err := registry.New(openMem(t))
	if err != nil {
		t.Fatal(err)
	}
	c, ctx := newClient(reg), context.Background()
	a, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a/", Manifest: manifest(t, greeter+","+counter), AdditionalHeaders: map[string]string{"x": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := a.Deployment.ID
	older := manifest(t, greeter+","+counter)
	older.MaxProtocolVersion = 6
	var unknown ids.DeploymentID
	unknown[0] = 0xff
	for _, tc := range []struct {
		name string
		req  registry.UpdateDeploymentRequest
		code string
		msg  string
	}{
		{"unknown", registry.UpdateDeploymentRequest{ID: unknown, URI: "http://b/", Manifest: manifest(t, greeter)}, "", "not found in the schema registry: " + unknown.String()},
		{"protocol", registry.UpdateDeploymentRequest{ID: id, URI: "http://b/", Manifest: older}, "META0016", "an update deployment operation must provide an endpoint with the same services and handlers. The update tried to change the supported protocol versions from 5..=7 to 5..=6"},
		{"missing service", registry.UpdateDeploymentRequest{ID: id, URI: "http://b/", Manifest: manifest(t, greeter)}, "META0016", "an update deployment operation must provide an endpoint with the same services and handlers. The update tried to remove the service 'Counter'"},
		{"service type", registry.UpdateDeploymentRequest{ID: id, URI: "http://b/", Manifest: manifest(t, greeter+","+counterS)}, "META0016", "an update deployment operation must provide an endpoint with the same services and handlers. The update tried to change the type of the service 'Counter' from VirtualObject to Service"},
	} {
		_, err := c.UpdateDeployment(ctx, tc.req)
		if r := rejection(err); r.Code != tc.code || r.Message != tc.msg {
			t.Errorf("%s: %v, want %s %q", tc.name, err, tc.code, tc.msg)
		}
	}
	if d, _ := reg.Deployment(id); d.URI != "http://a/" {
		t.Fatalf("a rejected update changed the deployment: %+v", d)
	}
	d, err := c.UpdateDeployment(ctx, registry.UpdateDeploymentRequest{ID: id, URI: "http://b", Manifest: manifest(t, counter+","+greeter)})
	if err != nil || d.URI != "http://b/" || len(d.AdditionalHeaders) != 1 {
		t.Fatalf("address update: %+v %v", d, err)
	}
	if dep, _ := reg.DeploymentFor("Counter"); dep.URI != "http://b/" || dep.ID != id {
		t.Fatalf("Counter routes to %+v", dep)
	}
	d, err = c.UpdateDeployment(ctx, registry.UpdateDeploymentRequest{ID: id, URI: "http://b", AdditionalHeaders: map[string]string{}, Overwrite: true, Manifest: manifest(t, greeter2)})
	if err != nil || len(d.AdditionalHeaders) != 0 {
		t.Fatalf("overwrite: %+v %v", d, err)
	}
	if _, ok := reg.Service("Counter"); ok {
		t.Fatal("overwrite kept a service the endpoint dropped")
	}
	if h, ok := reg.Handler("Greeter", "wave"); !ok || h.Name != "wave" {
		t.Fatal("overwrite did not take the new definition")
	}
}
