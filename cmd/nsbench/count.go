package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/load"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/procfs"
)

// runCount opens a fixed number of tunnels and reports what the proxy
// spent on them, read from /proc before and after: CPU time and context
// switches (summed over its threads) per set-up, and its VmHWM. A count
// rather than a duration makes these figures comparable under any load
// of the machine, which is what rates are not.
func runCount(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("count", stderr)
	var cf clientFlags
	cf.register(fs)
	n := fs.Int("n", 3000, "set-ups in all")
	conc := fs.Int("c", 4, "concurrent clients")
	pid := fs.Int("pid", 0, "`PID` of the proxy (0: the owner of the -proxy listener)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nsbench count [flags]\n\n"+
			"Each set-up: a tunnel with the first -protos protocol, one byte echoed\n"+
			"through the sink, the client closes first and waits for the end.\n\n")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 0 || *n <= 0 || *conc <= 0 {
		fs.Usage()
		return 2
	}
	clients, err := cf.clients()
	if err != nil {
		return failf(stderr, "count: %v", err)
	}
	c := clients[0]
	if *pid == 0 {
		if *pid, err = procfs.ListenerPID(cf.proxy); err != nil {
			return failf(stderr, "count: %v", err)
		}
	}
	cpu0, err := procfs.CPUSeconds(*pid)
	if err != nil {
		return failf(stderr, "count: %v", err)
	}
	vol0, invol0, err := procfs.Switches(*pid)
	if err != nil {
		return failf(stderr, "count: %v", err)
	}
	var next atomic.Int64
	var failed atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				if err := countOne(c, int(i)); err != nil {
					failed.Add(1)
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	cpu1, err := procfs.CPUSeconds(*pid)
	if err != nil {
		return failf(stderr, "count: %v", err)
	}
	vol1, invol1, err := procfs.Switches(*pid)
	if err != nil {
		return failf(stderr, "count: %v", err)
	}
	st, err := procfs.ReadStatus(*pid)
	if err != nil {
		return failf(stderr, "count: %v", err)
	}
	per := func(d float64) float64 { return d / float64(*n) }
	fmt.Fprintf(stdout, "setups=%d count\nerrors=%d count\n", *n, failed.Load())
	fmt.Fprintf(stdout, "cpu_per_setup=%.1f us\n", per(cpu1-cpu0)*1e6)
	fmt.Fprintf(stdout, "vol_switches_per_setup=%.3f count\ninvol_switches_per_setup=%.3f count\n",
		per(float64(vol1-vol0)), per(float64(invol1-invol0)))
	fmt.Fprintf(stdout, "hwm=%d KiB\nthreads=%d count\n", st.HWM, st.Threads)
	if first != nil {
		return failf(stderr, "count: %d set-ups failed, the first: %v", failed.Load(), first)
	}
	return 0
}

// countOne opens tunnel i, echoes one byte, closes its write half first
// and waits for the proxy to end the tunnel.
func countOne(c *load.Client, i int) error {
	conn, _, err := c.Open(i)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := load.Echo(conn, []byte{'x'}, c.Timeout()); err != nil {
		return err
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil // an HTTP tunnel behind a buffered reader: just close
	}
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(c.Timeout()))
	var b [1]byte
	if _, err := conn.Read(b[:]); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the half-close: %v, want the end of input", err)
	}
	return nil
}
