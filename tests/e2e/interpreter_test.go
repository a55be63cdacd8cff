//go:build linux

package e2e

// The contract of VirtualObjectCommandInterpreter and TestUtilsService (restatedev/e2e
// sdk-tests contracts/VirtualObjectCommandInterpreter.kt and TestUtilsService.kt), shared by
// Combinators and Signals.

const (
	interpreter = "VirtualObjectCommandInterpreter"
	testUtils   = "TestUtilsService"
)

// command is one interpreter command, serialized as upstream's kotlinx sealed classes:
// {"type": "<SerialName>", …fields}.
type command map[string]any

// Awaitable commands.
func createAwakeable(key string) command {
	return command{"type": "createAwakeable", "awakeableKey": key}
}
func sleepCmd(ms int64) command { return command{"type": "sleep", "timeoutMillis": ms} }
func runReturns(v string) command {
	return command{"type": "runReturns", "value": v}
}
func runThrowTerminalException(reason string) command {
	return command{"type": "runThrowTerminalException", "reason": reason}
}
func createSignal(name string) command { return command{"type": "createSignal", "signalName": name} }

// Commands.
func awaitAny(cs ...command) command { return command{"type": "awaitAny", "commands": cs} }
func awaitAnySuccessful(cs ...command) command {
	return command{"type": "awaitAnySuccessful", "commands": cs}
}
func awaitOne(c command) command { return command{"type": "awaitOne", "command": c} }
func awaitAwakeableOrTimeout(key string, ms int64) command {
	return command{"type": "awaitAwakeableOrTimeout", "awakeableKey": key, "timeoutMillis": ms}
}
func awaitFirstSucceededOrAllFailed(cs ...command) command {
	return command{"type": "awaitFirstSucceededOrAllFailed", "commands": cs}
}
func awaitFirstCompleted(cs ...command) command {
	return command{"type": "awaitFirstCompleted", "commands": cs}
}
func awaitAllSucceededOrFirstFailed(cs ...command) command {
	return command{"type": "awaitAllSucceededOrFirstFailed", "commands": cs}
}
func awaitAllCompleted(cs ...command) command {
	return command{"type": "awaitAllCompleted", "commands": cs}
}

// interpretRequest is InterpretRequest(commands).
func interpretRequest(cs ...command) map[string]any { return map[string]any{"commands": cs} }

// interpreterPath is the path of handler on the interpreter object key.
func interpreterPath(key, handler string) string {
	return "/" + interpreter + "/" + key + "/" + handler
}

// signalRequest is TestUtilsService's ResolveSignalRequest (value) or RejectSignalRequest
// (reason).
type signalRequest struct {
	InvocationID string `json:"invocationId"`
	SignalName   string `json:"signalName"`
	Value        string `json:"value,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// resolveSignal and rejectSignal call TestUtilsService with an idempotency key, as upstream.
func (d *deployment) resolveSignal(id, name, value string) reply {
	return d.call("/"+testUtils+"/resolveSignal", signalRequest{InvocationID: id, SignalName: name, Value: value}, idempotent())
}

func (d *deployment) rejectSignal(id, name, reason string) reply {
	return d.call("/"+testUtils+"/rejectSignal", signalRequest{InvocationID: id, SignalName: name, Reason: reason}, idempotent())
}
