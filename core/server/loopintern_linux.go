//go:build linux

package server

import (
	"hash/maphash"
	"strings"
	"unsafe"
)

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
//
// What it keeps stays in the process until its slot is taken over, long
// after the request that brought it: nothing secret may go in. An HTTP
// head with Proxy-Authorization is therefore made a string of its own
// (httpRequest), and only its target, cut out with clone, comes here.
type internTable struct {
	seed  maphash.Seed
	slots [internSlots]string
}

func newInternTable() *internTable { return &internTable{seed: maphash.MakeSeed()} }

// str returns a string equal to b: the one kept for it, or a new one,
// which is then kept. It does not keep b: clone reads the bytes through a
// string view and keeps only a copy of them.
func (it *internTable) str(b []byte) string {
	return it.clone(unsafe.String(unsafe.SliceData(b), len(b)))
}

// clone returns a string equal to s that shares no memory with it (the
// one kept for s, or a copy, which is then kept), so that a part of a
// string the loop must not hold on to can outlive it.
func (it *internTable) clone(s string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > internMaxLen {
		return strings.Clone(s)
	}
	slot := &it.slots[maphash.String(it.seed, s)%internSlots]
	if *slot == s {
		return *slot
	}
	c := strings.Clone(s)
	*slot = c
	return c
}
