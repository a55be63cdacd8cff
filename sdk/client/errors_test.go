package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/client"
)

// TestErrors checks how error answers are decoded: the answers of restate-server and Resolute
// (with and without the x-restate-error-source header, with metadata), answers that are not
// Restate's JSON, and what sdk's error functions see through *Error.
func TestErrors(t *testing.T) {
	ingressHeader := http.Header{"X-Restate-Error-Source": {"ingress"}}
	invocationHeader := http.Header{"X-Restate-Error-Source": {"invocation"}}
	long := "a" + strings.Repeat("é", 1000) // 2001 bytes: 1024 bytes end inside a rune
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   client.Error
		// sdkTerminal and sdkCode are what sdk.IsTerminal and sdk.ErrorCode say of the error.
		sdkTerminal bool
		sdkCode     uint16
	}{
		{
			name: "ingress refusal", status: 404, header: ingressHeader,
			body:    `{"code":404,"message":"service 'Nowhere' not found, make sure to register the service before calling it.","source":"ingress"}`,
			want:    client.Error{Status: 404, Code: 404, Message: "service 'Nowhere' not found, make sure to register the service before calling it.", Source: "ingress"},
			sdkCode: 500,
		},
		{
			name: "terminal failure with metadata", status: 402, header: invocationHeader,
			body:        `{"code":402,"message":"card declined","metadata":{"reason":"limit"},"source":"invocation"}`,
			want:        client.Error{Status: 402, Code: 402, Message: "card declined", Source: "invocation", Metadata: map[string]string{"reason": "limit"}},
			sdkTerminal: true, sdkCode: 402,
		},
		{
			name: "failure code beyond HTTP statuses", status: 500, header: invocationHeader,
			body:        `{"code":1000,"message":"custom","source":"invocation"}`,
			want:        client.Error{Status: 500, Code: 1000, Message: "custom", Source: "invocation"},
			sdkTerminal: true, sdkCode: 1000,
		},
		{
			name: "source from the body when the header is stripped", status: 409,
			body:        `{"code":409,"message":"Cancelled","source":"invocation"}`,
			want:        client.Error{Status: 409, Code: 409, Message: "Cancelled", Source: "invocation"},
			sdkTerminal: true, sdkCode: 409,
		},
		{
			name: "no code in the body", status: 400,
			body:    `{"message":"bad"}`,
			want:    client.Error{Status: 400, Code: 400, Message: "bad"},
			sdkCode: 500,
		},
		{
			name: "overloaded, with Retry-After", status: 429, header: http.Header{"X-Restate-Error-Source": {"ingress"}, "Retry-After": {"3"}},
			body:    `{"code":429,"message":"partition busy","source":"ingress"}`,
			want:    client.Error{Status: 429, Code: 429, Message: "partition busy", Source: "ingress", RetryAfter: 3 * time.Second},
			sdkCode: 500,
		},
		{
			name: "a proxy's page", status: 502, header: http.Header{"Content-Type": {"text/html"}},
			body:    "  <html>Bad Gateway</html>\n",
			want:    client.Error{Status: 502, Code: 502, Message: "<html>Bad Gateway</html>"},
			sdkCode: 500,
		},
		{
			name: "JSON without a message", status: 503, body: `{"error":"down"}`,
			want:    client.Error{Status: 503, Code: 503, Message: `{"error":"down"}`},
			sdkCode: 500,
		},
		{
			name: "empty body", status: 401,
			want:    client.Error{Status: 401, Code: 401, Message: "Unauthorized"},
			sdkCode: 500,
		},
		{
			name: "long body cut at a rune", status: 500, body: long,
			want:    client.Error{Status: 500, Code: 500, Message: "a" + strings.Repeat("é", 511) + "…"},
			sdkCode: 500,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &transport{status: tt.status, header: tt.header, answer: tt.body}
			_, err := client.Call[string](t.Context(), newClient(t, "http://h", tr), sdk.ToService("S", "h"), "x")
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !reflect.DeepEqual(*e, tt.want) {
				t.Errorf("error\n got %+v\nwant %+v", *e, tt.want)
			}
			if got := sdk.IsTerminal(err); got != tt.sdkTerminal {
				t.Errorf("sdk.IsTerminal = %v, want %v", got, tt.sdkTerminal)
			}
			if got := sdk.ErrorCode(err); got != tt.sdkCode {
				t.Errorf("sdk.ErrorCode = %d, want %d", got, tt.sdkCode)
			}
			if tt.want.Metadata != nil && !reflect.DeepEqual(sdk.TerminalMetadata(err), tt.want.Metadata) {
				t.Errorf("sdk.TerminalMetadata = %v, want %v", sdk.TerminalMetadata(err), tt.want.Metadata)
			}
			if !strings.Contains(err.Error(), "POST /S/h") {
				t.Errorf("error %q does not say which request failed", err)
			}
		})
	}
}

// TestErrorText checks how an *Error reads.
func TestErrorText(t *testing.T) {
	tests := []struct {
		e    client.Error
		want string
	}{
		{client.Error{Status: 404, Code: 404, Message: "invocation not found", Source: "ingress"}, "[404] invocation not found (source ingress)"},
		{client.Error{Status: 500, Code: 1000, Message: "custom", Source: "invocation"}, "[1000] custom (status 500) (source invocation)"},
		{client.Error{Status: 502, Code: 502, Message: "Bad Gateway"}, "[502] Bad Gateway"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestTransportErrors checks that network failures and cancellations come back as they are,
// not as *Error.
func TestTransportErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := client.New("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Call[string](t.Context(), c, sdk.ToService("S", "h"), "x")
	var e *client.Error
	var opErr *net.OpError
	if err == nil || errors.As(err, &e) || !errors.As(err, &opErr) {
		t.Errorf("call to a closed port: %v, want a *net.OpError and no *Error", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = client.Call[string](ctx, c, sdk.ToService("S", "h"), "x")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("call with a cancelled context: %v, want context.Canceled", err)
	}
}
