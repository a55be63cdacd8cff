package ingress

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestParseRestateAPIPath: the newer API's paths parsed as restate-server 1.7.12 parses them
// (its answers to the same paths, in tests/ingressapi, are noted where they say more).
func TestParseRestateAPIPath(t *testing.T) {
	invoke := func(service, key, handler string, keyed, send bool) route {
		return route{kind: routeInvoke, service: service, key: key, keyed: keyed, handler: handler, send: send}
	}
	const notFound = "service 'Nope' not found, make sure to register the service before calling it."
	tests := []struct {
		name    string
		path    string
		want    route
		status  int
		message string
	}{
		{"call", "/restate/call/Greeter/greet", invoke("Greeter", "", "greet", false, false), 0, ""},
		{"send", "/restate/send/Greeter/greet", invoke("Greeter", "", "greet", false, true), 0, ""},
		{"object call, escaped key", "/restate/call/Counter/a%20b%2Fc/add", invoke("Counter", "a b/c", "add", true, false), 0, ""},
		{"workflow send", "/restate/send/Signup/k/run", invoke("Signup", "k", "run", true, true), 0, ""},
		{"empty key", "/restate/call/Counter//add", invoke("Counter", "", "add", true, false), 0, ""},
		// restate-server trims trailing slashes from these paths: /restate/call/Greeter/greet/
		// is answered 200, /restate/call/ as /restate/call.
		{"trailing slash", "/restate/call/Greeter/greet/", invoke("Greeter", "", "greet", false, false), 0, ""},
		{"call only", "/restate/call", route{}, 400, msgBadRestateAPIPath},
		{"call only, slash", "/restate/call/", route{}, 400, msgBadRestateAPIPath},
		{"no handler", "/restate/call/Greeter", route{}, 400, msgBadRestateAPIPath},
		{"object without key", "/restate/send/Counter", route{}, 400, msgBadRestateAPIPath},
		{"object without handler", "/restate/call/Counter/k", route{}, 400, msgBadRestateAPIPath},
		{"segment after the handler", "/restate/call/Greeter/greet/x", route{}, 400, msgBadRestateAPIPath},
		{"trailing send", "/restate/call/Greeter/greet/send", route{}, 400, msgBadRestateAPIPath},
		{"unknown service", "/restate/send/Nope/x", route{}, 404, notFound},
		// Rust's Debug of its FromUtf8Error, as restate-server answered each.
		{"key not UTF-8", "/restate/call/Counter/%C3%28/add", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [195, 40], error: Utf8Error { valid_up_to: 0, error_len: Some(1) } }"},
		{"key not UTF-8, 3 bytes", "/restate/send/Counter/a%E2%82%28b/add", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [97, 226, 130, 40, 98], error: Utf8Error { valid_up_to: 1, error_len: Some(2) } }"},
		{"key not UTF-8, cut short", "/restate/send/Counter/ab%F0%90%80/add", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [97, 98, 240, 144, 128], error: Utf8Error { valid_up_to: 2, error_len: None } }"},
		{"key not UTF-8, bad first byte", "/restate/call/Counter/%FF%FE/add", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [255, 254], error: Utf8Error { valid_up_to: 0, error_len: Some(1) } }"},
		{"key not UTF-8, surrogate", "/restate/call/Counter/%ED%A0%80/add", route{}, 400, "bad path, cannot decode key: FromUtf8Error { bytes: [237, 160, 128], error: Utf8Error { valid_up_to: 0, error_len: Some(1) } }"},
		{"too deep", "/restate/call/Counter/k/add/a/b/c", route{}, 400, "bad path: /restate/call/Counter/k/add/a/b/c"},
		// Attach and output by id: the id is checked later, with the method.
		{"attach by id", "/restate/attach/inv_1x", route{kind: routeAttach, attach: attachRoute{id: "inv_1x"}}, 0, ""},
		{"output by id, trailing slash", "/restate/output/inv_1x/", route{kind: routeAttach, attach: attachRoute{id: "inv_1x", output: true}}, 0, ""},
		{"attach by id, extra segment", "/restate/attach/inv_1x/attach", route{}, 400, msgBadRestateAPIPath},
		// By the body's target; /restate/output/ is that route (restate-server: 405 to a GET).
		{"attach by target", "/restate/attach", route{kind: routeByTarget}, 0, ""},
		{"output by target", "/restate/output/", route{kind: routeByTarget, attach: attachRoute{output: true}}, 0, ""},
		{"lookup", "/restate/lookup", route{kind: routeLookup}, 0, ""},
		{"lookup, trailing slash", "/restate/lookup/", route{kind: routeLookup}, 0, ""},
		{"lookup, extra segment", "/restate/lookup/x", route{}, 400, msgBadRestateAPIPath},
		{"unknown verb", "/restate/frobnicate/Greeter/greet", route{}, 404, msgNotFound},
		// A scope's call or send goes through the same parser (it used to index past the end
		// of the path for an object without a key).
		{"scoped object without key", "/restate/scope/t1/call/Counter", route{}, 400, msgBadRestateAPIPath},
		{"scoped call, trailing slash", "/restate/scope/t1/call/Greeter/greet/", route{kind: routeScope, service: "Greeter", handler: "greet", scope: "t1"}, 0, ""},
		{"scoped call", "/restate/scope/t1/send/Counter/k/add", route{kind: routeScope, service: "Counter", key: "k", keyed: true, handler: "add", send: true, scope: "t1"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, herr := parsePath(tt.path, fuzzServiceType)
			if tt.status != 0 {
				if herr == nil || herr.status != tt.status || herr.message != tt.message || herr.source != sourceIngress {
					t.Fatalf("parsePath(%q) = %+v, %+v; want %d %q", tt.path, got, herr, tt.status, tt.message)
				}
				return
			}
			if herr != nil || got != tt.want {
				t.Fatalf("parsePath(%q) = %+v, %+v; want %+v", tt.path, got, herr, tt.want)
			}
		})
	}
}

// TestParseDelay: delays as restate-server 1.7.12 reads them (jiff's span parser: ISO 8601 or
// its "friendly" format); each refusal's message is the one restate-server answered to the same
// ?delay= (after "bad delay query parameter, must be a ISO8601 duration: ").
func TestParseDelay(t *testing.T) {
	const friendly = `failed to parse input in the "friendly" duration format: `
	const noUnit = friendly + "expected to find unit designator suffix (e.g., `years` or `secs`) after parsing integer"
	const negative = "negative signed durations cannot be converted to an unsigned duration"
	tests := []struct {
		in   string
		want time.Duration
		msg  string
	}{
		{"10s", 10 * time.Second, ""},
		{"1h 30m", 90 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"2days", 48 * time.Hour, ""},
		{"2 days", 48 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1 day, 2 hours", 26 * time.Hour, ""},
		{"1h, 2m", time.Hour + 2*time.Minute, ""},
		{"1.5h", 90 * time.Minute, ""},
		{"1.5s", 1500 * time.Millisecond, ""},
		{"500 milliseconds", 500 * time.Millisecond, ""},
		{"10us", 10 * time.Microsecond, ""},
		{"10\u00b5s", 10 * time.Microsecond, ""},
		{"10ns", 10, ""},
		{"1ms 500us 10ns", time.Millisecond + 500*time.Microsecond + 10, ""},
		{"1w", 7 * 24 * time.Hour, ""},
		{"+10s", 10 * time.Second, ""},
		{"10s ", 10 * time.Second, ""},
		{"01:02:03", time.Hour + 2*time.Minute + 3*time.Second, ""},
		{"1d 01:02:03.5", 25*time.Hour + 2*time.Minute + 3500*time.Millisecond, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"-0s", 0, ""},
		{"PT10S", 10 * time.Second, ""},
		{"pt10s", 10 * time.Second, ""},
		{"P1D", 24 * time.Hour, ""},
		{"P1DT2H", 26 * time.Hour, ""},
		{"p1w", 7 * 24 * time.Hour, ""},
		{"PT1.5S", 1500 * time.Millisecond, ""},
		{"PT1,5S", 1500 * time.Millisecond, ""},
		{"PT0.5H", 30 * time.Minute, ""},
		{"PT0S", 0, ""},
		{"", 0, "an empty string is not a valid duration in either the ISO 8601 format or Jiff's \"friendly\" format"},
		{"-", 0, "found nothing after sign `-`, which is not a valid duration in either the ISO 8601 format or Jiff's \"friendly\" format"},
		{"abc", 0, friendly + "expected duration to start with a unit value (a decimal integer) after an optional sign, but no integer was found"},
		{" 10s", 0, friendly + "expected duration to start with a unit value (a decimal integer) after an optional sign, but no integer was found"},
		{"10", 0, noUnit},
		{"10S", 0, noUnit},
		{"1h30", 0, noUnit},
		{"1 xyz", 0, noUnit},
		{"-1s", 0, negative},
		{"1h ago", 0, negative},
		{"-PT1S", 0, negative},
		{"+1s ago", 0, friendly + "expected to find either a prefix sign (+/-) or a suffix sign (`ago`), but found both"},
		{"1y", 0, "please use units of days or smaller"},
		{"1mo", 0, "please use units of days or smaller"},
		{"P1M", 0, "please use units of days or smaller"},
		{"-1y", 0, "could not compute normalized relative span when all days are assumed to be 24 hours: using unit 'year' in span or configuration requires that a relative reference time be given (`jiff::SpanRelativeTo::days_are_24_hours()` was given but this only permits using days and weeks without a relative reference time)"},
		{"20000y", 0, "failed to parse input in the \"friendly\" duration format: failed to set value for year unit on span: parameter 'years' is not in the required range of -19998..=19998"},
		{"99999999999d", 0, friendly + "failed to set value for day unit on span: parameter 'days' is not in the required range of -7304484..=7304484"},
		{"99999999999999999999999s", 0, friendly + "number too big to parse into 64-bit integer"},
		{"1.5d", 0, friendly + "fractional days are not supported"},
		{"1.5ns", 0, friendly + "fractional nanoseconds are not supported"},
		{"1.s", 0, friendly + "found decimal after seconds component, but did not find any digits after decimal"},
		{"1s 1h", 0, friendly + "found value with unit hour after unit second, but units must be written from largest to smallest (and they can't be repeated)"},
		{"1h 01:02:03", 0, friendly + "found `HH:MM:SS` after unit hour, but `HH:MM:SS` can only appear after years, months, weeks or days"},
		{"1:2", 0, friendly + "when parsing the `HH:MM:SS` format, expected to parse `:` following minute"},
		{"1h,", 0, friendly + "expected whitespace after comma, but found end of input"},
		{"1h,2m", 0, friendly + "expected whitespace after comma, but found `2`"},
		{"10s x", 0, friendly + `parsed value 'PT10S', but unparsed input "x" remains (expected no unparsed input)`},
		{"1d x", 0, friendly + `parsed value 'P1D', but unparsed input "x" remains (expected no unparsed input)`},
		{"P", 0, "no parsed duration components"},
		{"PT", 0, "found a time designator (`T` or `t`) in an ISO 8601 duration string, but did not find any time units"},
		{"P1D2H", 0, "expected to find date unit designator suffix (`Y`, `M`, `W` or `D`), but found `H` instead"},
		{"PT1.5", 0, "expected to find time unit designator suffix (`H`, `M` or `S`), but found end of input"},
		{"PT1.5H30M", 0, `parsed value 'PT1H30M', but unparsed input "30M" remains (expected no unparsed input)`},
		{"PT10S ", 0, `parsed value 'PT10S', but unparsed input " " remains (expected no unparsed input)`},
		// Ours only: beyond time.Duration (restate-server takes up to jiff's span limits).
		{"300000d", 0, "delay too long: at most 2562047h47m16.854775807s"},
	}
	for _, tt := range tests {
		got, msg := parseDelay(tt.in)
		if got != tt.want || msg != tt.msg {
			t.Errorf("parseDelay(%q) = %v, %q; want %v, %q", tt.in, got, msg, tt.want, tt.msg)
		}
	}
}

// TestDelayQuery: the first delay parameter counts, named in any case and form-decoded ('+'
// is a space), as restate-server reads it.
func TestDelayQuery(t *testing.T) {
	tests := []struct {
		query   string
		want    time.Duration
		delayed bool
		msg     string
	}{
		{"", 0, false, ""},
		{"x=1", 0, false, ""},
		{"delay=1h+30m", 90 * time.Minute, true, ""},
		{"DeLaY=10s", 10 * time.Second, true, ""},
		{"delay=10s&delay=abc", 10 * time.Second, true, ""},
		{"delay=abc&delay=10s", 0, true, "expected duration to start"},
		{"a=%zz&delay=PT1M", time.Minute, true, ""},
		{"delay=", 0, true, "an empty string is not a valid duration"},
		{"delay", 0, true, "an empty string is not a valid duration"},
	}
	for _, tt := range tests {
		d, delayed, herr := parseDelayQuery(tt.query)
		switch {
		case tt.msg == "" && herr != nil:
			t.Errorf("parseDelayQuery(%q): %v", tt.query, herr)
		case tt.msg != "" && (herr == nil || herr.status != 400 || !strings.HasPrefix(herr.message, msgBadDelay) || !strings.Contains(herr.message, tt.msg)):
			t.Errorf("parseDelayQuery(%q) = %v, want 400 %q…%q", tt.query, herr, msgBadDelay, tt.msg)
		case d != tt.want || delayed != tt.delayed:
			t.Errorf("parseDelayQuery(%q) = %v, %v; want %v, %v", tt.query, d, delayed, tt.want, tt.delayed)
		}
	}
}

// TestDecodeTargetBody: bodies of POST /restate/attach|output|lookup, and serde's words for the
// bad ones, as restate-server 1.7.12 answered them (after "cannot read body: invalid request
// body: ").
func TestDecodeTargetBody(t *testing.T) {
	tests := []struct {
		body string
		want targetRequest
		msg  string
	}{
		{`{"target":"invocation","invocationId":"inv_1"}`, targetRequest{Target: "invocation", invocationID: "inv_1"}, ""},
		{`{"target":"workflow","workflowName":"W","workflowKey":"k"}`, targetRequest{Target: "workflow", workflowName: "W", workflowKey: "k"}, ""},
		{` {"workflowName":"W","workflowKey":"k","target":"workflow","x":[1,{"y":null}]} `, targetRequest{Target: "workflow", workflowName: "W", workflowKey: "k"}, ""},
		{`{"target":"idempotentInvocation","service":"S","handler":"h","idempotencyKey":"i"}`, targetRequest{Target: "idempotentInvocation", service: "S", handler: "h", idempotencyKey: "i"}, ""},
		{`{"target":"idempotentInvocation","scope":"s","service":"S","key":"","handler":"h","idempotencyKey":"i"}`,
			targetRequest{Target: "idempotentInvocation", scope: "s", hasScope: true, service: "S", keyed: true, handler: "h", idempotencyKey: "i"}, ""},
		{`{"target":"idempotentInvocation","scope":null,"service":"S","key":null,"handler":"h","idempotencyKey":"i"}`,
			targetRequest{Target: "idempotentInvocation", service: "S", handler: "h", idempotencyKey: "i"}, ""},
		{`{"target":"work\u0066low","workflowName":"W","workflowKey":"k"}`, targetRequest{Target: "workflow", workflowName: "W", workflowKey: "k"}, ""},
		{`{"target":"invocation","invocationId":"i","scope":"not checked"}`, targetRequest{Target: "invocation", invocationID: "i"}, ""},
		{``, targetRequest{}, "EOF while parsing a value at line 1 column 0"},
		{`nope`, targetRequest{}, "expected ident at line 1 column 2"},
		{`1`, targetRequest{}, "invalid type: integer `1`, expected internally tagged enum InvocationTargetRequest at line 1 column 1"},
		{`1.5e3`, targetRequest{}, "invalid type: floating point `1500.0`, expected internally tagged enum InvocationTargetRequest at line 1 column 5"},
		{`"x"`, targetRequest{}, "invalid type: string \"x\", expected internally tagged enum InvocationTargetRequest at line 1 column 3"},
		{`null`, targetRequest{}, "invalid type: null, expected internally tagged enum InvocationTargetRequest at line 1 column 4"},
		{`{"target":"nope"}`, targetRequest{}, "unknown variant `nope`, expected one of `workflow`, `idempotentInvocation`, `invocation` at line 1 column 16"},
		{"{\n  \"target\": \"nope\"\n}", targetRequest{}, "unknown variant `nope`, expected one of `workflow`, `idempotentInvocation`, `invocation` at line 2 column 18"},
		{`{"target":1}`, targetRequest{}, "invalid type: integer `1`, expected variant identifier at line 1 column 11"},
		{`{"workflowName":"W","workflowKey":"k"}`, targetRequest{}, "missing field `target` at line 1 column 38"},
		{`{"target":"workflow","workflowName":"W"}`, targetRequest{}, "missing field `workflowKey`"},
		{`{"target":"invocation"}`, targetRequest{}, "missing field `invocationId`"},
		{`{"target":"idempotentInvocation","key":"k"}`, targetRequest{}, "missing field `service`"},
		{`{"target":"workflow","workflowName":1,"workflowKey":"k"}`, targetRequest{}, "invalid type: integer `1`, expected a string"},
		{`{"target":"invocation","invocationId":null}`, targetRequest{}, "invalid type: null, expected a string"},
		{`{"target":"workflow","workflowName":{"a":[1,true]},"workflowKey":"k"}`, targetRequest{}, "invalid type: map, expected a string"},
		{`{"target":"workflow","workflowName":"W","workflowName":"W","workflowKey":"k"}`, targetRequest{}, "duplicate field `workflowName`"},
		{`{"target":"workflow","target":"workflow"}`, targetRequest{}, "duplicate field `target` at line 1 column 29"},
		{`{"target":"workflow","workflowName":"W","workflowKey":"k"} x`, targetRequest{}, "trailing characters at line 1 column 60"},
		{`{"target":"workflow",}`, targetRequest{}, "trailing comma at line 1 column 22"},
		{`{"target":"workflow" "x":1}`, targetRequest{}, "expected `,` or `}` at line 1 column 22"},
		{`{"target" "workflow"}`, targetRequest{}, "expected `:` at line 1 column 11"},
		{`{target:"workflow"}`, targetRequest{}, "key must be a string at line 1 column 2"},
		{`{"target":"workf`, targetRequest{}, "EOF while parsing a string at line 1 column 16"},
		{`{"target":"workflow"`, targetRequest{}, "EOF while parsing an object at line 1 column 20"},
		{`{"target":"wo\qrkflow"}`, targetRequest{}, "invalid escape at line 1 column 15"},
		{`{"target":"workflow","scope":nul}`, targetRequest{}, "expected ident at line 1 column 33"},
		{`{"target":"workflow","x":-}`, targetRequest{}, "invalid number at line 1 column 27"},
		{`{"target":"workflow","x":01}`, targetRequest{}, "invalid number at line 1 column 27"},
		{`{"target":"workflow","x":-1e999}`, targetRequest{}, "number out of range at line 1 column 31"},
		// Floats in messages: decimal from 1e-5 to 1e16, else with an exponent.
		{`{"target":"workflow","workflowName":1e16,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `1e+16`, expected a string"},
		{`{"target":"workflow","workflowName":1e15,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `1000000000000000.0`, expected a string"},
		{`{"target":"workflow","workflowName":0.00001,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `0.00001`, expected a string"},
		{`{"target":"workflow","workflowName":1e-7,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `1e-7`, expected a string"},
		{`{"target":"workflow","workflowName":-1.5e300,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `-1.5e+300`, expected a string"},
		{`{"target":"workflow","workflowName":18446744073709551616,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `1.8446744073709552e+19`, expected a string"},
		{`{"target":"workflow","workflowName":-0.0,"workflowKey":"k"}`, targetRequest{}, "invalid type: floating point `-0.0`, expected a string"},
		{`{"target":"workflow","workflowName":-5,"workflowKey":"k"}`, targetRequest{}, "invalid type: integer `-5`, expected a string"},
		// Strings: UTF-8 checked at the closing quote, surrogates only in pairs.
		{"{\"target\":\"work\xff\"}", targetRequest{}, "invalid unicode code point at line 1 column 17"},
		{`{"target":"\ud800"}`, targetRequest{}, "unexpected end of hex escape at line 1 column 18"},
		{`{"target":"\ud800x"}`, targetRequest{}, "unexpected end of hex escape at line 1 column 18"},
		{`{"target":"\ud800\n"}`, targetRequest{}, "unexpected end of hex escape at line 1 column 19"},
		{`{"target":"\ud800\ud800"}`, targetRequest{}, "lone leading surrogate in hex escape at line 1 column 23"},
		{`{"target":"\udc00x"}`, targetRequest{}, "lone leading surrogate in hex escape at line 1 column 17"},
		{`{"target":"\ud83d\ude00"}`, targetRequest{}, "unknown variant `\U0001f600`, expected one of `workflow`, `idempotentInvocation`, `invocation` at line 1 column 24"},
		{`{"target":"\u12`, targetRequest{}, "EOF while parsing a string at line 1 column 15"},
		{`{"target":"\u12x4"}`, targetRequest{}, "invalid escape at line 1 column 17"},
		// serde_json's recursion limit: the 128th open container.
		{`{"target":"invocation","invocationId":"i","x":` + strings.Repeat("[", 126) + strings.Repeat("]", 126) + `}`, targetRequest{Target: "invocation", invocationID: "i"}, ""},
		{`{"target":"invocation","invocationId":"i","x":` + strings.Repeat("[", 127) + strings.Repeat("]", 127) + `}`, targetRequest{}, "recursion limit exceeded at line 1 column 173"},
		// The array form: the tag, then the variant's fields in declaration order.
		{`["workflow",null,"W","k"]`, targetRequest{Target: "workflow", workflowName: "W", workflowKey: "k"}, ""},
		{`["idempotentInvocation","s","S","k","h","i"]`, targetRequest{Target: "idempotentInvocation", scope: "s", hasScope: true, service: "S", key: "k", keyed: true, handler: "h", idempotencyKey: "i"}, ""},
		{`["workflow","W","k"]`, targetRequest{}, "invalid length 2, expected struct variant InvocationTargetRequest::Workflow with 3 elements"},
		{`["invocation","i","x"]`, targetRequest{}, "invalid length 2, expected 1 element in sequence"},
		{`["workflow",null,1]`, targetRequest{}, "invalid type: integer `1`, expected a string"},
		{`[]`, targetRequest{}, "missing field `target` at line 1 column 2"},
		{`["nope"]`, targetRequest{}, "unknown variant `nope`, expected one of `workflow`, `idempotentInvocation`, `invocation` at line 1 column 7"},
		{`["workflow"`, targetRequest{}, "EOF while parsing a list at line 1 column 11"},
		{`["workflow",]`, targetRequest{}, "trailing comma at line 1 column 13"},
	}
	for _, tt := range tests {
		got, msg := decodeTargetBody([]byte(tt.body))
		if got != tt.want || msg != tt.msg {
			t.Errorf("decodeTargetBody(%s) = %+v, %q\nwant %+v, %q", tt.body, got, msg, tt.want, tt.msg)
		}
	}
}

// FuzzDecodeTargetBody: no panics; a body taken is valid JSON, and a body that is not valid
// JSON is refused with a message that has a position.
func FuzzDecodeTargetBody(f *testing.F) {
	for _, s := range []string{`{"target":"invocation","invocationId":"inv_1"}`, `["workflow",null,"W","k"]`, `{"target":"\ud83d\ude00"}`, `{"target":"workflow","x":[1.5e3,{"a":null}]}`, ``, `nope`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, msg := decodeTargetBody(body)
		if msg == "" && !json.Valid(body) {
			t.Fatalf("took %q (%+v), which is not JSON", body, tr)
		}
		if msg == "" && tr.Target != "workflow" && tr.Target != "idempotentInvocation" && tr.Target != "invocation" {
			t.Fatalf("took %q with target %q", body, tr.Target)
		}
		if !json.Valid(body) && !strings.Contains(msg, " at line ") {
			t.Fatalf("%q is not JSON, refused without a position: %q", body, msg)
		}
	})
}

// FuzzParseDelay: no panics; a delay taken is not negative, one refused has a message.
func FuzzParseDelay(f *testing.F) {
	for _, s := range []string{"10s", "1h 30m", "PT1.5S", "P1DT2H", "1d 01:02:03.5", "1 day, 2 hours ago", "-0s", "99999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, msg := parseDelay(s)
		if msg == "" && d < 0 {
			t.Fatalf("parseDelay(%q) = %v", s, d)
		}
		if msg != "" && d != 0 {
			t.Fatalf("parseDelay(%q) = %v and %q", s, d, msg)
		}
	})
}
