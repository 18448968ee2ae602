package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
)

// startSink runs the sink in-process on one IPv4 loopback port.
func startSink(t *testing.T) string {
	t.Helper()
	lns, err := sink.Listen([]string{"127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sink.Serve(ctx, lns); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return lns[0].Addr().String()
}

// rawrelay forwards to the sink until its context ends, and check sees
// a verified tunnel through it; through nothing, check fails.
func TestRawRelayAndCheck(t *testing.T) {
	target := startSink(t)
	_, sinkPort, _ := net.SplitHostPort(target)
	listen := "127.0.0.1:" + freePorts(t, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	var relayErr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- runRawRelay(ctx, []string{"-l", listen, "-t", target}, &relayErr) }()
	if err := loopback.WaitPort(listen, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if st := run([]string{"check", "-proxy", listen, "-protos", "raw", "-ports", sinkPort}, &stdout, &stderr); st != 0 || stdout.String() != "check.raw=ok\n" {
		t.Errorf("check through rawrelay: status %d, %q, %s", st, stdout.String(), stderr.String())
	}
	cancel()
	if st := <-done; st != 0 {
		t.Errorf("rawrelay exited %d: %s", st, relayErr.String())
	}
	stdout.Reset()
	if st := run([]string{"check", "-proxy", listen, "-protos", "raw", "-ports", sinkPort}, &stdout, &stderr); st != 1 || !strings.HasPrefix(stdout.String(), "check.raw=fail ") {
		t.Errorf("check through nothing: status %d, %q", st, stdout.String())
	}
}

// rulesetgen writes both files, or one to stdout, the same bytes each
// time.
func TestRulesetGenCommand(t *testing.T) {
	dir := t.TempDir()
	lua, nrt := filepath.Join(dir, "r.lua"), filepath.Join(dir, "r.nrt")
	args := []string{"rulesetgen", "-domains", "10", "-subnets", "3", "-form", "table", "-lua", lua, "-nrt", nrt}
	var stdout, stderr bytes.Buffer
	if st := run(args, &stdout, &stderr); st != 0 {
		t.Fatalf("status %d: %s", st, stderr.String())
	}
	luaBytes, err1 := os.ReadFile(lua)
	nrtBytes, err2 := os.ReadFile(nrt)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Contains(luaBytes, []byte(`match.host("localhost")`)) || !bytes.Contains(nrtBytes, []byte("host localhost => redirect host 127.0.0.1")) {
		t.Errorf("files lack the sink's route:\n%s\n%s", luaBytes, nrtBytes)
	}
	stdout.Reset()
	args = []string{"rulesetgen", "-domains", "10", "-subnets", "3", "-form", "table", "-nrt", "-"}
	if st := run(args, &stdout, &stderr); st != 0 || !bytes.Equal(stdout.Bytes(), nrtBytes) {
		t.Errorf("-nrt - printed other bytes than the file (status %d)", st)
	}
	if st := run([]string{"rulesetgen", "-form", "tree", "-lua", "-"}, &stdout, &stderr); st != 1 {
		t.Errorf("-form tree: status %d, want 1", st)
	}
}
