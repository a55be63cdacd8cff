package main

import (
	"testing"
	"time"

	"github.com/resolute-run/resolute/sdk"
	"github.com/resolute-run/resolute/sdk/sdktest"
)

// startEverything runs every registered service on an embedded Resolute server.
func startEverything(t *testing.T) *sdktest.Env {
	t.Helper()
	defs, err := registry.selected("")
	if err != nil {
		t.Fatal(err)
	}
	return sdktest.Start(t, sdk.NewEndpoint().Bind(defs...))
}

// waitCounter waits until the interpreter object's counter reaches want; it fails if the
// counter passes it or does not reach it in a minute.
func waitCounter(t *testing.T, env *sdktest.Env, layer int, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := sdktest.Call[int](env, sdk.ToObject(interpreterName(layer), key, "counter"), nil)
		if err != nil {
			t.Fatalf("counter of %s/%s: %v", interpreterName(layer), key, err)
		}
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			t.Fatalf("counter of %s/%s is %d, want %d", interpreterName(layer), key, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInterpreterProgram runs a program with every command kind on ObjectInterpreterL0 (no
// scenario of tests/e2e uses the interpreter objects): the program succeeds, and the counter
// gets its four increments (direct, delayed, indirect, through the awakeable dance) and the
// next layer's object its one.
func TestInterpreterProgram(t *testing.T) {
	env := startEverything(t)
	cmds := []interpreterCommand{
		{Kind: cmdSetState, Key: 1},                                        // 0
		{Kind: cmdGetState, Key: 1},                                        // 1
		{Kind: cmdClearState, Key: 1},                                      // 2
		{Kind: cmdIncrementStateCounter},                                   // 3
		{Kind: cmdSleep, Duration: 10},                                     // 4
		{Kind: cmdCallService},                                             // 5
		{Kind: cmdAwaitPromise, Index: 5},                                  // 6
		{Kind: cmdCallSlowService, Sleep: 10},                              // 7
		{Kind: cmdAwaitPromise, Index: 7},                                  // 8
		{Kind: cmdIncrementViaDelayedCall, Duration: 10},                   // 9
		{Kind: cmdSideEffect},                                              // 10
		{Kind: cmdSlowSideEffect},                                          // 11
		{Kind: cmdRecoverTerminalCall},                                     // 12
		{Kind: cmdRecoverTerminalMaybeUnAwaited},                           // 13
		{Kind: cmdAwaitPromise, Index: 13},                                 // 14
		{Kind: cmdResolveAwakeable},                                        // 15
		{Kind: cmdAwaitPromise, Index: 15},                                 // 16
		{Kind: cmdRejectAwakeable},                                         // 17
		{Kind: cmdAwaitPromise, Index: 17},                                 // 18
		{Kind: cmdIncrementStateCounterIndirectly},                         // 19
		{Kind: cmdIncrementStateCounterViaAwakeable},                       // 20
		{Kind: cmdCallNextLayerObject, Key: 7, Program: &incrementProgram}, // 21
		{Kind: cmdAwaitPromise, Index: 21},                                 // 22
	}
	if _, err := sdktest.Call[sdk.Void](env, sdk.ToObject(interpreterName(0), "k", "interpret"), program{Commands: cmds}); err != nil {
		t.Fatalf("interpret: %v", err)
	}
	waitCounter(t, env, 0, "k", 4)
	waitCounter(t, env, 1, "7", 1)
}

// TestInterpreterAwaitUnknownPromise: awaiting a command index that made no promise is a
// terminal error.
func TestInterpreterAwaitUnknownPromise(t *testing.T) {
	env := startEverything(t)
	_, err := sdktest.Call[sdk.Void](env, sdk.ToObject(interpreterName(0), "k", "interpret"),
		program{Commands: []interpreterCommand{{Kind: cmdAwaitPromise, Index: 3}}})
	if code := sdk.ErrorCode(err); code != 500 {
		t.Fatalf("interpret: %v (code %d), want a terminal 500", err, code)
	}
}
