package evloop

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// hostsTable answers names from a hosts file: the experiment's inline
// lookup, to price the resolver's share of a set-up by name. It is read
// once, not reloaded, and knows nothing of nsswitch.conf: the daemon
// would need both before it could answer names this way.
type hostsTable map[string]netip.Addr

// readHosts parses a hosts file at path: address, then names, with '#'
// comments. The first address given for a name is kept, as the system
// resolver's first answer for a name of the hosts file.
func readHosts(path string) (hostsTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evloop: hosts: %w", err)
	}
	defer f.Close()
	t, err := parseHosts(f)
	if err != nil {
		return nil, fmt.Errorf("evloop: hosts %s: %w", path, err)
	}
	return t, nil
}

func parseHosts(r io.Reader) (hostsTable, error) {
	t := hostsTable{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil || ip.Zone() != "" {
			continue // not an address this core can dial
		}
		for _, name := range fields[1:] {
			name = strings.ToLower(strings.TrimSuffix(name, "."))
			if _, seen := t[name]; !seen {
				t[name] = ip.Unmap()
			}
		}
	}
	return t, sc.Err()
}

// lookup answers name (case-insensitive, a final dot ignored) if the
// table has it.
func (t hostsTable) lookup(name string) (netip.Addr, bool) {
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	ip, ok := t[name]
	if !ok {
		ip, ok = t[strings.ToLower(name)]
	}
	return ip, ok
}
