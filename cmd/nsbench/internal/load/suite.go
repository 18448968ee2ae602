package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/agg"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/procfs"
)

// Phase is one kind of measurement of a Suite.
type Phase string

// The phases, in their usual order.
const (
	PhaseIdle  Phase = "idle"  // hold many verified tunnels, read the proxy's memory
	PhaseBulk  Phase = "bulk"  // throughput through 1 tunnel each way and through Par tunnels
	PhaseSetup Phase = "setup" // tunnel set-ups per second under load, per protocol
	PhaseLat   Phase = "lat"   // unloaded handshake latency, per protocol
)

// Phases lists every phase in the usual order.
var Phases = []Phase{PhaseIdle, PhaseBulk, PhaseSetup, PhaseLat}

// ParsePhase returns the phase named s.
func ParsePhase(s string) (Phase, error) {
	for _, p := range Phases {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("load: unknown phase %q", s)
}

// Closer says who ends the connections of the set-up phase.
type Closer string

// The closing orders of the set-up phase.
const (
	// CloseClient: the client closes first after its echo; the sink
	// closes when it sees EOF, so a proxy must forward the half-close.
	// Metrics setup_*.P.
	CloseClient Closer = "client"
	// CloseServer: the sink closes right after its echo and the client as
	// soon as it has the echo. Metrics setup_*.sc_P.
	CloseServer Closer = "server"
	// CloseBoth runs the phase once with each order.
	CloseBoth Closer = "both"
)

// Suite runs measurement phases against one running proxy. Its fields
// are the phases' settings; Defaults gives the harness's usual ones.
type Suite struct {
	// Clients are the protocols to measure, one client each; the first
	// drives the idle and bulk phases and must pass its check.
	Clients []*Client
	// PID is the proxy's process, for its CPU time and memory; 0: none.
	PID int
	// Out receives the "metric=value unit" lines (and "# ..." notes).
	Out io.Writer
	// Logf, if set, receives the suite's diagnostics.
	Logf func(format string, args ...any)

	IdleTunnels int           // tunnels held open in the idle phase
	IdleConc    int           // concurrent openers in the idle phase
	Settle      time.Duration // idle: wait before reading memory

	BulkWarmup, BulkDur time.Duration // bulk: unmeasured ramp, measured time per test
	BulkPar             int           // bulk: tunnels of the parallel test

	SetupWarmup, SetupDur time.Duration // setup: per protocol and closing order
	SetupConc             int           // setup: concurrent clients
	Close                 Closer

	LatWarmup, LatDur time.Duration // lat: per protocol
}

// Defaults returns the settings of a full run: 3000 idle tunnels, 3 s bulk
// and set-up phases, 1.5 s latency phases.
func Defaults() Suite {
	return Suite{
		IdleTunnels: 3000, IdleConc: 32, Settle: time.Second,
		BulkWarmup: 500 * time.Millisecond, BulkDur: 3 * time.Second, BulkPar: 8,
		SetupWarmup: 300 * time.Millisecond, SetupDur: 3 * time.Second, SetupConc: 32, Close: CloseBoth,
		LatWarmup: 200 * time.Millisecond, LatDur: 1500 * time.Millisecond,
	}
}

// ErrPrimaryFailed is returned by Run when the first protocol fails its
// check: there is nothing to measure.
var ErrPrimaryFailed = errors.New("load: the primary protocol failed its check")

// Run checks every client (three tries each; a protocol that keeps
// failing is noted and skipped, unless it is the first) and then runs the
// phases in order. It stops early, without error, when ctx is done.
func (s *Suite) Run(ctx context.Context, phases []Phase) error {
	if len(s.Clients) == 0 {
		return errors.New("load: no protocols")
	}
	if s.Close != CloseClient && s.Close != CloseServer && s.Close != CloseBoth {
		return fmt.Errorf("load: unknown closing order %q", s.Close)
	}
	var usable []*Client
	for i, c := range s.Clients {
		err := c.Check()
		for try := 1; err != nil && try < 3 && ctx.Err() == nil; try++ {
			time.Sleep(500 * time.Millisecond)
			err = c.Check()
		}
		if err != nil {
			if i == 0 {
				return fmt.Errorf("%w: %s: %w", ErrPrimaryFailed, c.proto, err)
			}
			s.logf("protocol %s does not work against this proxy, skipped: %v", c.proto, err)
			fmt.Fprintf(s.Out, "# skipped %s: %v\n", c.proto, err)
			continue
		}
		usable = append(usable, c)
	}
	primary := usable[0]
	for _, ph := range phases {
		if ctx.Err() != nil {
			return nil
		}
		switch ph {
		case PhaseIdle:
			s.idle(ctx, primary)
		case PhaseBulk:
			s.bulk(ctx, primary, 1, false)
			s.bulk(ctx, primary, 1, true)
			s.bulk(ctx, primary, s.BulkPar, true)
		case PhaseSetup:
			for _, c := range usable {
				if s.Close != CloseServer {
					s.setup(ctx, c, false)
				}
				if s.Close != CloseClient {
					s.setup(ctx, c, true)
				}
			}
		case PhaseLat:
			for _, c := range usable {
				s.lat(ctx, c)
			}
		default:
			return fmt.Errorf("load: unknown phase %q", ph)
		}
	}
	if s.PID > 0 {
		if st, err := procfs.ReadStatus(s.PID); err == nil {
			s.emit("hwm_end", float64(st.HWM), "KiB")
		}
	}
	return nil
}

func (s *Suite) emit(metric string, v float64, unit string) {
	fmt.Fprintf(s.Out, "%s=%s %s\n", metric, agg.FormatValue(v), unit)
}

func (s *Suite) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// proxyCPU returns the proxy's CPU seconds so far, or NaN without one.
func (s *Suite) proxyCPU() float64 {
	if s.PID <= 0 {
		return math.NaN()
	}
	v, err := procfs.CPUSeconds(s.PID)
	if err != nil {
		return math.NaN()
	}
	return v
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
