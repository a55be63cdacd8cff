package main

import "github.com/resolute-run/resolute/sdk"

// BlockAndWaitWorkflow (contracts/BlockAndWaitWorkflow.kt): run stores its input and waits for
// a durable promise that unblock resolves.
const blockAndWait = "BlockAndWaitWorkflow"

func init() {
	const stateKey, promiseName = "my-state", "durable-promise"
	registry.add(blockAndWait, sdk.NewWorkflow(blockAndWait).
		Handler("run", sdk.WorkflowHandler(func(ctx sdk.WorkflowContext, input string) (string, error) {
			if err := sdk.Set(ctx, stateKey, input); err != nil {
				return "", err
			}
			p := sdk.Promise[string](ctx, promiseName)
			out, err := p.Result()
			if err != nil {
				return "", err
			}
			if _, ok, err := p.Peek(); err != nil || !ok {
				return "", sdk.TerminalErrorf(500, "Durable promise should be completed (peek: %v)", err)
			}
			return out, nil
		})).
		Handler("unblock", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, output string) (sdk.Void, error) {
			return sdk.Void{}, sdk.Promise[string](ctx, promiseName).Resolve(output)
		})).
		Handler("getState", sdk.WorkflowSharedHandler(func(ctx sdk.WorkflowSharedContext, _ sdk.Void) (*string, error) {
			v, ok, err := sdk.Lookup[string](ctx, stateKey)
			if !ok || err != nil {
				return nil, err
			}
			return &v, nil
		})))
}
