//go:build linux

package server

import "hash/maphash"

const (
	// internSlots is the number of strings an intern table keeps.
	internSlots = 128
	// internMaxLen bounds the strings it keeps (a SOCKS domain or user
	// ID is at most 255 bytes, a CONNECT head a few hundred), so that a
	// full table holds at most 64 KiB; a longer string is made anew each
	// time.
	internMaxLen = 512
)

// internTable hands out the strings the loop's requests carry (target
// names, SOCKS4 user IDs, HTTP CONNECT heads): a string met before is handed out again, so
// that a request for a name the loop served lately allocates nothing.
// Clients ask for few names over and over (a load balancer's, a
// browser's), which is what pays; a stream of ever new names costs what
// it cost before, one string each, plus a hash.
//
// It is direct-mapped: a string's slot is chosen by its hash, and a new
// string takes its slot over, so the table never grows. Only the loop's
// goroutine uses it.
type internTable struct {
	seed  maphash.Seed
	slots [internSlots]string
}

func newInternTable() *internTable { return &internTable{seed: maphash.MakeSeed()} }

// str returns a string equal to b: the one kept for it, or a new one,
// which is then kept. It does not keep b.
func (it *internTable) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMaxLen {
		return string(b)
	}
	slot := &it.slots[maphash.Bytes(it.seed, b)%internSlots]
	if *slot == string(b) { // compared without a conversion
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}
