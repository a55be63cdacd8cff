package main

import (
	"os"
	"strings"

	"github.com/resolute-run/resolute/sdk"
)

// UpgradeTest (sdk-go test-services): answers the version in E2E_UPGRADETEST_VERSION, to tell
// which deployment ran an invocation.
const upgradeTest = "UpgradeTest"

func upgradeVersion() string { return strings.TrimSpace(os.Getenv("E2E_UPGRADETEST_VERSION")) }

func init() {
	registry.add(upgradeTest, sdk.NewService(upgradeTest).
		Handler("executeSimple", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			return upgradeVersion(), nil
		})).
		// executeComplex waits for an awakeable held by AwakeableHolder "upgrade", then appends
		// its version to ListObject "upgrade-test"; only v1 may start it.
		Handler("executeComplex", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
			if upgradeVersion() != "v1" {
				return "", sdk.RetryableErrorf(500, "executeComplex should not be invoked with version different from 1!")
			}
			a := sdk.Awakeable[string](ctx)
			sdk.Send(ctx, sdk.ToObject(awakeableHolder, "upgrade", "hold"), a.ID())
			if _, err := a.Result(); err != nil {
				return "", err
			}
			sdk.Send(ctx, sdk.ToObject(listObject, "upgrade-test", "append"), upgradeVersion())
			return upgradeVersion(), nil
		})))
}
