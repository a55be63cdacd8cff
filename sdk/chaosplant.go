//go:build !chaosplant_rerun

package sdk

// rerunJournaledRuns is true only in a deployment built with the
// chaosplant_rerun tag (chaosplant_rerun.go): a planted bug, Run executing
// its body again on replay although its result is journaled, that the chaos
// checker must reject (package chaos, TestPlantedBugs).
const rerunJournaledRuns = false
