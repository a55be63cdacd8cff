//go:build chaosplant_rerun

package sdk

// A planted bug for the chaos checker (see chaosplant.go): on replay, Run
// executes its body again and discards the result.
const rerunJournaledRuns = true
