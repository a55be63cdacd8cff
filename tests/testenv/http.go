//go:build linux

package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/resolute-run/resolute/internal/proc"
)

// HTTPClient talks HTTP/1.1 to a server's ingress and admin APIs.
var HTTPClient = &http.Client{Timeout: 30 * time.Second}

// H2CClient talks HTTP/2 with prior knowledge, as SDK endpoints require.
var H2CClient = func() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Protocols: &protocols}}
}()

// ExpectStatus GETs url with c and fails unless the status is want.
func ExpectStatus(c *http.Client, url string, want int) error {
	return proc.ExpectStatus(context.Background(), c, url, want)
}

// Reply is one HTTP response, body read in full.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r Reply) String() string { return fmt.Sprintf("status %d, body %s", r.Status, r.Body) }

// Invoke POSTs body (JSON text; empty for none) to the ingress path with
// HTTPClient.
func Invoke(ingress, path, body string) (Reply, error) {
	return Post(HTTPClient, ingress+path, body, nil)
}

// Post POSTs body (JSON text; empty for none) to url with c and the extra
// headers hdr (may be nil).
func Post(c *http.Client, url, body string, hdr http.Header) (Reply, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return Reply{}, fmt.Errorf("POST %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, fmt.Errorf("POST %s: read body: %w", req.URL.Path, err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Registration is the part of the admin POST /deployments answer tests check.
type Registration struct {
	ID       string `json:"id"`
	Services []struct {
		Name string `json:"name"`
	} `json:"services"`
}

// ServiceNames returns the registered service names, sorted.
func (r Registration) ServiceNames() []string {
	names := make([]string, 0, len(r.Services))
	for _, s := range r.Services {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// Register POSTs {"uri": uri} to the admin API and decodes the 201 answer.
func Register(admin, uri string) (Registration, error) {
	payload, _ := json.Marshal(map[string]string{"uri": uri})
	resp, err := HTTPClient.Post(admin+"/deployments", "application/json", bytes.NewReader(payload))
	if err != nil {
		return Registration{}, fmt.Errorf("register %s: %w", uri, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return Registration{}, fmt.Errorf("register %s: status %d, want 201; body %s", uri, resp.StatusCode, body)
	}
	var reg Registration
	if err := json.Unmarshal(body, &reg); err != nil {
		return Registration{}, fmt.Errorf("register %s: decode %s: %w", uri, body, err)
	}
	return reg, nil
}
