//go:build linux

package server

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestInternTable: the table hands out strings equal to their bytes, the
// same string (one allocation) for bytes met again, and a string the
// bytes do not share, however many strings share a slot.
func TestInternTable(t *testing.T) {
	it := newInternTable()
	b := []byte("localhost")
	first := it.str(b)
	if first != "localhost" {
		t.Fatalf("str = %q", first)
	}
	b[0] = 'L' // the string must not share b's bytes
	if first != "localhost" {
		t.Fatalf("the string changed with its bytes: %q", first)
	}
	b[0] = 'l'
	if again := it.str(b); unsafe.StringData(again) != unsafe.StringData(first) {
		t.Error("the same bytes were given a new string")
	}
	if n := testing.AllocsPerRun(100, func() { _ = it.str(b) }); n != 0 {
		t.Errorf("%v allocations for bytes met before", n)
	}
	if s := it.str(nil); s != "" {
		t.Errorf("str(nil) = %q", s)
	}
	// More names than slots, so that they share slots: each comes back
	// equal, never another name kept in its slot.
	for i := range 4 * internSlots {
		name := fmt.Sprintf("host-%d.test", i)
		if got := it.str([]byte(name)); got != name {
			t.Fatalf("str(%q) = %q", name, got)
		}
	}
}

// TestInternClone: clone hands out a string equal to its argument that
// shares none of its memory (a part of a head the loop must not keep),
// the table's own for a string met before, through str or clone.
func TestInternClone(t *testing.T) {
	it := newInternTable()
	head := "CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n"
	target := head[len("CONNECT ") : len("CONNECT ")+len("a.test:443")]
	c := it.clone(target)
	if c != target || unsafe.StringData(c) == unsafe.StringData(target) {
		t.Fatalf("clone(%q) = %q, sharing its memory: %v", target, c, unsafe.StringData(c) == unsafe.StringData(target))
	}
	if again := it.clone(target); unsafe.StringData(again) != unsafe.StringData(c) {
		t.Error("the same string was given a new copy")
	}
	if s := it.str([]byte(target)); unsafe.StringData(s) != unsafe.StringData(c) {
		t.Error("str and clone keep the same string in different slots")
	}
	if n := testing.AllocsPerRun(100, func() { _ = it.clone(target) }); n != 0 {
		t.Errorf("%v allocations for a string met before", n)
	}
	if s := it.clone(""); s != "" {
		t.Errorf("clone(\"\") = %q", s)
	}
	long := string(make([]byte, internMaxLen+1))
	if s := it.clone(long); s != long || unsafe.StringData(s) == unsafe.StringData(long) {
		t.Error("a string too long for the table is not copied")
	}
}
