//go:build linux

package server

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestLoopCredentialsNotKept: once an authenticated HTTP CONNECT (curl's
// head with Proxy-Authorization) and a SOCKS5 session with a password,
// both served by the loop, have ended, nothing the loop keeps for later
// requests holds the credentials: not its intern table (which kept whole
// CONNECT heads), not its headers' array, not the tunnel records on its
// free list (which kept the decoded user and password), not the handshake
// buffers it lends the next clients. The loop is stopped first, so that
// the test reads its state after it, not beside it.
func TestLoopCredentialsNotKept(t *testing.T) {
	withLoop(t, true)
	ts, echo, basic, pass := credentialSessions(t)
	l := ts.loop
	secret := func(s string) bool { return strings.Contains(s, basic) || strings.Contains(s, pass) }
	for i, s := range l.names.slots {
		if secret(s) {
			t.Errorf("intern slot %d holds the credentials: %q", i, s)
		}
	}
	for i, f := range l.headers[:cap(l.headers)] {
		if secret(f.Name) || secret(f.Value) {
			t.Errorf("header %d of the loop's array holds the credentials: %+v", i, f)
		}
	}
	served := 0 // records of the two tunnels, back on the free list
	for range loopTunnelsKept {
		r := l.tunFree.Get()
		if r.text == echo || r.dst.String() == echo {
			served++
		}
		if r.cred.HasPassword || secret(r.cred.Username) || secret(r.cred.Password) || secret(r.text) {
			t.Errorf("a free tunnel record (%s to %q) holds the credentials: %+v", r.proto, r.target(), r.cred)
		}
		// The HTTP target is a string of its own (the intern table's),
		// not a part of the head that carried the credentials, which
		// it would keep whole.
		if r.proto == "http" && !slices.ContainsFunc(l.names.slots[:], func(s string) bool {
			return s == r.text && unsafe.StringData(s) == unsafe.StringData(r.text)
		}) {
			t.Errorf("the free HTTP tunnel record's target %q is not the intern table's string", r.text)
		}
	}
	if served != 2 {
		t.Errorf("%d of the 2 tunnels' records are on the free list: the loop did not serve both", served)
	}
	for range loopMaxFree {
		if b := l.headFree.Get(); bytes.Contains(b[:], []byte(basic)) {
			t.Error("a free HTTP head buffer holds the credentials")
		}
		if b := l.hsFree.Get(); bytes.Contains(b[:], []byte(pass)) {
			t.Error("a free SOCKS handshake buffer holds the password")
		}
	}
}
