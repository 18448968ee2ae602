//go:build linux

package server

import (
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// asyncPlans are the asynchronous router's answers in the differential
// corpus, by requested host.
func asyncPlans(u *upstreams) map[string]asyncPlan {
	echo := u.echo.String()
	hop := route.MakeChain("socks5://" + u.hop.String())
	deadHop := route.MakeChain("socks5://" + u.refused.String())
	reject := route.Decision{Verdict: route.Reject}
	toEcho := route.Direct(echo)
	lagDecided := u.holdLag()
	return map[string]asyncPlan{
		"fwd.test":                   {d: route.Direct(echo)},
		"fwd-name.test":              {d: route.Direct("echo.test:80")},
		"fwd-refused.test":           {d: route.Direct(u.refused.String())},
		"reject.test":                {d: reject},
		"error.test":                 {d: route.Decision{Verdict: route.Error, Reason: "the ruleset says no"}},
		"fail.test":                  {err: errEngine},
		"bad-target.test":            {d: route.Direct("no-port")},
		"chain.test":                 {d: route.Decision{Verdict: route.Forward, Target: echo, Chain: hop}},
		"chain-dead.test":            {d: route.Decision{Verdict: route.Forward, Target: echo, Chain: deadHop}},
		"committed-nothing.test":     {d: route.Decision{Verdict: route.Committed}},
		"active.test":                {connect: echo},
		"active-name.test":           {connect: "echo.test:80"},
		"active-sink.test":           {connect: "sink.test:80"},
		"active-refused.test":        {connect: u.refused.String()},
		"active-nx.test":             {connect: "nx.invalid:80"},
		"active-invalid.test":        {connect: "no-port"},
		"active-blocked.test":        {connect: echo},
		"active-slow.test":           {connect: "slow.test:80"},
		"active-hang.test":           {connect: u.hang.String()},
		"active-chain.test":          {connect: echo, chain: hop},
		"active-chain-dead.test":     {connect: echo, chain: deadHop},
		"active-then-reject.test":    {connect: echo, then: &reject},
		"active-then-forward.test":   {connect: "sink.test:80", then: &toEcho},
		"own.test":                   {connect: echo, own: true},
		"late-own.test":              {connect: echo, own: true, late: 500 * time.Millisecond},
		"decided-connecting.test":    {connect: "lag.test:80", decideAfter: 10 * time.Millisecond, d: route.Direct("echo.test:80"), decided: lagDecided},
		"decided-connecting-ip.test": {connect: "lag.test:80", decideAfter: 10 * time.Millisecond, d: toEcho, decided: lagDecided},
		"never.test":                 {never: true},
		"slow-fwd.test":              {d: route.Direct(echo), wait: 100 * time.Millisecond},
		"late.test":                  {d: route.Direct(echo), late: 500 * time.Millisecond},
		"late-active.test":           {connect: echo, late: 500 * time.Millisecond},
	}
}

var errEngine = errorString("the engine could not start deciding")

type errorString string

func (e errorString) Error() string { return string(e) }

// asyncAt returns a case builder for requests decided by a fresh
// asynchronous router with plans.
func asyncAt(u *upstreams) func(name string, conf func(*config.Config), ops ...diffOp) diffCase {
	return func(name string, conf func(*config.Config), ops ...diffOp) diffCase {
		return diffCase{
			name: "async/" + name, conf: conf, ops: ops, async: true,
			router: func() route.Router { return newAsyncRouter(asyncPlans(u)) },
		}
	}
}

// asyncCases send requests to an asynchronous router (route.AsyncRouter):
// on the loop through RouteAsync, on the goroutine path through Route.
// Each plan of asyncPlans is asked over SOCKS5, and the main ones over
// SOCKS4A and HTTP CONNECT, with the deadline and Shutdown meeting a
// decision or an active dial in flight.
func asyncCases(u *upstreams) []diffCase {
	c := asyncAt(u)
	greeted := func(host string, extra ...byte) diffOp {
		return w(cat(s5greet(0), s5name(1, host, 80), extra))
	}
	blockLoopback := func(c *config.Config) { c.BlockLoopback = true }
	cases := []diffCase{
		c("socks5/address", nil, w(cat(s5greet(0), s5ip(1, u.echo), []byte("ip"))), r(2+s5ReplyLen+2), shut()),
		c("socks5/forward", nil, greeted("fwd.test", 'f'), r(2+s5ReplyLen+1), w([]byte("more")), r(4), shut()),
		c("socks5/forward-name", nil, greeted("fwd-name.test", 'n'), r(2+s5ReplyLen+1), shut()),
		c("socks5/forward-refused", nil, greeted("fwd-refused.test")),
		c("socks5/reject", nil, greeted("reject.test")),
		c("socks5/error", nil, greeted("error.test")),
		c("socks5/router-fails", nil, greeted("fail.test")),
		c("socks5/bad-target", nil, greeted("bad-target.test")),
		c("socks5/chain", nil, greeted("chain.test", 'c'), r(2+s5ReplyLen+1), shut()),
		c("socks5/chain-dead", nil, greeted("chain-dead.test")),
		c("socks5/committed-nothing", nil, greeted("committed-nothing.test")),
		c("socks5/active", nil, greeted("active.test", 'a'), r(2+s5ReplyLen+1), w([]byte("bc")), r(2), shut()),
		c("socks5/active-pipelined", nil, greeted("active.test", []byte("early")...), r(2+s5ReplyLen+5), shut()),
		c("socks5/active-name", nil, greeted("active-name.test", 'n'), r(2+s5ReplyLen+1), shut()),
		c("socks5/active-sink", nil, greeted("active-sink.test", []byte("to sink")...), shut()),
		c("socks5/active-refused", nil, greeted("active-refused.test")),
		c("socks5/active-nx", nil, greeted("active-nx.test")),
		c("socks5/active-invalid", nil, greeted("active-invalid.test")),
		c("socks5/active-blocked", blockLoopback, greeted("active-blocked.test")),
		c("socks5/active-chain", nil, greeted("active-chain.test", 'h'), r(2+s5ReplyLen+1), shut()),
		c("socks5/active-chain-dead", nil, greeted("active-chain-dead.test")),
		c("socks5/active-then-reject", nil, greeted("active-then-reject.test")),
		c("socks5/active-then-forward", nil, greeted("active-then-forward.test", 'e'), r(2+s5ReplyLen+1), shut()),
		c("socks5/own-connection", nil, greeted("own.test", 'o'), r(2+s5ReplyLen+1), shut()),
		c("socks5/late-own-after-timeout", shortTimeout, greeted("late-own.test")),
		c("http/own-connection", nil, onHTTP(w(httpConnectHead("own.test:80")), r(connectOK), w([]byte("x")), r(1), shut())...),
		c("socks5/decided-while-connecting", nil, greeted("decided-connecting.test", 'd'), r(2+s5ReplyLen+1), shut()),
		c("socks5/decided-while-connecting-ip", nil, greeted("decided-connecting-ip.test", 'd'), r(2+s5ReplyLen+1), shut()),
		c("socks5/timeout-routing", shortTimeout, greeted("never.test")),
		c("socks5/timeout-active-lookup", shortTimeout, greeted("active-slow.test")),
		c("socks5/timeout-active-connect", shortTimeout, greeted("active-hang.test")),
		c("socks5/late-after-timeout", shortTimeout, greeted("late.test")),
		c("socks5/late-active-after-timeout", shortTimeout, greeted("late-active.test")),
		c("socks5/userpass", authRequired, w(cat(s5greet(2), s5auth("u", "p"), s5name(1, "active.test", 80), []byte("u"))), r(2+2+s5ReplyLen+1), shut()),
		c("socks4a/active", nil, w(cat(s4a("active.test", 80, "id"), []byte("4"))), r(8+1), shut()),
		c("socks4a/reject", nil, w(s4a("reject.test", 80, "id"))),
		c("socks4a/chain", nil, w(cat(s4a("chain.test", 80, ""), []byte("4"))), r(8+1), shut()),
		c("socks4/address", nil, w(cat(s4ip(u.echo, "id"), []byte("4"))), r(8+1), shut()),
		c("socks4a/timeout-routing", shortTimeout, w(s4a("never.test", 80, ""))),
		c("http/active", nil, onHTTP(w(cat(httpConnectHead("active.test:80"), []byte("h"))), r(connectOK+1), shut())...),
		c("http/forward", nil, onHTTP(w(httpConnectHead("fwd.test:80")), r(connectOK), w([]byte("x")), r(1), shut())...),
		c("http/reject", nil, onHTTP(w(httpConnectHead("reject.test:80")), shut())...),
		c("http/router-fails", nil, onHTTP(w(httpConnectHead("fail.test:80")), shut())...),
		c("http/active-refused", nil, onHTTP(w(httpConnectHead("active-refused.test:80")), shut())...),
		c("http/forward-refused", nil, onHTTP(w(httpConnectHead("fwd-refused.test:80")), shut())...),
		c("http/chain", nil, onHTTP(w(httpConnectHead("chain.test:80")), r(connectOK), shut())...),
		c("http/active-chain", nil, onHTTP(w(httpConnectHead("active-chain.test:80")), r(connectOK), shut())...),
		c("http/timeout-routing", shortTimeout, onHTTP(w(httpConnectHead("never.test:80")))...),
		c("http/timeout-active", shortTimeout, onHTTP(w(httpConnectHead("active-hang.test:80")))...),
		c("shutdown/routing", nil, greeted("never.test"), wait(10*time.Millisecond), requestSeen(), diffOp{stop: 100 * time.Millisecond}),
		c("shutdown/active-lookup", nil, greeted("active-slow.test"), wait(20*time.Millisecond), requestSeen(), diffOp{stop: 100 * time.Millisecond}),
		c("shutdown/active-connect", nil, greeted("active-hang.test"), wait(20*time.Millisecond), requestSeen(), diffOp{stop: 100 * time.Millisecond}),
		c("shutdown/http-routing", nil, onHTTP(w(httpConnectHead("never.test:80")), wait(10*time.Millisecond), requestSeen(), diffOp{stop: 100 * time.Millisecond})...),
		// SetRouter while a decision is in flight: the old router's
		// answer applies to its request; the next request is the new
		// router's.
		racyAs(peakEitherWay, c("set-router-in-flight", nil, greeted("slow-fwd.test", 's'), wait(20*time.Millisecond), setRouter(u.sink), loopOwnsListenersOrNot(),
			r(2+s5ReplyLen+1), shut(), on(1, w(cat(s5greet(0), s5ip(1, u.echo), []byte("new")))), on(1, shut()))),
		// Set in the handshake, the router is asked about its request.
		startsWithout(c("reload/router-set-in-handshake", nil, w(s5greet(0)), r(2), diffOp{act: func(s *Server, _ config.Config, _ Dialer) {
			s.SetRouter(newAsyncRouter(asyncPlans(u)))
		}}, w(cat(s5name(1, "active.test", 80), []byte("z"))), r(s5ReplyLen+1), shut())),
	}
	declined := c("declined", nil, greeted("active.test", 'd'), r(2+s5ReplyLen+1), shut())
	declined.async = false
	declined.router = func() route.Router {
		r := newAsyncRouter(asyncPlans(u))
		r.declines.Store(true)
		return r
	}
	return append(cases, declined)
}

// racyAs sets c's racy hook.
func racyAs(racy func(*diffResult), c diffCase) diffCase {
	c.racy = racy
	return c
}

// startsWithout makes c's server start with no router.
func startsWithout(c diffCase) diffCase {
	c.router = nil
	return c
}

// loopOwnsListenersOrNot lets the listeners' hand-over after a SetRouter
// settle: with a router the loop cannot ask, it gives them back to the
// Go accept loop, asynchronously.
func loopOwnsListenersOrNot() diffOp {
	return waitGauge(func(s *Server) bool {
		if s.loop == nil {
			return true
		}
		for _, ln := range s.loop.lns {
			if ln.loopOwns.Load() {
				return false
			}
		}
		return true
	})
}
