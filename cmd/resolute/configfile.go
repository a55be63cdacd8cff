package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/runtime/kafka"
	"github.com/resolute-run/resolute/runtime/registry"
)

// configFlag is the flag naming the TOML file that holds a command's settings.
const configFlag = "config"

// registerConfigFlag adds --config to cmd: a TOML file whose top-level keys are the command's
// flag names (data-dir, ingress-addr, retry-max-attempts, …) with the flags' values; a flag given
// on the command line wins over the file. Lists (for flags that take comma-separated values) may
// be TOML arrays. The one table is [ingress], holding restate-server's [[ingress.kafka-clusters]]
// (configKafkaClusters).
func registerConfigFlag(cmd *cobra.Command) {
	cmd.Flags().String(configFlag, "", "TOML file of settings: keys are this command's flag names (a flag given on the command line wins)")
}

// applyConfigFile sets, from the file --config names, every flag of cmd not given on the command
// line. Unknown keys, tables and values a flag refuses are errors naming the key.
func applyConfigFile(cmd *cobra.Command) error {
	path, err := cmd.Flags().GetString(configFlag)
	if err != nil || path == "" {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var settings map[string]any
	if err := toml.Unmarshal(data, &settings); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the first bad key in a stable order
	for _, key := range keys {
		if key == ingressTable {
			continue // configKafkaClusters reads it
		}
		f := cmd.Flags().Lookup(key)
		if f == nil || key == configFlag {
			return fmt.Errorf("--config %s: unknown setting %q (the settings are the flag names of `resolute %s`)", path, key, cmd.Name())
		}
		if f.Changed {
			continue
		}
		value, err := settingString(settings[key])
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, key, err)
		}
		if err := f.Value.Set(value); err != nil {
			return fmt.Errorf("--config %s: %s = %q: %w", path, key, value, err)
		}
	}
	return nil
}

// settingString renders a TOML value as the flag's command-line text.
func settingString(v any) (string, error) {
	switch v := v.(type) {
	case string, bool, int64, float64:
		return fmt.Sprint(v), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := settingString(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("a %T is not a setting (tables are not flags)", v)
}

// ingressTable is the configuration file's [ingress] table; its one key is kafka-clusters.
const ingressTable = "ingress"

// configKafkaClusters reads the [[ingress.kafka-clusters]] of the file --config names, as
// restate-server reads them: each has a name, brokers (a list, or a comma-separated string) and
// librdkafka properties as further keys (dotted keys may be quoted, "sasl.username" = "…", or
// written as TOML's nested keys; numbers and booleans are taken as their text). The brokers
// become the metadata.broker.list property, as restate-server makes them. nil without --config;
// with a file, a list (empty when it names none: recorded clusters from an earlier file go).
func configKafkaClusters(cmd *cobra.Command) ([]registry.KafkaCluster, error) {
	path, err := cmd.Flags().GetString(configFlag)
	if err != nil || path == "" {
		return nil, err
	}
	var file struct {
		Ingress map[string]any `toml:"ingress"`
	}
	if _, err := toml.DecodeFile(path, &file); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	clusters := []registry.KafkaCluster{}
	for key, v := range file.Ingress {
		if key != "kafka-clusters" {
			return nil, fmt.Errorf("--config %s: unknown setting \"ingress.%s\" (the [ingress] table holds only [[ingress.kafka-clusters]])", path, key)
		}
		list, ok := v.([]map[string]any)
		if !ok {
			return nil, fmt.Errorf("--config %s: ingress.kafka-clusters: a list of tables ([[ingress.kafka-clusters]]), not a %T", path, v)
		}
		for i, table := range list {
			kc, err := kafkaCluster(table)
			if err != nil {
				return nil, fmt.Errorf("--config %s: [[ingress.kafka-clusters]] #%d: %w", path, i+1, err)
			}
			if _, err := kafka.Parse(kc.Properties); err != nil {
				return nil, fmt.Errorf("--config %s: kafka cluster %q: %w", path, kc.Name, err)
			}
			clusters = append(clusters, kc)
		}
	}
	seen := map[string]bool{}
	for _, kc := range clusters {
		if seen[kc.Name] {
			return nil, fmt.Errorf("--config %s: kafka cluster %q is named twice", path, kc.Name)
		}
		seen[kc.Name] = true
	}
	return clusters, nil
}

// kafkaCluster reads one [[ingress.kafka-clusters]] table.
func kafkaCluster(table map[string]any) (registry.KafkaCluster, error) {
	props := map[string]string{}
	if err := flattenProperties("", table, props); err != nil {
		return registry.KafkaCluster{}, err
	}
	name := props["name"]
	if name == "" {
		return registry.KafkaCluster{}, fmt.Errorf("name: missing")
	}
	var brokers []string
	switch b := table["brokers"].(type) {
	case []any:
		for _, e := range b {
			s, ok := e.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return registry.KafkaCluster{}, fmt.Errorf("kafka cluster %q: brokers: each a host:port string, not %v", name, e)
			}
			brokers = append(brokers, strings.TrimSpace(s))
		}
	case string:
		brokers = []string{b}
	}
	if len(brokers) == 0 {
		return registry.KafkaCluster{}, fmt.Errorf("kafka cluster %q: brokers: missing (a list of host:port)", name)
	}
	delete(props, "name")
	delete(props, "brokers")
	props["metadata.broker.list"] = strings.Join(brokers, ",")
	return registry.KafkaCluster{Name: name, Properties: props}, nil
}

// flattenProperties writes table's values into props as text, nested tables' keys joined with
// dots; the brokers list is left to kafkaCluster.
func flattenProperties(prefix string, table map[string]any, props map[string]string) error {
	for k, v := range table {
		key := prefix + k
		switch v := v.(type) {
		case map[string]any:
			if err := flattenProperties(key+".", v, props); err != nil {
				return err
			}
		case []any:
			if key != "brokers" {
				return fmt.Errorf("%s: a list is not a Kafka property", key)
			}
		default:
			s, err := settingString(v)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			props[key] = s
		}
	}
	return nil
}
