package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/resolute-run/resolute/sdk"
)

// services maps a service name to its definition; each file adds its services in init, as
// the official test services' REGISTRY does.
type services struct {
	defs map[string]sdk.ServiceDefinition
}

var registry = services{defs: map[string]sdk.ServiceDefinition{}}

func (s *services) add(name string, def sdk.ServiceDefinition) {
	if _, dup := s.defs[name]; dup {
		panic("resolute-test-services: service " + name + " added twice")
	}
	s.defs[name] = def
}

// selected returns the services named in spec (comma-separated), or all of them when spec is
// empty or "*", in name order. An unknown name is an error, as upstream's "unknown fqdn".
func (s *services) selected(spec string) ([]sdk.ServiceDefinition, error) {
	var names []string
	if spec == "" || spec == "*" {
		for name := range s.defs {
			names = append(names, name)
		}
		slices.Sort(names)
	} else {
		names = strings.Split(spec, ",")
	}
	defs := make([]sdk.ServiceDefinition, 0, len(names))
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		def, ok := s.defs[name]
		if !ok {
			return nil, fmt.Errorf("unknown service %q in SERVICES (known: %s)", name, strings.Join(s.names(), ","))
		}
		defs = append(defs, def)
	}
	return defs, nil
}

func (s *services) names() []string {
	names := make([]string, 0, len(s.defs))
	for name := range s.defs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
