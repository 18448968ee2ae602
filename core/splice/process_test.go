//go:build linux

package splice

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The process benchmark runs the relay in a child process (this test
// binary, re-executed with SPLICE_RELAY_MODE set) so that its CPU time,
// context switches and system calls are counted apart from the sender
// and the receiver. SPLICE_RELAY_WRAP, if set, is a command prefix for
// the child, e.g. "strace -f -c -o relay.strace" or "perf stat -o
// relay.perf".

func TestMain(m *testing.M) {
	if mode := os.Getenv("SPLICE_RELAY_MODE"); mode != "" {
		os.Exit(relayMain(mode, os.Getenv("SPLICE_RELAY_SINK")))
	}
	os.Exit(m.Run())
}

// relayMain is the child: it prints its listening address, relays every
// connection to sink in both directions until its standard input ends,
// then prints the CPU time and context switches spent after start-up.
func relayMain(mode, sink string) int {
	copy := Copy
	if mode == "iocopy" {
		copy = ioCopy
	} else if size, ok := strings.CutPrefix(mode, "splice-"); ok {
		n, err := strconv.Atoi(size)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		SetPipeSize(n)
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cpu0, csw0 := selfUsage()
	fmt.Println(ln.Addr())
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				up, err := net.Dial("tcp", sink)
				if err != nil {
					return
				}
				defer up.Close()
				relayPair(c, up.(*net.TCPConn), copy)
			}()
		}
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	ln.Close()
	wg.Wait()
	cpu, csw := selfUsage()
	fmt.Printf("usage %d %d\n", (cpu - cpu0).Nanoseconds(), csw-csw0)
	return 0
}

// relayPair copies both ways between a and b like the proxy does.
func relayPair(a, b *net.TCPConn, copy copyFunc) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := copy(b, a); err == nil {
			b.CloseWrite()
		}
	}()
	if _, err := copy(a, b); err == nil {
		a.CloseWrite()
	}
	<-done
}

func selfUsage() (time.Duration, int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw
}

// BenchmarkRelayProcess sends b.N chunks of 128 KiB through a relay
// running in a child process, over `streams` connections at once.
// relay-cpu-ms/GB and relay-csw/GB are the child's CPU time and context
// switches per GB relayed.
// Modes: splice (Copy, default pipe size), splice-N (Copy with N-byte
// pipes), iocopy (io.Copy).
func BenchmarkRelayProcess(b *testing.B) {
	modes := []string{"splice", "iocopy", "splice-65536", "splice-262144"}
	for _, mode := range modes {
		for _, streams := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/streams=%d", mode, streams), func(b *testing.B) {
				benchRelayProcess(b, mode, streams)
			})
		}
	}
}

func benchRelayProcess(b *testing.B, mode string, streams int) {
	sinkLn, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sinkLn.Close()
	var argv []string
	if w := os.Getenv("SPLICE_RELAY_WRAP"); w != "" {
		argv = strings.Fields(w)
	}
	argv = append(argv, os.Args[0], "-test.run=^$")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "SPLICE_RELAY_MODE="+mode, "SPLICE_RELAY_SINK="+sinkLn.Addr().String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		b.Fatal("relay process did not start")
	}
	relayAddr := out.Text()

	type pair struct{ send, recv *net.TCPConn }
	pairs := make([]pair, streams)
	for i := range pairs {
		c, err := net.Dial("tcp", relayAddr)
		if err != nil {
			b.Fatal(err)
		}
		s, err := sinkLn.AcceptTCP()
		if err != nil {
			b.Fatal(err)
		}
		pairs[i] = pair{c.(*net.TCPConn), s}
	}
	// Accept order may differ from dial order: that is fine, every
	// receiver reads to EOF and the total is checked.
	b.SetBytes(benchChunk)
	errs := make(chan error, 2*streams)
	var got sync.WaitGroup
	var total int64
	var mu sync.Mutex
	b.ResetTimer()
	for i, p := range pairs {
		chunks := b.N / streams
		if i < b.N%streams {
			chunks++
		}
		got.Add(2)
		go func() {
			defer got.Done()
			buf := make([]byte, benchChunk)
			for range chunks {
				if _, err := p.send.Write(buf); err != nil {
					errs <- err
					return
				}
			}
			if err := p.send.CloseWrite(); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer got.Done()
			n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{p.recv}, make([]byte, benchChunk))
			if err != nil {
				errs <- err
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	got.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if want := int64(b.N) * benchChunk; total != want {
		b.Fatalf("received %d of %d bytes", total, want)
	}
	for _, p := range pairs {
		p.send.Close()
		p.recv.Close()
	}
	stdin.Close()
	var cpuNs, csw int64
	for out.Scan() {
		if f := strings.Fields(out.Text()); len(f) == 3 && f[0] == "usage" {
			cpuNs, _ = strconv.ParseInt(f[1], 10, 64)
			csw, _ = strconv.ParseInt(f[2], 10, 64)
		}
	}
	if gb := float64(b.N) * benchChunk / 1e9; gb > 0 && cpuNs > 0 {
		b.ReportMetric(float64(cpuNs)/1e6/gb, "relay-cpu-ms/GB")
		b.ReportMetric(float64(csw)/gb, "relay-csw/GB")
	}
}
