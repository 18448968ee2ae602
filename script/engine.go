package script

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neosocksd-go/neosocksd/core/api"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/workers"
	lua "github.com/yuin/gopher-lua"
)

// Options configure an Engine. Only Config is required.
type Options struct {
	// Config is the effective configuration: neosocksd.config() mirrors
	// it, and the engine reads Timeout, Traceback, MemLimit from it.
	// LoadConfig writes the fields a -c script sets into its own *Config.
	Config *config.Config
	// Stats are the server counters neosocksd.stats() reports. May be nil.
	Stats *stats.Counters
	// Dial connects to target through hops (first hop first) after the -x
	// chain; await.invoke and neosocksd.invoke use it. The daemon gives the
	// same dialer entry point that routed requests and await.forward go
	// through. Nil dials directly with net.Dialer and refuses hops.
	Dial route.DialFunc
	// Resolve resolves a host name with the dialer's resolver and -4/-6
	// preference, for await.resolve and neosocksd.resolve. Nil uses
	// net.DefaultResolver.
	Resolve func(ctx context.Context, host string) (netip.Addr, error)
	// Logger receives the engine's log lines. Nil discards them.
	Logger *slog.Logger
	// Stdout is where print writes. Nil means os.Stdout.
	Stdout io.Writer
	// Budget is the execution budget of one VM entry (see the package
	// documentation). Zero means one second; negative disables the
	// watchdog.
	Budget time.Duration
	// LoadBudget is the execution budget of an entry that loads a script:
	// -r and -c at start-up and on SIGHUP, /ruleset/update, and the replay
	// after a VM rebuild. Zero means 30 s; negative disables it. Loading
	// is not a request: a large generated ruleset may take seconds to
	// compile and build its tables on a busy machine, and the original
	// puts no bound on it at all, so only a script that never finishes
	// is stopped.
	LoadBudget time.Duration
	// Version is the version string logged when the engine starts.
	Version string
	// Started is the server start time for neosocksd.stats().uptime; the
	// zero time reports 0.
	Started time.Time
	// APIToken, when not empty, is sent as "Authorization: Bearer" by the
	// API client (await.invoke, neosocksd.invoke and what is built on
	// them, await.rpcall included), for peers whose API requires it.
	APIToken string
}

// Errors of the engine.
var (
	ErrClosed    = errors.New("script: engine closed")
	ErrNoRuleset = errors.New(rpc.NoRuleset)
	// ErrBudget is the error a runaway entry fails with.
	ErrBudget = errors.New("execution budget exceeded")
)

// task is work for the owner goroutine.
type task interface{ run(e *Engine) }

// funcTask adapts a closure to task.
type funcTask func(e *Engine)

func (f funcTask) run(e *Engine) { f(e) }

// loadTask is a task that loads a script: it runs under LoadBudget.
type loadTask func(e *Engine)

func (f loadTask) run(e *Engine) { f(e) }

// Engine is the Lua ruleset engine. Its methods may be called from any
// goroutine; they hand work to the owner goroutine and wait, except
// RouteAsync, which hands it over and returns.
type Engine struct {
	o      Options
	budget time.Duration // of a request or API entry
	// loadBudget is the budget of a loadTask entry
	loadBudget time.Duration
	log        *slog.Logger
	stdout     io.Writer

	inbox chan task
	// asyncMu orders RouteAsync's posts with the owner's last look at
	// the inbox when it closes (closeInbox)
	asyncMu sync.RWMutex
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup        // watchdog and helper goroutines
	ops     *workers.Pool[func()] // runs await work on reused goroutines (workers.go)

	// watchdog state, shared with the owner
	entryStart  atomic.Int64 // monotonic ns of the running entry, 0 when idle
	entryLimit  atomic.Int64 // the running entry's budget in ns; negative: none
	epochMu     sync.Mutex
	epochCancel func()
	overMem     atomic.Bool
	runaways    atomic.Uint64
	rebuilds    atomic.Uint64
	hasRuleset  atomic.Bool
	memLimit    atomic.Uint64 // bytes, 0 = none
	allocated   atomic.Uint64 // last sampled heap bytes
	objects     atomic.Uint64
	active      atomic.Int64
	peak        atomic.Int64
	events      stats.Window
	monoBase    time.Time

	v *vm // owner only
}

// New creates an engine and starts its owner goroutine. The VM is empty
// until LoadRuleset or LoadConfig runs a script.
func New(o Options) (*Engine, error) {
	if o.Config == nil {
		c := config.Default()
		o.Config = &c
	}
	if o.Stats == nil {
		o.Stats = &stats.Counters{}
	}
	e := &Engine{
		o:        o,
		budget:   o.Budget,
		log:      o.Logger,
		stdout:   o.Stdout,
		inbox:    make(chan task, 256),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		monoBase: time.Now(),
	}
	e.ops = newOpWorkers(e.quit)
	e.events = *stats.NewWindow(1024)
	if e.budget == 0 {
		e.budget = time.Second
	}
	e.loadBudget = o.LoadBudget
	if e.loadBudget == 0 {
		e.loadBudget = 30 * time.Second
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.stdout == nil {
		e.stdout = os.Stdout
	}
	if o.Config.MemLimit > 0 {
		e.memLimit.Store(uint64(o.Config.MemLimit) << 20)
	}
	v, err := newVM(e)
	if err != nil {
		return nil, err
	}
	e.v = v
	e.log.Debug("ruleset engine started", "version", o.Version, "budget", e.budget)
	go e.loop()
	e.wg.Add(1)
	go e.watchdog()
	return e, nil
}

// Close stops the owner goroutine. Routines in flight are abandoned and
// their results ignored; pending Route calls return ErrClosed, and
// pending RouteAsync calls are answered with it.
func (e *Engine) Close() {
	e.once.Do(func() {
		close(e.quit)
		// wake an owner blocked on the inbox alone (see loop); when the
		// inbox is full the owner is not blocked, and it checks quit
		// before it takes the next task
		select {
		case e.inbox <- funcTask(func(*Engine) {}):
		default:
		}
	})
	<-e.done
	e.wg.Wait()
	e.ops.Wait()
}

// do runs f on the owner and waits for it. It fails with ErrClosed when
// the engine is closed, or ctx's error when ctx ends first (f may still
// run).
func (e *Engine) do(ctx context.Context, f func(v *vm)) error {
	ch := make(chan struct{})
	return e.await(ctx, ch, funcTask(func(e *Engine) {
		defer close(ch)
		f(e.v)
	}))
}

// doLoad is do for an entry that loads a script, under LoadBudget.
func (e *Engine) doLoad(ctx context.Context, f func(v *vm)) error {
	ch := make(chan struct{})
	return e.await(ctx, ch, loadTask(func(e *Engine) {
		defer close(ch)
		f(e.v)
	}))
}

// await queues t, which closes ch when it has run, and waits for it.
func (e *Engine) await(ctx context.Context, ch chan struct{}, t task) error {
	select {
	case e.inbox <- t:
	case <-e.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-e.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post queues t for the owner without waiting; it is dropped when the
// engine is closed.
func (e *Engine) post(t task) {
	select {
	case e.inbox <- t:
	case <-e.quit:
	}
}

// closeInbox answers the asynchronous calls left in the inbox when the
// owner stops, as Route's caller would see them (ErrClosed: its select
// on done), and lets go of the owner's reference. Blocking calls and
// other tasks are left to their callers' selects on done, as before.
func (e *Engine) closeInbox() {
	// quit is closed: after the write lock no RouteAsync can post
	e.asyncMu.Lock()
	//lint:ignore SA2001 an empty critical section is the point: it waits for every RouteAsync holding the read lock
	e.asyncMu.Unlock()
	for {
		select {
		case t := <-e.inbox:
			if c, ok := t.(*routeCall); ok && c.rcv != nil {
				c.answerErr(errDecision(ErrClosed.Error()), ErrClosed)
				c.release()
			}
		default:
			return
		}
	}
}

// postNow queues t for the owner from a goroutine that must not block
// (an event loop's Connect result): when the inbox is full, a goroutine
// waits for room instead; t is dropped when the engine is closed.
func (e *Engine) postNow(t task) {
	select {
	case e.inbox <- t:
	default:
		go e.post(t)
	}
}

// loop is the owner goroutine.
func (e *Engine) loop() {
	defer close(e.done)
	defer e.closeInbox() // before done closes: Decided comes first
	for {
		v := e.v // replaced when the VM is rebuilt
		select {
		case <-e.quit:
			v.shutdown()
			return
		default:
		}
		if len(v.idle) > 0 {
			// idle work queued by the owner itself (await.sleep(0),
			// await.idle): first one task that is ready, then the batch
			select {
			case t := <-e.inbox:
				e.exec(t)
			case <-e.quit:
				v.shutdown()
				return
			default:
			}
			batch := e.v.idle
			e.v.idle = nil
			for _, t := range batch {
				e.exec(t)
			}
			continue
		}
		if v.idleTick {
			select {
			case t := <-e.inbox:
				e.exec(t)
			case <-e.quit:
				v.shutdown()
				return
			default:
				e.exec(funcTask(func(e *Engine) { e.v.tick() }))
				// let other goroutines in without spinning a core flat out
				select {
				case t := <-e.inbox:
					e.exec(t)
				case <-e.quit:
					v.shutdown()
					return
				case <-time.After(time.Millisecond):
				}
			}
			continue
		}
		if v.ticker == nil {
			// nothing but the inbox can wake the owner: a plain receive
			// costs a fraction of a select (Close posts a task to wake
			// it); measured in cmd/nsbench/EXPERIMENTS.md (the hop to
			// the VM owner)
			e.exec(<-e.inbox)
			continue
		}
		tickC := v.ticker.C
		select {
		case t := <-e.inbox:
			e.exec(t)
		case <-tickC:
			e.exec(funcTask(func(e *Engine) { e.v.tick() }))
		case <-e.quit:
			v.shutdown()
			return
		}
	}
}

// exec runs one task as one VM entry: under the watchdog, timed, and with
// Go panics turned into a VM rebuild.
func (e *Engine) exec(t task) {
	v := e.v
	if e.overMem.Load() && time.Since(v.lastGC) >= time.Second {
		// --memlimit: a full collection before the entry, at most once a
		// second (the heap estimate covers the whole process)
		runtime.GC()
		v.lastGC = time.Now()
		e.overMem.Store(false)
	}
	start := time.Now()
	v.now = start
	limit := e.budget
	if _, ok := t.(loadTask); ok {
		limit = e.loadBudget
	}
	// the limit is stored before the start, so the watchdog never pairs
	// a new entry's start with the previous entry's limit
	e.entryLimit.Store(int64(limit))
	e.entryStart.Store(int64(start.Sub(e.monoBase)) | 1)
	defer func() {
		if r := recover(); r != nil {
			// the rebuild replays scripts: a new entry, with the budget
			// of a load
			e.entryLimit.Store(int64(e.loadBudget))
			e.entryStart.Store(int64(time.Since(e.monoBase)) | 1)
			e.v.crashed(r)
		}
		e.entryStart.Store(0)
		e.events.Add(time.Since(start))
		if nv := e.v; nv.epoch != nil && nv.epoch.Err() != nil {
			nv.newEpoch()
		}
	}()
	t.run(e)
}

// watchdog cancels the epoch of an entry that overran its budget, and
// samples the heap for --memlimit and the runtime statistics.
func (e *Engine) watchdog() {
	defer e.wg.Done()
	// an entry overruns its budget by at most one period: a fiftieth of
	// the budget, and no more than 20 ms (1.02 s for the default second),
	// so that the requests queued behind an aborted one wait little more
	// than the budget
	period := 20 * time.Millisecond
	if e.budget > 0 && e.budget/50 < period {
		period = max(e.budget/50, time.Millisecond)
	}
	tk := time.NewTicker(period)
	defer tk.Stop()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/objects:objects"},
	}
	var lastSample time.Time
	var seenEntry int64   // the entry the watchdog last saw running
	var heapAtSeen uint64 // the heap when it first saw it
	var reported int64    // the entry reported stuck in native code
	for {
		select {
		case <-e.quit:
			return
		case now := <-tk.C:
			if now.Sub(lastSample) >= 100*time.Millisecond {
				lastSample = now
				metrics.Read(samples)
				if samples[0].Value.Kind() == metrics.KindUint64 {
					e.allocated.Store(samples[0].Value.Uint64())
				}
				if samples[1].Value.Kind() == metrics.KindUint64 {
					e.objects.Store(samples[1].Value.Uint64())
				}
			}
			st := e.entryStart.Load()
			budget := time.Duration(e.entryLimit.Load())
			lim := e.memLimit.Load()
			over := lim > 0 && e.allocated.Load() >= lim
			if over {
				e.overMem.Store(true)
			}
			if st == 0 || budget < 0 {
				continue
			}
			if st != seenEntry {
				seenEntry, heapAtSeen = st, e.allocated.Load()
			}
			// over the memory limit, an entry that keeps allocating is
			// aborted like a runaway one
			growing := over && e.allocated.Load() > heapAtSeen+max(lim/4, 16<<20)
			ran := time.Duration(int64(now.Sub(e.monoBase)) - st)
			if ran >= 2*budget && reported != st {
				reported = st
				e.log.Error("ruleset stuck in native code", "dur", ran)
			}
			if ran >= budget || growing {
				// cancel only the epoch of the entry measured: the owner
				// clears entryStart before it installs a fresh epoch
				e.epochMu.Lock()
				if e.epochCancel != nil && e.entryStart.Load() == st {
					e.epochCancel()
				}
				e.epochMu.Unlock()
			}
		}
	}
}

// Runtime reports the VM statistics for /stats?runtime, /metrics and
// /ruleset/gc. Allocated and Objects are the process heap as last sampled
// (Go cannot separate the Lua heap).
func (e *Engine) Runtime() api.Runtime {
	return api.Runtime{
		VM:            true,
		Allocated:     e.allocated.Load(),
		Objects:       e.objects.Load(),
		MemLimit:      e.memLimit.Load(),
		ThreadsActive: e.active.Load(),
		ThreadsPeak:   e.peak.Load(),
		Events:        e.events.Percentiles(),
	}
}

// Safety reports the engine's own counters beyond api.Runtime.
func (e *Engine) Safety() RuntimeStats {
	return RuntimeStats{
		Allocated:     e.allocated.Load(),
		Objects:       e.objects.Load(),
		MemLimit:      e.memLimit.Load(),
		ThreadsActive: e.active.Load(),
		ThreadsPeak:   e.peak.Load(),
		Events:        e.events.Percentiles(),
		Runaways:      e.runaways.Load(),
		Rebuilds:      e.rebuilds.Load(),
	}
}

// RuntimeStats are the engine's own counters.
type RuntimeStats struct {
	Allocated, Objects, MemLimit uint64
	ThreadsActive, ThreadsPeak   int64
	Events                       stats.Percentiles
	Runaways                     uint64 // entries aborted by the watchdog
	Rebuilds                     uint64 // VM rebuilds after a Go panic
}

// HasRuleset reports whether _G.ruleset was a table after the last load.
func (e *Engine) HasRuleset() bool { return e.hasRuleset.Load() }

// routineStarted and routineEnded count routines in flight.
func (e *Engine) routineStarted() {
	n := e.active.Add(1)
	for {
		p := e.peak.Load()
		if n <= p || e.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (e *Engine) routineEnded() { e.active.Add(-1) }

// errorText renders a Lua error value for Go callers.
func errorText(v lua.LValue) string {
	if v == nil {
		return "(nil)"
	}
	switch v := v.(type) {
	case lua.LString:
		return string(v)
	case *lua.LNilType:
		return "(nil)"
	case lua.LNumber:
		return v.String()
	}
	return fmt.Sprintf("(%s: %p)", v.Type().String(), v)
}
