package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// failure says how the half-open phase failed; each protocol maps it to
// its reply in one place.
type failure uint8

// Failure classes of connect.
const (
	failNone failure = iota
	// failPolicy: the router refused (Reject/Error verdict, unusable
	// destination, Committed without a connection). SOCKS5 01, SOCKS4
	// 5B, HTTP 403. Counted in RejectRuleset.
	failPolicy
	// failRouter: Router.Route returned an error. SOCKS5 01, SOCKS4 5B,
	// HTTP 500. Counted in RejectRuleset.
	failRouter
	// failTarget: no router and the requested target does not parse.
	// HTTP 500; SOCKS never gets here.
	failTarget
	// failDial: the server-driven dial failed; the error wraps the
	// *dial.Error. SOCKS5 per socks5Reply, SOCKS4 5B, HTTP 502. Counted in
	// RejectUpstream.
	failDial
	// failTimeout: the half-open deadline passed. SOCKS5 06 once the
	// request was parsed; everything else closes silently.
	failTimeout
	// failShutdown: the server is stopping. Close silently.
	failShutdown
)

// connectError is an error of connect with its class.
type connectError struct {
	class failure
	err   error
}

func (e *connectError) Error() string {
	switch e.class {
	case failPolicy:
		return "rejected by ruleset: " + e.err.Error()
	case failRouter:
		return "ruleset failed: " + e.err.Error()
	case failTarget:
		return "invalid target: " + e.err.Error()
	case failTimeout:
		return "half-open timeout"
	case failShutdown:
		return "server shutting down"
	}
	var de *dial.Error
	if errors.As(e.err, &de) {
		return de.Detail()
	}
	return e.err.Error()
}

func (e *connectError) Unwrap() error { return e.err }

// failureOf returns the class of an error returned by connect.
func failureOf(err error) failure {
	if err == nil {
		return failNone
	}
	var ce *connectError
	if errors.As(err, &ce) {
		return ce.class
	}
	return failDial
}

var (
	errRejected = errors.New("no destination")
	errNoConn   = errors.New("committed decision without a connection")
	errTimeout  = errors.New("timeout")
	errShutdown = errors.New("shutdown")
)

// connect runs the decision and dial steps of the half-open phase and
// returns the upstream connection.
//
// With no router, target (or, if it is the zero Addr, req.Addr parsed) is
// dialed (through the dialer's -x chain). With a router, req is routed and
// the decision carried out: the caller sets req.Callback and req.Cred, and
// req.Addr (if left empty, target.String() is used); connect sets
// req.Dial on its copy. Errors are *connectError values; see
// failureOf.
func (s *Server) connect(c *conn, req route.Request, target addr.Addr) (net.Conn, error) {
	var d route.Decision
	var err error
	if pre := c.pre; pre != nil {
		// The event loop asked the router before it handed c over.
		c.pre = nil
		d = pre.d
	} else {
		r := s.currentRouter()
		if r == nil {
			if !target.IsValid() {
				t, err := addr.ParseTarget(req.Addr)
				if err != nil {
					return nil, &connectError{failTarget, err}
				}
				target = t
			}
			return s.dialUpstream(c, target, route.Chain{})
		}
		if req.Addr == "" {
			req.Addr = target.String()
		}
		req.Dial = s.hook
		d, err = s.route(c, r, req)
	}
	if e := c.phaseError(); e != nil {
		closeDecision(d, err)
		return nil, e
	}
	up, t, chain, err := s.decision(d, err)
	if err != nil || up != nil {
		return up, err
	}
	return s.dialUpstream(c, t, chain)
}

// decided is a router's decision taken before the goroutine path got the
// connection: the event loop asked an inline router (route.InlineRouter)
// and hands over what it does not carry out itself.
type decided struct{ d route.Decision }

// close closes the connection a decision the goroutine path will not
// carry out holds; p may be nil.
func (p *decided) close() {
	if p != nil {
		closeDecision(p.d, nil)
	}
}

// closeDecision closes the connection a decision nobody carries out
// holds.
func closeDecision(d route.Decision, err error) {
	if err == nil && d.Verdict == route.Committed && d.Conn != nil {
		d.Conn.Close()
	}
}

// decision carries out a router's answer (d, or the error Route returned)
// up to the dial: the connection an engine dialed (up, Committed), or the
// target and the hops to dial, or a refusal counted in RejectRuleset and
// classified (failRouter, failPolicy). Both connection paths use it.
func (s *Server) decision(d route.Decision, err error) (up net.Conn, target addr.Addr, hops route.Chain, _ error) {
	if err != nil {
		s.stats.RejectRuleset.Add(1)
		return nil, addr.Addr{}, route.Chain{}, &connectError{failRouter, err}
	}
	switch d.Verdict {
	case route.Committed:
		if d.Conn == nil {
			s.stats.RejectRuleset.Add(1)
			return nil, addr.Addr{}, route.Chain{}, &connectError{failPolicy, errNoConn}
		}
		return d.Conn, addr.Addr{}, route.Chain{}, nil
	case route.Forward:
		t, err := addr.ParseTarget(d.Target)
		if err != nil {
			s.stats.RejectRuleset.Add(1)
			return nil, addr.Addr{}, route.Chain{}, &connectError{failPolicy, err}
		}
		return nil, t, d.Chain, nil
	case route.Error:
		s.stats.RejectRuleset.Add(1)
		if d.Reason != "" {
			return nil, addr.Addr{}, route.Chain{}, &connectError{failPolicy, errors.New(d.Reason)}
		}
		return nil, addr.Addr{}, route.Chain{}, &connectError{failPolicy, errRejected}
	}
	s.stats.RejectRuleset.Add(1)
	return nil, addr.Addr{}, route.Chain{}, &connectError{failPolicy, errRejected}
}

// route asks r; req is copied to the heap only here, so that the
// no-router path does not allocate it (hence no inlining).
//
//go:noinline
func (s *Server) route(c *conn, r route.Router, req route.Request) (route.Decision, error) {
	return r.Route(c.ctx, &req)
}

// phaseError reports the half-open phase ending under the caller: the
// deadline passed or the server is shutting down.
func (c *conn) phaseError() error {
	if c.s.ctx.Err() != nil {
		return &connectError{failShutdown, errShutdown}
	}
	if c.ctx.Err() != nil || c.timedOut() {
		return &connectError{failTimeout, errTimeout}
	}
	return nil
}

// dialUpstream is the server-driven dial. A success is a Connect Latency
// sample. A hop the router named that does not parse is the router's
// refusal, not an upstream failure.
func (s *Server) dialUpstream(c *conn, target addr.Addr, hops route.Chain) (net.Conn, error) {
	start := time.Now()
	up, err := s.cur.Load().dialer.Dial(c.ctx, target, hops)
	if de := (*dial.Error)(nil); errors.Is(err, dial.ErrHop) && errors.As(err, &de) {
		// Logged as a refusal, with the URI and what is wrong with it
		// rather than the taxonomy text.
		s.stats.RejectRuleset.Add(1)
		return nil, &connectError{failPolicy, de.Err}
	}
	if err != nil {
		if e := c.phaseError(); e != nil {
			return nil, e
		}
		s.stats.RejectUpstream.Add(1)
		return nil, &connectError{failDial, fmt.Errorf("dial %s: %w", target, err)}
	}
	s.stats.ConnectLatency.Add(time.Since(start))
	if e := c.phaseError(); e != nil {
		up.Close()
		return nil, e
	}
	return up, nil
}

// dialHook is route.Request.Dial: the active dial of an engine
// (await.forward), through the same Dialer.Dial as the server's own
// dials, so the dialer prepends the -x chain. Parse errors are *dial.Error
// of kind InvalidAddr. A success is a Connect Latency sample, as a
// server-driven dial; a failure counts nothing: it is the engine's
// business.
func (s *Server) dialHook(ctx context.Context, target string, hops route.Chain) (net.Conn, error) {
	t, err := addr.ParseTarget(target)
	if err != nil {
		return nil, &dial.Error{Kind: dial.InvalidAddr, Err: err}
	}
	start := time.Now()
	up, err := s.cur.Load().dialer.Dial(ctx, t, hops)
	if err == nil {
		s.stats.ConnectLatency.Add(time.Since(start))
	}
	return up, err
}

// socks5Reply maps a connect failure to a SOCKS5 reply code (protocols
// §4.5). Timeouts map to 06; callers send it only after the request was
// parsed.
func socks5Reply(err error) socks5.Reply {
	switch failureOf(err) {
	case failNone:
		return socks5.Succeeded
	case failTimeout:
		return socks5.TTLExpired
	case failDial:
	default:
		return socks5.GeneralFailure
	}
	var de *dial.Error
	if !errors.As(err, &de) {
		return socks5.GeneralFailure
	}
	switch de.Kind {
	case dial.Resolve:
		return socks5.HostUnreachable
	case dial.Blocked, dial.ProxyAuth, dial.ProxyRejected:
		return socks5.NotAllowed
	case dial.ProxyRefused:
		return socks5.ConnectionRefused
	case dial.Connect, dial.System:
		return socks5.ConnectReply(de.Errno)
	}
	return socks5.GeneralFailure
}
