package dial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/rawsock"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// Options configure a Dialer. The zero value dials directly with the
// system resolver, TCP_NODELAY and SO_KEEPALIVE off, and blocks only
// unspecified addresses; OptionsFrom fills it from the configuration.
type Options struct {
	// Proxies is the -x chain, first hop first: every dial goes through
	// it before the hops of the request.
	Proxies []addr.Proxy
	// ResolvePF is config.PFUnspec, PFInet (-4) or PFInet6 (-6).
	ResolvePF int
	// Nameserver is the --nameserver list "ip[:port],..."; empty means the
	// system resolver. An unparsable list is logged and ignored.
	Nameserver string
	// Netdev binds outgoing sockets to an interface (SO_BINDTODEVICE);
	// failure only logs a warning.
	Netdev string
	// Block is the --block-outbound policy.
	Block Policy
	// TCPNoDelay, TCPKeepAlive and FastOpenConnect set TCP_NODELAY,
	// SO_KEEPALIVE and TCP_FASTOPEN_CONNECT on outgoing sockets.
	TCPNoDelay, TCPKeepAlive, FastOpenConnect bool
	// SndBuf and RcvBuf set SO_SNDBUF and SO_RCVBUF when positive.
	SndBuf, RcvBuf int
	// Stats receives DNS counters and handshake bytes with upstream
	// proxies (ClientRx/ClientTx), whoever dials. Connect latencies are
	// not sampled here: only the proxy server knows which dials serve a
	// proxy request (the ruleset's RPC client dials through here too).
	// May be nil.
	Stats *stats.Counters
	// Logger receives socket option warnings. May be nil.
	Logger *slog.Logger
}

// OptionsFrom returns the dialer options of c: the -x chain, parsed here
// once, and the resolve_pf, nameserver, netdev, block_* and tcp_* fields.
// Stats and Logger are left for the caller. An -x chain that does not
// parse is an error.
func OptionsFrom(c *config.Config) (Options, error) {
	proxies, err := addr.ParseProxyList(c.Proxy)
	if err != nil {
		// addr's error names the URI; the daemon says it is the
		// outbound configuration.
		return Options{}, err
	}
	return Options{
		Proxies:    proxies,
		ResolvePF:  c.ResolvePF,
		Nameserver: c.Nameserver,
		Netdev:     c.Netdev,
		Block: Policy{
			Loopback:  c.BlockLoopback,
			Multicast: c.BlockMulticast,
			Local:     c.BlockLocal,
			Global:    c.BlockGlobal,
		},
		TCPNoDelay:      c.TCPNoDelay,
		TCPKeepAlive:    c.TCPKeepAlive,
		FastOpenConnect: c.TCPFastOpenConnect,
		SndBuf:          c.TCPSndBuf,
		RcvBuf:          c.TCPRcvBuf,
	}, nil
}

// Dialer dials targets through the -x chain and the hops each request
// adds. It is safe for concurrent use and its configuration is immutable
// once built; to apply a new configuration (a reload), build a new Dialer
// and swap it for the old one.
type Dialer struct {
	base     []addr.Proxy // the -x chain
	chains   chainCache
	block    Policy
	nodelay  bool
	netdev   string
	fastOpen bool
	// keepAlive is TCPKeepAlive (net sets it on Dial's sockets; see
	// SetSocketOptions for other sockets).
	keepAlive bool
	sndbuf    int
	rcvbuf    int
	stats     *stats.Counters
	log       *slog.Logger
	network   string // "ip", "ip4" or "ip6" for lookups
	resolver  *net.Resolver
	hosts     *hostsCache // nil: every name goes to resolver
	nd        net.Dialer

	// warned records which socket options already logged a warning, so a
	// persistent failure does not log once per connection.
	warned [4]atomic.Bool
}

const (
	warnNetdev = iota
	warnSndBuf
	warnRcvBuf
	warnFastOpen
)

// ifNameMax is IFNAMSIZ-1: the longest interface name the kernel accepts.
const ifNameMax = 15

// New builds a Dialer from o.
func New(o Options) *Dialer {
	d := &Dialer{
		base:      o.Proxies,
		block:     o.Block,
		nodelay:   o.TCPNoDelay,
		netdev:    o.Netdev,
		fastOpen:  o.FastOpenConnect,
		keepAlive: o.TCPKeepAlive,
		sndbuf:    o.SndBuf,
		rcvbuf:    o.RcvBuf,
		stats:     o.Stats,
		log:       o.Logger,
		network:   "ip",
		resolver:  net.DefaultResolver,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if len(d.netdev) > ifNameMax {
		d.netdev = d.netdev[:ifNameMax]
	}
	switch o.ResolvePF {
	case config.PFInet:
		d.network = "ip4"
	case config.PFInet6:
		d.network = "ip6"
	}
	if o.Nameserver != "" {
		servers, err := ParseNameservers(o.Nameserver)
		if err != nil {
			d.log.Warn("nameserver not applied, using the system resolver", "err", err)
		} else {
			d.resolver = newResolver(servers)
		}
	}
	if d.resolver == net.DefaultResolver {
		// A resolver built for --nameserver is left alone: Go reads the
		// hosts file for it too, but that is its business.
		d.hosts = systemHosts
	}
	if o.TCPKeepAlive {
		// SO_KEEPALIVE only; the probe timings stay the kernel's.
		d.nd.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	} else {
		d.nd.KeepAlive = -1
	}
	if d.netdev != "" || d.sndbuf > 0 || d.rcvbuf > 0 || d.fastOpen {
		d.nd.Control = d.control
	}
	return d
}

// control sets the socket options that must precede connect(2).
func (d *Dialer) control(_, _ string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) { d.SetSocketOptions(int(fd), false) })
}

// Direct reports whether the dialer connects to targets itself, with no
// -x chain before them: what an event loop that connects without
// blocking can do in its place (see SetSocketOptions, DialTarget and
// ConnectFailed).
func (d *Dialer) Direct() bool { return len(d.base) == 0 }

// SetSocketOptions sets the outbound socket options of the configuration
// on fd, a TCP socket not yet connected: --netdev, the buffer sizes and
// TCP_FASTOPEN_CONNECT, and, when raw is set (a socket opened with
// socket(2) rather than by net, which turns TCP_NODELAY on and sets
// keep-alive itself), TCP_NODELAY and SO_KEEPALIVE where the
// configuration departs from the kernel's defaults (both off). Failures
// are logged as Dial logs them and do not stop the dial. Dial's own
// sockets and an event loop's use this one method, so that they cannot
// drift apart.
func (d *Dialer) SetSocketOptions(fd int, raw bool) {
	if raw {
		// Raw calls (rawsock.SetIntRaw): the loop dials between its
		// parks, where the scheduler's bracket would wake sysmon each time.
		if d.nodelay {
			_ = rawsock.SetIntRaw(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // only latency at stake
		}
		if d.keepAlive {
			_ = rawsock.SetIntRaw(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1) // as net ignores its failure
		}
	}
	if d.netdev != "" {
		d.warn(warnNetdev, bindToDevice(fd, d.netdev), "SO_BINDTODEVICE", d.netdev)
	}
	if d.sndbuf > 0 {
		d.warn(warnSndBuf, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, d.sndbuf), "SO_SNDBUF", strconv.Itoa(d.sndbuf))
	}
	if d.rcvbuf > 0 {
		d.warn(warnRcvBuf, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, d.rcvbuf), "SO_RCVBUF", strconv.Itoa(d.rcvbuf))
	}
	if d.fastOpen {
		d.warn(warnFastOpen, fastOpenConnect(fd), "TCP_FASTOPEN_CONNECT", "1")
	}
}

// warn logs a failed socket option: the first time as a warning, later at
// debug level. The dial goes on either way.
func (d *Dialer) warn(which int, err error, opt, value string) {
	if err == nil {
		return
	}
	level := slog.LevelWarn
	if d.warned[which].Swap(true) {
		level = slog.LevelDebug
	}
	d.log.Log(context.Background(), level, "setsockopt failed", "opt", opt, "value", value, "err", err)
}

// Dial connects to target through the -x chain followed by hops (first hop
// first). It is the one entry point of every outbound connection: the
// server's own dials, the ruleset's routed requests, await.forward and
// the RPC client's await.invoke. A hop URI that does not parse is an
// *Error of kind InvalidAddr wrapping ErrHop; hop chains are parsed once
// and remembered, not once per request.
//
// Only the first hop is resolved locally (the -4/-6 preference applies,
// the first answer is used); the block policy is applied to its IP; then
// each proxy's CONNECT handshake is run towards the next hop, which is
// sent by name.
//
// The returned conn is the outbound TCP socket, a *net.TCPConn, so that
// io.Copy between two TCP conns can splice; its LocalAddr is the local
// address of that socket. The only exception: an HTTP proxy that sent
// bytes beyond its response head before we wrote anything. The conn then
// returns those bytes first; it still has every *net.TCPConn method
// (CloseWrite, SetDeadline, ...) and its WriteTo splices once the bytes are
// drained.
//
// ctx bounds everything: resolution, connect and the handshakes. Errors
// are *Error; connect failures carry the errno.
func (d *Dialer) Dial(ctx context.Context, target addr.Addr, hops route.Chain) (net.Conn, error) {
	if !target.IsValid() {
		return nil, &Error{Kind: InvalidAddr, Err: errors.New("no target")}
	}
	chain, err := d.chain(hops)
	if err != nil {
		return nil, err
	}
	first := target
	if len(chain) > 0 {
		first = chain[0].Addr
	}
	ap, err := d.DialTarget(ctx, first)
	if err != nil {
		return nil, err
	}
	c, err := d.nd.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	tc := c.(*net.TCPConn)
	if !d.nodelay {
		// Go enables TCP_NODELAY on every TCP socket; undo it. A failure
		// here only costs latency, so it is ignored.
		_ = tc.SetNoDelay(false)
	}
	conn := net.Conn(tc)
	if len(chain) > 0 {
		if conn, err = d.handshakes(ctx, tc, target, chain); err != nil {
			tc.Close()
			return nil, err
		}
	}
	return conn, nil
}

// DialTarget is the address Dial connects to for first, the first hop:
// a name is resolved (the -4/-6 preference, --nameserver, the DNS
// counters; the first answer is used) and the --block-outbound policy is
// applied. Errors are *Error (Resolve, Cancelled, Timeout, Blocked). An
// event loop that connects by itself (Direct) calls it, from a goroutine
// of its own since a lookup blocks, so that it resolves and refuses
// exactly as Dial does.
func (d *Dialer) DialTarget(ctx context.Context, first addr.Addr) (netip.AddrPort, error) {
	ap, _, err := d.firstHop(ctx, first, true)
	return ap, err
}

// DialTargetNow is DialTarget for a caller that must not block, such as
// an event loop: it answers at once where no resolver is needed (an
// address, or a name the system hosts file answers, see hostsCache),
// with DialTarget's address, error and counters. answered is false when
// only the resolver can tell; nothing has been counted then, and the
// caller asks DialTarget where it may block.
func (d *Dialer) DialTargetNow(first addr.Addr) (ap netip.AddrPort, answered bool, err error) {
	return d.firstHop(context.Background(), first, false) // never used: no lookup may block
}

// firstHop is DialTarget's and DialTargetNow's one body: the lookup (the
// resolver only if mayBlock) and the block policy.
func (d *Dialer) firstHop(ctx context.Context, first addr.Addr, mayBlock bool) (netip.AddrPort, bool, error) {
	ip := first.IP()
	if first.Kind() == addr.Domain {
		var answered bool
		var err error
		if ip, answered, err = d.lookupNow(first.Name()); !answered {
			if !mayBlock {
				return netip.AddrPort{}, false, nil
			}
			ip, err = d.resolve(ctx, first.Name())
		}
		if err != nil {
			return netip.AddrPort{}, true, err
		}
	}
	if !d.block.Allows(ip) {
		return netip.AddrPort{}, true, &Error{Kind: Blocked, Err: fmt.Errorf("dial %s: %s address %s", first, Classify(ip), ip)}
	}
	return netip.AddrPortFrom(ip, first.Port()), true, nil
}

// ConnectFailed is the error Dial returns when connect(2) to ap fails
// with errno, for an event loop that connects by itself: the same Kind,
// Errno and text.
func ConnectFailed(ap netip.AddrPort, errno syscall.Errno) *Error {
	err := &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError("connect", errno)}
	return &Error{Kind: Connect, Errno: errno, Err: err}
}

// DialString is Dial for a target given as text ("host:port", see
// addr.ParseTarget), as the ruleset names it; a target that does not parse
// is an *Error of kind InvalidAddr.
func (d *Dialer) DialString(ctx context.Context, target string, hops route.Chain) (net.Conn, error) {
	t, err := addr.ParseTarget(target)
	if err != nil {
		return nil, &Error{Kind: InvalidAddr, Err: err}
	}
	return d.Dial(ctx, t, hops)
}

// connectError classifies a failed connect.
func connectError(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return ctxError(ctx, err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		// Errors of socket(2), setsockopt(2) or bind(2) are system errors;
		// only connect(2) itself failing is "connection failed".
		kind := Connect
		var se *os.SyscallError
		if errors.As(err, &se) && se.Syscall != "connect" {
			kind = System
		}
		return &Error{Kind: kind, Errno: errno, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: Timeout, Err: err}
	}
	return &Error{Kind: Connect, Err: err}
}
