package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/testkit"
	"golang.org/x/net/proxy"
)

// binPath is the daemon built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "neosocksd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "neosocksd")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runOnce runs the daemon to completion and returns its exit status and
// output.
func runOnce(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return 0, "", ""
}

func TestCommandLineExits(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
		stdout string
	}{
		{"help", []string{"--help"}, 1, "usage", ""},
		{"short help", []string{"-l", "127.0.0.1:0", "-h"}, 1, "usage", ""},
		{"unknown argument", []string{"--bogus"}, 1, "unknown argument: `--bogus'", ""},
		{"missing argument", []string{"-l"}, 1, "requires an argument", ""},
		{"no listener", []string{"--api", "127.0.0.1:0"}, 1, "listen address is not specified", ""},
		{"timeout out of range", []string{"-l", "127.0.0.1:0", "-t", "1"}, 1, "timeout is out of range", ""},
		{"bad loglevel", []string{"-l", "127.0.0.1:0", "--loglevel", "x"}, 1, "argument error: --loglevel `x'", ""},
		{"bad log format", []string{"-l", "127.0.0.1:0", "--log-format", "xml"}, 1, "argument error: --log-format `xml'", ""},
		{"bad proxy", []string{"-l", "127.0.0.1:0", "-x", "socks6://h:1"}, 1, "unable to parse outbound configuration", ""},
		{"bad forward", []string{"-l", "127.0.0.1:0", "-f", "::1:80"}, 1, "unable to parse outbound configuration", ""},
		{"dump config", []string{"-l", "127.0.0.1:1080", "--dump-config"}, 0, "", "    listen = \"127.0.0.1:1080\",\n"},
		{"dump config fails check", []string{"--dump-config"}, 1, "configuration check failed", ""},
		{"auth without ruleset", []string{"-l", "127.0.0.1:0", "--auth-required"}, 1, "authentication requires a ruleset", ""},
		{"bind failure", []string{"-l", "192.0.2.1:1"}, 1, "failed to start server", ""},
		{"missing token file", []string{"-l", "127.0.0.1:0", "--api", "127.0.0.1:0", "--api-token-file", "/nonexistent/token"}, 1, "api token", ""},
		{"empty token file name", []string{"-l", "127.0.0.1:0", "--api-token-file", ""}, 1, "argument error: --api-token-file", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, stdout, stderr := runOnce(t, tc.args...)
			if status != tc.status {
				t.Fatalf("status %d, want %d\nstderr: %s", status, tc.status, stderr)
			}
			if !strings.Contains(strings.ToLower(stderr), strings.ToLower(tc.stderr)) {
				t.Fatalf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Fatalf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
		})
	}
}

// daemonProc is a running daemon with the addresses it logged.
type daemonProc struct {
	cmd   *exec.Cmd
	addrs []string // "listen: " lines in order: -l, --http, --api
	done  chan error
	mu    sync.Mutex    // guards log while the daemon runs
	log   *bytes.Buffer // complete once stop has returned
	lines chan string   // log lines as they come, for waitLog (dropped when full)
}

// logSnapshot returns what the daemon has logged so far.
func (d *daemonProc) logSnapshot() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

var listenLine = regexp.MustCompile(`listen: (\S+)`)

// startDaemon starts the daemon and waits until it has logged n listen
// lines.
func startDaemon(t testing.TB, n int, args ...string) *daemonProc {
	t.Helper()
	return startDaemonStdin(t, nil, n, args...)
}

// startDaemonStdin is startDaemon with the daemon's standard input read
// from stdin (nil: the null device).
func startDaemonStdin(t testing.TB, stdin *os.File, n int, args ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"--loglevel", "5"}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, done: make(chan error, 1), log: new(bytes.Buffer), lines: make(chan string, 1024)}
	found := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.log.WriteString(line + "\n")
			d.mu.Unlock()
			select {
			case d.lines <- line:
			default:
			}
			if m := listenLine.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		close(found)
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-d.done
	})
	deadline := time.After(15 * time.Second)
	for len(d.addrs) < n {
		select {
		case a, ok := <-found:
			if !ok {
				t.Fatalf("daemon exited before listening:\n%s", d.log)
			}
			d.addrs = append(d.addrs, a)
		case <-deadline:
			t.Fatalf("daemon did not listen in time:\n%s", d.log)
		}
	}
	return d
}

// waitLog waits until the daemon logs a line containing text.
func (d *daemonProc) waitLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case line := <-d.lines:
			if strings.Contains(line, text) {
				return
			}
		case <-deadline:
			t.Fatalf("the daemon did not log %q", text)
		}
	}
}

// waitLogCount waits until the daemon's log holds text n times. A line
// the daemon wrote before it answered a client is not necessarily read
// from its pipe by the time the client has the answer: counting in a
// snapshot then would race with the reader goroutine. Each line read
// wakes the wait; a line dropped from d.lines, which is full, is found
// by the check after one of those queued before it is received.
func (d *daemonProc) waitLogCount(t *testing.T, text string, n int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for strings.Count(d.logSnapshot(), text) < n {
		select {
		case <-d.lines:
		case <-deadline:
			t.Fatalf("the daemon logged %q %d times, want %d\n%s",
				text, strings.Count(d.logSnapshot(), text), n, d.logSnapshot())
		}
	}
}

// stop sends sig and returns the exit status.
func (d *daemonProc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case err := <-d.done:
		d.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop")
	}
	return -1
}

func TestDaemonServesAndStops(t *testing.T) {
	target := testkit.EchoServer(t)
	d := startDaemon(t, 3, "-l", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api", "127.0.0.1:0")

	dialer, err := proxy.SOCKS5("tcp", d.addrs[0], nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialer.Dial("tcp", target)
	if err != nil {
		t.Fatalf("socks5 dial: %v\n%s", err, d.log)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through proxy: %q %v", buf, err)
	}
	c.Close()

	resp, err := http.Get("http://" + d.addrs[2] + "/healthy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthy = %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + d.addrs[2] + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Uptime") {
		t.Fatalf("/stats body:\n%s", body)
	}
	if st := d.stop(t, syscall.SIGTERM); st != 0 {
		t.Fatalf("exit status %d after SIGTERM\n%s", st, d.log)
	}
	if !strings.Contains(d.log.String(), "server shutdown gracefully") {
		t.Fatalf("no shutdown notice:\n%s", d.log)
	}
}

func TestDaemonRulesetReload(t *testing.T) {
	target := testkit.EchoServer(t)
	dir := t.TempDir()
	rs := filepath.Join(dir, "ruleset.lua")
	write := func(body string) {
		if err := os.WriteFile(rs, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`local ruleset = {}
function ruleset.resolve(addr) return nil end
function ruleset.route(addr) return nil end
function ruleset.route6(addr) return nil end
return ruleset`)
	d := startDaemon(t, 1, "-l", "127.0.0.1:0", "-r", rs)
	dialer, _ := proxy.SOCKS5("tcp", d.addrs[0], nil, proxy.Direct)
	if c, err := dialer.Dial("tcp", target); err == nil {
		c.Close()
		t.Fatal("ruleset that rejects everything let a request through")
	}
	write(fmt.Sprintf(`local ruleset = {}
function ruleset.resolve(addr) return %q end
function ruleset.route(addr) return %q end
function ruleset.route6(addr) return %q end
return ruleset`, target, target, target))
	d.cmd.Process.Signal(syscall.SIGHUP)
	var c net.Conn
	var err error
	for i := 0; i < 100; i++ { // the reload is asynchronous: poll, bounded
		if c, err = dialer.Dial("tcp", "192.0.2.1:9"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after reload: %v\n%s", err, d.log)
	}
	c.Close()
	if st := d.stop(t, syscall.SIGINT); st != 0 {
		t.Fatalf("exit status %d", st)
	}
}

func TestDumpConfigRoundTrip(t *testing.T) {
	status, out, stderr := runOnce(t, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0", "-t", "30.5", "--dump-config")
	if status != 0 {
		t.Fatalf("dump: %d %s", status, stderr)
	}
	if !strings.Contains(out, "    timeout = 30.5,\n") {
		t.Fatalf("dump lacks the timeout:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), "config.lua")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	// The dump is valid Lua that -c reads back: the daemon listens where it says.
	d := startDaemon(t, 2, "-c", path)
	resp, err := http.Get("http://" + d.addrs[1] + "/healthy")
	if err != nil {
		t.Fatalf("api from -c config: %v\n%s", err, d.log)
	}
	resp.Body.Close()
	if st := d.stop(t, syscall.SIGTERM); st != 0 {
		t.Fatalf("exit status %d", st)
	}
}

// bannerServer greets every connection with its banner and closes it.
func bannerServer(t *testing.T, banner string) string {
	t.Helper()
	return testkit.Serve(t, func(c net.Conn) { io.WriteString(c, banner) })
}

func TestConfigReloadChangesForwardTarget(t *testing.T) {
	first, second := bannerServer(t, "first"), bannerServer(t, "second")
	path := filepath.Join(t.TempDir(), "config.lua")
	write := func(target string) {
		body := fmt.Sprintf("return { listen = \"127.0.0.1:0\", forward = %q, loglevel = 5 }\n", target)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func(proxyAddr string) string {
		c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	write(first)
	d := startDaemon(t, 1, "-c", path)
	if got := read(d.addrs[0]); got != "first" {
		t.Fatalf("before reload: %q\n%s", got, d.log)
	}
	write(second)
	d.cmd.Process.Signal(syscall.SIGHUP)
	got := ""
	for i := 0; i < 100 && got != "second"; i++ { // the reload is asynchronous: poll, bounded
		if got = read(d.addrs[0]); got != "second" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got != "second" {
		t.Fatalf("after reload the forward target is still %q\n%s", got, d.log)
	}
	if st := d.stop(t, syscall.SIGTERM); st != 0 {
		t.Fatalf("exit status %d", st)
	}
}

// TestSecondSignalEndsStuckDaemon stops a daemon whose ruleset is stuck in
// a native call that no execution budget can interrupt (a read of the
// daemon's standard input, a pipe nobody writes to): the first SIGINT or
// SIGTERM starts the shutdown, which then waits for the VM; the second
// must end the process. Two different signals are sent, because the Go
// runtime merges a signal that arrives while the same one is pending.
func TestSecondSignalEndsStuckDaemon(t *testing.T) {
	rs := filepath.Join(t.TempDir(), "stuck.lua")
	if err := os.WriteFile(rs, []byte(`local ruleset = {}
local function stuck() io.read() end
function ruleset.resolve(addr) stuck() end
function ruleset.route(addr) stuck() end
function ruleset.route6(addr) stuck() end
return ruleset`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		reload bool // a SIGHUP first: the main goroutine waits in the reload
	}{
		{name: "while shutting down"},
		{name: "while reloading", reload: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, dropped := startStuckDaemon(t, rs)

			if tc.reload {
				d.cmd.Process.Signal(syscall.SIGHUP)
			}
			d.cmd.Process.Signal(syscall.SIGTERM)
			if !tc.reload {
				// the shutdown has begun: the stuck session is dropped
				select {
				case <-dropped:
				case <-time.After(15 * time.Second):
					t.Fatalf("the first signal did not start the shutdown\n%s", d.logSnapshot())
				}
			}
			if st := d.stop(t, syscall.SIGINT); st != 0 {
				t.Fatalf("exit status %d\n%s", st, d.logSnapshot())
			}
			if !strings.Contains(d.logSnapshot(), "second signal: exiting now") {
				t.Fatalf("not ended by the second signal:\n%s", d.logSnapshot())
			}
		})
	}
}

// TestShutdownLeavesAStuckVM sends one SIGTERM to a daemon whose ruleset
// is stuck in a read of its standard input: the shutdown must not wait for
// the VM for ever.
func TestShutdownLeavesAStuckVM(t *testing.T) {
	rs := filepath.Join(t.TempDir(), "stuck.lua")
	if err := os.WriteFile(rs, []byte(`local ruleset = {}
function ruleset.resolve(addr) io.read() end
return ruleset`), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ := startStuckDaemon(t, rs)
	if st := d.stop(t, syscall.SIGTERM); st != 0 {
		t.Fatalf("exit status %d\n%s", st, d.logSnapshot())
	}
	if !strings.Contains(d.logSnapshot(), "exiting without closing it") {
		t.Fatalf("no word of the stuck VM:\n%s", d.logSnapshot())
	}
}

// startStuckDaemon starts the daemon with the ruleset rs, whose callbacks
// read the daemon's standard input (a pipe nobody writes to), and sends one
// SOCKS5 request that gets stuck there. It returns once the daemon has
// logged the stuck VM; the request's outcome arrives on dropped when the
// daemon drops it.
func startStuckDaemon(t *testing.T, rs string) (d *daemonProc, dropped <-chan error) {
	t.Helper()
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	d = startDaemonStdin(t, stdin, 1, "-l", "127.0.0.1:0", "-r", rs)
	stdin.Close()
	dialer, err := proxy.SOCKS5("tcp", d.addrs[0], nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := dialer.Dial("tcp", "stuck.test:80")
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	d.waitLog(t, "ruleset stuck in native code")
	return d, done
}

// TestRequestsFlowWhileACallbackIsAborted keeps one Lua-routed request at
// a time stuck in a pathological pattern (each is aborted at the end of
// its budget) while other requests go through the proxy and /healthy is
// polled: every one of them must be served. Their waits are logged.
func TestRequestsFlowWhileACallbackIsAborted(t *testing.T) {
	target := testkit.EchoServer(t)
	rs := filepath.Join(t.TempDir(), "ruleset.lua")
	if err := os.WriteFile(rs, []byte(fmt.Sprintf(`local ruleset = {}
function ruleset.resolve(addr)
	if neosocksd.splithostport(addr) == "stuck.test" then
		string.find(string.rep("a", 3000), string.rep("a-", 12) .. "b")
	end
	return %q
end
return ruleset`, target)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, 2, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0", "-r", rs, "-t", "10")
	dialer, err := proxy.SOCKS5("tcp", d.addrs[0], nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}

	const rounds = 3
	stuckDone := make(chan struct{})
	go func() {
		defer close(stuckDone)
		// the test's context ends these dials if the test stops early
		for range rounds {
			if c, err := dialer.(proxy.ContextDialer).DialContext(t.Context(), "tcp", "stuck.test:80"); err == nil {
				c.Close()
			}
		}
	}()
	t.Cleanup(func() { <-stuckDone })

	var served int
	var worstDial, worstHealthy time.Duration
	for i := 0; i < 100; i++ {
		select {
		case <-stuckDone:
			i = 100
			continue
		default:
		}
		start := time.Now()
		c, err := dialer.Dial("tcp", "ok.test:80")
		if err != nil {
			t.Fatalf("request %d not served: %v\n%s", i, err, d.logSnapshot())
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "ping")
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		c.Close()
		if err != nil || string(buf) != "ping" {
			t.Fatalf("request %d: echo %q %v", i, buf, err)
		}
		worstDial = max(worstDial, time.Since(start))

		start = time.Now()
		resp, err := http.Get("http://" + d.addrs[1] + "/healthy")
		if err != nil {
			t.Fatalf("/healthy %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/healthy %d: status %d", i, resp.StatusCode)
		}
		worstHealthy = max(worstHealthy, time.Since(start))
		served++
	}
	<-stuckDone
	// each abort is logged before its request is refused, but the line
	// may still be on its way through the pipe
	d.waitLogCount(t, "execution budget exceeded", rounds)
	t.Logf("%d requests and /healthy calls served while %d callbacks were aborted; longest wait: request %v, /healthy %v",
		served, rounds, worstDial.Round(time.Millisecond), worstHealthy.Round(time.Millisecond))
}

// apiStatus sends a GET with an optional Authorization header to the
// daemon's API and returns the status.
func apiStatus(t *testing.T, url, authorization string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestDaemonAPIToken(t *testing.T) {
	const token = "daemon-token-7f3a"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	locked := startDaemon(t, 2, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0", "--api-token-file", file)
	open := startDaemon(t, 2, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0", "--api-token-file", file, "--api-metrics-open")
	plain := startDaemon(t, 2, "-l", "127.0.0.1:0", "--api", "127.0.0.1:0")
	tests := []struct {
		name string
		d    *daemonProc
		path string
		auth string
		want int
	}{
		{"healthy is open", locked, "/healthy", "", 200},
		{"stats needs the token", locked, "/stats", "", 401},
		{"stats with the token", locked, "/stats", "Bearer " + token, 200},
		{"stats with another token", locked, "/stats", "Bearer " + token + "0", 401},
		{"metrics needs the token", locked, "/metrics", "", 401},
		{"metrics open", open, "/metrics", "", 200},
		{"stats stays locked with metrics open", open, "/stats", "", 401},
		{"without the option the API is open", plain, "/stats", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiStatus(t, "http://"+tc.d.addrs[1]+tc.path, tc.auth); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}
