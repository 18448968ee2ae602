package socks4

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/prototest"
)

func TestParseRequest(t *testing.T) {
	long := strings.Repeat("u", 256)
	tests := []struct {
		name string
		in   string
		addr string
		user string
		n    int
		err  error
	}{
		{name: "empty", in: "", err: ErrShort},
		{name: "version", in: "\x05\x01", err: ErrVersion},
		{name: "short header", in: "\x04\x01\x00\x50\x7f\x00\x00", err: ErrShort},
		{name: "ipv4", in: "\x04\x01\x00\x50\x7f\x00\x00\x01\x00", addr: "127.0.0.1:80", n: 9},
		{name: "ipv4 user", in: "\x04\x01\x01\xbb\x0a\x00\x00\x02bob\x00rest", addr: "10.0.0.2:443", user: "bob", n: 12},
		{name: "user incomplete", in: "\x04\x01\x00\x50\x7f\x00\x00\x01bo", err: ErrShort},
		{name: "bind", in: "\x04\x02\x00\x50\x7f\x00\x00\x01\x00", err: ErrCommand},
		{name: "unknown command", in: "\x04\x09\x00\x50\x7f\x00\x00\x01\x00", err: ErrCommand},
		{name: "4a", in: "\x04\x01\x00\x50\x00\x00\x00\x01u\x00Example.ORG\x00x", addr: "Example.ORG:80", user: "u", n: 22},
		{name: "4a empty domain", in: "\x04\x01\x00\x50\x00\x00\x00\x09\x00\x00", addr: ":80", n: 10},
		{name: "4a incomplete", in: "\x04\x01\x00\x50\x00\x00\x00\x01\x00exam", err: ErrShort},
		{name: "0.0.0.0 is plain socks4", in: "\x04\x01\x00\x50\x00\x00\x00\x00\x00", addr: "0.0.0.0:80", n: 9},
		{name: "userid 255", in: "\x04\x01\x00\x50\x7f\x00\x00\x01" + long[:255] + "\x00", addr: "127.0.0.1:80", user: long[:255], n: 264},
		{name: "userid 256", in: "\x04\x01\x00\x50\x7f\x00\x00\x01" + long + "\x00", err: ErrUserIDTooLong},
		{name: "domain 256", in: "\x04\x01\x00\x50\x00\x00\x00\x01\x00" + long + "\x00", err: ErrDomainTooLong},
		{name: "domain 255", in: "\x04\x01\x00\x50\x00\x00\x00\x01\x00" + long[:255] + "\x00", addr: long[:255] + ":80", n: 265},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, n, err := ParseRequest([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := req.Addr.String(); got != tc.addr {
				t.Errorf("addr = %q, want %q", got, tc.addr)
			}
			if req.UserID != tc.user || n != tc.n {
				t.Errorf("user, n = %q, %d; want %q, %d", req.UserID, n, tc.user, tc.n)
			}
		})
	}
}

func TestReply(t *testing.T) {
	b := AppendReply(nil, Rejected)
	if !bytes.Equal(b, []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("reply = % x", b)
	}
	r, n, err := ParseReply(append(b, "tunnel"...))
	if err != nil || r != Rejected || n != ReplyLen || r.String() != "request rejected or failed" {
		t.Fatalf("ParseReply = %v, %d, %v", r, n, err)
	}
	if _, _, err := ParseReply([]byte{4, 0x5a, 0, 0, 0, 0, 0, 0}); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 4 reply: %v", err)
	}
	// A short reply says how long it must get, and no longer.
	for k := range ReplyLen {
		if _, n, err := ParseReply(b[:k]); err != ErrShort || n != ReplyLen {
			t.Fatalf("%d bytes: n %d, %v", k, n, err)
		}
	}
}

// TestAppendRequestClient pins the bytes neosocksd's client sends an
// upstream SOCKS4A proxy (protocols §9.4): plain SOCKS4 for IPv4, else
// DSTIP 0.0.0.255 and the name, IPv6 as text.
func TestAppendRequestClient(t *testing.T) {
	tests := []struct {
		name, target, user string
		want               []byte
	}{
		{"ipv4", "1.2.3.4:80", "", []byte{4, 1, 0, 80, 1, 2, 3, 4, 0}},
		{"ipv4 user", "10.0.0.1:443", "bob", []byte{4, 1, 1, 187, 10, 0, 0, 1, 'b', 'o', 'b', 0}},
		{"domain", "ex.org:8080", "", append([]byte{4, 1, 0x1f, 0x90, 0, 0, 0, 0xff, 0}, "ex.org\x00"...)},
		{"domain user", "ex.org:1", "u", append([]byte{4, 1, 0, 1, 0, 0, 0, 0xff, 'u', 0}, "ex.org\x00"...)},
		{"ipv6 as text", "[2001:db8::1]:22", "", append([]byte{4, 1, 0, 22, 0, 0, 0, 0xff, 0}, "2001:db8::1\x00"...)},
		{"mapped as text", "[::ffff:1.2.3.4]:22", "", append([]byte{4, 1, 0, 22, 0, 0, 0, 0xff, 0}, "::ffff:1.2.3.4\x00"...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := addr.ParseTarget(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendRequest(nil, Request{Command: Connect, Addr: a, UserID: tc.user})
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("got % x (%v), want % x", got, err, tc.want)
			}
		})
	}
}

// FuzzParseReply checks the client's reply parser: it never consumes
// more than it was given, and a short input names a length it lacks.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte{0, 0x5a, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0, 'x'})
	f.Add([]byte{0, 0x5a})
	f.Fuzz(func(t *testing.T, b []byte) {
		prototest.CheckNeed(t, b, ErrShort, func(b []byte) (int, error) {
			r, n, err := ParseReply(b)
			if err == nil && (n != ReplyLen || byte(r) != b[1] || !bytes.Equal(AppendReply(nil, r)[:2], b[:2])) {
				t.Fatalf("reply %v n=%d of % x", r, n, b)
			}
			return n, err
		})
	})
}

func TestAppendRequest(t *testing.T) {
	ipv6, _ := addr.ParseTarget("[2001:db8::1]:443")
	b, err := AppendRequest(nil, Request{Command: Connect, Addr: ipv6, UserID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	want := "\x04\x01\x01\xbb\x00\x00\x00\xffme\x002001:db8::1\x00"
	if string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
	if _, err := AppendRequest(nil, Request{Command: Connect, Addr: ipv6, UserID: "a\x00b"}); err == nil {
		t.Fatal("NUL in user id accepted")
	}
}

// FuzzParseRequest checks that parsing never panics, that the consumed
// count is sane, and that a parsed request survives a round trip.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",
		"\x04\x01\x00\x50\x00\x00\x00\x01user\x00example.org\x00",
		"\x04\x02\x00\x50\x7f\x00\x00\x01\x00",
		"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00pipelined",
		"\x05\x01\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, n, err := ParseRequest(b)
		if req2, n2, err2 := ParseRequestWith(b, prototest.StrWithin(t, b)); req2 != req || n2 != n || err2 != err {
			t.Fatalf("ParseRequestWith: %+v %d %v; ParseRequest: %+v %d %v", req2, n2, err2, req, n, err)
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			return
		}
		if n < 9 || n > len(b) {
			t.Fatalf("n = %d out of range (len %d)", n, len(b))
		}
		out, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		req2, n2, err := ParseRequest(out)
		if err != nil || n2 != len(out) || req2 != req {
			t.Fatalf("round trip: %+v (%d, %v) vs %+v", req2, n2, err, req)
		}
		if req.Addr.Kind() == addr.Domain {
			// The 4A marker may differ (0.0.0.x); the rest is canonical.
			return
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("re-encoded %q, parsed %q", out, b[:n])
		}
	})
}
