// Package server runs the proxy listeners: it accepts connections, applies
// the admission limits, speaks the inbound protocols (SOCKS4/4A/5 with BIND
// and UDP ASSOCIATE, TCP forward, TPROXY, and, through http.go, the HTTP
// proxy), asks the router where each connection goes, dials it and relays
// bytes until both sides are done. It must not parse command lines, handle
// signals or know about Lua: those live in cmd/ and script/.
//
// # Lifecycle of a connection
//
// An accepted connection first passes Admit (protocols §11). It is then a
// *conn in the half-open phase: HalfOpen is incremented, and one deadline
// (-t, config.Timeout) covers everything until relaying starts. The
// deadline is both on c.ctx (for the router and the dialer) and on the
// socket (so blocking reads and writes on c return a timeout error).
// Shutdown cancels c.ctx and moves the socket deadline into the past.
//
// A handler runs the half-open phase like this:
//
//	req := route.Request{Addr: target.String(), Cred: cred}   // or the verbatim string
//	up, err := s.connect(c, req, target)                        // target may be the zero Addr
//	if err != nil {
//		switch failureOf(err) { ... }                           // map to the protocol's reply
//		return
//	}
//	... send the success reply (c.write) ...
//	s.relay(c, up, readAhead)                                   // hands c and up over; return next
//
// connect asks the current router (or, with no router, dials target
// directly), turns the Decision into an upstream connection (Forward: dial
// Target through Decision.Chain; Committed: take Decision.Conn), counts
// RejectRuleset and RejectUpstream, and
// classifies failures; see failureOf and the fail* constants. Every dial,
// the engines' await.forward (dialHook) included, goes through one entry
// point, Dialer.Dial with the hops unparsed: the dialer holds the -x chain,
// prepends it and parses each hop list once. The timeout
// itself (RejectTimeout) is counted once, by the dispatcher, when a
// handler returns without starting a session after the deadline.
//
// relay ends the half-open phase (HalfOpen−1, Success+1, Sessions+1),
// writes readAhead to the upstream and hands both connections to two relay
// goroutines that copy the directions (splice(2) between TCP sockets),
// propagate half-closes with CloseWrite, add to BytesUp and BytesDown, and
// close both connections at the end. relay returns at once; the handler
// must then return without touching c or up (so that its goroutine, with
// the stack the handshake grew, is free for the next connection).
// Handlers and the end of each session run on the server's workers
// (workers.go, a core/workers pool): goroutines parked for reuse, so that a set-up does not
// grow fresh stacks; the relay goroutines start fresh and stay small.
// Handlers
// that do not relay plainly (HTTP proxy_pass) call c.startSession and
// c.endSession themselves and register the upstream with c.setUpstream
// so Shutdown can force it closed; c.endHalfOpen clears the socket
// deadline.
//
// # Two connection paths
//
// Everything above describes the goroutine path. On Linux, an event loop
// (loop_linux.go, looptunnel_linux.go, loopasync_linux.go) serves instead
// the connections where nothing blocks the loop: those accepted on the
// SOCKS listener (not -f, not --tproxy) and on --http while there is no
// router, or a router the loop can ask without blocking, and the current
// dialer connects directly (no -x chain: the optional Direct method of
// *dial.Dialer; a Dialer without it, such as a test's, keeps the
// goroutine path). A router the loop can ask is an inline one
// (route.InlineRouter: a route table of package dsl whose rules resolve no
// name), asked on the loop itself, or an asynchronous one
// (route.AsyncRouter, meant for the Lua engine), asked with RouteAsync
// and answering from its own goroutine; an InlineRouter that is also
// asynchronous is asked RouteNow first. One goroutine, parked on the runtime's
// poller between bursts, accepts with accept4 on the listener's own
// descriptor, runs the SOCKS4/4A/5 (with user name and password) and HTTP
// CONNECT handshakes, asks the router, connects without blocking and
// relays with read and write on non-blocking descriptors, through
// core/rawsock. A router's refusal is classified and counted by
// Server.decision, as connect does it. An
// address, or a name the system hosts file answers, is resolved on the
// loop (dial.Dialer.DialTargetNow); other names by dial.Dialer.DialTarget
// on a worker, which posts the answer back through an eventfd. Half-open deadlines are FIFO lists, one per
// timeout value (a reload can change -t). The loop keeps the goroutine
// path's counters, replies, log records (logRequestFailure, the session's
// Debug line), admission limits and descriptor-exhaustion handling
// (guardedListener.shedNow).
//
// An asynchronous decision comes back to the loop as a post, through the
// same eventfd (Receiver.Decided), as does an engine's active dial
// (Request.Connect, which replaces Request.Dial): the loop dials it with
// its own machinery (through a chain of proxies: dialHook on a worker)
// and keeps the connection, so that a Committed decision starts the
// session on the loop; any other decision closes it. While the router
// decides, the tunnel stays half-open under its deadline, its client not
// read. At the deadline or at Shutdown the loop ends a Connect in flight
// with the error the goroutine path's dial would return, fails the tunnel
// as the goroutine path fails it, and abandons the decision
// (Pending.Abandon); a decision already on its way is waited for, what it
// carries closed and the decision released, and the loop does not exit
// before. A router that declines (RouteAsync ok false) gets the
// connection on the goroutine path, which asks Route. A decision applies
// to its own request even if SetRouter replaced its router meanwhile.
//
// A listener has one acceptor at a time: the loop while the fast path
// applies, the Go accept loop otherwise. SetRouter and Reconfigure switch
// it (ownershipChanged): the Go Accept is kicked with a deadline in the
// past and hands the listener over (yieldToLoop), or the loop, woken,
// gives it back (giveBack). A connection the loop accepted while the fast
// path had just ended is handed off at once; a connection the Go Accept
// takes during a switch is served there. Both are correct.
//
// What the loop meets and does not serve goes to the goroutine path,
// which continues where the loop stopped (handoff: the descriptor becomes
// a net.Conn, and the conn carries the start, deadline, counters and the
// bytes already read): SOCKS5 BIND and UDP ASSOCIATE, a request that a
// router which must block or an -x chain set after the accept must
// decide, and a decision the loop does not carry out (a chain of proxies,
// a Committed connection the engine or a worker dialed), which travels with the conn
// (conn.pre) so that connect does not ask the router again (resumeSOCKS
// with socks4Connect or socks5Command, httpConnect); HTTP requests that
// are not CONNECT, 407 answers and heads or targets that do not parse
// (serveHTTPFrom from the start), and an HTTP failure page (httpFail:
// 403, 502). A session whose
// read fills the loop's 16 KiB buffer (bulk), or any session with --pipe,
// graduates to the goroutine relay (graduate: both descriptors become
// net.Conns, the session's pumps splice), carrying its unwritten bytes and
// counts. Shutdown closes the loop's half-open connections without a
// reply, lets its sessions drain until its context is done, and returns
// after the loop has exited with every descriptor closed.
//
// The goroutine path is the reference: TestLoopDiff, TestLoopDiffGenerated
// and FuzzLoopDiff run client scripts against a server on each path and
// require the same bytes and closes at the client, the same counters, log
// records and upstream traffic.
//
// # Reloading
//
// SetRouter swaps the router and Reconfigure the settings a reload may
// change (the -f target, the dialer with its -x chain, the half-open timeout,
// the admission limits, --auth-required, tcp_nodelay and --pipe); both
// take effect for connections accepted afterwards. Listeners and the
// serving mode are fixed at New and Listen, as in the original, which
// never re-creates its listeners.
//
// # Logging
//
// A connection that ends without becoming a session is logged once, by
// logFailure, as "<protocol>: <what failed>" with the client address, the
// requested target when it is known and the reason (err); failureLog
// picks the level the original uses, so that the default --loglevel shows
// failed dials, malformed SOCKS messages and refused authentication, and
// hides clients that simply hang up. A session is logged at Debug when it
// ends, with its byte counts and duration, and with err only when a
// direction failed (the failure that came first, not the closed socket
// it left the other direction; "closed by shutdown" for a session
// Shutdown had to close).
//
// # The HTTP listener contract
//
// Connections accepted on the --http listener go straight to the HTTP
// proxy's method (http.go), the way the proxy listener's go to the SOCKS
// sniffer:
//
//	func (s *Server) serveHTTP(c *conn) { ... }
//
// The handler gets the *conn in its half-open phase and must return when
// it is done with it; the dispatcher closes c afterwards, decrements
// HalfOpen if no session was started, and counts RejectTimeout if the
// deadline had passed.
//
// Handshake bytes read from and written to c through c.read and c.write
// count in ServerRx/ServerTx. Counters Accept and Serve are counted by
// Admit, Request by the handler when a request is completely parsed.
// ConnectLatency is sampled by the server, not the dialer, on each
// successful dial made for a request (dialUpstream, and dialHook for an
// engine's await.forward), so that other users of the dialer, such as the
// ruleset's RPC client, are not counted as proxy connections.
//
// # Files a new inbound protocol touches
//
// Read from how SOCKS4, SOCKS5 and the HTTP proxy are wired. A protocol
// told apart by its first byte on the -l listener, as SOCKS4 and SOCKS5
// are, touches:
//
//   - core/proto/NAME/NAME.go: the pure codec (Parse… returning ErrShort
//     on a short buffer, Append… for replies, typed reply codes with
//     String), and NAME_test.go with its round-trip fuzz target;
//   - core/server/socks.go: one case in serveSOCKS's switch on the first
//     byte, naming the protocol for logFailure;
//   - core/server/NAME.go (or socks.go, as SOCKS4 and SOCKS5 share it):
//     the handler, which fills the handshake buffer, builds the
//     route.Request, calls s.connect, maps failureOf(err) to the
//     protocol's reply and ends with s.grant;
//   - core/server/connect.go (the fail* kinds and failureOf) and
//     core/server/failure.go (failureLog's levels and texts), only when
//     the protocol fails in a way they do not cover yet;
//   - core/server/NAME_test.go and fuzz_test.go: loopback tests against
//     a client oracle (curl, golang.org/x/net/proxy or the codec's
//     client side) and a handshake fuzz target;
//   - README.md (the Inbound list).
//
// A protocol on a listener of its own, as the HTTP proxy on --http, also
// touches core/config/config.go (the listen field, Check's conflicts and
// the configuration-file key), cmd/neosocksd/cli.go (the option),
// core/server/listen.go (binding it) and core/server/server.go (the
// accept loop in Serve, which calls the handler's method directly, as
// it does s.serveHTTP).
//
// # Choices where the specification is silent
//
//   - The relay counts bytes per burst: each read or splice moves what
//     the socket had queued, and the counters are updated after it.
//   - Without --pipe, TCP to TCP relays use splice.CopyBursts: a burst
//     that fits in 16 KiB is read and written through a pooled buffer
//     (cheaper than splice for a request or a reply), a larger one is
//     spliced through a pipe lent from core/splice's pool for that burst,
//     and between bursts the relay waits holding neither (an idle tunnel
//     holds two descriptors). With --pipe it uses splice.CopyProgress,
//     which keeps one pipe per direction for the whole session (six
//     descriptors per tunnel, as the original's --pipe). Pairs that are
//     not two plain TCP sockets (an upstream with handshake read-ahead)
//     copy through a pooled buffer either way.
//   - UDP ASSOCIATE reports the source of target datagrams with
//     IPv4-mapped addresses unmapped (ATYP 01), so a client that sent to
//     an IPv4 target gets the same address back.
//   - An empty -l host binds the IPv4 wildcard (what a passive getaddrinfo
//     returns first on Linux).
//   - Bytes counted for UDP ASSOCIATE are datagram payloads.
//   - Running out of descriptors (EMFILE, ENFILE) refuses the queued
//     clients at once, with a spare descriptor kept for it, instead of
//     pausing the accept loop with the clients left waiting (exhaust.go).
//   - After a large drop of live connections the freed memory is returned
//     to the system (release.go), so the resident size follows the load
//     down instead of staying at its peak until the runtime gets to it.
package server
