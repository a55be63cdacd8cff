package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// Client sends requests to one ingress. Create it with New; it is safe for concurrent use.
type Client struct {
	base   *url.URL // scheme, host and an optional path prefix without a trailing slash
	http   *http.Client
	codec  sdk.Codec
	header http.Header  // sent with every request, under the request's own headers
	retry  *RetryPolicy // nil: every request is made once
}

// New returns a client of the ingress at baseURL ("http://localhost:8080", or with a path
// prefix when the ingress is behind a proxy: "https://example.com/restate").
func New(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http:// or https:// and a host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base URL %q: a query or fragment has no place in it", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	c := &Client{base: u, http: http.DefaultClient, codec: sdk.JSON, header: http.Header{}}
	for _, o := range opts {
		o.applyClient(c)
	}
	return c, nil
}

// ClientOption configures New: WithHTTPClient, WithBearerToken, and the Options WithHeaders and
// WithCodec.
type ClientOption interface{ applyClient(*Client) }

// RequestOption configures one request: WithIdempotencyKey, WithDelay, and the Options
// WithHeaders and WithCodec.
type RequestOption interface{ applyRequest(*request) }

// Option configures either a Client (given to New, for every request) or one request.
type Option struct {
	client  func(*Client)
	request func(*request)
}

func (o Option) applyClient(c *Client)   { o.client(c) }
func (o Option) applyRequest(r *request) { o.request(r) }

type clientOption func(*Client)

func (f clientOption) applyClient(c *Client) { f(c) }

type requestOption func(*request)

func (f requestOption) applyRequest(r *request) { f(r) }

// WithHTTPClient sends the requests with hc (http.DefaultClient otherwise): for timeouts,
// TLS, proxies, or a tracing transport. A Call or Attach lasts as long as the handler runs, so
// prefer a context deadline per request to hc.Timeout.
func WithHTTPClient(hc *http.Client) ClientOption {
	return clientOption(func(c *Client) { c.http = hc })
}

// WithBearerToken sends "Authorization: Bearer token" with every request: a token of
// Resolute's --ingress-tokens-file, or an API key of a Restate deployment behind a proxy.
func WithBearerToken(token string) ClientOption {
	return clientOption(func(c *Client) { c.header.Set("Authorization", "Bearer "+token) })
}

// WithHeaders adds headers: to every request when given to New, to one request otherwise (where
// they replace the client's headers of the same names). The ingress passes them on to the
// handler (ctx.Headers()), apart from Restate's own (idempotency-key).
func WithHeaders(h map[string]string) Option {
	set := func(dst http.Header) {
		for k, v := range h {
			dst.Set(k, v)
		}
	}
	return Option{
		client:  func(c *Client) { set(c.header) },
		request: func(r *request) { set(r.header) },
	}
}

// WithCodec encodes inputs and decodes outputs with codec (sdk.JSON by default), as the
// handler's codec does: for every request when given to New, for one request otherwise. Its
// ContentType is the request's Content-Type. Send answers and errors are JSON whatever the codec.
func WithCodec(codec sdk.Codec) Option {
	return Option{
		client:  func(c *Client) { c.codec = codec },
		request: func(r *request) { r.codec = codec },
	}
}

// WithIdempotencyKey makes a Call or Send idempotent: the same target and key run once, and
// later requests with them get the first one's result (or its invocation id) for as long as
// the service's idempotency retention keeps it (a day by default). AttachIdempotent and
// OutputIdempotent find the invocation by the key. A workflow's run refuses one (400): its key
// is already its idempotency key.
func WithIdempotencyKey(key string) RequestOption {
	return requestOption(func(r *request) { r.header.Set("Idempotency-Key", key) })
}

// WithDelay makes a Send run d later (rounded up to a millisecond); the ingress refuses it on a
// Call (400).
func WithDelay(d time.Duration) RequestOption {
	return requestOption(func(r *request) { r.delay = d })
}

// request is one HTTP request being built.
type request struct {
	method string
	path   string // escaped, from the base URL's path on
	body   []byte
	header http.Header
	codec  sdk.Codec
	delay  time.Duration
	// safe says the request may be repeated whatever its headers (a workflow's submit, attach,
	// output); a call or send is safe with an idempotency key.
	safe bool
}

// repeatable reports whether r may be sent again after an ambiguous failure.
func (r *request) repeatable() bool { return r.safe || r.header.Get("Idempotency-Key") != "" }

// safeToRepeat marks a request that may be repeated without an idempotency key.
var safeToRepeat = requestOption(func(r *request) { r.safe = true })

// newRequest starts a request with the client's codec and no headers of its own, then applies
// opts.
func (c *Client) newRequest(method, path string, opts []RequestOption) *request {
	r := &request{method: method, path: path, header: http.Header{}, codec: c.codec}
	for _, o := range opts {
		o.applyRequest(r)
	}
	return r
}

// encodeBody encodes input with the request's codec: nothing for sdk.Void (no body, no
// Content-Type), else the body with the codec's content type.
func (r *request) encodeBody(input any) error {
	if _, ok := input.(sdk.Void); ok {
		return nil
	}
	b, err := r.codec.Marshal(input)
	if err != nil {
		return fmt.Errorf("client: encode input: %w", err)
	}
	r.body = b
	r.header.Set("Content-Type", r.codec.ContentType())
	return nil
}

// httpRequest is r as an HTTP request to the client's ingress: the client's headers under r's
// own, and the delay as Restate's query parameter (milliseconds, as the official clients
// write it).
func (c *Client) httpRequest(ctx context.Context, r *request) (*http.Request, error) {
	u := *c.base
	u.Path, u.RawPath = "", ""
	ref := c.base.EscapedPath() + r.path
	if r.delay > 0 {
		ms := (r.delay + time.Millisecond - 1) / time.Millisecond
		ref += fmt.Sprintf("?delay=%dms", ms)
	}
	target := u.String() + ref
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	req.Header = c.header.Clone()
	maps.Copy(req.Header, r.header)
	return req, nil
}

// response is an answer read in full.
type response struct {
	status int
	body   []byte
}

// do sends r and reads the answer, retrying as the client's retry policy says; a non-2xx
// status is returned as *Error (wrapped with the request's method and path). ok lists extra
// statuses that are not errors (470 for Output).
func (c *Client) do(ctx context.Context, r *request, ok ...int) (response, error) {
	return c.doRetrying(ctx, r, ok)
}

// doOnce makes one attempt of r.
func (c *Client) doOnce(ctx context.Context, r *request, ok []int) (response, error) {
	req, err := c.httpRequest(ctx, r)
	if err != nil {
		return response{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("client: %s %s: %w", r.method, r.path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("client: %s %s: read the answer: %w", r.method, r.path, err)
	}
	out := response{status: resp.StatusCode, body: body}
	if (resp.StatusCode < 200 || resp.StatusCode > 299) && !slices.Contains(ok, resp.StatusCode) {
		return out, fmt.Errorf("client: %s %s: %w", r.method, r.path, decodeError(resp.StatusCode, resp.Header, body))
	}
	return out, nil
}

// unwrapURLError drops the *url.Error around a transport error, whose text repeats the method
// and the whole URL that our own wrapping says already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decode decodes an answer's body as O with codec: the zero value for sdk.Void or an empty body
// (a handler returning nothing), as the SDK does.
func decode[O any](codec sdk.Codec, body []byte) (O, error) {
	var v O
	if _, ok := any(v).(sdk.Void); ok || len(body) == 0 {
		return v, nil
	}
	if err := codec.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("client: decode output: %w", err)
	}
	return v, nil
}
