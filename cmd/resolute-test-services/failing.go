package main

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/resolute-run/resolute/sdk"
)

// Failing (contracts/Failing.kt): terminal and retryable failures, in handlers and in runs.
const failing = "Failing"

// failureToPropagate is Failing.FailureToPropagate.
type failureToPropagate struct {
	ErrorMessage string            `json:"errorMessage"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

func (f failureToPropagate) terminal() error {
	return sdk.ToTerminalError(errors.New(f.ErrorMessage), sdk.WithMetadataMap(f.Metadata))
}

// Attempt counters of the services process, as the contract asks (not state: they count
// executions, which replays do not repeat).
var eventualSuccessCalls, eventualSuccessRuns, eventualFailureRuns atomic.Int32

func init() {
	registry.add(failing, sdk.NewObject(failing).
		Handler("terminallyFailingCall", sdk.ObjectHandler(func(ctx sdk.ObjectContext, f failureToPropagate) (sdk.Void, error) {
			return sdk.Void{}, f.terminal()
		})).
		Handler("callTerminallyFailingCall", sdk.ObjectHandler(func(ctx sdk.ObjectContext, f failureToPropagate) (string, error) {
			if _, err := sdk.Call[sdk.Void](ctx, sdk.ToObject(failing, ctx.UUID(), "terminallyFailingCall"), f); err != nil {
				return "", err
			}
			return "", sdk.TerminalErrorf(500, "This should be unreachable")
		})).
		Handler("failingCallWithEventualSuccess", sdk.ObjectHandler(func(ctx sdk.ObjectContext, _ sdk.Void) (int32, error) {
			attempt := eventualSuccessCalls.Add(1)
			if attempt < 4 {
				return 0, fmt.Errorf("Failed at attempt: %d", attempt)
			}
			eventualSuccessCalls.Store(0)
			return attempt, nil
		})).
		Handler("terminallyFailingSideEffect", sdk.ObjectHandler(func(ctx sdk.ObjectContext, f failureToPropagate) (sdk.Void, error) {
			if _, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) { return sdk.Void{}, f.terminal() }); err != nil {
				return sdk.Void{}, err
			}
			return sdk.Void{}, sdk.TerminalErrorf(500, "Should not be reached.")
		})).
		Handler("sideEffectSucceedsAfterGivenAttempts", sdk.ObjectHandler(func(ctx sdk.ObjectContext, minimum int32) (int32, error) {
			return sdk.Run(ctx, func(sdk.RunContext) (int32, error) {
				attempt := eventualSuccessRuns.Add(1)
				if attempt < minimum {
					return 0, fmt.Errorf("Failed at attempt: %d", attempt)
				}
				eventualSuccessRuns.Store(0)
				return attempt, nil
			}, sdk.WithName("failing_side_effect"), sdk.WithInitialRetryInterval(10*time.Millisecond), sdk.WithRetryIntervalFactor(1))
		})).
		Handler("sideEffectFailsAfterGivenAttempts", sdk.ObjectHandler(func(ctx sdk.ObjectContext, maxAttempts uint) (int32, error) {
			_, err := sdk.Run(ctx, func(sdk.RunContext) (sdk.Void, error) {
				return sdk.Void{}, fmt.Errorf("Failed at attempt: %d", eventualFailureRuns.Add(1))
			}, sdk.WithName("failing_side_effect"), sdk.WithInitialRetryInterval(10*time.Millisecond), sdk.WithRetryIntervalFactor(1),
				sdk.WithMaxRetryAttempts(maxAttempts))
			if sdk.IsTerminal(err) {
				return eventualFailureRuns.Load(), nil
			}
			if err != nil {
				return 0, err
			}
			return 0, sdk.TerminalErrorf(500, "Side effect was supposed to fail!")
		})))
}
