package main

import (
	"strings"
	"testing"
)

func TestSelected(t *testing.T) {
	all := len(registry.names())
	for _, tc := range []struct {
		spec    string
		want    int
		wantErr string
	}{
		{spec: "", want: all},
		{spec: "*", want: all},
		{spec: "Counter", want: 1},
		{spec: "Counter,Proxy", want: 2},
		{spec: "Counter, Proxy,Counter", want: 2}, // spaces trimmed, a repeated name bound once
		{spec: "Counter,Nope", wantErr: `unknown service "Nope"`},
	} {
		defs, err := registry.selected(tc.spec)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("selected(%q): error %v, want %q", tc.spec, err, tc.wantErr)
			}
		case err != nil || len(defs) != tc.want:
			t.Errorf("selected(%q): %d services, %v; want %d", tc.spec, len(defs), err, tc.want)
		}
	}
}

// TestContractServicesRegistered: every service of the sdk-tests contracts is registered.
func TestContractServicesRegistered(t *testing.T) {
	for _, name := range []string{
		awakeableHolder, blockAndWait, cancelRunner, blockingService, counter, failing, killRunner,
		killSingleton, listObject, mapObject, nonDeterministic, proxy, testUtils, commandInterpreter,
		interpreterName(0), interpreterName(1), interpreterName(2), interpreterHelper, upgradeTest,
	} {
		if _, ok := registry.defs[name]; !ok {
			t.Errorf("%s is not registered", name)
		}
	}
}
