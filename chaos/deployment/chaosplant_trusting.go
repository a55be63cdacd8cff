//go:build chaosplant_trusting

package deployment

// Planted bugs for the chaos checker (see chaosplant.go): Workflowish.await
// goes on at once, as if its awakeable had completed with "planted", before
// anyone resolved it; Promised's complete reports a refused completion (the
// promise was completed already) as a success, as if the promise had been
// completed twice.
const plantTrusting = true
