//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

const (
	previewCases          = "PreviewSerdeCases"
	previewServiceDefault = "PreviewSerdeServiceDefault"
)

// TestTSPreviewSerdes ports sdk-typescript's test/preview_serdes.test.ts (describe "Preview
// serdes e2e"), one of the vitest files upstream runs through sdk-tests' Custom class: handlers
// with serdes of their own (JSON after a "<name>:" prefix, content type
// application/x-<name>+json) invoked through the ingress, the services' metadata advertising
// which serdes have a JSON preview, and the admin API encoding and decoding through them.
func TestTSPreviewSerdes(t *testing.T) {
	runClass(t, class{
		services: []string{previewCases, previewServiceDefault},
		tsOnly:   "sdk-typescript's own vitest services (PreviewSerde*: the TypeScript SDK's serde preview), not part of the shared test-services contract",
		scenarios: []scenario{
			{name: "explicit input/output serdes invoke correctly", run: func(t *testing.T, d *deployment) {
				prefixSerde("explicit-a-output").want(t, d.serdeCall("/"+previewCases+"/explicitA", "explicit-a-input", payload("alpha")), payload("explicit-a:alpha"))
				prefixSerde("explicit-b-output").want(t, d.serdeCall("/"+previewCases+"/explicitB", "explicit-b-input", payload("beta")), payload("explicit-b:beta"))
			}},
			{name: "handler-level default serde applies to input and output", run: func(t *testing.T, d *deployment) {
				prefixSerde("handler-default").want(t, d.serdeCall("/"+previewCases+"/handlerDefault", "handler-default", payload("gamma")), payload("handler-default:gamma"))
			}},
			{name: "service-level default serde applies to input and output", run: func(t *testing.T, d *deployment) {
				prefixSerde("service-default").want(t, d.serdeCall("/"+previewServiceDefault+"/invoke", "service-default", payload("delta")), payload("service-default:delta"))
			}},
			{name: "falls back to json serde when nothing is specified", run: func(t *testing.T, d *deployment) {
				var got map[string]string
				d.call("/"+previewCases+"/jsonDefault", payload("epsilon")).value(t, &got)
				if got["value"] != "json-default:epsilon" {
					t.Fatalf("got %v, want value json-default:epsilon", got)
				}
			}},
			{name: "advertises preview metadata at the service level", run: previewMetadata},
			{name: "preview encode/decode endpoints/round-trip explicit handler serdes with distinct prefixes", run: func(t *testing.T, d *deployment) {
				previewRoundTrip(t, d, previewCases, "explicitA/input", "explicit-a-input", "in-a")
				previewRoundTrip(t, d, previewCases, "explicitB/output", "explicit-b-output", "out-b")
			}},
			{name: "preview encode/decode endpoints/round-trip handler and service default serdes", run: func(t *testing.T, d *deployment) {
				previewRoundTrip(t, d, previewCases, "handlerDefault/input", "handler-default", "handler-input")
				previewRoundTrip(t, d, previewServiceDefault, "invoke/output", "service-default", "service-output")
			}},
			{name: "preview encode/decode endpoints/returns 500 for serdes without preview", run: func(t *testing.T, d *deployment) {
				wantPreviewRefused(t, d, "noPreview/input")
			}},
			{name: "preview encode/decode endpoints/returns 500 for serde names that do not exist", run: func(t *testing.T, d *deployment) {
				wantPreviewRefused(t, d, "does-not-exist")
			}},
			{name: "preview encode/decode endpoints/preview-encoded bytes round-trip through the handler via ingress", run: func(t *testing.T, d *deployment) {
				// The bytes the admin API encodes for explicitA's input, posted to the
				// ingress with the input serde's content type, and the handler's answer
				// decoded by the admin API through explicitA's output serde.
				req := d.previewEncode(previewCases, "explicitA/input", payload("via-preview")).ok(t)
				out := d.rawPost(d.ingress+"/"+previewCases+"/explicitA", prefixSerde("explicit-a-input").contentType(), req).ok(t)
				var got map[string]string
				d.previewDecode(previewCases, "explicitA/output", out).value(t, &got)
				if got["value"] != "explicit-a:via-preview" {
					t.Fatalf("decoded %v, want value explicit-a:via-preview", got)
				}
			}},
		},
	})
}

// "advertises preview metadata at the service level": GET /services/{name}'s metadata says
// which handlers' serdes have a JSON preview.
func previewMetadata(t *testing.T, d *deployment) {
	metadata := func(service string) map[string]string {
		var s struct {
			Metadata map[string]string `json:"metadata"`
		}
		d.get(d.admin+"/services/"+service).value(t, &s)
		return s.Metadata
	}
	const key = "dev.restate.serde.preview."
	cases, serviceDefault := metadata(previewCases), metadata(previewServiceDefault)
	for _, io := range []string{"explicitA/input", "explicitA/output", "explicitB/input", "explicitB/output", "handlerDefault/input", "handlerDefault/output"} {
		if cases[key+io] != "true" {
			t.Errorf("%s metadata %s%s = %q, want \"true\" (metadata %v)", previewCases, key, io, cases[key+io], cases)
		}
	}
	for _, io := range []string{"noPreview/input", "noPreview/output", "jsonDefault/input", "jsonDefault/output"} {
		if v, ok := cases[key+io]; ok {
			t.Errorf("%s metadata %s%s = %q, want none", previewCases, key, io, v)
		}
	}
	for _, io := range []string{"invoke/input", "invoke/output"} {
		if serviceDefault[key+io] != "true" {
			t.Errorf("%s metadata %s%s = %q, want \"true\" (metadata %v)", previewServiceDefault, key, io, serviceDefault[key+io], serviceDefault)
		}
	}
}

// previewEncode and previewDecode are the admin API's serde preview: POST
// /internal/services/{service}/serdes/encode|decode/{serde}.
func (d *deployment) previewEncode(service, serde string, v any) reply {
	return d.adminPost("/internal/services/"+service+"/serdes/encode/"+serde, v)
}

func (d *deployment) previewDecode(service, serde string, body []byte) reply {
	return d.rawPost(d.admin+"/internal/services/"+service+"/serdes/decode/"+serde, "", body)
}

// previewRefusedTimeout bounds one try of a refused preview: restate-server 1.7.12 sometimes
// leaves the request unanswered although the deployment refused it at once (seen on a loaded
// machine, 30 s without an answer), so a try that times out is made again.
const previewRefusedTimeout = 5 * time.Second

// wantPreviewRefused wants the admin API to answer 500 to an encode through serde of
// PreviewSerdeCases (one without a preview, or none of that name).
func wantPreviewRefused(t *testing.T, d *deployment, serde string) {
	t.Helper()
	eventually(t, "preview refused", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), previewRefusedTimeout)
		defer cancel()
		r := d.do(ctx, http.MethodPost, d.admin+"/internal/services/"+previewCases+"/serdes/encode/"+serde, payload("ignored"))
		if r.err != nil {
			return r.err // no answer in time: try again
		}
		if r.status != 500 {
			t.Fatalf("encode through %s: %v, want status 500", serde, r)
		}
		return nil
	})
}

// previewRoundTrip encodes {value} through service's serde (whose wire prefix is prefix), wants
// the prefixed JSON, and decodes it back to {value}.
func previewRoundTrip(t *testing.T, d *deployment, service, serde string, prefix prefixSerde, value string) {
	t.Helper()
	enc := d.previewEncode(service, serde, payload(value)).ok(t)
	if want := fmt.Sprintf(`%s:{"value":"%s"}`, prefix, value); string(enc) != want {
		t.Fatalf("encode through %s/%s = %q, want %q", service, serde, enc, want)
	}
	var got map[string]string
	d.previewDecode(service, serde, enc).value(t, &got)
	if got["value"] != value || len(got) != 1 {
		t.Fatalf("decode through %s/%s = %v, want value %s", service, serde, got, value)
	}
}
