package ingress_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/resolute-run/resolute/promises"
	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

// TestAwakeables checks the HTTP surface of /restate/awakeables against what restate-server
// answers (statuses and messages observed with the official binary) and the signal proposed.
func TestAwakeables(t *testing.T) {
	inv := ids.NewInvocationID(7, [16]byte{9, 8, 7})
	id := promises.Encode(inv, 17)
	legacy := promises.AwakeableID{Invocation: inv, Index: 17, Legacy: true}.String()
	value := func(v string) *command.Signal {
		return &command.Signal{ID: inv, Index: 17, Result: command.Result{Value: []byte(v)}}
	}
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		status  int
		message string // the error message, exactly; "" for 202
		signal  *command.Signal
	}{
		{"resolve", "POST", "/restate/awakeables/" + id + "/resolve", `{"v":1}`, 202, "", value(`{"v":1}`)},
		{"resolve empty body", "POST", "/restate/awakeables/" + id + "/resolve", "", 202, "", value("")},
		{"short alias", "POST", "/restate/a/" + id + "/resolve", "x", 202, "", value("x")},
		{"extra segments ignored", "POST", "/restate/a/" + id + "/resolve/more", "x", 202, "", value("x")},
		{"reject", "POST", "/restate/awakeables/" + id + "/reject", "nope, rejected", 202, "",
			&command.Signal{ID: inv, Index: 17, Result: command.Result{Failure: &command.Failure{Code: 500, Message: "nope, rejected"}}}},
		{"legacy id accepted, no effect", "POST", "/restate/awakeables/" + legacy + "/resolve", "x", 202, "", nil},
		{"signal index 0, no effect", "POST", "/restate/awakeables/" + promises.Encode(inv, 0) + "/resolve", "x", 202, "", nil},
		{"bad sign payload", "POST", "/restate/awakeables/sign_1bogus/resolve", "", 400, "bad awakeable id 'sign_1bogus': id doesn't match the expected type", nil},
		{"short sign payload", "POST", "/restate/awakeables/sign_1AAAA/resolve", "", 400, "bad awakeable id 'sign_1AAAA': id doesn't match the expected type", nil},
		{"bad version", "POST", "/restate/awakeables/sign_2abc/resolve", "", 400, "bad awakeable id 'sign_2abc': unrecognized codec version", nil},
		{"no prefix", "POST", "/restate/awakeables/foo/resolve", "", 400, "bad awakeable id 'foo': bad format", nil},
		{"unknown type", "POST", "/restate/awakeables/xyz_1abc/resolve", "", 400, "bad awakeable id 'xyz_1abc': unrecognized resource type: xyz", nil},
		{"invocation id", "POST", "/restate/awakeables/inv_1abc/reject", "", 400, "bad awakeable id 'inv_1abc': id doesn't match the expected type", nil},
		{"empty id", "POST", "/restate/awakeables//resolve", "", 400, "bad awakeable id '': bad length", nil},
		{"no operation", "POST", "/restate/awakeables/" + id, "", 400, "bad path, expected either /restate/awakeables/:id/resolve or /restate/awakeables/:id/reject", nil},
		{"no id", "POST", "/restate/awakeables/", "", 400, "bad path, expected either /restate/awakeables/:id/resolve or /restate/awakeables/:id/reject", nil},
		{"unknown operation", "POST", "/restate/awakeables/" + id + "/foo", "", 404, "not found", nil},
		{"get", "GET", "/restate/awakeables/" + id + "/resolve", "", 405, "method not allowed", nil},
		{"too large", "POST", "/restate/awakeables/" + id + "/resolve", strings.Repeat("x", 65), 413, "request body too large: the limit is 64 bytes", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDispatcher{}
			h := newHandler(t, d)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.message == "" {
				if rec.Body.Len() != 0 {
					t.Errorf("body %q, want empty", rec.Body)
				}
			} else {
				var e errBody
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
					t.Fatalf("body %q: %v", rec.Body, err)
				}
				if e != (errBody{Code: tt.status, Message: tt.message, Source: "ingress"}) {
					t.Errorf("error %+v, want %d %q", e, tt.status, tt.message)
				}
			}
			var want []command.Signal
			if tt.signal != nil {
				want = []command.Signal{*tt.signal}
			}
			if !reflect.DeepEqual(d.signals, want) {
				t.Errorf("proposed %+v, want %+v", d.signals, want)
			}
		})
	}
}

// TestAwakeableDispatchError: a resolution that could not be proposed is a 503, never a 202.
func TestAwakeableDispatchError(t *testing.T) {
	h := newHandler(t, &fakeDispatcher{err: errors.New("no leader")})
	rec := httptest.NewRecorder()
	id := promises.Encode(ids.NewInvocationID(7, [16]byte{1}), 17)
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/restate/awakeables/"+id+"/resolve", strings.NewReader("x")))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "no leader") {
		t.Fatalf("status %d body %s, want 503 with the cause", rec.Code, rec.Body)
	}
}
