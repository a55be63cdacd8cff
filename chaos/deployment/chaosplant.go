//go:build !chaosplant_trusting

package deployment

// plantTrusting is true only in a deployment built with the
// chaosplant_trusting tag (chaosplant_trusting.go): planted bugs that the
// chaos checker must reject (package chaos, TestPlantedBugs).
const plantTrusting = false
