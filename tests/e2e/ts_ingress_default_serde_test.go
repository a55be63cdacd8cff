//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestTSIngressDefaultSerde ports sdk-typescript's test/ingress_default_serde.test.ts (describe
// "Ingress default serde e2e"), one of the vitest files upstream runs through sdk-tests' Custom
// class. The services use serdes of their own: JSON after a prefix ("ingress-default:" or
// "ingress-override:") with the content type application/x-<prefix>+json; the test's client
// (@restatedev/restate-sdk-clients with a default serde) sends and reads bodies in them. The
// port sends what that client sends: the serialized body with the serde's content type on every
// call, send and awakeable resolution, and reads the answers through the same serde.
func TestTSIngressDefaultSerde(t *testing.T) {
	const (
		svc   = "/IngressDefaultSerdeService"
		obj   = "/IngressDefaultSerdeObject/"
		awk   = "/IngressDefaultSerdeAwakeableObject/"
		wf    = "IngressDefaultSerdeWorkflow"
		wfOvr = "IngressOverrideSerdeWorkflow"
	)
	runClass(t, class{
		services: []string{"IngressDefaultSerdeService", "IngressDefaultSerdeObject", "IngressDefaultSerdeAwakeableObject", wf, wfOvr},
		tsOnly:   "sdk-typescript's own vitest services (IngressDefaultSerde*: the TypeScript SDK's and client's serde options), not part of the shared test-services contract",
		scenarios: []scenario{
			{name: "uses the connection default serde for service and object calls", run: func(t *testing.T, d *deployment) {
				defaultSerde.want(t, d.serdeCall(svc+"/echo", defaultSerde, payload("service-call")), payload("service:service-call"))
				defaultSerde.want(t, d.serdeCall(obj+newUUID()+"/echo", defaultSerde, payload("object-call")), payload("object:object-call"))
			}},
			{name: "lets local serdes override service and object call defaults", run: func(t *testing.T, d *deployment) {
				overrideSerde.want(t, d.serdeCall(svc+"/echoOverride", overrideSerde, payload("service-call")), payload("service-override:service-call"))
				overrideSerde.want(t, d.serdeCall(obj+newUUID()+"/echoOverride", overrideSerde, payload("object-call")), payload("object-override:object-call"))
			}},
			{name: "uses the connection default serde for workflow submit, attach, and output", run: func(t *testing.T, d *deployment) {
				key := newUUID()
				d.serdeCall("/"+wf+"/"+key+"/run/send", defaultSerde, payload("workflow-submit")).ok(t)
				defaultSerde.want(t, d.workflowAttach(wf, key), payload("workflow:workflow-submit"))
				defaultSerde.want(t, d.workflowOutput(wf, key), payload("workflow:workflow-submit"))
			}},
			{name: "lets local serdes override workflow submit, attach, and output defaults", run: func(t *testing.T, d *deployment) {
				key := newUUID()
				d.serdeCall("/"+wfOvr+"/"+key+"/run/send", overrideSerde, payload("workflow-submit")).ok(t)
				overrideSerde.want(t, d.workflowAttach(wfOvr, key), payload("workflow-override:workflow-submit"))
				overrideSerde.want(t, d.workflowOutput(wfOvr, key), payload("workflow-override:workflow-submit"))
			}},
			{name: "uses the connection default serde for sends and attached results", run: func(t *testing.T, d *deployment) {
				s := d.serdeSend(t, svc+"/echo", defaultSerde, payload("service-send"))
				defaultSerde.want(t, d.result(s), payload("service:service-send"))
				s = d.serdeSend(t, obj+newUUID()+"/echo", defaultSerde, payload("object-send"))
				defaultSerde.want(t, d.result(s), payload("object:object-send"))
			}},
			{name: "lets local serdes override send input and attached result defaults", run: func(t *testing.T, d *deployment) {
				s := d.serdeSend(t, svc+"/echoOverride", overrideSerde, payload("service-send"))
				overrideSerde.want(t, d.result(s), payload("service-override:service-send"))
				s = d.serdeSend(t, obj+newUUID()+"/echoOverride", overrideSerde, payload("object-send"))
				overrideSerde.want(t, d.result(s), payload("object-override:object-send"))
			}},
			{name: "uses the connection default serde for resolving an awakeable", run: func(t *testing.T, d *deployment) {
				resolveSerdeAwakeable(t, d, awk+newUUID(), map[string]any{}, defaultSerde)
			}},
			{name: "lets a local serde override the awakeable resolve default", run: func(t *testing.T, d *deployment) {
				resolveSerdeAwakeable(t, d, awk+newUUID(), map[string]any{"useOverrideSerde": true}, overrideSerde)
			}},
		},
	})
}

// prefixSerde is the services' prefixedJsonSerde: "<prefix>:" then JSON, content type
// application/x-<prefix>+json; an empty body is undefined.
type prefixSerde string

const (
	defaultSerde  prefixSerde = "ingress-default"
	overrideSerde prefixSerde = "ingress-override"
)

func (p prefixSerde) contentType() string { return "application/x-" + string(p) + "+json" }

func (p prefixSerde) encode(v any) []byte {
	b, _ := json.Marshal(v) // maps and strings only
	return append([]byte(string(p)+":"), b...)
}

// decode reads body as p's serde does, into v.
func (p prefixSerde) decode(body []byte, v any) error {
	rest, ok := bytes.CutPrefix(body, []byte(string(p)+":"))
	if !ok {
		return fmt.Errorf("missing '%s:' prefix in %q", p, body)
	}
	return json.Unmarshal(rest, v)
}

// want fails unless r succeeded with a body that p decodes to want.
func (p prefixSerde) want(t *testing.T, r reply, want map[string]string) {
	t.Helper()
	var got map[string]string
	if err := p.decode(r.ok(t), &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// payload is IngressSerdePayload.
func payload(v string) map[string]string { return map[string]string{"value": v} }

// serdeCall POSTs in, serialized with p and with its content type, to the ingress path.
func (d *deployment) serdeCall(path string, p prefixSerde, in any, opts ...option) reply {
	return d.rawPost(d.ingress+path, p.contentType(), p.encode(in), opts...)
}

// serdeSend is serdeCall to path/send with a fresh idempotency key (upstream's sendOpts with
// an idempotencyKey), answering the invocation it started.
func (d *deployment) serdeSend(t *testing.T, path string, p prefixSerde, in any) sent {
	t.Helper()
	var s sent
	d.serdeCall(path+"/send", p, in, idempotent()).value(t, &s)
	return s
}

// rawPost POSTs body with the content type contentType ("" for none) to url.
func (d *deployment) rawPost(url, contentType string, body []byte, opts ...option) reply {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	if contentType != "" {
		req.Header.Set("content-type", contentType)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := testenv.HTTPClient.Do(req)
	if err != nil {
		return reply{err: fmt.Errorf("POST %s: %w", url, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: fmt.Errorf("POST %s: read body: %w", url, err)}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// resolveSerdeAwakeable sends wait(request) to the awakeable object at path, polls its
// getAwakeableId until set, resolves the awakeable with payload serialized by p, and wants
// wait's result (in the default serde) to be the payload.
func resolveSerdeAwakeable(t *testing.T, d *deployment, path string, request any, p prefixSerde) {
	s := d.serdeSend(t, path+"/wait", defaultSerde, request)
	var id string
	eventually(t, "awakeable id stored", func() error {
		// A call without a parameter: an empty body, still with the serde's content type.
		r := d.rawPost(d.ingress+path+"/getAwakeableId", defaultSerde.contentType(), nil)
		if r.err != nil || r.status != 200 {
			return fmt.Errorf("getAwakeableId: %v", r)
		}
		var got *string
		if err := defaultSerde.decode(r.body, &got); err != nil {
			return err
		}
		if got == nil || !strings.HasPrefix(*got, "sign_") {
			return fmt.Errorf("getAwakeableId answered %s", r.body)
		}
		id = *got
		return nil
	})
	d.rawPost(d.ingress+"/restate/a/"+id+"/resolve", p.contentType(), p.encode(payload("awakeable-payload"))).ok(t)
	defaultSerde.want(t, d.result(s), payload("awakeable-payload"))
}
