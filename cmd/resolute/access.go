package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/resolute-run/resolute/runtime/server"
)

// accessFlags are the bearer token files of `resolute server`. `resolute dev` has none: access
// control is never on there.
type accessFlags struct {
	adminTokensFile, ingressTokensFile string
}

func (a *accessFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&a.adminTokensFile, "admin-tokens-file", "", "file of bearer tokens the admin API accepts, one per line (empty: no token needed)")
	fl.StringVar(&a.ingressTokensFile, "ingress-tokens-file", "", "file of bearer tokens the ingress accepts, one per line (empty: no token needed)")
}

// apply reads the token files into cfg.
func (a *accessFlags) apply(cfg *server.Config) error {
	var err error
	if cfg.AdminTokens, err = readTokens("--admin-tokens-file", a.adminTokensFile); err != nil {
		return err
	}
	cfg.IngressTokens, err = readTokens("--ingress-tokens-file", a.ingressTokensFile)
	return err
}

// readTokens reads one token per line; blank lines and lines starting with # are skipped. A file
// that names no token is an error, not "open to all".
func readTokens(flag, path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			tokens = append(tokens, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s %s: no token in the file", flag, path)
	}
	return tokens, nil
}
