package dsl

import "net/netip"

// Leaf is the L-IR node of a matcher kind, seen from outside the package:
// what a request is compared with, without the kind. The conformance
// suite builds its requests and its proofs from Literals and Splits, so a
// new kind brings them from its own file; composite nodes (MNot, MAll,
// MAnyOf, MSet) and MAny are not leaves.
type Leaf interface {
	MatchIR
	// Literals returns the node's values in the order written.
	Literals() []Literal
	// Splits reports whether the node splits the address into host and
	// port first, and so fails on an address that does not split.
	Splits() bool
}

// LiteralKind says how a matcher compares a request with one literal.
type LiteralKind uint8

// Literal kinds.
const (
	LitAddr    LiteralKind = iota // Value: a whole "host:port", compared case-insensitively
	LitHost                       // Value: the host, compared case-insensitively, any port
	LitDomain                     // Value: the host or one of its subdomains
	LitRegex                      // Value: a POSIX extended regex searched for in the address
	LitPattern                    // Value: a Lua pattern searched for in the address
	LitPorts                      // Ports: the port is in the range
	LitPrefix                     // Prefix: the address is in the prefix
)

// Literal is one value of a leaf matcher.
type Literal struct {
	Kind   LiteralKind
	Value  string
	Ports  PortRange
	Prefix netip.Prefix
}

// Leaves returns the leaf nodes holding the set's values, in the order
// string values, list values (domain, host, regex, pattern), IPv4 and
// IPv6 prefixes.
func (s *SetIR) Leaves() []Leaf {
	var out []Leaf
	for _, m := range append([]*MStr{s.Str}, s.List[:]...) {
		if m != nil {
			out = append(out, m)
		}
	}
	for _, m := range []*MCIDR{s.V4, s.V6} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}
