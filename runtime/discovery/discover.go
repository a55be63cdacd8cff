package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const (
	// DiscoverPath is appended to the deployment URI.
	DiscoverPath = "discover"
	// DefaultClusterName is sent as x-restate-cluster-name unless headers override it.
	DefaultClusterName = "localcluster"
	// MaxResponseSize bounds the discovery response body.
	MaxResponseSize = 16 << 20
)

// NormalizeURI checks that uri is an absolute http(s) URI (or inproc://, an SDK endpoint served
// inside the server process) with a host and returns it with a
// trailing "/" (the form deployments are stored and compared in). Errors wrap ErrBadURI.
func NormalizeURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrBadURI, uri, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "inproc" || u.Host == "" {
		return "", fmt.Errorf("%w: the provided uri %q is not absolute, only absolute http(s) URIs can be used", ErrBadURI, uri)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w %q: query, fragment and user info are not supported", ErrBadURI, uri)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}

// Discover fetches and validates the manifest of the deployment at uri (GET {uri}/discover) with
// client, which decides the transport (h2c for plain-http deployments). headers are sent as well
// (the deployment's additional headers). The manifest's SDKVersion is the x-restate-server
// response header.
func Discover(ctx context.Context, client *http.Client, uri string, headers map[string]string) (Manifest, error) {
	base, err := NormalizeURI(uri)
	if err != nil {
		return Manifest{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+DiscoverPath, nil)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w %q: %v", ErrBadURI, uri, err)
	}
	req.Header.Set("Accept", AcceptHeader)
	req.Header.Set("x-restate-cluster-name", DefaultClusterName)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Manifest{}, &Error{Code: CodeUnreachable, Message: fmt.Sprintf("cannot reach the deployment at %s", req.URL), Err: err}
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body)
	if err != nil {
		return Manifest{}, &Error{Code: CodeUnreachable, Message: fmt.Sprintf("cannot read the discovery response of %s", req.URL), Status: resp.StatusCode, Err: err}
	}
	if err := checkStatus(resp, body); err != nil {
		return Manifest{}, err
	}
	m, err := ParseManifest(body, resp.Header.Get("Content-Type"))
	if err != nil {
		return Manifest{}, err
	}
	m.SDKVersion = resp.Header.Get("x-restate-server")
	return m, nil
}

func checkStatus(resp *http.Response, body []byte) error {
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return &Error{Code: CodeUnreachable, Status: resp.StatusCode, Message: fmt.Sprintf(
			"got status code '404' from %s. Make sure the provided URI has the correct path where the Restate SDK endpoint is mounted. Body: %s", resp.Request.URL, snippet(body))}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return &Error{Code: CodeUnreachable, Status: resp.StatusCode, Message: fmt.Sprintf(
			"got status code '%d' from %s. Body: %s", resp.StatusCode, resp.Request.URL, snippet(body))}
	}
	return nil
}

var errTooLarge = errors.New("discovery response too large")

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseSize {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, MaxResponseSize)
	}
	return b, nil
}
