//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// contractServices are the services of restatedev/e2e sdk-tests' contracts (contracts/*.kt),
// which every SDK's test services implement.
var contractServices = []string{
	"AwakeableHolder", "BlockAndWaitWorkflow", "CancelTestRunner", "CancelTestBlockingService",
	"Counter", "Failing", "KillTestRunner", "KillTestSingleton", "ListObject", "MapObject",
	"NonDeterministic", "Proxy", "TestUtilsService", "VirtualObjectCommandInterpreter",
	"ObjectInterpreterL0", "ObjectInterpreterL1", "ObjectInterpreterL2", "ServiceInterpreterHelper",
}

// contractDifferences are the handlers whose discovery differs between the TypeScript services
// and ours, on purpose: service/handler -> what ours announce ("" for a handler the TypeScript
// services lack). Ours follow the Kotlin contracts and sdk-go where the TypeScript services
// depart from them.
var contractDifferences = map[string]string{
	"Counter/get":                        "SHARED", // Counter.kt: @Shared; the TS services' is exclusive
	"ObjectInterpreterL0/counter":        "SHARED", // interpreter.kt: @Shared
	"ObjectInterpreterL1/counter":        "SHARED",
	"ObjectInterpreterL2/counter":        "SHARED",
	"NonDeterministic/eitherSleepOrCall": "", // NonDeterministic.kt's name; the TS services call it leftSleepRightCall
	"TestUtilsService/getEnvVariable":    "", // sdk-go's test services have it
}

// manifestHandler is what the comparison reads of a discovered handler.
type manifestHandler struct {
	Ty    string `json:"ty"`
	Input struct {
		ContentType string `json:"contentType"`
	} `json:"input"`
	Output struct {
		ContentType string `json:"contentType"`
	} `json:"output"`
}

// TestContract checks that our Go test services (cmd/resolute-test-services) serve the
// contract's services as the official TypeScript ones do: the same services, of the same type,
// with the same handlers (names, exclusive/shared/workflow, input and output content types),
// apart from contractDifferences. The scenarios then tell whether they behave alike.
func TestContract(t *testing.T) {
	t.Parallel()
	tl := findTools(t)
	logDir := t.TempDir()
	c := class{services: contractServices}
	manifests := map[string]map[string]map[string]manifestHandler{}
	for _, kind := range []string{tsServices, goServices} {
		sp := startServices(t, tl, logDir, kind, c)
		testenv.RequirePrereq(t, sp.missing == "", "%s", sp.missing)
		manifests[kind] = discover(t, sp.url)
	}
	ts, ours := manifests[tsServices], manifests[goServices]
	for _, svc := range contractServices {
		if ts[svc] == nil || ours[svc] == nil {
			t.Errorf("%s: discovered by ts %v, by go %v", svc, ts[svc] != nil, ours[svc] != nil)
			continue
		}
		for _, h := range handlerNames(ts[svc], ours[svc]) {
			name := svc + "/" + h
			th, inTS := ts[svc][h]
			oh, inOurs := ours[svc][h]
			want, differs := contractDifferences[name]
			switch {
			case !inOurs:
				t.Errorf("%s: the TypeScript services have it, ours do not", name)
			case !inTS && !(differs && want == ""):
				t.Errorf("%s: ours have it, the TypeScript services do not", name)
			case !inTS:
			case differs && oh.Ty != want:
				t.Errorf("%s: ours announce %s, want %s", name, oh.Ty, want)
			case !differs && th != oh:
				t.Errorf("%s: the TypeScript services announce %+v, ours %+v", name, th, oh)
			}
		}
	}
}

func handlerNames(a, b map[string]manifestHandler) []string {
	var names []string
	for _, m := range []map[string]manifestHandler{a, b} {
		for n := range m {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// discover reads an endpoint's manifest: service -> handler -> handler.
func discover(t *testing.T, url string) map[string]map[string]manifestHandler {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/discover", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("accept", "application/vnd.restate.endpointmanifest.v4+json")
	resp, err := testenv.H2CClient.Do(req)
	if err != nil {
		t.Fatalf("discover %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discover %s: status %d, %v: %s", url, resp.StatusCode, err, body)
	}
	var m struct {
		Services []struct {
			Name     string `json:"name"`
			Ty       string `json:"ty"`
			Handlers []struct {
				Name string `json:"name"`
				manifestHandler
			} `json:"handlers"`
		} `json:"services"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("discover %s: %v", url, err)
	}
	out := map[string]map[string]manifestHandler{}
	for _, s := range m.Services {
		hs := map[string]manifestHandler{"": {Ty: fmt.Sprint("service type ", s.Ty)}} // "" holds the service type
		for _, h := range s.Handlers {
			hs[h.Name] = h.manifestHandler
		}
		out[s.Name] = hs
	}
	return out
}
