package main

import (
	"bufio"
	"bytes"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/agg"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
)

// asMain makes the test binary act as nsbench: the driver runs its own
// executable for the sink and the load client, which under go test is
// this binary.
const asMain = "NSBENCH_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestSplitVs(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		a, b  string
		hasB  bool
	}{
		{name: "one system", words: []string{"nsd", "-l", "x"}, a: "nsd -l x"},
		{name: "two systems", words: []string{"c", "-l", "x", "--vs", "nsd", "-l", "x"}, a: "c -l x", b: "nsd -l x", hasB: true},
		{name: "empty B", words: []string{"c", "--vs"}, a: "c", hasB: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, hasB := splitVs(tc.words)
			if strings.Join(a, " ") != tc.a || strings.Join(b, " ") != tc.b || hasB != tc.hasB {
				t.Errorf("splitVs = %q, %q, %v", a, b, hasB)
			}
		})
	}
}

// Command lines that must be refused before anything starts.
func TestRunRefuses(t *testing.T) {
	out := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{name: "no command", args: []string{"run"}, status: 2, stderr: "usage: nsbench run"},
		{name: "direct with a command", args: []string{"run", "--direct", "--", "nsd"}, status: 2, stderr: "--direct takes no command"},
		{name: "vs without a command", args: []string{"run", "--", "nsd", "--vs"}, status: 2, stderr: "--vs needs a command"},
		{name: "proxy off loopback", args: []string{"run", "-p", "192.0.2.1:1080", "--out", out, "--", "nsd"}, status: 1, stderr: "not a loopback address"},
		{name: "http off loopback", args: []string{"run", "--http", "0.0.0.0:8080", "--out", out, "--", "nsd"}, status: 1, stderr: "not a loopback address"},
		{name: "unknown protocol", args: []string{"run", "--protos", "socks6", "--", "nsd"}, status: 1, stderr: "unknown protocol"},
		{name: "unknown phase", args: []string{"run", "--phases", "warp", "--", "nsd"}, status: 1, stderr: "unknown phase"},
		{name: "same names", args: []string{"run", "--name-a", "x", "--name-b", "x", "--out", out, "--", "a", "--vs", "b"}, status: 1, stderr: "both systems are named"},
		{name: "unknown command", args: []string{"bench"}, status: 2, stderr: "unknown command"},
		{name: "sink off loopback", args: []string{"sink", "-l", "0.0.0.0:0"}, status: 1, stderr: "not a loopback address"},
		{name: "rawrelay target off loopback", args: []string{"rawrelay", "-l", "127.0.0.1:0", "-t", "192.0.2.1:80"}, status: 1, stderr: "not a loopback address"},
		{name: "load proxy off loopback", args: []string{"load", "-proxy", "192.0.2.1:1080"}, status: 1, stderr: "not a loopback address"},
		{name: "rulesetgen without output", args: []string{"rulesetgen"}, status: 2, stderr: "usage: nsbench rulesetgen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tc.args, &stdout, &stderr); got != tc.status {
				t.Errorf("status %d, want %d; stderr:\n%s", got, tc.status, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}

func TestAggCommand(t *testing.T) {
	in := filepath.Join(t.TempDir(), "raw.tsv")
	raw := "old\t1\tsetup_rate.http=100 conn/s\nnew\t1\tsetup_rate.http=90 conn/s\n" +
		"old\t2\tsetup_rate.http=200 conn/s\nnew\t2\tsetup_rate.http=220 conn/s\n"
	if err := os.WriteFile(in, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if st := run([]string{"agg", "-in", in, "-order", "new,old"}, &stdout, &stderr); st != 0 {
		t.Fatalf("status %d: %s", st, stderr.String())
	}
	// ratios old/new per round: 100/90 and 200/220 → median 1.010
	want := "new.setup_rate.http=155 conn/s\nold.setup_rate.http=150 conn/s\nratio.setup_rate.http=1.010 x\n"
	if stdout.String() != want {
		t.Errorf("agg printed:\n%s\nwant:\n%s", stdout.String(), want)
	}
}

// freePorts returns n distinct loopback TCP ports that were free a
// moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// The driver end to end, in a tiny configuration: the daemon built from
// this tree, without a ruleset and with a generated route table, two
// rounds of every phase, A B A B. Every round reports, the paired ratios
// come out, the results directory holds its files, and no proxy is left
// listening afterwards.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon and runs it four times")
	}
	dir := t.TempDir()
	nsd := filepath.Join(dir, "neosocksd")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the daemon with")
	}
	// Built as the README's Performance commands build it: static, so
	// that the suite runs that build too (cmd/neosocksd's tests run the
	// default one).
	build := exec.Command(goTool, "build", "-o", nsd, "github.com/neosocksd-go/neosocksd/cmd/neosocksd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the daemon: %v\n%s", err, out)
	}
	table := filepath.Join(dir, "bench.nrt")
	var stdout, stderr bytes.Buffer
	if st := run([]string{"rulesetgen", "-domains", "200", "-subnets", "50", "-form", "table", "-nrt", table}, &stdout, &stderr); st != 0 {
		t.Fatalf("rulesetgen: %s", stderr.String())
	}

	t.Setenv(asMain, "1")
	ports := freePorts(t, 4)
	proxy, httpAddr := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	sinkPorts := ports[2] + "," + ports[3]
	out := filepath.Join(dir, "out")
	daemon := []string{nsd, "-l", proxy, "--http", httpAddr, "--loglevel", "2"}
	args := []string{"run", "--quick", "-r", "2", "-k", "10",
		"-p", proxy, "--http", httpAddr, "--sink-ports", sinkPorts,
		"--protos", "socks5_host,http", "--name-a", "none", "--name-b", "table",
		"--load", "-bulk-warmup=20ms", "--load", "-bulk-dur=100ms", "--load", "-par=2",
		"--load", "-setup-warmup=20ms", "--load", "-setup-dur=100ms", "--load", "-setup-c=4",
		"--load", "-lat-warmup=10ms", "--load", "-lat-dur=50ms", "--load", "-settle=0s",
		"--out", out, "--"}
	args = append(append(append(args, daemon...), "--vs"), append(daemon, "-r", table)...)
	stdout.Reset()
	stderr.Reset()
	if st := run(args, &stdout, &stderr); st != 0 {
		logs, _ := os.ReadFile(filepath.Join(out, "load.log"))
		t.Fatalf("run: status %d\nstderr:\n%s\nload.log:\n%s", st, stderr.String(), logs)
	}
	got := map[string]float64{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if m, v, _, ok := agg.ParseMetric(sc.Text()); ok {
			got[m] = v
		}
	}
	for _, m := range []string{
		"none.idle_tunnels", "table.idle_tunnels",
	} {
		if got[m] != 10 {
			t.Errorf("%s = %v, want 10", m, got[m])
		}
	}
	for _, m := range []string{
		"ratio.setup_rate.socks5_host", "ratio.setup_rate.sc_http", "ratio.cpu_per_conn.http",
		"ratio.bulk_down_2", "ratio.hs_p99.socks5_host", "ratio.hwm_end",
	} {
		if v, ok := got[m]; !ok || !(v > 0) {
			t.Errorf("%s = %v (printed: %v), want a positive ratio", m, v, ok)
		}
	}
	// RSS per tunnel over 10 tunnels is within the noise of a collection
	// returning memory between the readings, so either round's value (and
	// the ratio) may come out negative; it must only be printed, as a number.
	if v, ok := got["ratio.rss_per_tunnel"]; !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		t.Errorf("ratio.rss_per_tunnel = %v (printed: %v), want a number", v, ok)
	}
	rawTSV, err := os.ReadFile(filepath.Join(out, "raw.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"none\t1\t", "table\t1\t", "none\t2\t", "table\t2\t"} {
		if !strings.Contains(string(rawTSV), "\n"+prefix+"setup_rate.http=") {
			t.Errorf("raw.tsv has no set-up rate for %q", prefix)
		}
	}
	for _, f := range []string{"summary.txt", "summary.md", "none.log", "table.log", "sink.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	for _, a := range []string{proxy, httpAddr} {
		if loopback.Listening(a) {
			t.Errorf("something still listens on %s after the run", a)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}
