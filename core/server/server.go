package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
	"github.com/neosocksd-go/neosocksd/core/workers"
)

// Dialer connects to target through the -x chain, which it holds, and
// then hops (first hop first). Errors should be *dial.Error so that
// replies carry the right code, and wrap dial.ErrHop for a hop URI that
// does not parse (the ruleset's fault); anything else is a general
// failure. *dial.Dialer implements it.
type Dialer interface {
	Dial(ctx context.Context, target addr.Addr, hops route.Chain) (net.Conn, error)
}

// Options configure a Server.
type Options struct {
	// Config supplies the listen addresses, -f, the timeout, limits,
	// TCP and SOCKS5 options (the -x chain is the Dialer's). It is copied by New; later changes to it
	// have no effect.
	Config *config.Config
	// Router decides where requests go; nil means no ruleset: every
	// request is dialed where it asked to (through the Dialer's -x
	// chain). It can be replaced at run time with SetRouter.
	Router route.Router
	// Dialer dials upstream connections. Required.
	Dialer Dialer
	// Stats receives the counters; nil means a private set.
	Stats *stats.Counters
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// NoEventLoop keeps every connection on the goroutine path, also
	// where the event loop could serve it (loop_linux.go): an escape
	// hatch for operators, and how tests exercise that path in a daemon.
	NoEventLoop bool
}

// errOutbound is the message of the error New returns for a bad -f.
var errOutbound = errors.New("unable to parse outbound configuration")

// Server is the proxy server. Create it with New, bind with Listen, run
// with Serve, stop with Shutdown.
type Server struct {
	conf   config.Config // as given to New: listeners and serving modes
	stats  *stats.Counters
	log    *slog.Logger
	router atomic.Pointer[routerBox]

	cur     atomic.Pointer[settings] // what a reload may change; see Reconfigure
	fwdMode bool
	noLoop  bool           // Options.NoEventLoop
	hook    route.DialFunc // Request.Dial for engines, built once
	// countUp and countDown add relayed bytes to BytesUp and BytesDown;
	// built once so that a session does not allocate them.
	countUp, countDown func(n int64)
	workers            *workers.Pool[task] // run handlers and the ends of sessions

	ctx    context.Context // canceled by Shutdown: ends every half-open phase
	cancel context.CancelFunc

	proxyLn, httpLn net.Listener

	mu       sync.Mutex
	conns    map[*conn]struct{}
	closing  bool
	conndone sync.WaitGroup // one per connection being served (and helpers)
	loops    sync.WaitGroup // one per accept loop
	serving  chan struct{}  // closed when Serve's listeners are stopped
	stopOnce sync.Once
	release  releaseState // memory release after a drop (release.go)

	// The event loop (loop_linux.go), nil when it does not run. loopLive
	// counts its connections (guarded by mu), as conns counts the
	// goroutine path's; the atomics say how connections were served, for
	// tests and measurement.
	// forcing is set when Shutdown's context ended before the sessions
	// did: the sessions closed from then on log errForcedClose.
	forcing atomic.Bool

	loop                                    *evloop
	loopLive                                int
	loopServed, loopHandoffs, loopGraduated atomic.Int64
	loopLookups                             atomic.Int64 // names posted to a worker
	loopRouted                              atomic.Int64 // decisions an inline router took on the loop
	loopAsync                               atomic.Int64 // decisions an asynchronous router took for the loop
}

// settings is what a reload may change for connections accepted from
// then on: the -f target, the dialer (which holds the -x chain and the
// resolver of --nameserver), the half-open timeout, the admission limits,
// --auth-required, tcp_nodelay and --pipe. Listeners and the serving mode
// (forward, TPROXY or SOCKS; BIND and UDP ASSOCIATE) never change.
type settings struct {
	conf    config.Config
	timeout time.Duration
	forward addr.Addr // the -f target, valid in forward mode
	dialer  Dialer
}

func newSettings(c *config.Config, d Dialer) (*settings, error) {
	st := &settings{conf: *c, timeout: c.TimeoutDuration(), dialer: d}
	if st.timeout <= 0 {
		st.timeout = 60 * time.Second
	}
	if c.Forward != "" {
		t, err := addr.ParseTarget(c.Forward)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errOutbound, err)
		}
		st.forward = t
	}
	return st, nil
}

// Reconfigure applies a reloaded configuration and a new dialer to the
// connections accepted from now on (cli.md §10: after SIGHUP new field
// values take effect for new connections, and the base dial request is
// rebuilt from -f and, in the new dialer, -x). Connections already running keep what they
// started with. On a parse error nothing changes. The serving mode stays:
// a server started with -f keeps its target if the new configuration has
// none.
func (s *Server) Reconfigure(c *config.Config, d Dialer) error {
	if d == nil {
		return errors.New("server: no dialer")
	}
	st, err := newSettings(c, d)
	if err != nil {
		return err
	}
	if s.fwdMode && !st.forward.IsValid() {
		st.forward = s.cur.Load().forward
	}
	s.cur.Store(st)
	s.ownershipChanged()
	return nil
}

// routerBox lets an interface value live behind an atomic.Pointer.
type routerBox struct{ r route.Router }

// New builds a server. It parses -f; if that fails it returns an error
// whose text starts with "unable to parse outbound configuration".
func New(o Options) (*Server, error) {
	if o.Config == nil {
		return nil, errors.New("server: no configuration")
	}
	if o.Dialer == nil {
		return nil, errors.New("server: no dialer")
	}
	s := &Server{
		conf:    *o.Config,
		stats:   o.Stats,
		log:     o.Logger,
		conns:   make(map[*conn]struct{}),
		serving: make(chan struct{}),
	}
	if s.stats == nil {
		s.stats = new(stats.Counters)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	cur, err := newSettings(o.Config, o.Dialer)
	if err != nil {
		return nil, err
	}
	s.cur.Store(cur)
	s.fwdMode = o.Config.Forward != ""
	s.noLoop = o.NoEventLoop
	s.hook = s.dialHook
	s.countUp = func(n int64) { s.stats.BytesUp.Add(uint64(n)) }
	s.countDown = func(n int64) { s.stats.BytesDown.Add(uint64(n)) }
	s.SetRouter(o.Router)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.workers = newWorkers(s, s.ctx.Done())
	return s, nil
}

// SetRouter replaces the router for new requests; nil (or route.Static,
// which means the same) is no ruleset. Requests already deciding keep the
// router they started with.
func (s *Server) SetRouter(r route.Router) {
	if r == nil || isStatic(r) {
		s.router.Store(nil)
	} else {
		s.router.Store(&routerBox{r})
	}
	s.ownershipChanged()
}

// isStatic reports whether r is route.Static: the server's own no-router
// path does the same without building a request, and keeps the
// no-ruleset behaviours (HTTP 500 for an unparsable target). route.Static
// is a comparable value, so == is enough.
func isStatic(r route.Router) bool { return r == route.Static }

// currentRouter returns the router, or nil when there is none.
func (s *Server) currentRouter() route.Router {
	if b := s.router.Load(); b != nil {
		return b.r
	}
	return nil
}

// Stats returns the counters the server updates.
func (s *Server) Stats() *stats.Counters { return s.stats }

// LoopDecisions reports how many routing decisions the event loop took
// for its own connections: inline (route.InlineRouter.RouteNow) and
// asynchronous (route.AsyncRouter.RouteAsync). Engines' tests use it to
// check that their requests were served by the loop and not by the
// goroutine path.
func (s *Server) LoopDecisions() (inline, async int64) {
	return s.loopRouted.Load(), s.loopAsync.Load()
}

// Admit applies the admission limits of protocols §11 to a connection
// just accepted on any listener (the API listener calls it too). It
// counts the connection in Accept and, when admitted, in Serve; callers
// must not count those again. A refused connection should be closed
// without reading or writing.
func (s *Server) Admit() bool {
	st := s.stats
	st.Accept.Add(1)
	halfopen := st.HalfOpen.Load()
	cur := &s.cur.Load().conf
	if m := int64(cur.MaxSessions); m > 0 && st.Sessions.Load()+halfopen >= m {
		return false
	}
	if full := int64(cur.StartupLimitFull); full > 0 && halfopen >= full {
		return false
	}
	if start := int64(cur.StartupLimitStart); start > 0 && halfopen >= start &&
		rand.IntN(100) < cur.StartupLimitRate {
		return false
	}
	st.Serve.Add(1)
	return true
}

// Addrs returns the bound addresses of the proxy (-l) and HTTP (--http)
// listeners; nil for a listener that is not configured or not bound.
func (s *Server) Addrs() (proxy, http net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proxyLn != nil {
		proxy = s.proxyLn.Addr()
	}
	if s.httpLn != nil {
		http = s.httpLn.Addr()
	}
	return proxy, http
}

// Serve accepts connections on the bound listeners until Shutdown is
// called or ctx is done (which closes the listeners but, unlike Shutdown,
// does not wait for sessions). It returns nil when stopped that way.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	if s.proxyLn == nil && s.httpLn == nil {
		s.mu.Unlock()
		return errors.New("server: no listener bound")
	}
	if !s.noLoop {
		s.startEventLoop()
	}
	if s.proxyLn != nil {
		h := s.serveSOCKS
		switch {
		case s.fwdMode:
			h = s.serveForward
		case s.conf.Transparent:
			h = s.serveTProxy
		}
		s.startLoop(s.proxyLn, h)
	}
	if s.httpLn != nil {
		s.startLoop(s.httpLn, s.serveHTTP)
	}
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		s.closeListeners()
	case <-s.serving:
	}
	s.loops.Wait()
	return nil
}

// startLoop runs an accept loop for l; s.mu is held.
func (s *Server) startLoop(l net.Listener, h func(*conn)) {
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		s.acceptLoop(l, h)
	}()
}

func (s *Server) acceptLoop(l net.Listener, h func(*conn)) {
	// A listener the event loop may own has one acceptor at a time: this
	// loop waits while the event loop accepts (yieldToLoop).
	ll := s.loop.listenerOf(l)
	for {
		if ll != nil && !s.yieldToLoop(ll) {
			return
		}
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ll != nil {
					s.acceptTimedOut(ll)
				}
				continue
			}
			// Descriptor exhaustion is handled by the guarded listener
			// (exhaust.go); other failures (ENOBUFS, ENOMEM) pause.
			s.log.Warn("accept", "err", err)
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		if !s.Admit() {
			c.Close()
			continue
		}
		cc := s.newConn(c)
		if cc == nil {
			c.Close()
			continue
		}
		s.workers.Go(task{c: cc, h: h})
	}
}

// closeListeners stops accepting; it is idempotent.
func (s *Server) closeListeners() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		if s.proxyLn != nil {
			s.proxyLn.Close()
		}
		if s.httpLn != nil {
			s.httpLn.Close()
		}
		s.mu.Unlock()
		close(s.serving)
	})
}

// Shutdown stops the server: it closes the listeners, ends every
// half-open connection (no reply is sent), lets relaying sessions drain
// until ctx is done, then closes them. It returns once every goroutine the
// server started has ended; the error is ctx's if sessions had to be
// forced closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.stopRelease()
	s.mu.Unlock()
	s.closeListeners()
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		if !c.active {
			c.abort()
		}
	}
	loop := s.loop
	s.mu.Unlock()
	if loop != nil {
		loop.stop()
	}
	s.loops.Wait()

	done := make(chan struct{})
	go func() {
		s.conndone.Wait()
		// Every task has ended; parked workers see s.ctx done and exit.
		s.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.forcing.Store(true)
	if loop != nil {
		// First, so that no session the loop graduates from now on
		// escapes the loop below (graduate looks under s.mu).
		loop.forceClose()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.forceClose()
	}
	s.mu.Unlock()
	<-done
	return err
}

// serveConn runs one accepted connection: the handler, then the
// bookkeeping the package documentation promises.
func (s *Server) serveConn(c *conn, h func(*conn)) {
	defer s.conndone.Done()
	h(c)
	if !c.detached {
		c.finish()
	}
}

// startEventLoop starts the event loop for the listeners it may own;
// s.mu is held. Failing to build it leaves every listener to its Go
// accept loop.
func (s *Server) startEventLoop() {
	loop, err := s.newLoop()
	if err != nil {
		s.log.Warn("event loop not started: every connection takes the goroutine path", "err", err)
		return
	}
	if loop != nil {
		s.loop = loop
		s.conndone.Add(1)
		go loop.run()
	}
}
