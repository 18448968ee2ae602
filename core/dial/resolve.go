package dial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// ParseNameservers parses the --nameserver list "ip[:port],..." (c-ares CSV
// syntax): IPv4 "a.b.c.d" or "a.b.c.d:port", IPv6 "v6" or "[v6]:port".
// The port defaults to 53; empty items are skipped.
func ParseNameservers(csv string) ([]netip.AddrPort, error) {
	var list []netip.AddrPort
	for _, item := range strings.Split(csv, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if ip, err := netip.ParseAddr(item); err == nil && ip.Zone() == "" {
			list = append(list, netip.AddrPortFrom(ip, 53))
			continue
		}
		if strings.HasPrefix(item, "[") && strings.HasSuffix(item, "]") {
			if ip, err := netip.ParseAddr(item[1 : len(item)-1]); err == nil && ip.Is6() {
				list = append(list, netip.AddrPortFrom(ip, 53))
				continue
			}
		}
		ap, err := netip.ParseAddrPort(item)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("invalid nameserver %q", item)
		}
		list = append(list, ap)
	}
	if len(list) == 0 {
		return nil, errors.New("empty nameserver list")
	}
	return list, nil
}

// newResolver returns the resolver for a --nameserver list: Go's own DNS
// client, sending every query to the listed servers in turn (one server
// per connection attempt of the Go resolver, round robin). Each
// connection is closed when the context it was made for ends: Go's client
// waits for an answer until its own timeout (5 s by default) whatever the
// context says, so a request that ended (its deadline, the client gone,
// Shutdown) would otherwise keep a socket and a goroutine that long.
func newResolver(servers []netip.AddrPort) *net.Resolver {
	var next atomic.Uint32
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			i := int(next.Add(1)-1) % len(servers)
			c, err := d.DialContext(ctx, network, servers[i].String())
			if err != nil {
				return nil, err
			}
			// The resolver closes c itself when it is done with it; a
			// second Close once the context ends then does nothing.
			context.AfterFunc(ctx, func() { c.Close() })
			return c, nil
		},
	}
}

// Resolve resolves host with the -4/-6 preference and returns the first
// address the resolver answers with. IP literals (dotted quad, IPv6 with or
// without brackets) resolve to themselves without a query. Names the
// system hosts file answers are answered from a cached copy of it, with
// the address Go's resolver would give, without calling it (see
// hostsCache); with --nameserver every name goes to the resolver. Every
// query, the hosts file's included, is counted in DNSQuery, every answer
// in DNSSuccess. Errors are *Error of kind Resolve, Cancelled or Timeout.
func (d *Dialer) Resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, ok := parseLiteral(host); ok {
		return ip, nil
	}
	return d.lookup(ctx, host)
}

func parseLiteral(host string) (netip.Addr, bool) {
	if v, ok := addr.ParseIPv4(host); ok {
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
	}
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return addr.ParseIPv6(host)
}

// lookup resolves name: from the system hosts file where Go's resolver
// would answer from it (see hostsCache), otherwise through the resolver.
// Either way it is one query to the counters, and one success if
// answered.
func (d *Dialer) lookup(ctx context.Context, name string) (netip.Addr, error) {
	if ip, answered, err := d.lookupNow(name); answered {
		return ip, err
	}
	return d.resolve(ctx, name)
}

// lookupNow is lookup's part that never blocks: an empty name fails, a
// name the hosts cache answers is counted as a query and a success.
// answered is false (nothing counted) when only the resolver can tell.
func (d *Dialer) lookupNow(name string) (ip netip.Addr, answered bool, err error) {
	if name == "" {
		return netip.Addr{}, true, &Error{Kind: Resolve, Err: errors.New("empty host name")}
	}
	ip, ok := d.hosts.lookup(name, d.network)
	if !ok {
		return netip.Addr{}, false, nil
	}
	if st := d.stats; st != nil {
		st.DNSQuery.Add(1)
		st.DNSSuccess.Add(1)
	}
	return ip, true, nil
}

// resolve asks the resolver for name (lookup's part that may block),
// counting the query and its success.
func (d *Dialer) resolve(ctx context.Context, name string) (netip.Addr, error) {
	if st := d.stats; st != nil {
		st.DNSQuery.Add(1)
	}
	ips, err := d.resolver.LookupNetIP(ctx, d.network, name)
	if err != nil {
		if ctx.Err() != nil {
			return netip.Addr{}, ctxError(ctx, err)
		}
		return netip.Addr{}, &Error{Kind: Resolve, Err: err}
	}
	if len(ips) == 0 {
		return netip.Addr{}, &Error{Kind: Resolve, Err: fmt.Errorf("lookup %s: no addresses", name)}
	}
	if st := d.stats; st != nil {
		st.DNSSuccess.Add(1)
	}
	ip := ips[0]
	if d.network != "ip6" {
		// The Go resolver may hand out IPv4 answers in 16-byte form.
		ip = ip.Unmap()
	}
	return ip, nil
}
