package dial

import "net/netip"

// Class is the --block-outbound class of an IP address (protocols §9.6).
type Class uint8

// Address classes. Unspecified addresses are always blocked.
const (
	Unspecified Class = iota // 0.0.0.0/8, ::, and anything not a valid IP
	Loopback                 // 127.0.0.0/8, ::1
	Multicast                // 224.0.0.0/4, ff00::/8
	Local                    // link-local and site-local ranges
	Global                   // everything else
)

func (c Class) String() string {
	switch c {
	case Unspecified:
		return "invalid"
	case Loopback:
		return "loopback"
	case Multicast:
		return "multicast"
	case Local:
		return "local"
	case Global:
		return "global"
	}
	return "unknown"
}

// Classify reports which class ip belongs to. IPv4-mapped IPv6 addresses
// are classified by their embedded IPv4 address; zones are ignored.
func Classify(ip netip.Addr) Class {
	if !ip.IsValid() {
		return Unspecified
	}
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		switch {
		case b[0] == 0:
			return Unspecified
		case b[0] == 127:
			return Loopback
		case b[0]&0xf0 == 224:
			return Multicast
		case b[0] == 169 && b[1] == 254, // link-local
			b[0] == 10,
			b[0] == 172 && b[1]&0xf0 == 16,
			b[0] == 192 && b[1] == 168,
			b[0] == 192 && b[1] == 0 && b[2] == 0:
			return Local
		}
		return Global
	}
	b := ip.As16()
	switch {
	case ip.IsUnspecified():
		return Unspecified
	case ip.IsLoopback():
		return Loopback
	case b[0] == 0xff:
		return Multicast
	// fe80::/10 link-local, fec0::/10 site-local (deprecated), fc00::/7
	// unique local.
	case b[0] == 0xfe && b[1]&0xc0 == 0x80, b[0] == 0xfe && b[1]&0xc0 == 0xc0, b[0]&0xfe == 0xfc:
		return Local
	}
	return Global
}

// Policy is the --block-outbound policy: each true field blocks that class.
// The zero value blocks only unspecified addresses.
type Policy struct{ Loopback, Multicast, Local, Global bool }

// Allows reports whether the policy lets the dialer connect to ip.
func (p Policy) Allows(ip netip.Addr) bool {
	switch Classify(ip) {
	case Loopback:
		return !p.Loopback
	case Multicast:
		return !p.Multicast
	case Local:
		return !p.Local
	case Global:
		return !p.Global
	}
	return false
}
