package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"golang.org/x/net/proxy"
)

// recordLine is one text record: level letter, RFC 3339 time with
// milliseconds, message.
var recordLine = regexp.MustCompile(`^[FEWIDV] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) \S`)

// checkRecordLines fails unless every line of out is one record.
func checkRecordLines(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !recordLine.MatchString(line) {
			t.Errorf("not a record of its own: %q\nin:\n%s", line, out)
		}
	}
}

func TestLineHandlerOneLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	level := new(slog.LevelVar)
	log := slog.New(newLineHandler(&buf, level, false))
	log.Warn("reload: ruleset error: boom\nstack traceback:\n\t[C]: in ?", "err", "a\nb", "n", 3)
	log.Info("ok")
	out := buf.String()
	checkRecordLines(t, out)
	if n := strings.Count(out, "\n"); n != 2 {
		t.Fatalf("%d lines for 2 records:\n%s", n, out)
	}
	if !strings.Contains(out, `boom\nstack traceback:\n`) || !strings.Contains(out, `err="a\nb" n=3`) {
		t.Fatalf("line breaks not escaped:\n%s", out)
	}
}

func TestJSONHandler(t *testing.T) {
	var buf bytes.Buffer
	level := new(slog.LevelVar)
	level.Set(config.LevelVeryVerbose)
	log := slog.New(newJSONHandler(&buf, level))
	ctx := context.Background()
	log.Log(ctx, config.LevelFatal, "f")
	log.Log(ctx, config.LevelNotice, "listen: 127.0.0.1:1080")
	log.Log(ctx, config.LevelVerbose, "v", "client", "127.0.0.1:5", "err", errors.New("x\ny"))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{"FATAL", "NOTICE", "VERBOSE"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	ms := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, line)
		}
		if rec["level"] != want[i] {
			t.Errorf("line %d level %v, want %s", i, rec["level"], want[i])
		}
		if ts, _ := rec["time"].(string); !ms.MatchString(ts) {
			t.Errorf("line %d time %q has no milliseconds", i, ts)
		}
	}
	if !strings.Contains(lines[2], `"client":"127.0.0.1:5","err":"x\ny"`) {
		t.Errorf("attributes: %s", lines[2])
	}
}

// socks5Refused asks the daemon at proxyAddr for a port nobody listens on
// and returns that port's address.
func socks5Refused(t *testing.T, proxyAddr string) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	d, err := proxy.SOCKS5("tcp", proxyAddr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := d.Dial("tcp", refused); err == nil {
		c.Close()
		t.Fatal("dial to a closed port succeeded")
	}
	return refused
}

// TestDefaultLevelShowsFailedDial runs the daemon at the default level
// and at --loglevel 1: a refused dial is one error line with the client,
// the target and the reason at the first, nothing at the second.
func TestDefaultLevelShowsFailedDial(t *testing.T) {
	for _, tc := range []struct {
		loglevel string
		shown    bool
	}{{"4", true}, {"1", false}} {
		t.Run("loglevel "+tc.loglevel, func(t *testing.T) {
			// --loglevel 1 hides the listen line startDaemon waits for:
			// the port is chosen here, and the daemon is ready once it
			// accepts.
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			listen := ln.Addr().String()
			ln.Close()
			d := startDaemon(t, 0, "-l", listen, "--loglevel", tc.loglevel)
			for i := 0; ; i++ { // bounded poll until the daemon listens
				c, err := net.DialTimeout("tcp4", listen, time.Second)
				if err == nil {
					c.Close()
					break
				}
				if i == 200 {
					t.Fatalf("daemon not listening: %v\n%s", err, d.logSnapshot())
				}
				time.Sleep(25 * time.Millisecond)
			}
			refused := socks5Refused(t, listen)
			d.stop(t, syscall.SIGTERM)
			out := d.log.String()
			var hits []string
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, refused) {
					hits = append(hits, line)
				}
			}
			if !tc.shown {
				if len(hits) != 0 {
					t.Fatalf("--loglevel 1 shows the failed dial:\n%s", out)
				}
				return
			}
			if len(hits) != 1 {
				t.Fatalf("%d lines name the target, want 1:\n%s", len(hits), out)
			}
			line := hits[0]
			if !strings.HasPrefix(line, "E ") || !strings.Contains(line, "socks5: dial failed") ||
				!strings.Contains(line, "client=127.0.0.1:") || !strings.Contains(line, "target="+refused) ||
				!strings.Contains(line, "connection refused") {
				t.Fatalf("failure line %q", line)
			}
			checkRecordLines(t, out)
		})
	}
}

func TestLogFormatJSON(t *testing.T) {
	d := startDaemon(t, 1, "-l", "127.0.0.1:0", "--log-format", "json")
	// The listen pattern also matches inside the JSON record: cut the
	// address at its closing quote.
	proxyAddr, _, _ := strings.Cut(d.addrs[0], `"`)
	refused := socks5Refused(t, proxyAddr)
	d.stop(t, syscall.SIGTERM)
	found := false
	for _, line := range strings.Split(strings.TrimSuffix(d.log.String(), "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		if rec["target"] == refused {
			found = true
			if rec["level"] != "ERROR" || rec["msg"] != "socks5: dial failed" {
				t.Errorf("failure record %s", line)
			}
		}
	}
	if !found {
		t.Fatalf("no record of the failed dial:\n%s", d.log)
	}
}

func TestRouteTableDiagnosticsOnce(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.nrt")
	if err := os.WriteFile(bad, []byte("default => bogus\nroute { cidr 10.0.0.0/8 => nope }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	status, _, stderr := runOnce(t, "-l", "127.0.0.1:0", "-r", bad)
	if status != 1 {
		t.Fatalf("status %d\n%s", status, stderr)
	}
	checkRecordLines(t, stderr)
	for _, diag := range []string{`bad.nrt:1:12: error: unknown action "bogus"`, `bad.nrt:2:28: error: unknown action "nope"`} {
		if !strings.Contains(stderr, diag) {
			t.Errorf("%q is missing:\n%s", diag, stderr)
		}
	}
	// Once each, in whatever quoting; joined, not escaped source lines
	// and carets.
	for _, word := range []string{"bogus", "nope"} {
		if n := strings.Count(stderr, word); n != 1 {
			t.Errorf("%q printed %d times:\n%s", word, n, stderr)
		}
	}
	if strings.Contains(stderr, `\n`) {
		t.Errorf("diagnostics escaped rather than joined:\n%s", stderr)
	}

	// A reload that fails reports every diagnostic in one record.
	good := filepath.Join(dir, "good.nrt")
	if err := os.WriteFile(good, []byte("default => direct\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, 1, "-l", "127.0.0.1:0", "-r", good)
	src, _ := os.ReadFile(bad)
	if err := os.WriteFile(good, src, 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.logSnapshot(), "reload: ruleset error") && time.Now().Before(deadline) { // bounded
		time.Sleep(20 * time.Millisecond)
	}
	d.stop(t, syscall.SIGTERM)
	out := d.log.String()
	checkRecordLines(t, out)
	var reload []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "reload: ruleset error") {
			reload = append(reload, line)
		}
	}
	if len(reload) != 1 || !strings.Contains(reload[0], `unknown action "bogus"`) || !strings.Contains(reload[0], `unknown action "nope"`) {
		t.Fatalf("reload error records %q\n%s", reload, out)
	}
	if strings.Count(out, "bogus") != 1 || strings.Contains(out, `\n`) {
		t.Fatalf("the reload's diagnostics are printed more than once:\n%s", out)
	}
}

// TestDaemonizeFailureReason: a daemon (-d) that cannot start makes the
// parent exit 1 and print the daemon's reason on its stderr, even where
// there is no system log; one that starts makes the parent exit 0.
func TestDaemonizeFailureReason(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	status, _, stderr := runOnce(t, "-d", "-l", busy.Addr().String())
	if status != 1 {
		t.Fatalf("status %d\n%s", status, stderr)
	}
	if !strings.Contains(stderr, "failed to start server") || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("the daemon's reason is missing:\n%s", stderr)
	}
	checkRecordLines(t, stderr)

	status, _, stderr = runOnce(t, "-d", "-l", "127.0.0.1:0", "--loglevel", "5")
	m := regexp.MustCompile(`daemon process has started with pid (\d+)`).FindStringSubmatch(stderr)
	if status != 0 || m == nil {
		t.Fatalf("status %d\n%s", status, stderr)
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("daemon %d: %v", pid, err)
	}
}

// TestRulesetErrorOneLine: a ruleset callback that raises is reported
// once at the default level, by the engine, as the original does; the
// server's own record of the rejection stays at Debug.
func TestRulesetErrorOneLine(t *testing.T) {
	rs := filepath.Join(t.TempDir(), "raise.lua")
	body := "local r = {}\nfunction r.route(addr) error(\"boom at \" .. addr) end\nreturn r\n"
	if err := os.WriteFile(rs, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, 1, "-l", "127.0.0.1:0", "-r", rs, "--loglevel", "4")
	socks5Refused(t, d.addrs[0]) // rejected by the ruleset before any dial
	d.stop(t, syscall.SIGTERM)
	out := d.log.String()
	checkRecordLines(t, out)
	var hits []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "boom at ") {
			hits = append(hits, line)
		}
	}
	if len(hits) != 1 || !strings.HasPrefix(hits[0], "E ") || !strings.Contains(hits[0], "ruleset error: ") {
		t.Fatalf("ruleset error records %q\n%s", hits, out)
	}
}
