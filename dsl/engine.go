package dsl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neosocksd-go/neosocksd/core/api"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// Options configure an Engine.
type Options struct {
	AuthRequired bool
	// Resolve serves the `resolve` action; nil makes it reject.
	Resolve func(ctx context.Context, host string) (netip.Addr, error)
	// Logger receives tag events (info) and the warnings of each compile;
	// nil: discard. A failed compile is returned, not logged.
	Logger *slog.Logger
	// Events, when set, receives every tag event (conformance tests).
	Events func(tag, addr string)
	// Check overrides file and environment access (tests).
	Check CheckOptions
}

// Engine serves a route table to the proxy: it implements route.Router and
// api.Ruleset, reloads from its file, and swaps tables atomically. A failed
// compile keeps the previous table. It runs no code and has no VM, so it
// implements none of the API's optional abilities (api.Invoker,
// api.RPCaller, api.Collector, api.RuntimeReporter).
type Engine struct {
	path string
	o    Options
	cur  atomic.Pointer[Table]
	mu   sync.Mutex // serialises reloads and set updates
	sets map[string][]string
}

// ErrNoCode is returned for an update of a Lua module: a route table has
// no code to replace.
var ErrNoCode = errors.New("route tables run no code")

// LoadFile compiles the route table at path. The error, if any, is a
// *Diagnostics listing every problem.
func LoadFile(path string, o Options) (*Engine, error) {
	e := &Engine{path: path, o: o, sets: map[string][]string{}}
	if o.Logger == nil {
		e.o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := e.Reload(); err != nil {
		return nil, err
	}
	return e, nil
}

// compileSource checks and compiles one source text (named filename).
func compileSource(filename string, src []byte, o CheckOptions) (*Table, *Diagnostics, error) {
	p, d := Check(filename, src, o)
	if p == nil {
		return nil, d, d.Errors()
	}
	t, err := Compile(p)
	if err != nil {
		return nil, d, err
	}
	return t, d, nil
}

// Reload recompiles the table from its file (SIGHUP).
func (e *Engine) Reload() error {
	read := e.o.Check.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	src, err := read(e.path)
	if err != nil {
		return fmt.Errorf("load %s: %w", e.path, err)
	}
	return e.install(e.path, src)
}

func (e *Engine) install(name string, src []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d, err := compileSource(name, src, e.o.Check)
	if err != nil {
		return err // the caller reports it, once
	}
	for _, w := range d.List {
		e.o.Logger.Warn(w.Msg, "pos", posString(w.Pos))
	}
	// External sets keep their contents across reloads.
	for name, entries := range e.sets {
		if err := t.SetSet(name, entries); err != nil {
			delete(e.sets, name)
		}
	}
	e.cur.Store(t)
	// A reload leaves the previous table and the load's garbage (about
	// 9 MB for a table of 10 000 names) for the collector to find when
	// the heap next doubles; collected here, a load is rare, a second
	// reload does not pile onto the first's, and the heap the daemon's
	// set-ups grow from is the table's (EXPERIMENTS.md section 21: VmHWM
	// after three reloads 15.9-16.2 MB, 15.9-17.9 MB without).
	runtime.GC()
	return nil
}

// Table returns the current table.
func (e *Engine) Table() *Table { return e.cur.Load() }

// SetSet replaces an external set at run time without recompiling.
func (e *Engine) SetSet(name string, entries []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.cur.Load().SetSet(name, entries); err != nil {
		return err
	}
	e.sets[name] = entries
	return nil
}

// Route decides a request. The engine never dials: it answers Forward,
// Reject or Error.
func (e *Engine) Route(ctx context.Context, req *route.Request) (route.Decision, error) {
	return e.decide(ctx, e.cur.Load(), req), nil
}

// RouteNow is Route for a caller that must not block (route.InlineRouter):
// a table decides without blocking unless one of its rules resolves a
// name with a resolver set, and only such a table is left to Route.
func (e *Engine) RouteNow(req *route.Request) (route.Decision, bool) {
	t := e.cur.Load()
	if t.resolves && e.o.Resolve != nil {
		return route.Decision{}, false
	}
	return e.decide(context.Background(), t, req), true
}

func (e *Engine) decide(ctx context.Context, t *Table, req *route.Request) route.Decision {
	env := Env{AuthRequired: e.o.AuthRequired, Resolve: e.o.Resolve}
	return t.decide(ctx, req.Callback, req.Addr, req.Cred, &env, e.emit)
}

func (e *Engine) emit(ev []Event) {
	for _, x := range ev {
		if e.o.Events != nil {
			e.o.Events(x.Tag, x.Addr)
		}
		if x.Rule != "" {
			e.o.Logger.Info("rule", "rule", x.Rule, "tag", x.Tag, "target", x.Addr)
		} else {
			e.o.Logger.Info("authenticate failed", "user", x.Addr)
		}
	}
}

// Healthy reports a loaded table as healthy.
func (e *Engine) Healthy(context.Context) string { return "" }

// Stats lists the per-rule hit counters.
func (e *Engine) Stats(_ context.Context, _ time.Duration, _ *string) string {
	var b strings.Builder
	b.WriteString("> Rule Hits")
	for _, h := range e.cur.Load().Hits() {
		fmt.Fprintf(&b, "\n%s %d", h.Rule, h.Hits)
	}
	return b.String()
}

// Metrics exposes the hit counters as the counter neosocksd_rule_hits_total.
func (e *Engine) Metrics(context.Context) string {
	var b strings.Builder
	b.WriteString("# HELP neosocksd_rule_hits_total Requests decided by each route-table rule.\n")
	b.WriteString("# TYPE neosocksd_rule_hits_total counter\n")
	for _, h := range e.cur.Load().Hits() {
		fmt.Fprintf(&b, "neosocksd_rule_hits_total{rule=%q} %d\n", h.Rule, h.Hits)
	}
	return b.String()
}

// Update compiles code as a route table (module "" or "ruleset"); includes
// resolve relative to the original file's directory. On error the old
// table stays and the diagnostics are returned.
func (e *Engine) Update(_ context.Context, module, chunkname string, code []byte) error {
	if module != "" && module != "ruleset" {
		return fmt.Errorf("%w: route tables have no module %q", ErrNoCode, module)
	}
	name := filepath.Base(e.path)
	if chunkname != "" {
		name = filepath.Base(strings.TrimLeft(chunkname, "@="))
	}
	return e.install(filepath.Join(filepath.Dir(e.path), name), code)
}

var (
	_ route.Router       = (*Engine)(nil)
	_ route.InlineRouter = (*Engine)(nil)
	_ api.Ruleset        = (*Engine)(nil)
)
