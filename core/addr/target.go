package addr

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Kind says what a dial target's host is.
type Kind uint8

// Target kinds, in the order of SOCKS5's address types.
const (
	IPv4 Kind = iota + 1
	Domain
	IPv6
)

func (k Kind) String() string {
	switch k {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	case Domain:
		return "domain"
	}
	return "invalid"
}

// Addr is a dial target: an IP address and port, or a domain name and port.
// The zero value is invalid. Addr is comparable.
type Addr struct {
	kind Kind
	ip   netip.Addr
	name string // raw bytes for Domain (case kept, not validated)
	port uint16
}

// FromAddrPort returns the target for an IP endpoint. An IPv4-mapped IPv6
// address stays IPv6; a zone is kept for formatting.
func FromAddrPort(ap netip.AddrPort) Addr {
	k := IPv6
	if ap.Addr().Is4() {
		k = IPv4
	}
	return Addr{kind: k, ip: ap.Addr(), port: ap.Port()}
}

// FromDomain returns a domain-name target. The name is kept byte for byte.
func FromDomain(name string, port uint16) Addr {
	return Addr{kind: Domain, name: name, port: port}
}

// ParseTarget parses a dial target "host:port" with the rules of the
// original's dialer: IPv4 literal, IPv6 literal (bracketed), or a domain of
// at most MaxDomainLen bytes; decimal port 0..65535 (empty means 0).
func ParseTarget(s string) (Addr, error) {
	host, port, err := Split(s)
	if err != nil {
		return Addr{}, err
	}
	p, ok := ParsePort(port)
	if !ok {
		return Addr{}, fmt.Errorf("%w: bad port in %q", ErrInvalid, s)
	}
	if v, ok := ParseIPv4(host); ok {
		return Addr{kind: IPv4, ip: netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), port: p}, nil
	}
	if ip, ok := ParseIPv6(host); ok {
		return Addr{kind: IPv6, ip: ip, port: p}, nil
	}
	if len(host) > MaxDomainLen {
		return Addr{}, fmt.Errorf("%w: name too long in %q", ErrInvalid, s)
	}
	return Addr{kind: Domain, name: host, port: p}, nil
}

// Kind reports the kind of host; zero for the zero Addr.
func (a Addr) Kind() Kind { return a.kind }

// IsValid reports whether a is not the zero Addr.
func (a Addr) IsValid() bool { return a.kind != 0 }

// IP returns the IP address of an IPv4 or IPv6 target.
func (a Addr) IP() netip.Addr { return a.ip }

// Name returns the domain name of a Domain target.
func (a Addr) Name() string { return a.name }

// Port returns the port.
func (a Addr) Port() uint16 { return a.port }

// AddrPort returns the IP endpoint; it is invalid for Domain targets.
func (a Addr) AddrPort() netip.AddrPort { return netip.AddrPortFrom(a.ip, a.port) }

// Host returns the host part as it appears inside "host:port" without
// brackets: dotted quad, RFC 5952 IPv6 (IPv4-mapped kept as ::ffff:a.b.c.d),
// or the domain name.
func (a Addr) Host() string {
	switch a.kind {
	case IPv4, IPv6:
		return a.ip.String()
	case Domain:
		return a.name
	}
	return ""
}

// String formats the target as the ruleset sees it: "a.b.c.d:port",
// "[v6]:port" or "name:port".
func (a Addr) String() string {
	switch a.kind {
	case IPv4, Domain:
		return a.Host() + ":" + strconv.Itoa(int(a.port))
	case IPv6:
		return "[" + a.ip.String() + "]:" + strconv.Itoa(int(a.port))
	}
	return "<invalid>"
}
