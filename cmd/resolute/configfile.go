package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
)

// configFlag is the flag naming the TOML file that holds a command's settings.
const configFlag = "config"

// registerConfigFlag adds --config to cmd: a TOML file whose top-level keys are the command's
// flag names (data-dir, ingress-addr, retry-max-attempts, …) with the flags' values; a flag given
// on the command line wins over the file. Lists (for flags that take comma-separated values) may
// be TOML arrays.
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
