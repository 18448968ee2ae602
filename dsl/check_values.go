package dsl

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Values: strings, upstream values, host names and domains, matcher
// values, prefixes and ports, each validated and put in canonical form.

// nonASCII reports an IDN and suggests its A-label.
func (c *checker) nonASCII(what, s string, pos lexer.Position) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			host := s
			if h, _, err := addr.Split(s); err == nil {
				host = h
			}
			if a, ok := toALabel(host); ok {
				c.d.errorf(pos, "non-ASCII %s %q: write the A-label %q", what, s, a)
			} else {
				c.d.errorf(pos, "non-ASCII %s %q: names are matched byte by byte; write the A-label", what, s)
			}
			return true
		}
	}
	return false
}

func validLabelByte(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '*'
}

// canonDomain lower-cases d and drops empty labels (a leading dot only
// says "and subdomains", which every domain entry means).
func canonDomain(d string) (string, bool) {
	d = addr.Lower(d)
	var b strings.Builder
	n := 0
	for _, l := range strings.Split(d, ".") {
		if l == "" {
			continue
		}
		for i := 0; i < len(l); i++ {
			if !validLabelByte(l[i]) {
				return "", false
			}
		}
		if n > 0 {
			b.WriteByte('.')
		}
		b.WriteString(l)
		n++
	}
	return b.String(), n > 0
}

// strValue validates one value of a string matcher and returns its
// canonical form.
func (c *checker) strValue(k StrKind, v string, pos lexer.Position) (string, bool) {
	switch k {
	case KExact:
		if c.nonASCII("address", v, pos) {
			return "", false
		}
		_, port, err := addr.Split(v)
		if err != nil || port == "" {
			if err == nil || !strings.Contains(v, ":") {
				c.d.errorf(pos, "exact %q: missing \":port\" (exact compares the whole host:port; use `host %s`)", v, v)
			} else {
				c.d.errorf(pos, "exact %q: invalid address (write host:port, IPv6 as [addr]:port)", v)
			}
			return "", false
		}
		return addr.Lower(v), true
	case KHost:
		if c.nonASCII("host", v, pos) {
			return "", false
		}
		if strings.Contains(v, ":") {
			if _, ok := addr.ParseIPv6(v); !ok {
				c.d.errorf(pos, "host %q contains ':'; a host has no port (use `exact %s`)", v, v)
				return "", false
			}
		}
		if v == "" {
			c.d.errorf(pos, "empty host")
			return "", false
		}
		return addr.Lower(v), true
	case KDomain:
		if c.nonASCII("domain", v, pos) {
			return "", false
		}
		d, ok := canonDomain(v)
		if !ok {
			c.d.errorf(pos, "invalid domain %q", v)
			return "", false
		}
		return d, true
	case KPattern:
		if err := checkPattern(v); err != nil {
			c.d.errorf(pos, "invalid Lua pattern %q: %s", v, patternReason(v, err))
			return "", false
		}
		return v, true
	case KRegex:
		if _, err := compileRegex(v); err != nil {
			c.d.errorf(pos, "invalid regex %q: %v", v, err)
			return "", false
		}
		if strings.HasSuffix(v, "$") && !strings.Contains(v, ":") {
			c.d.warnf(pos, "regex ends in `$` but sees \"host:port\"; add `(:[0-9]+)?` or match the port")
		}
		return v, true
	}
	return v, true
}

func patternReason(p string, err error) string {
	msg := err.Error()
	if strings.Contains(msg, "unexpected EOS") || strings.Contains(msg, "malformed") {
		if strings.HasSuffix(p, "%") && !strings.HasSuffix(p, "%%") {
			return "ends with '%'"
		}
		if strings.Count(p, "[") > strings.Count(p, "]") {
			return "missing ']'"
		}
		if strings.Count(p, "(") > strings.Count(p, ")") {
			return "unfinished capture"
		}
	}
	return msg
}

// prefix parses a CIDR value or a bare address.
func (c *checker) prefix(v string, pos lexer.Position) (netip.Prefix, bool) {
	ip, bits, hasBits := strings.Cut(v, "/")
	var a netip.Addr
	if w, ok := addr.ParseIPv4(ip); ok {
		a = netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)})
	} else if a6, ok := addr.ParseIPv6(ip); ok {
		a = a6
	} else {
		c.d.errorf(pos, "invalid CIDR %q: %q is not an IP address", v, ip)
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		x, err := strconv.Atoi(bits)
		if err != nil || x < 0 || x > a.BitLen() || (len(bits) > 1 && bits[0] == '0') {
			c.d.errorf(pos, "invalid CIDR %q: prefix length must be 0..%d", v, a.BitLen())
			return netip.Prefix{}, false
		}
		n = x
	}
	p := netip.PrefixFrom(a, n)
	if m := p.Masked(); m != p {
		c.d.errorf(pos, "invalid CIDR %q: host bits set; did you mean %s?", v, m)
		return netip.Prefix{}, false
	}
	return p, true
}

func (c *checker) port(v string, pos lexer.Position) (PortRange, bool) {
	lo, hi, isRange := strings.Cut(v, "-")
	if !isRange {
		hi = lo
	}
	a, ok1 := addr.ParsePort(lo)
	b, ok2 := addr.ParsePort(hi)
	if !ok1 || !ok2 || lo == "" || hi == "" || a > b {
		c.d.errorf(pos, "invalid port %q: write a port 0..65535 or a range lo-hi", v)
		return PortRange{}, false
	}
	return PortRange{int(a), int(b)}, true
}
