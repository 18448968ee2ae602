// Package addr holds the address primitives every other part of the proxy
// shares: splitting "host:port" strings, strict IP parsing, ASCII
// lower-casing, dial targets and proxy URIs.
//
// The Lua engine (neosocksd.splithostport, parse_ipv4/6, string.lower) and
// the route-table engine both call into this package, so the two engines
// cannot disagree about what an address means. It must stay free of I/O and
// of any dependency outside the standard library.
package addr

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// MaxAddrLen is the longest "host:port" string accepted anywhere (a 255-byte
// domain, brackets, colon and a 5-digit port).
const MaxAddrLen = 261

// MaxDomainLen is the longest domain name a dial target may carry.
const MaxDomainLen = 255

// Errors returned by the parsers. They are wrapped with the offending input.
var (
	ErrInvalid = errors.New("invalid address")
	ErrTooLong = errors.New("address too long")
)

// SplitError describes why a "host:port" string could not be split. Its
// message matches neosocksd's Lua error texts.
type SplitError struct {
	Addr string
	Err  error
}

func (e *SplitError) Error() string {
	if e.Err == ErrTooLong {
		return fmt.Sprintf("address too long: %d bytes", len(e.Addr))
	}
	return fmt.Sprintf("invalid address: `%s'", e.Addr)
}

func (e *SplitError) Unwrap() error { return e.Err }

// Split splits s at its last colon into host and port. A host written as
// "[...]" loses its brackets; an unbracketed host that still contains a
// colon is rejected (so "::1:80" is invalid, "[::1]:80" is not). Host and
// port may be empty. Strings longer than MaxAddrLen are rejected.
//
// Split does not validate the port; see ParsePort.
func Split(s string) (host, port string, err error) {
	if len(s) > MaxAddrLen {
		return "", "", &SplitError{Addr: s, Err: ErrTooLong}
	}
	i := lastColon(s)
	if i < 0 {
		return "", "", &SplitError{Addr: s, Err: ErrInvalid}
	}
	host, port = s[:i], s[i+1:]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1], port, nil
	}
	if lastColon(host) >= 0 {
		return "", "", &SplitError{Addr: s, Err: ErrInvalid}
	}
	return host, port, nil
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

// Join is the inverse of Split: it brackets hosts that contain a colon, so
// that an IPv6 host survives a round trip (patch P1 of the route-table
// design; the original framework forgot the brackets).
func Join(host, port string) string {
	if lastColon(host) >= 0 {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// ParsePort parses a dial-target port: decimal digits only, 0..65535; the
// empty string is port 0, as in the original.
func ParsePort(s string) (uint16, bool) {
	if len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// Lower returns s with ASCII A-Z folded to a-z and every other byte kept:
// C Lua's string.lower, not Unicode folding. It does not allocate when s has
// no upper-case ASCII letter.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// Upper is the ASCII-only counterpart of Lower.
func Upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'a' <= c && c <= 'z' {
					b[j] = c - ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// ParseIPv4 parses a strict dotted quad the way inet_pton(AF_INET) does:
// exactly four decimal parts 0..255, no leading zeros, nothing else. It
// returns the address in host order.
func ParseIPv4(s string) (uint32, bool) {
	var v uint32
	part, digits, dots := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && part == 0 {
				return 0, false // leading zero
			}
			part = part*10 + int(c-'0')
			digits++
			if part > 255 {
				return 0, false
			}
		case c == '.':
			if digits == 0 || dots == 3 {
				return 0, false
			}
			v = v<<8 | uint32(part)
			part, digits = 0, 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 || digits == 0 {
		return 0, false
	}
	return v<<8 | uint32(part), true
}

// ParseIPv6 parses IPv6 text the way inet_pton(AF_INET6) does: "::"
// compression and an embedded dotted-quad tail are allowed; zones
// ("%eth0"), brackets and IPv4 addresses are not. An IPv4-mapped address
// stays an IPv6 address.
func ParseIPv6(s string) (netip.Addr, bool) {
	if len(s) < 2 || len(s) > 45 {
		return netip.Addr{}, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// IPv6Words returns the address as four 32-bit words, most significant
// first: the shape parse_ipv6 returns on Lua builds whose numbers cannot
// hold 64-bit integers exactly.
func IPv6Words(a netip.Addr) [4]uint32 {
	b := a.As16()
	var w [4]uint32
	for i := range w {
		w[i] = uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
	}
	return w
}

// FormatIPv4 renders a host-order IPv4 address as a dotted quad.
func FormatIPv4(v uint32) string {
	b := make([]byte, 0, 15)
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(v>>(8*uint(i))&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	return string(b)
}
