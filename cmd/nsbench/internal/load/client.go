// Package load is the benchmark's load client: it opens tunnels through
// the proxy under test with SOCKS5, SOCKS4/4A or HTTP CONNECT (or none,
// for a port forwarder), verifies each with an echo through the sink, and
// measures bulk throughput, set-up rate and latency, and the proxy's
// memory with many idle tunnels. It reports through the Suite's writer,
// one "metric=value unit" line per figure, and talks to loopback only.
package load

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
)

// Proto is how the client asks the proxy for a tunnel.
type Proto string

// The protocols. Those with a host name ask the proxy to resolve the
// sink's name; the others give it the IPv4 literal.
const (
	SOCKS5IP   Proto = "socks5_ip"   // SOCKS5, no authentication, IPv4 literal (ATYP 1)
	SOCKS5Host Proto = "socks5_host" // SOCKS5, no authentication, host name (ATYP 3)
	SOCKS4     Proto = "socks4"      // SOCKS4 CONNECT to an IPv4 literal
	SOCKS4A    Proto = "socks4a"     // SOCKS4A CONNECT to a host name
	HTTP       Proto = "http"        // HTTP/1.1 CONNECT host:port
	HTTPIP     Proto = "http_ip"     // HTTP/1.1 CONNECT ip:port
	Raw        Proto = "raw"         // no handshake: a port forwarder, or the sink itself
)

// Protos lists every protocol, in the order of the documentation.
var Protos = []Proto{SOCKS5IP, SOCKS5Host, SOCKS4, SOCKS4A, HTTP, HTTPIP, Raw}

// ParseProto returns the protocol named s.
func ParseProto(s string) (Proto, error) {
	for _, p := range Protos {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("load: unknown protocol %q", s)
}

func (p Proto) isHTTP() bool { return p == HTTP || p == HTTPIP }

// Target is what the client asks the proxy to connect to: the sink.
type Target struct {
	IP    netip.Addr // IPv4 loopback literal, for the *_ip protocols and SOCKS4
	Host  string     // host name that resolves to the sink
	Ports []uint16   // the sink's ports, used in turn
}

// Client opens tunnels through a proxy with one protocol.
type Client struct {
	proto     Proto
	proxy     string // the SOCKS (or raw) listener
	httpProxy string // the HTTP CONNECT listener
	target    Target
	srcIPs    []net.IP
	timeout   time.Duration
}

// ClientConfig configures NewClient.
type ClientConfig struct {
	Proto     Proto
	Proxy     string // address of the SOCKS listener, or the forwarder for Raw
	HTTPProxy string // address of the HTTP CONNECT listener; "" means Proxy
	Target    Target
	// SourceIPs spreads the client's connections over this many source
	// addresses 127.0.1.1, 127.0.1.2, … when Proxy is an IPv4 address, so
	// that thousands of set-ups a second do not run out of loopback
	// 4-tuples; 0 leaves the choice to the kernel, as it is left on
	// systems other than Linux (whose loopback is not all of 127/8).
	SourceIPs int
	// Timeout bounds the connect and handshake of a tunnel and each echo.
	Timeout time.Duration
}

// NewClient checks c and returns a client. Every address must be a
// loopback address.
func NewClient(c ClientConfig) (*Client, error) {
	if _, err := ParseProto(string(c.Proto)); err != nil {
		return nil, err
	}
	if c.HTTPProxy == "" {
		c.HTTPProxy = c.Proxy
	}
	for _, a := range []string{c.Proxy, c.HTTPProxy} {
		if err := loopback.Check(a); err != nil {
			return nil, fmt.Errorf("load: proxy: %w", err)
		}
	}
	if !c.Target.IP.Is4() || !c.Target.IP.IsLoopback() {
		return nil, fmt.Errorf("load: target %v is not an IPv4 loopback address", c.Target.IP)
	}
	if c.Target.Host == "" || len(c.Target.Host) > 255 || strings.ContainsAny(c.Target.Host, "\x00\r\n :") {
		return nil, fmt.Errorf("load: target host %q is not a host name", c.Target.Host)
	}
	if len(c.Target.Ports) == 0 {
		return nil, errors.New("load: no sink ports")
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	cl := &Client{proto: c.Proto, proxy: c.Proxy, httpProxy: c.HTTPProxy, target: c.Target, timeout: c.Timeout}
	cl.target.Ports = append([]uint16(nil), c.Target.Ports...)
	if ap, err := netip.ParseAddrPort(c.Proxy); err == nil && ap.Addr().Is4() && spreadSources {
		for i := 1; i <= min(c.SourceIPs, 254); i++ {
			cl.srcIPs = append(cl.srcIPs, net.IPv4(127, 0, 1, byte(i)))
		}
	}
	return cl, nil
}

// Proto returns the client's protocol.
func (c *Client) Proto() Proto { return c.proto }

// Timeout returns the client's timeout.
func (c *Client) Timeout() time.Duration { return c.timeout }

func (c *Client) dialer(i int) *net.Dialer {
	d := &net.Dialer{Timeout: c.timeout}
	if len(c.srcIPs) == 0 {
		return d
	}
	d.LocalAddr = &net.TCPAddr{IP: c.srcIPs[i%len(c.srcIPs)]}
	d.Control = func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = bindAddressNoPort(fd) }); err != nil {
			return err
		}
		return serr
	}
	return d
}

// Open dials the proxy and completes the handshake of tunnel number i,
// which goes to the sink port i selects. It returns the tunnel and the
// handshake latency: from the start of the dial until the proxy reported
// success (for Raw, until the connection was established).
func (c *Client) Open(i int) (net.Conn, time.Duration, error) {
	port := c.target.Ports[i%len(c.target.Ports)]
	proxy := c.proxy
	if c.proto.isHTTP() {
		proxy = c.httpProxy
	}
	t0 := time.Now()
	conn, err := c.dialer(i).Dial("tcp", proxy)
	if err != nil {
		return nil, 0, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if c.proto == Raw {
		return conn, time.Since(t0), nil
	}
	conn.SetDeadline(t0.Add(c.timeout))
	tunnel, err := c.handshake(conn, port)
	if err != nil {
		conn.Close()
		return nil, 0, fmt.Errorf("%s handshake with %s: %w", c.proto, proxy, err)
	}
	hs := time.Since(t0)
	conn.SetDeadline(time.Time{})
	return tunnel, hs, nil
}

func (c *Client) handshake(conn net.Conn, port uint16) (net.Conn, error) {
	ip4 := c.target.IP.As4()
	switch c.proto {
	case SOCKS5IP:
		return conn, socks5Connect(conn, socks5AddrIPv4(nil, ip4), port)
	case SOCKS5Host:
		return conn, socks5Connect(conn, socks5AddrName(nil, c.target.Host), port)
	case SOCKS4:
		return conn, socks4Connect(conn, ip4, "", port)
	case SOCKS4A:
		return conn, socks4Connect(conn, [4]byte{0, 0, 0, 1}, c.target.Host, port)
	case HTTP, HTTPIP:
		host := c.target.Host
		if c.proto == HTTPIP {
			host = c.target.IP.String()
		}
		return httpConnect(conn, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	return nil, fmt.Errorf("load: no handshake for %q", c.proto)
}

// socks4User is the user ID the SOCKS4 requests carry.
const socks4User = "nsbench"

func socks5AddrIPv4(b []byte, ip [4]byte) []byte { return append(append(b, 1), ip[:]...) }
func socks5AddrName(b []byte, host string) []byte {
	return append(append(b, 3, byte(len(host))), host...)
}

// socks5Connect greets without authentication and asks for a CONNECT to
// the address encoded in atypAddr (ATYP byte and address) and port.
func socks5Connect(conn net.Conn, atypAddr []byte, port uint16) error {
	var b [262]byte
	req := append(b[:0], 5, 1, 0) // version 5, one method: no authentication
	if _, err := conn.Write(req); err != nil {
		return err
	}
	if _, err := io.ReadFull(conn, b[:2]); err != nil {
		return fmt.Errorf("method reply: %w", err)
	}
	if b[0] != 5 || b[1] != 0 {
		return fmt.Errorf("method reply %x", b[:2])
	}
	req = append(b[:0], 5, 1, 0) // version, CONNECT, reserved
	req = append(req, atypAddr...)
	req = binary.BigEndian.AppendUint16(req, port)
	if _, err := conn.Write(req); err != nil {
		return err
	}
	// the reply: version, code, reserved, ATYP, then the bound address
	if _, err := io.ReadFull(conn, b[:5]); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	if b[0] != 5 {
		return fmt.Errorf("reply version %d", b[0])
	}
	if b[1] != 0 {
		return fmt.Errorf("reply code %d", b[1])
	}
	var rest int // what follows the fifth byte, port included
	switch b[3] {
	case 1:
		rest = 4 - 1 + 2
	case 4:
		rest = 16 - 1 + 2
	case 3:
		rest = int(b[4]) + 2
	default:
		return fmt.Errorf("reply address type %d", b[3])
	}
	if _, err := io.ReadFull(conn, b[5:5+rest]); err != nil {
		return fmt.Errorf("reply address: %w", err)
	}
	return nil
}

// socks4Connect asks for a CONNECT to ip:port, or with host set (and ip
// 0.0.0.x, x ≠ 0) to host:port the SOCKS4A way.
func socks4Connect(conn net.Conn, ip [4]byte, host string, port uint16) error {
	var b [300]byte
	req := append(b[:0], 4, 1)
	req = binary.BigEndian.AppendUint16(req, port)
	req = append(req, ip[:]...)
	req = append(append(req, socks4User...), 0)
	if host != "" {
		req = append(append(req, host...), 0)
	}
	if _, err := conn.Write(req); err != nil {
		return err
	}
	if _, err := io.ReadFull(conn, b[:8]); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	if b[0] != 0 {
		return fmt.Errorf("reply version %d", b[0])
	}
	if b[1] != 0x5a { // request granted
		return fmt.Errorf("reply code %#x", b[1])
	}
	return nil
}

// httpConnect sends a CONNECT for hostport and reads the response head.
// Bytes the proxy sent after the head stay readable from the returned
// connection.
func httpConnect(conn net.Conn, hostport string) (net.Conn, error) {
	req := "CONNECT " + hostport + " HTTP/1.1\r\nHost: " + hostport + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 1024)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("status line: %w", err)
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || f[1] != "200" {
		return nil, fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	const maxHeaderLines = 100
	for range maxHeaderLines {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("response header: %w", err)
		}
		if line == "\r\n" || line == "\n" {
			if br.Buffered() == 0 {
				return conn, nil
			}
			return &bufferedConn{Conn: conn, r: br}, nil
		}
	}
	return nil, fmt.Errorf("more than %d response header lines", maxHeaderLines)
}

// bufferedConn reads through the reader that holds bytes already taken
// off the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Echo sends the sink's echo mode byte and payload through a fresh tunnel
// and waits for the payload to come back: that turns a handshake into a
// verified tunnel, left open for more.
func Echo(conn net.Conn, payload []byte, timeout time.Duration) error {
	msg := make([]byte, 0, 1+len(payload))
	msg = append(append(msg, 'E'), payload...)
	return roundTrip(conn, msg, payload, timeout)
}

// EchoOneShot uses the sink's one-shot mode: the payload (at most 255
// bytes) is echoed and the sink closes its side at once. The caller can
// close right after, so a proxy that does not forward half-closes still
// sees both of its peers go away.
func EchoOneShot(conn net.Conn, payload []byte, timeout time.Duration) error {
	if len(payload) > 255 {
		return errors.New("load: one-shot payload longer than 255 bytes")
	}
	msg := make([]byte, 0, 2+len(payload))
	msg = append(append(msg, 'P', byte(len(payload))), payload...)
	return roundTrip(conn, msg, payload, timeout)
}

var errEchoMismatch = errors.New("load: the echo differs from what was sent")

func roundTrip(conn net.Conn, msg, want []byte, timeout time.Duration) error {
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(conn, got); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	if string(got) != string(want) {
		return errEchoMismatch
	}
	return nil
}

// Check opens one tunnel and verifies an echo through it.
func (c *Client) Check() error {
	conn, _, err := c.Open(0)
	if err != nil {
		return err
	}
	defer conn.Close()
	return Echo(conn, []byte("check"), c.timeout)
}
