package main

import (
	"os"
	"strings"

	"github.com/resolute-run/resolute/sdk"
)

// TestUtilsService (contracts/TestUtilsService.kt): utilities and corner cases.
const testUtils = "TestUtilsService"

// signalRequest is TestUtilsService.ResolveSignalRequest (Value) and RejectSignalRequest (Reason).
type signalRequest struct {
	InvocationID string `json:"invocationId"`
	SignalName   string `json:"signalName"`
	Value        string `json:"value"`
	Reason       string `json:"reason"`
}

func init() {
	registry.add(testUtils, sdk.NewService(testUtils).
		Handler("echo", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
			return in, nil
		})).
		Handler("uppercaseEcho", sdk.ServiceHandler(func(ctx sdk.Context, in string) (string, error) {
			return strings.ToUpper(in), nil
		})).
		Handler("echoHeaders", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (map[string]string, error) {
			h := ctx.Headers()
			if h == nil {
				h = map[string]string{}
			}
			return h, nil
		})).
		Handler("rawEcho", sdk.ServiceHandler(func(ctx sdk.Context, in []byte) ([]byte, error) {
			return in, nil
		}, sdk.WithCodec(sdk.Binary))).
		// countExecutedSideEffects counts the Run closures executed by this attempt (not a state
		// key): after a suspension, replayed runs are not executed again.
		Handler("countExecutedSideEffects", sdk.ServiceHandler(func(ctx sdk.Context, increments int) (int, error) {
			executed := 0
			for range increments {
				if _, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
					executed++
					return sdk.Void{}, nil
				}, sdk.WithName("count")); err != nil {
					return 0, err
				}
			}
			return executed, nil
		})).
		Handler("getEnvVariable", sdk.ServiceHandler(getEnvVariable)).
		Handler("cancelInvocation", sdk.ServiceHandler(func(ctx sdk.Context, id string) (sdk.Void, error) {
			sdk.CancelInvocation(ctx, id)
			return sdk.Void{}, nil
		})).
		Handler("resolveSignal", sdk.ServiceHandler(func(ctx sdk.Context, r signalRequest) (sdk.Void, error) {
			return sdk.Void{}, sdk.ResolveSignal(ctx, r.InvocationID, r.SignalName, r.Value)
		})).
		Handler("rejectSignal", sdk.ServiceHandler(func(ctx sdk.Context, r signalRequest) (sdk.Void, error) {
			sdk.RejectSignal(ctx, r.InvocationID, r.SignalName, sdk.TerminalErrorf(500, "%s", r.Reason))
			return sdk.Void{}, nil
		})))
}

// getEnvVariable reads an environment variable of the services process in a Run, so that the
// value is journaled.
func getEnvVariable(ctx sdk.Context, name string) (string, error) {
	return sdk.Run(ctx, func(sdk.RunContext) (string, error) { return os.Getenv(name), nil })
}
