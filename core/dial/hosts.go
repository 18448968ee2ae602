package dial

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// HostsTable is a parsed hosts file, answering names the way Go's own
// resolver answers them from that file (the net package's "files"
// source), or saying it cannot. It is immutable once parsed and safe for
// concurrent use; a nil *HostsTable answers nothing.
//
// Go's rules, which ParseHosts and Lookup follow:
//   - a line is cut at its first '#', then split into fields at spaces,
//     tabs and carriage returns (no other white space); a line with fewer
//     than two fields, or whose first field is not an address
//     (netip.ParseAddr, IPv6 zones included), is skipped;
//   - reading stops at the first line of 64 KiB or more, as Go's reader
//     does;
//   - names match ASCII case-insensitively, and a name with a dot in it
//     matches with or without one final dot; a name without a dot does
//     not match with one ("localhost." is not "localhost");
//   - every line that lists a name adds its address to the name's list,
//     in file order, duplicates included.
//
// Lookup answers only where the first address Go's resolver hands out is
// the same whatever its order: Go sorts a name's addresses by RFC 6724
// (which consults the routing table at the time of each lookup) before
// filtering them by network, so a name with several different addresses
// of the network asked for is left to the resolver.
type HostsTable struct {
	// plain holds the names without a dot, dotted those with one (less
	// one final dot); both lowercased. Two maps, because "a." and "a" are
	// different names to Go but "a.b." and "a.b" are the same.
	plain, dotted map[string]*hostsEntry
}

// hostsEntry is one name's addresses, zones removed (the resolver's
// answer carries none), in file order.
type hostsEntry struct {
	addrs []netip.Addr
	// literal: the name is itself an IP address, which Go's resolver
	// returns as such without reading the file.
	literal bool
	// dropped: one of the addresses is one Go's resolver would list but
	// then fail to parse (a zone holding a '%'), so its answer is left to
	// it.
	dropped bool
}

// maxHostsLine is the length from which Go's hosts file reader gives up:
// its line buffer is 64 KiB, newline included.
const maxHostsLine = 64 << 10

// ReadHosts reads and parses the hosts file at path.
func ReadHosts(path string) (*HostsTable, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read hosts file: %w", err)
	}
	return ParseHosts(data), nil
}

// ParseHosts parses the text of a hosts file. Lines it cannot use are
// skipped, as Go's resolver skips them; there is no error.
func ParseHosts(data []byte) *HostsTable {
	t := &HostsTable{plain: map[string]*hostsEntry{}, dotted: map[string]*hostsEntry{}}
	var fields []string
	eachLine(data, func(line []byte) {
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields = splitFields(fields[:0], string(line))
		if len(fields) < 2 {
			return
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil {
			return
		}
		dropped := strings.IndexByte(ip.Zone(), '%') >= 0
		ip = ip.WithZone("")
		for _, name := range fields[1:] {
			if strings.ContainsAny(name, `%\`) {
				// Go hands names with these to the C library when it
				// can: not answered here.
				continue
			}
			m, key := t.mapFor(lowerASCII(name))
			e := m[key]
			if e == nil {
				_, err := netip.ParseAddr(key)
				e = &hostsEntry{literal: err == nil}
				m[key] = e
			}
			e.addrs = append(e.addrs, ip)
			e.dropped = e.dropped || dropped
		}
	})
	return t
}

// Len returns the number of names in t.
func (t *HostsTable) Len() int {
	if t == nil {
		return 0
	}
	return len(t.plain) + len(t.dotted)
}

// Lookup returns the first address Go's resolver answers for name and
// network ("ip", "ip4" or "ip6") from this file, IPv4 in 4-byte form, and
// true; or false where the file does not have the name or Go's answer
// would depend on more than the file (see HostsTable).
func (t *HostsTable) Lookup(name, network string) (netip.Addr, bool) {
	if t == nil || name == "" {
		return netip.Addr{}, false
	}
	m, key := t.mapFor(name)
	var e *hostsEntry
	if hasUpperASCII(key) {
		var buf [256]byte
		if len(key) > len(buf) {
			return netip.Addr{}, false // longer than any DNS name
		}
		lower := buf[:len(key)]
		copy(lower, key)
		for i, c := range lower {
			if 'A' <= c && c <= 'Z' {
				lower[i] = c + 'a' - 'A'
			}
		}
		e = m[string(lower)]
	} else {
		e = m[key]
	}
	if e == nil || e.dropped || (e.literal && name[len(name)-1] != '.') {
		return netip.Addr{}, false
	}
	return e.answer(network)
}

// mapFor returns the map that holds name and its key there.
func (t *HostsTable) mapFor(name string) (map[string]*hostsEntry, string) {
	if strings.IndexByte(name, '.') < 0 {
		return t.plain, name
	}
	return t.dotted, strings.TrimSuffix(name, ".")
}

// answer returns the first address Go's resolver would answer for network
// from e, if every address of that network is the same.
func (e *hostsEntry) answer(network string) (netip.Addr, bool) {
	var first netip.Addr
	for _, a := range e.addrs {
		if !fitsNetwork(a, network) {
			continue
		}
		// Go hands IPv4 out in 16-byte form and lookup takes it back to
		// 4 bytes; an IPv4-mapped address in the file is the same answer.
		a = a.Unmap()
		if !first.IsValid() {
			first = a
		} else if a != first {
			return netip.Addr{}, false // the order is RFC 6724's, at lookup time
		}
	}
	if !first.IsValid() && network == "ip4" && len(e.addrs) == 1 && e.addrs[0] == netip.IPv6Unspecified() {
		// Go adds 0.0.0.0 to a lone "::" (for hosts that bind "::" but
		// cannot connect to it), which is then the IPv4 answer.
		return netip.IPv4Unspecified(), true
	}
	return first, first.IsValid()
}

// fitsNetwork is Go's filter of a lookup's answers by network: IPv4
// includes IPv4-mapped IPv6 addresses, IPv6 excludes them.
func fitsNetwork(a netip.Addr, network string) bool {
	switch network {
	case "ip4":
		return a.Is4() || a.Is4In6()
	case "ip6":
		return a.Is6() && !a.Is4In6()
	}
	return true
}

// eachLine calls fn for every line of data, as Go's resolver reads its
// configuration files: lines end at '\n', the last may lack one, and
// reading stops at a line too long for its buffer.
func eachLine(data []byte, fn func(line []byte)) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) >= maxHostsLine {
			return
		}
		fn(line)
	}
}

// splitFields appends the fields of s, separated by spaces, tabs, carriage
// returns and newlines (Go's resolver's separators: no other white
// space), to dst.
func splitFields(dst []string, s string) []string {
	start := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lowerASCII(s string) string {
	if !hasUpperASCII(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
