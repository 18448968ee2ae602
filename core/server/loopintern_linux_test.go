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
