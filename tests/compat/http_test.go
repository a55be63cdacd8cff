//go:build linux

package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// httpClient talks HTTP/1.1 to the server's ingress and admin APIs.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// h2cClient talks HTTP/2 with prior knowledge, as the SDK endpoints require.
var h2cClient = func() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Protocols: &protocols}}
}()

func expectStatus(c *http.Client, url string, want int) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: status %d, want %d; body %q", url, resp.StatusCode, want, body)
	}
	return nil
}

// reply is one ingress response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("status %d, body %s", r.status, r.body) }

// invoke POSTs body (JSON text; empty for none) to the ingress path.
func invoke(ingress, path, body string) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, ingress+path, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("POST %s: read body: %w", path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// registration is the part of the admin POST /deployments answer the test checks.
type registration struct {
	ID       string `json:"id"`
	Services []struct {
		Name string `json:"name"`
	} `json:"services"`
}

func (r registration) serviceNames() []string {
	names := make([]string, 0, len(r.Services))
	for _, s := range r.Services {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// register POSTs {"uri": uri} to the admin API and decodes the answer.
func register(admin, uri string) (registration, error) {
	payload, _ := json.Marshal(map[string]string{"uri": uri})
	resp, err := httpClient.Post(admin+"/deployments", "application/json", bytes.NewReader(payload))
	if err != nil {
		return registration{}, fmt.Errorf("register %s: %w", uri, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return registration{}, fmt.Errorf("register %s: status %d, want 201; body %s", uri, resp.StatusCode, body)
	}
	var reg registration
	if err := json.Unmarshal(body, &reg); err != nil {
		return registration{}, fmt.Errorf("register %s: decode %s: %w", uri, body, err)
	}
	return reg, nil
}
