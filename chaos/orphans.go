package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// orphanRecheck is how long the checker waits before it reads the orphans a second time: an
// invocation may be without an attempt for an instant (just started, actor restarting), an
// orphan on both reads is stuck.
const orphanRecheck = time.Second

// readAllOrphans lists the orphans every node reports (each for the
// partitions it leads), named by node in a cluster.
func readAllOrphans(ctx context.Context, nodes []*node) ([]string, error) {
	var all []string
	for _, n := range nodes {
		ids, err := readOrphans(ctx, n.admin)
		if err != nil {
			return all, fmt.Errorf("%s: %w", n.svc.name, err)
		}
		for _, id := range ids {
			if len(nodes) > 1 {
				id = fmt.Sprintf("%s on %s", id, n.svc.name)
			}
			all = append(all, id)
		}
	}
	return all, nil
}

// readOrphans lists the running invocations without an attempt that the server reports twice,
// orphanRecheck apart (GET /debug/orphans on the admin port).
func readOrphans(ctx context.Context, admin string) ([]string, error) {
	first, err := getOrphans(ctx, admin)
	if err != nil || len(first) == 0 {
		return nil, err
	}
	sleepCtx(ctx, orphanRecheck)
	second, err := getOrphans(ctx, admin)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(first, func(id string) bool { return !slices.Contains(second, id) }), nil
}

func getOrphans(ctx context.Context, admin string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/debug/orphans", nil)
	if err != nil {
		return nil, err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("orphans: status %d", resp.StatusCode)
	}
	var body struct {
		Orphans []string `json:"orphans"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	return body.Orphans, nil
}

// checkOrphans: once drained, no invocation is running without an attempt or a retry timer
// (nothing could ever finish it short of a leader change).
func checkOrphans(r *run) Check {
	c := Check{Name: "every running invocation has an attempt"}
	switch {
	case r.orphans.err != nil:
		c.Detail = "could not ask the server: " + r.orphans.err.Error()
	case len(r.orphans.ids) > 0:
		c.Detail = fmt.Sprintf("%d running without an attempt: %s", len(r.orphans.ids), listed(r.orphans.ids))
	default:
		c.OK, c.Detail = true, "none running without an attempt after the drain"
	}
	return c
}
