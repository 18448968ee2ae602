package evloop

import (
	"fmt"
	"net/netip"

	"github.com/neosocksd-go/neosocksd/core/dial"
)

// hostsTable answers names from the hosts file given with -hosts, on the
// loop and without a resolver goroutine: the experiment's inline lookup,
// to price the resolver's share of a set-up by name. It is core/dial's
// parser, so a name is answered as Go's resolver would answer it from
// that file; the file is read once, not reloaded, and nsswitch.conf is
// not consulted (the daemon's Dialer does both). The zero value answers
// nothing.
type hostsTable struct{ t *dial.HostsTable }

// readHosts parses the hosts file at path.
func readHosts(path string) (hostsTable, error) {
	t, err := dial.ReadHosts(path)
	if err != nil {
		return hostsTable{}, fmt.Errorf("evloop: %w", err)
	}
	return hostsTable{t}, nil
}

// lookup answers name as Go's resolver would from the file for network
// "ip" (the daemon's without -4/-6), if the file decides the answer.
func (h hostsTable) lookup(name string) (netip.Addr, bool) {
	return h.t.Lookup(name, "ip")
}
