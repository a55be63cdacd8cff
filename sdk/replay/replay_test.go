package replay_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/replay"
)

const invID = "inv_13fUoLqNLCHz2G3Vydp5IQYLHZtsBCSQ8S"

func entry(t *testing.T, i uint32, m proto.Message) replay.Entry {
	t.Helper()
	f, err := protocol.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return replay.Entry{Index: i, Type: f.Type, Raw: f.Payload}
}

// payJournal is the journal of Pay/pay("x"): Run "charge" returned "ok", the output "paid ok".
func payJournal(t *testing.T) *replay.Journal {
	return &replay.Journal{
		Format: replay.Format, InvocationID: invID, Service: "Pay", Handler: "pay", ProtocolVersion: 6,
		Entries: []replay.Entry{
			entry(t, 0, &pb.InputCommandMessage{Value: &pb.Value{Content: []byte(`"x"`)}}),
			entry(t, 1, &pb.RunCommandMessage{ResultCompletionId: 1, Name: "charge"}),
			entry(t, 2, &pb.RunCompletionNotificationMessage{CompletionId: 1, Result: &pb.RunCompletionNotificationMessage_Value{Value: &pb.Value{Content: []byte(`"ok"`)}}}),
			entry(t, 3, &pb.OutputCommandMessage{Result: &pb.OutputCommandMessage_Value{Value: &pb.Value{Content: []byte(`"paid ok"`)}}}),
		},
	}
}

func payEndpoint(runName string) *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(sdk.NewService("Pay").Handler("pay", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
		r, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { panic("a replay ran the Run closure") }, sdk.WithName(runName))
		return "paid " + r, err
	})))
}

func failingEndpoint() *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(sdk.NewService("Pay").Handler("pay", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
		if _, err := sdk.Run(ctx, func(sdk.RunContext) (string, error) { return "", nil }, sdk.WithName("charge")); err != nil {
			return "", err
		}
		return "", errors.New("declined")
	})))
}

func TestCheck(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		endpoint *sdk.Endpoint
		want     string
	}{
		{"unchanged", payEndpoint("charge"), `deterministic: the handler replayed all 3 commands and completed with the recorded output "\"paid ok\""`},
		// The replay is in-process: an endpoint that checks request identity takes it.
		{"request identity", payEndpoint("charge").WithIdentityV1(identity.KeyID(pub)), "completed with the recorded output"},
		{"renamed Run", payEndpoint("bill"), `NOT deterministic at entry 1 (command 1): journal has Run "charge", handler issued Run "bill"`},
		// A handler that fails on replay (here: after its Run) is reported, and not deterministic.
		{"fails", failingEndpoint(), "the handler failed while replaying: [500] declined"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := replay.Check(context.Background(), c.endpoint, payJournal(t))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.String(), c.want) {
				t.Errorf("report %q, want it to say %q", r, c.want)
			}
			if det := r.Outcome == replay.Completed; r.Deterministic() != det {
				t.Errorf("Deterministic() = %v for %v", r.Deterministic(), r.Outcome)
			}
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	j := payJournal(t)
	j.Handler = "refund"
	if _, err := replay.Check(context.Background(), payEndpoint("charge"), j); err == nil || !strings.Contains(err.Error(), `answered 404: {"message":"handler \"refund\" of service \"Pay\" not found"}`) {
		t.Errorf("err %v, want the endpoint's 404 for an unknown handler", err)
	}
}

func TestWriteRead(t *testing.T) {
	j := payJournal(t)
	j.RandomSeed = 1<<64 - 1 // beyond a float64's integers: written as a string
	var buf bytes.Buffer
	if err := j.Write(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"random_seed": "18446744073709551615"`, `"type": "RunCompletion"`, `"what": "Run \"charge\""`} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("file lacks %s:\n%s", s, buf.String())
		}
	}
	got, err := replay.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.RandomSeed != j.RandomSeed || len(got.Entries) != len(j.Entries) {
		t.Fatalf("read back %+v, want %+v", got, j)
	}
	for i := range got.Entries {
		if got.Entries[i].Type != j.Entries[i].Type || !bytes.Equal(got.Entries[i].Raw, j.Entries[i].Raw) {
			t.Errorf("entry %d: read back %+v, want %+v", i, got.Entries[i], j.Entries[i])
		}
	}
}

func TestReadBad(t *testing.T) {
	valid := func(t *testing.T) string {
		var buf bytes.Buffer
		if err := payJournal(t).Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"format", `"resolute-journal/v1"`, `"resolute-journal/v9"`, "format"},
		{"protocol version", `"protocol_version": 6`, `"protocol_version": 4`, "protocol_version 4"},
		{"no handler", `"handler": "pay"`, `"handler": ""`, "service and handler are required"},
		{"invocation id", invID, "inv_nope", "invocation_id"},
		{"unknown type", `"type": "RunCompletion"`, `"type": "RunCompletionX"`, `type "RunCompletionX"`},
		{"control message", `"type": "RunCompletion"`, `"type": "End"`, `type "End"`},
		{"index gap", `"index": 3`, `"index": 4`, "numbered from 0"},
		{"first not input", `"type": "InputCommand"`, `"type": "OutputCommand"`, "first entry must be the InputCommand"},
		{"undecodable", `"raw": "CAE`, `"raw": "/wE`, "entry 2"},
		{"unknown field", `"service":`, `"servce": "x", "service":`, "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := valid(t)
			if !strings.Contains(in, c.old) {
				t.Fatalf("%q not in %s", c.old, in)
			}
			_, err := replay.Read(strings.NewReader(strings.Replace(in, c.old, c.new, 1)))
			if !errors.Is(err, replay.ErrBadJournal) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want ErrBadJournal saying %q", err, c.want)
			}
		})
	}
}
