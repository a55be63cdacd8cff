package main

import (
	"strings"
	"testing"
)

// TestTracingEndpoint: tracing is off unless tracing-endpoint is set, on the command line or in
// the --config file under restate-server's key name; an endpoint the exporter cannot use is
// refused at start, naming the flag.
func TestTracingEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		args       []string
		want       string
		wantErr    string
	}{
		{name: "off by default", want: ""},
		{name: "flag", args: []string{"--tracing-endpoint", "http://127.0.0.1:4317"}, want: "http://127.0.0.1:4317"},
		{name: "config file", file: "tracing-endpoint = \"http+otlp://collector:4318\"\n", want: "http+otlp://collector:4318"},
		{name: "flag wins", file: "tracing-endpoint = \"http://a:4317\"\n", args: []string{"--tracing-endpoint", "http://b:4317"}, want: "http://b:4317"},
		{name: "bad scheme", args: []string{"--tracing-endpoint", "ftp://collector"}, wantErr: `--tracing-endpoint: tracing: endpoint "ftp://collector": unknown scheme`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := serverConfigOf(t, tt.args, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.TracingEndpoint != tt.want {
				t.Fatalf("TracingEndpoint %q, err %v; want %q", cfg.TracingEndpoint, err, tt.want)
			}
		})
	}
}
