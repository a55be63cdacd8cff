package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/runtime/registry"
)

// TestConfigKafkaClusters: [[ingress.kafka-clusters]] are read as restate-server reads them
// (name, brokers as metadata.broker.list, every other key a property, dotted keys quoted or
// nested), next to the flag settings; refused with the cluster named: no name, no brokers, a
// property our client cannot use, a name twice, another [ingress] key. No --config: nil.
func TestConfigKafkaClusters(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []registry.KafkaCluster
		wantErr    string
	}{
		{name: "two clusters", file: `
data-dir = "/srv/r"
[[ingress.kafka-clusters]]
name = "main"
brokers = ["PLAINTEXT://k1:9092", "k2:9092"]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "SCRAM-SHA-512"
sasl.username = "u"
sasl.password = "p"
"ssl.ca.location" = "/etc/ca.pem"
"session.timeout.ms" = 30000

[[ingress.kafka-clusters]]
name = "other"
brokers = "o:9092"
`, want: []registry.KafkaCluster{
			{Name: "main", Properties: map[string]string{"metadata.broker.list": "PLAINTEXT://k1:9092,k2:9092", "security.protocol": "SASL_SSL",
				"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "u", "sasl.password": "p", "ssl.ca.location": "/etc/ca.pem", "session.timeout.ms": "30000"}},
			{Name: "other", Properties: map[string]string{"metadata.broker.list": "o:9092"}},
		}},
		{name: "no clusters", file: `data-dir = "/srv/r"`, want: []registry.KafkaCluster{}},
		{name: "no name", file: "[[ingress.kafka-clusters]]\nbrokers = [\"k:1\"]\n", wantErr: "#1: name: missing"},
		{name: "no brokers", file: "[[ingress.kafka-clusters]]\nname = \"a\"\n", wantErr: `kafka cluster "a": brokers: missing`},
		{name: "unsupported property", file: "[[ingress.kafka-clusters]]\nname = \"a\"\nbrokers = [\"k:1\"]\n\"sasl.kerberos.keytab\" = \"/k\"\n", wantErr: `kafka cluster "a": kafka: property 'sasl.kerberos.keytab': not supported`},
		{name: "bad value", file: "[[ingress.kafka-clusters]]\nname = \"a\"\nbrokers = [\"k:1\"]\n\"security.protocol\" = \"tls\"\n", wantErr: "'security.protocol' = 'tls'"},
		{name: "twice", file: "[[ingress.kafka-clusters]]\nname = \"a\"\nbrokers = [\"k:1\"]\n[[ingress.kafka-clusters]]\nname = \"a\"\nbrokers = [\"k:2\"]\n", wantErr: `kafka cluster "a" is named twice`},
		{name: "another ingress key", file: "[ingress]\nbind-address = \"0.0.0.0:8080\"\n", wantErr: `unknown setting "ingress.bind-address"`},
		{name: "not a list of tables", file: "[ingress]\nkafka-clusters = 3\n", wantErr: "a list of tables"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "resolute.toml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var f serverFlags
			cmd := &cobra.Command{Use: "server"}
			f.register(cmd)
			registerConfigFlag(cmd)
			if err := cmd.Flags().Parse([]string{"--config", path}); err != nil {
				t.Fatal(err)
			}
			if err := applyConfigFile(cmd); err != nil {
				t.Fatalf("the flag settings next to the clusters: %v", err)
			}
			got, err := configKafkaClusters(cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("configKafkaClusters: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got == nil || len(got) != len(tt.want) {
				t.Fatalf("configKafkaClusters: %+v %v, want %+v", got, err, tt.want)
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || !maps.Equal(got[i].Properties, tt.want[i].Properties) {
					t.Errorf("cluster %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	var f serverFlags
	cmd := &cobra.Command{Use: "server"}
	f.register(cmd)
	registerConfigFlag(cmd)
	if got, err := configKafkaClusters(cmd); got != nil || err != nil {
		t.Errorf("without --config: %v %v, want nil", got, err)
	}
}
