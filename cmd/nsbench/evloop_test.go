package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
)

// nsbench evloop serves every protocol the load client speaks, as check
// verifies, and stops on its context.
func TestEvloopAndCheck(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the event loop needs epoll")
	}
	// Set, so that the command leaves this test binary's runtime alone.
	t.Setenv("GOMAXPROCS", "2")
	t.Setenv("GOGC", "100")
	target := startSink(t)
	_, sinkPort, _ := net.SplitHostPort(target)
	ports := freePorts(t, 2)
	listen, httpListen := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	ctx, cancel := context.WithCancel(context.Background())
	var loopErr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- runEvloop(ctx, []string{"-l", listen, "--http", httpListen}, &loopErr) }()
	for _, a := range []string{listen, httpListen} {
		if err := loopback.WaitPort(a, 10*time.Second); err != nil {
			cancel()
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	st := run([]string{"check", "-proxy", listen, "-http-proxy", httpListen, "-ports", sinkPort,
		"-protos", "socks5_ip,socks5_host,socks4,socks4a,http,http_ip"}, &stdout, &stderr)
	want := "check.socks5_ip=ok\ncheck.socks5_host=ok\ncheck.socks4=ok\ncheck.socks4a=ok\ncheck.http=ok\ncheck.http_ip=ok\n"
	if st != 0 || stdout.String() != want {
		t.Errorf("check through evloop: status %d\n%s%s", st, stdout.String(), stderr.String())
	}
	cancel()
	if st := <-done; st != 0 {
		t.Errorf("evloop exited %d: %s", st, loopErr.String())
	}
}

func TestEvloopRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"evloop", "-l", "192.0.2.1:1080"},
		{"evloop", "-l", "127.0.0.1:0", "--http", "0.0.0.0:8080"},
	} {
		var stdout, stderr bytes.Buffer
		if st := run(args, &stdout, &stderr); st != 1 || !strings.Contains(stderr.String(), "not a loopback address") {
			t.Errorf("%v: status %d, %s", args, st, stderr.String())
		}
	}
}

// nsbench count opens exactly -n tunnels through a proxy and reports its
// figures per set-up from /proc; here the proxy is rawrelay in this very
// process, whose CPU time and switches it reads.
func TestCountCommand(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	target := startSink(t)
	_, sinkPort, _ := net.SplitHostPort(target)
	listen := "127.0.0.1:" + freePorts(t, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- runRawRelay(ctx, []string{"-l", listen, "-t", target}, io.Discard) }()
	if err := loopback.WaitPort(listen, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	st := run([]string{"count", "-proxy", listen, "-protos", "raw", "-ports", sinkPort,
		"-n", "40", "-c", "3", "-pid", strconv.Itoa(os.Getpid())}, &stdout, &stderr)
	if st != 0 {
		t.Fatalf("count: status %d: %s", st, stderr.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	if got["setups"] != "40 count" || got["errors"] != "0 count" {
		t.Errorf("count output:\n%s", stdout.String())
	}
	for _, k := range []string{"cpu_per_setup", "vol_switches_per_setup", "invol_switches_per_setup", "hwm"} {
		f := strings.Fields(got[k])
		if len(f) != 2 {
			t.Errorf("%s missing:\n%s", k, stdout.String())
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err != nil || v < 0 {
			t.Errorf("%s=%q", k, got[k])
		}
	}
	cancel()
	<-done
	// Through nothing, every set-up fails and the status says so.
	stdout.Reset()
	stderr.Reset()
	if st := run([]string{"count", "-proxy", listen, "-protos", "raw", "-ports", sinkPort,
		"-n", "3", "-pid", strconv.Itoa(os.Getpid())}, &stdout, &stderr); st != 1 || !strings.Contains(stdout.String(), "errors=3 count") {
		t.Errorf("count through nothing: status %d\n%s%s", st, stdout.String(), stderr.String())
	}
}
