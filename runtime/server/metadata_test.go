package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// TestFailureMetadataEndToEnd: a terminal error's metadata (protocol V6+) reaches a calling
// handler (through the callee's stored result and the caller's journal) and the ingress caller
// (in the error body's "metadata"), as on restate-server.
func TestFailureMetadataEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := sdk.NewService("Pay").
		Handler("charge", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return "", sdk.ToTerminalError(errors.New("declined"), sdk.WithErrorCode(402), sdk.WithMetadata("reason", "funds"), sdk.WithMetadata("try", "2"))
		})).
		Handler("checkout", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			_, err := sdk.Call[string](ctx, sdk.ToService("Pay", "charge"), nil)
			return fmt.Sprintf("%d %v", sdk.ErrorCode(err), sdk.TerminalMetadata(err)), nil
		}))
	if err := s.RegisterInProcess(ctx, "pay", sdk.NewEndpoint().Bind(svc)); err != nil {
		t.Fatal(err)
	}
	r := lcDo(t, "POST", s.IngressURL()+"/Pay/charge", "")
	var body struct {
		Code     int               `json:"code"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); r.status != 402 || err != nil || body.Metadata["reason"] != "funds" || body.Metadata["try"] != "2" {
		t.Fatalf("ingress answered %d %s, want 402 with the metadata", r.status, r.body)
	}
	lcExpect(t, "the caller sees the metadata", lcDo(t, "POST", s.IngressURL()+"/Pay/checkout", ""), 200, `"402 map[reason:funds try:2]"`)
}
