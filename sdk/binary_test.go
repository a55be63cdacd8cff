package sdk_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// TestBinaryCallCodec forwards bytes that are not JSON (nor UTF-8) through a JSON handler to a
// binary handler and back, with WithCallCodec(sdk.Binary), as Restate's test-services Proxy
// does: the callee gets them as they are and the caller gets the callee's output as it is.
func TestBinaryCallCodec(t *testing.T) {
	payload := []byte{0xff, 0x00, '"', 'x'}
	var got [][]byte
	raw := sdk.NewService("Raw").
		Handler("reverse", sdk.ServiceHandler(func(ctx sdk.Context, in []byte) ([]byte, error) {
			got = append(got, in)
			out := slices.Clone(in)
			slices.Reverse(out)
			return out, nil
		}, sdk.WithCodec(sdk.Binary)))
	proxy := sdk.NewService("Proxy").
		Handler("call", sdk.ServiceHandler(func(ctx sdk.Context, msg []int) ([]int, error) {
			in := make([]byte, len(msg))
			for i, b := range msg {
				in[i] = byte(b)
			}
			out, err := sdk.Call[[]byte](ctx, sdk.ToService("Raw", "reverse"), in, sdk.WithCallCodec(sdk.Binary))
			if err != nil {
				return nil, err
			}
			ints := make([]int, len(out))
			for i, b := range out {
				ints[i] = int(b)
			}
			return ints, nil
		}))
	env := sdktest.Start(t, sdk.NewEndpoint().Bind(raw, proxy))

	msg := make([]int, len(payload))
	for i, b := range payload {
		msg[i] = int(b)
	}
	out, err := sdktest.Call[[]int](env, sdk.ToService("Proxy", "call"), msg)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{'x', '"', 0x00, 0xff}
	if !slices.Equal(out, want) {
		t.Errorf("proxied call answered %v, want %v", out, want)
	}
	if len(got) != 1 || !bytes.Equal(got[0], payload) {
		t.Errorf("the binary handler got %q, want %q", got, payload)
	}
}

func TestBinaryCodec(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want []byte
		bad  bool
	}{
		{name: "bytes", v: []byte{1, 2}, want: []byte{1, 2}},
		{name: "pointer", v: &[]byte{3}, want: []byte{3}},
		{name: "string", v: "s", bad: true},
	} {
		b, err := sdk.Binary.Marshal(tc.v)
		if (err != nil) != tc.bad || !bytes.Equal(b, tc.want) {
			t.Errorf("%s: Marshal = %v, %v", tc.name, b, err)
		}
	}
	var out []byte
	if err := sdk.Binary.Unmarshal([]byte{7}, &out); err != nil || !bytes.Equal(out, []byte{7}) {
		t.Errorf("Unmarshal = %v, %v", out, err)
	}
	var s string
	if err := sdk.Binary.Unmarshal([]byte{7}, &s); err == nil {
		t.Error("Unmarshal into *string: no error")
	}
	if ct := sdk.Binary.ContentType(); ct != "application/octet-stream" {
		t.Errorf("ContentType = %q", ct)
	}
}
