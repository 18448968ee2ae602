package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
	"golang.org/x/net/proxy"
)

// TestMetricsPassPromtool scrapes /metrics from a running daemon with no
// ruleset, with a Lua ruleset and with a route table, each after one
// proxied connection, and checks the body with promtool, Prometheus's own
// parser and linter. It also checks which families each engine exports:
// the Lua gauges only with Lua, the rule hits only with a route table, and
// the process CPU time once.
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool (Debian package prometheus) is not installed")
	}
	target := testkit.EchoServer(t)
	dir := t.TempDir()
	lua := filepath.Join(dir, "ruleset.lua")
	luaBody := fmt.Sprintf(`local ruleset = {}
function ruleset.route(addr) return %q end
function ruleset.metrics() return "# HELP my_routes_total Routes.\n# TYPE my_routes_total counter\nmy_routes_total 1\n" end
return ruleset
`, target)
	table := filepath.Join(dir, "rules.nrt")
	tableBody := "route { cidr 127.0.0.0/8 => direct tag local }\ndefault => reject\n"
	for path, body := range map[string]string{lua: luaBody, table: tableBody} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	const n = "neosocksd_"
	tests := []struct {
		name   string
		args   []string
		want   []string // families that must be exported
		absent []string // families that must not be
	}{
		{
			name:   "no ruleset",
			want:   []string{n + "process_cpu_seconds_total", n + "connect_latency_seconds", n + "build_info"},
			absent: []string{"process_cpu_seconds_total", n + "lua_memory_bytes", n + "lua_objects", n + "lua_threads_active", n + "lua_threads_peak", n + "rule_hits_total"},
		},
		{
			name:   "lua",
			args:   []string{"-r", lua},
			want:   []string{n + "lua_memory_bytes", n + "lua_objects", n + "lua_threads_active", n + "lua_threads_peak", "my_routes_total"},
			absent: []string{"process_cpu_seconds_total", n + "rule_hits_total"},
		},
		{
			name:   "route table",
			args:   []string{"-r", table},
			want:   []string{n + "rule_hits_total"},
			absent: []string{"process_cpu_seconds_total", n + "rule_hits", n + "lua_memory_bytes", n + "lua_threads_peak"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-l", "127.0.0.1:0", "--api", "127.0.0.1:0"}, tc.args...)
			d := startDaemon(t, 2, args...)
			dialer, err := proxy.SOCKS5("tcp", d.addrs[0], nil, proxy.Direct)
			if err != nil {
				t.Fatal(err)
			}
			c, err := dialer.Dial("tcp", target)
			if err != nil {
				t.Fatalf("socks5 dial: %v\n%s", err, d.log)
			}
			c.Close()

			body := scrapeMetrics(t, "http://"+d.addrs[1]+"/metrics")
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(body)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool check metrics: %v\n%s\nbody:\n%s", err, out, body)
			}
			for _, f := range tc.want {
				if !bytes.Contains(body, []byte("\n# TYPE "+f+" ")) {
					t.Errorf("family %s missing", f)
				}
			}
			for _, f := range tc.absent {
				if bytes.Contains(body, []byte("\n# TYPE "+f+" ")) {
					t.Errorf("family %s exported", f)
				}
			}
			for _, sample := range []string{n + "connect_latency_seconds_sum ", n + "connect_latency_seconds_count 1\n"} {
				if !bytes.Contains(body, []byte("\n"+sample)) {
					t.Errorf("sample %q missing", sample)
				}
			}
			if t.Failed() {
				t.Logf("body:\n%s", body)
			}
		})
	}
}

// scrapeMetrics GETs url and returns the body of a 200 response.
func scrapeMetrics(t *testing.T, url string) []byte {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	return body
}
