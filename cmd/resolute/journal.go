package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/invoker"
	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/sdk/replay"
)

// journalCommand is `resolute journal export`: an invocation's journal from a running server, as
// a file for the replay tester (sdk/replay).
func journalCommand() *cobra.Command {
	journal := &cobra.Command{Use: "journal", Short: "Work with invocation journals"}
	var admin, token, id, out string
	export := &cobra.Command{
		Use:   "export --id inv_… [--admin URL] [--output FILE]",
		Short: "Write an invocation's journal as a replay file (sdk/replay's format)",
		Long: `Reads the journal of one invocation through the admin API (POST /query over sys_invocation
and sys_journal) and writes it as JSON in sdk/replay's journal format, to check a handler
change against it (replay.Check, replay.RequireDeterministic). The journal must still be
stored: while the invocation runs or is suspended, and after it completed only if its service
retains journals (journal_retention).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			if token == "" {
				token = os.Getenv("RESTATE_AUTH_TOKEN")
			}
			j, err := exportJournal(ctx, http.DefaultClient, admin, token, id)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				return j.Write(cmd.OutOrStdout())
			}
			return j.WriteFile(out)
		},
	}
	fl := export.Flags()
	fl.StringVar(&admin, "admin", envOr("RESTATE_ADMIN_URL", "http://127.0.0.1:9070"), "the server's admin API (the default is $RESTATE_ADMIN_URL when set)")
	fl.StringVar(&token, "token", "", "bearer token of the admin API, when it requires one (default $RESTATE_AUTH_TOKEN; not shown here)")
	fl.StringVar(&id, "id", "", "the invocation id (inv_…)")
	fl.StringVarP(&out, "output", "o", "", "the file to write (default standard output)")
	_ = export.MarkFlagRequired("id")
	journal.AddCommand(export)
	return journal
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// exportJournal reads invocation id's target, protocol version and journal from the server at
// admin. The random seed is the server's own (invoker.RandomSeed), which it does not store.
func exportJournal(ctx context.Context, c *http.Client, admin, token, id string) (*replay.Journal, error) {
	invID, err := ids.ParseInvocationID(id) // also keeps the id safe to quote in SQL
	if err != nil {
		return nil, err
	}
	inv, err := query(ctx, c, admin, token, "select target_service_name, target_service_key, target_handler_name, pinned_service_protocol_version from sys_invocation where id = '"+id+"'")
	if err != nil {
		return nil, err
	}
	if len(inv) == 0 {
		return nil, fmt.Errorf("invocation %s: not found", id)
	}
	j := &replay.Journal{
		Format:          replay.Format,
		InvocationID:    id,
		Service:         str(inv[0]["target_service_name"]),
		Key:             str(inv[0]["target_service_key"]),
		Handler:         str(inv[0]["target_handler_name"]),
		ProtocolVersion: int(protocol.MaxVersion), // until an attempt pinned one
		RandomSeed:      invoker.RandomSeed(invID),
	}
	if v, ok := inv[0]["pinned_service_protocol_version"].(json.Number); ok {
		n, err := v.Int64()
		if err != nil {
			return nil, fmt.Errorf("invocation %s: pinned_service_protocol_version %v: %w", id, v, err)
		}
		j.ProtocolVersion = int(n)
	}
	rows, err := query(ctx, c, admin, token, "select index, entry_type, raw from sys_journal where id = '"+id+"' order by index")
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("invocation %s: no journal stored (completed without journal retention, or purged)", id)
	}
	for _, row := range rows {
		e, err := journalEntry(row)
		if err != nil {
			return nil, fmt.Errorf("invocation %s: %w", id, err)
		}
		j.Entries = append(j.Entries, e)
	}
	if err := j.Validate(); err != nil {
		return nil, fmt.Errorf("invocation %s: %w", id, err)
	}
	return j, nil
}

// journalEntry turns a sys_journal row (index, entry_type, raw in hex) into an entry.
func journalEntry(row map[string]any) (replay.Entry, error) {
	idx, err := row["index"].(json.Number).Int64()
	if err != nil {
		return replay.Entry{}, fmt.Errorf("sys_journal index %v: %w", row["index"], err)
	}
	name := str(row["entry_type"])
	t, ok := protocol.TypeOfJournalName(name)
	if !ok {
		return replay.Entry{}, fmt.Errorf("sys_journal entry %d: unknown entry_type %q", idx, name)
	}
	raw, err := hex.DecodeString(str(row["raw"]))
	if err != nil {
		return replay.Entry{}, fmt.Errorf("sys_journal entry %d: raw: %w", idx, err)
	}
	return replay.Entry{Index: uint32(idx), Type: t, Raw: raw}, nil
}

// query runs sql through POST /query and returns its rows (numbers as json.Number).
func query(ctx context.Context, c *http.Client, admin, token, sql string) ([]map[string]any, error) {
	body, _ := json.Marshal(map[string]string{"query": sql})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(admin, "/")+"/query", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", admin, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", admin, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query %s: %s: %s", admin, resp.Status, bytes.TrimSpace(b))
	}
	var res struct {
		Rows []map[string]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("query %s: decode the answer: %w", admin, err)
	}
	return res.Rows, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
