package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRouteTableAPI: a daemon running a route table answers the API's
// code-running endpoints as the README says, since the table has none of
// the optional abilities, and still takes an update.
func TestRouteTableAPI(t *testing.T) {
	table := filepath.Join(t.TempDir(), "rules.nrt")
	if err := os.WriteFile(table, []byte("default => reject\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, 2, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0", "-r", table)
	client := http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		name  string
		path  string
		ctype string
		body  string
		code  int
		want  *regexp.Regexp
	}{
		{name: "invoke", path: "/ruleset/invoke", body: "return 1", code: 500, want: regexp.MustCompile(`^ruleset runs no code$`)},
		{name: "rpcall", path: "/ruleset/rpcall", ctype: "application/x-neosocksd-rpc; version=1", body: "return 1", code: 500, want: regexp.MustCompile(`^rpcall did not return$`)},
		{name: "gc", path: "/ruleset/gc", code: 200, want: regexp.MustCompile(`^Difference +: 0 \(0 objects\)\nRuleset Allocated +: 0 \(0 objects\)\n`)},
		{name: "update", path: "/ruleset/update", body: "default => direct\n", code: 200, want: regexp.MustCompile(`^Time Cost +: \S+\n$`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "text/plain"
			}
			resp, err := client.Post("http://"+d.addrs[1]+tc.path, ctype, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != tc.code || !tc.want.Match(body) {
				t.Fatalf("%d %v %q", resp.StatusCode, err, body)
			}
		})
	}
}
