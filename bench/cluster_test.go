package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestRestateClusterConfig: each node's restate-server config file, as restate-server reads
// it (TOML), names its own node, data directory and ports, points the metadata client at every
// node, uses the replicated metadata server and loglet, and lets exactly one node provision.
func TestRestateClusterConfig(t *testing.T) {
	cfg := &config{nodes: 3, partitions: 6, root: t.TempDir()}
	s, err := newServer(cfg, "restate", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	type file struct {
		NodeName           string `toml:"node-name"`
		ClusterName        string `toml:"cluster-name"`
		BaseDir            string `toml:"base-dir"`
		AutoProvision      bool   `toml:"auto-provision"`
		DefaultReplication int    `toml:"default-replication"`
		Partitions         int    `toml:"default-num-partitions"`
		ListenMode         string `toml:"listen-mode"`
		BindAddress        string `toml:"bind-address"`
		AdvertisedAddress  string `toml:"advertised-address"`
		Bifrost            struct {
			DefaultProvider string `toml:"default-provider"`
		} `toml:"bifrost"`
		MetadataServer struct {
			Type string `toml:"type"`
		} `toml:"metadata-server"`
		MetadataClient struct {
			Addresses []string `toml:"addresses"`
		} `toml:"metadata-client"`
		Admin struct {
			BindAddress string `toml:"bind-address"`
		} `toml:"admin"`
		Ingress struct {
			BindAddress string `toml:"bind-address"`
		} `toml:"ingress"`
	}
	var fabrics []string
	for _, nd := range s.nodes {
		fabrics = append(fabrics, "http://"+nd.fabric)
	}
	provisioners := 0
	seen := map[string]bool{}
	for _, nd := range s.nodes {
		var f file
		md, err := toml.Decode(restateClusterConfig(s, nd), &f)
		if err != nil {
			t.Fatalf("%s: %v", nd.name, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			t.Errorf("%s: keys the test does not know: %v", nd.name, und)
		}
		if f.AutoProvision {
			provisioners++
		}
		want := file{NodeName: nd.name, ClusterName: "bench", BaseDir: nd.dataDir, AutoProvision: f.AutoProvision,
			DefaultReplication: 2, Partitions: 6, ListenMode: "tcp", BindAddress: nd.fabric, AdvertisedAddress: "http://" + nd.fabric}
		want.Bifrost.DefaultProvider, want.MetadataServer.Type = "replicated", "replicated"
		want.MetadataClient.Addresses = fabrics
		want.Admin.BindAddress = strings.TrimPrefix(nd.admin, "http://")
		want.Ingress.BindAddress = strings.TrimPrefix(nd.ingress, "http://")
		if !slices.Equal(f.MetadataClient.Addresses, want.MetadataClient.Addresses) {
			t.Errorf("%s: metadata-client addresses %v, want %v", nd.name, f.MetadataClient.Addresses, fabrics)
		}
		f.MetadataClient.Addresses, want.MetadataClient.Addresses = nil, nil
		if !reflect.DeepEqual(f, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", nd.name, f, want)
		}
		for _, addr := range []string{f.BindAddress, f.Admin.BindAddress, f.Ingress.BindAddress, f.BaseDir} {
			if seen[addr] {
				t.Errorf("%s: %s used by another node too", nd.name, addr)
			}
			seen[addr] = true
		}
	}
	if provisioners != 1 {
		t.Errorf("%d nodes may auto-provision, want exactly 1", provisioners)
	}
}

// TestFirstSuccess: the failover probe keeps calling through the ingresses until one call
// answers 200, and gives up with the last error when none does before its timeout.
func TestFirstSuccess(t *testing.T) {
	var calls atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no leader", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	var healed atomic.Bool
	healing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 6 {
			healed.Store(true)
		}
		if !healed.Load() {
			http.Error(w, "no leader", http.StatusServiceUnavailable)
		}
	}))
	defer healing.Close()

	if _, err := firstSuccess(t.Context(), time.Now(), []string{failing.URL}, "/Counter/k/add", time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("no ingress answers: err %v, want the timeout with the last 503", err)
	}
	calls.Store(0)
	t0 := time.Now()
	took, err := firstSuccess(t.Context(), t0, []string{failing.URL, healing.URL}, "/Counter/k/add", time.Minute)
	if err != nil {
		t.Fatalf("the second ingress heals: %v", err)
	}
	if n := calls.Load(); n < 7 {
		t.Errorf("succeeded after %d calls, before the ingress healed (7th call)", n)
	}
	if took <= 0 || took > time.Since(t0) {
		t.Errorf("took %v, want a duration from t0 to the answer (%v since t0)", took, time.Since(t0))
	}
}
