package driver

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/load"
)

func needSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
}

// stop ends a process that leaves on SIGINT at once, and one that
// ignores SIGINT with SIGKILL, together with its child when they run in a
// session (process group) of their own.
func TestStop(t *testing.T) {
	needSh(t)
	tests := []struct {
		name   string
		script string
		setsid bool
	}{
		{name: "leaves on SIGINT", script: "exec sleep 60"},
		{name: "ignores SIGINT", script: `trap "" INT; sleep 60`},
		{name: "ignores SIGINT, in a session", script: `trap "" INT; sleep 60 & echo $! >"$0"; wait`, setsid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			childFile := filepath.Join(dir, "child")
			p, err := start([]string{"sh", "-c", tc.script, childFile}, filepath.Join(dir, "log"), tc.setsid)
			if err != nil {
				t.Fatal(err)
			}
			child := 0
			if tc.setsid {
				child = waitChild(t, childFile, p)
			}
			p.stop(100 * time.Millisecond)
			select {
			case <-p.exited:
			default:
				t.Fatal("stop returned before the process exited")
			}
			if child != 0 && !gone(child) {
				t.Errorf("the child %d in the process group survived", child)
			}
			p.stop(time.Millisecond) // idempotent
		})
	}
}

// waitChild reads the PID the script wrote, waiting (boundedly) for the
// shell to write it.
func waitChild(t *testing.T, path string, p *process) int {
	t.Helper()
	for range 1000 {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		select {
		case <-p.exited:
			t.Fatal("the script exited early")
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the script did not write its child's PID")
	return 0
}

// gone waits up to 10 s for pid to die: a signal is delivered after
// kill(2) returns.
func gone(pid int) bool {
	for range 1000 {
		if !alive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// alive reports whether pid is a process that is not a zombie (a killed
// orphan stays one until its new parent reaps it).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// A proxy that exits instead of listening is reported with its log, at
// once rather than after the start timeout.
func TestStartProxyThatExits(t *testing.T) {
	needSh(t)
	out := t.TempDir()
	r, err := newRunner(Config{
		Self: "nsbench", Proxy: "127.0.0.1:1", SinkPorts: []uint16{1}, Rounds: 1,
		A:   System{Name: "broken", Argv: []string{"sh", "-c", "echo cannot bind >&2; exit 3"}, Protos: []load.Proto{load.SOCKS5IP}},
		Out: out, StartTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.closeFiles()
	t0 := time.Now()
	_, err = r.startProxy(r.systems[0])
	if err == nil || !strings.Contains(err.Error(), "cannot bind") || !errors.Is(err, errExited) {
		t.Fatalf("startProxy = %v, want the exit and the log", err)
	}
	if time.Since(t0) > 30*time.Second {
		t.Error("waited for the start timeout although the proxy had exited")
	}
}

func TestNewRunnerRefuses(t *testing.T) {
	good := Config{Self: "nsbench", Proxy: "127.0.0.1:11080", SinkPorts: []uint16{19000}, Rounds: 1,
		A: System{Name: "A", Argv: []string{"nsd"}, Protos: []load.Proto{load.HTTP}}}
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "no executable", mutate: func(c *Config) { c.Self = "" }},
		{name: "no rounds", mutate: func(c *Config) { c.Rounds = 0 }},
		{name: "no sink ports", mutate: func(c *Config) { c.SinkPorts = nil }},
		{name: "proxy off loopback", mutate: func(c *Config) { c.Proxy = "10.0.0.1:1080" }},
		{name: "http off loopback", mutate: func(c *Config) { c.HTTP = "[::]:8080" }},
		{name: "no protocols", mutate: func(c *Config) { c.A.Protos = nil }},
		{name: "name with a dot", mutate: func(c *Config) { c.A.Name = "a.b" }},
		{name: "same names", mutate: func(c *Config) { c.B = &System{Name: "A", Protos: c.A.Protos} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Out = t.TempDir()
			tc.mutate(&c)
			if r, err := newRunner(c); err == nil {
				r.closeFiles()
				t.Fatal("newRunner accepted it")
			}
		})
	}
}

// A sink that never listens ends the run with an error naming it.
func TestRunSinkThatDoesNotListen(t *testing.T) {
	err := Run(context.Background(), Config{
		Self: "/bin/false", Proxy: "127.0.0.1:1", SinkPorts: []uint16{1}, Rounds: 1,
		A:   System{Name: "A", Protos: []load.Proto{load.Raw}},
		Out: t.TempDir(), StartTimeout: 200 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "the sink did not start") {
		t.Fatalf("Run = %v, want the sink's failure", err)
	}
}
