package socks5

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/prototest"
)

func TestParseMethods(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		methods string
		n       int
		err     error
	}{
		{name: "empty", in: "", err: ErrShort},
		{name: "version", in: "\x04\x01", err: ErrVersion},
		{name: "no count", in: "\x05", err: ErrShort},
		{name: "zero methods", in: "\x05\x00", methods: "", n: 2},
		{name: "two", in: "\x05\x02\x02\x00more", methods: "\x02\x00", n: 4},
		{name: "incomplete", in: "\x05\x03\x00\x01", err: ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, n, err := ParseMethods([]byte(tc.in))
			if !errors.Is(err, tc.err) || string(m) != tc.methods || n != tc.n {
				t.Fatalf("got %q, %d, %v", m, n, err)
			}
		})
	}
}

func TestParseUserPass(t *testing.T) {
	tests := []struct {
		name, in, user, pass string
		n                    int
		err                  error
	}{
		{name: "ok", in: "\x01\x03bob\x06secret!", user: "bob", pass: "secret", n: 12},
		{name: "version", in: "\x05\x03bob", err: ErrVersion},
		{name: "empty user", in: "\x01\x00\x01p", pass: "p", n: 4},
		{name: "empty pass", in: "\x01\x01u\x00", user: "u", n: 4},
		{name: "short user", in: "\x01\x03bo", err: ErrShort},
		{name: "short pass", in: "\x01\x01u\x03pa", err: ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, p, n, err := ParseUserPass([]byte(tc.in))
			if !errors.Is(err, tc.err) || u != tc.user || p != tc.pass || n != tc.n {
				t.Fatalf("got %q %q %d %v", u, p, n, err)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	long := strings.Repeat("a", 255)
	tests := []struct {
		name string
		in   string
		cmd  Command
		addr string
		n    int
		err  error
	}{
		{name: "ipv4", in: "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", cmd: Connect, addr: "127.0.0.1:80", n: 10},
		{name: "ipv6", in: "\x05\x01\x00\x04" + "\x20\x01\x0d\xb8" + strings.Repeat("\x00", 11) + "\x01\x01\xbb", cmd: Connect, addr: "[2001:db8::1]:443", n: 22},
		{name: "mapped", in: "\x05\x01\x00\x04" + strings.Repeat("\x00", 10) + "\xff\xff\x01\x02\x03\x04\x00\x50", cmd: Connect, addr: "[::ffff:1.2.3.4]:80", n: 22},
		{name: "domain", in: "\x05\x01\x00\x03\x0bExample.ORG\x00\x50xyz", cmd: Connect, addr: "Example.ORG:80", n: 18},
		{name: "empty domain", in: "\x05\x01\x00\x03\x00\x00\x50", cmd: Connect, addr: ":80", n: 7},
		{name: "long domain", in: "\x05\x01\x00\x03\xff" + long + "\x00\x50", cmd: Connect, addr: long + ":80", n: 262},
		{name: "bind keeps command", in: "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", cmd: Bind, addr: "0.0.0.0:0", n: 10},
		{name: "version", in: "\x04\x01\x00\x01", err: ErrVersion},
		{name: "atyp", in: "\x05\x01\x00\x02", err: ErrAddrType},
		{name: "short", in: "\x05\x01\x00", err: ErrShort},
		{name: "short ipv4", in: "\x05\x01\x00\x01\x7f\x00\x00\x01\x00", err: ErrShort},
		{name: "short domain", in: "\x05\x01\x00\x03\x05abcde\x00", err: ErrShort},
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
			if req.Command != tc.cmd || req.Addr.String() != tc.addr || n != tc.n {
				t.Fatalf("got %v %q %d", req.Command, req.Addr, n)
			}
		})
	}
}

func TestAppendReply(t *testing.T) {
	if got := AppendReply(nil, GeneralFailure, addr.Addr{}); !bytes.Equal(got, []byte{5, 1, 0, 1, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("failure reply % x", got)
	}
	a, _ := addr.ParseTarget("[::1]:1080")
	got := AppendReply(nil, Succeeded, a)
	r, b, n, err := ParseReply(got)
	if err != nil || r != Succeeded || b != a || n != len(got) || len(got) != 22 {
		t.Fatalf("round trip: %v %v %d %v", r, b, n, err)
	}
	if Reply(2).String() != "connection not allowed by ruleset" {
		t.Fatal(Reply(2).String())
	}
}

func TestUDPHeader(t *testing.T) {
	a, _ := addr.ParseTarget("10.1.2.3:53")
	b, err := AppendUDPHeader(nil, UDPHeader{Frag: 0x81, Addr: a})
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "payload"...)
	h, n, err := ParseUDPHeader(b)
	if err != nil || h.Frag != 0x81 || h.Addr != a || string(b[n:]) != "payload" {
		t.Fatalf("got %+v %d %v", h, n, err)
	}
	if _, _, err := ParseUDPHeader([]byte{0, 0, 0}); !errors.Is(err, ErrShort) {
		t.Fatal(err)
	}
}

// FuzzParseRequest checks that parsing never panics, that the consumed
// count is sane and that re-encoding gives back the same bytes (RSV aside).
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50",
		"\x05\x01\x00\x03\x0bexample.org\x01\xbb",
		"\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x50",
		"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00",
		"\x05\x01\x00\x05",
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
				t.Fatalf("n = %d with %v", n, err)
			}
			return
		}
		if n < 7 || n > len(b) {
			t.Fatalf("n = %d (len %d)", n, len(b))
		}
		out, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte(nil), b[:n]...)
		want[2] = 0
		if !bytes.Equal(out, want) {
			t.Fatalf("re-encoded %q, want %q", out, want)
		}
	})
}

// FuzzHandshake runs greeting, sub-negotiation and request parsers over
// the same input, as a server does on one buffer.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("\x05\x01\x02\x01\x03bob\x03pwd\x05\x01\x00\x03\x03abc\x00\x50"))
	f.Add([]byte("\x05\x02\x00\x02\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := ParseMethods(b)
		if err != nil {
			return
		}
		if len(m) != n-2 {
			t.Fatalf("methods %d, n %d", len(m), n)
		}
		rest := b[n:]
		if bytes.IndexByte(m, byte(UserPass)) >= 0 {
			u, p, k, err := ParseUserPass(rest)
			if err != nil {
				return
			}
			again, err := AppendUserPass(nil, u, p)
			if err != nil || !bytes.Equal(again, rest[:k]) {
				t.Fatalf("user/pass round trip %q vs %q", again, rest[:k])
			}
			rest = rest[k:]
		}
		if _, k, err := ParseRequest(rest); err == nil && (k > len(rest) || k < 7) {
			t.Fatalf("k = %d", k)
		}
	})
}

// FuzzParseUDPHeader checks the datagram header parser.
func FuzzParseUDPHeader(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x01\x7f\x00\x00\x01\x00\x35data"))
	f.Add([]byte("\x00\x00\x81\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x35"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseUDPHeader(b)
		if err != nil {
			return
		}
		out, err := AppendUDPHeader(nil, h)
		if err != nil || len(out) != n || !bytes.Equal(out[2:], b[2:n]) {
			t.Fatalf("round trip %q vs %q (%v)", out, b[:n], err)
		}
	})
}

// TestClientMessages pins the bytes neosocksd's client sends an upstream
// SOCKS5 proxy (protocols §9.4).
func TestClientMessages(t *testing.T) {
	if got := AppendMethods(nil, NoAuth); !bytes.Equal(got, []byte{5, 1, 0}) {
		t.Errorf("greeting % x", got)
	}
	if got := AppendMethods(nil, NoAuth, UserPass); !bytes.Equal(got, []byte{5, 2, 0, 2}) {
		t.Errorf("greeting with auth % x", got)
	}
	got, err := AppendUserPass(nil, "user", "")
	if err != nil || !bytes.Equal(got, []byte{1, 4, 'u', 's', 'e', 'r', 0}) {
		t.Errorf("auth % x %v", got, err)
	}
	long := string(bytes.Repeat([]byte("a"), 256))
	if _, err := AppendUserPass(nil, long, ""); err != ErrTooLong {
		t.Errorf("long user: %v", err)
	}
	if _, err := AppendUserPass(nil, "u", long); err != ErrTooLong {
		t.Errorf("long password: %v", err)
	}
	for _, tc := range []struct {
		target string
		want   []byte
	}{
		{"1.2.3.4:80", []byte{5, 1, 0, 1, 1, 2, 3, 4, 0, 80}},
		{"[2001:db8::1]:443", []byte{5, 1, 0, 4, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 187}},
		{"[::ffff:1.2.3.4]:1", []byte{5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 0, 1}},
		{"Ex.org:65535", append(append([]byte{5, 1, 0, 3, 6}, "Ex.org"...), 0xff, 0xff)},
	} {
		a, err := addr.ParseTarget(tc.target)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := AppendRequest(nil, Request{Command: Connect, Addr: a}); err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got % x (%v), want % x", tc.target, got, err, tc.want)
		}
	}
}

// TestClientReplies checks the reply parsers a client reads with: what
// they consume, and the length a short input must reach.
func TestClientReplies(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1").As16()
	tests := []struct {
		name  string
		in    []byte
		reply Reply
		n     int
		err   error
	}{
		{"ipv4", []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}, Succeeded, 10, nil},
		{"ipv4 trailing", []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 'x'}, Succeeded, 10, nil},
		{"ipv6", append(append([]byte{5, 0, 0, 4}, v6[:]...), 0, 1), Succeeded, 22, nil},
		{"domain", append([]byte{5, 0, 0, 3, 3}, "abc\x00\x01"...), Succeeded, 10, nil},
		{"empty domain", []byte{5, 0, 0, 3, 0, 0, 1}, Succeeded, 7, nil},
		{"empty", nil, 0, 4, ErrShort},
		{"short header", []byte{5, 0}, 0, 4, ErrShort},
		{"short ipv4", []byte{5, 0, 0, 1, 1}, Succeeded, 10, ErrShort},
		{"short domain len", []byte{5, 0, 0, 3}, Succeeded, 5, ErrShort},
		{"short domain", []byte{5, 0, 0, 3, 9, 'a'}, Succeeded, 16, ErrShort},
		{"failure known before the address", []byte{5, 5, 0, 1}, ConnectionRefused, 10, ErrShort},
		{"failure with unknown address type", []byte{5, 2, 0, 9}, NotAllowed, 0, ErrAddrType},
		{"version", []byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0, 0, ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _, n, err := ParseReply(tc.in)
			if r != tc.reply || n != tc.n || err != tc.err {
				t.Errorf("got %v %d %v, want %v %d %v", r, n, err, tc.reply, tc.n, tc.err)
			}
		})
	}
	for _, tc := range []struct {
		in  []byte
		m   Method
		n   int
		err error
	}{
		{[]byte{5, 2, 'x'}, UserPass, 2, nil},
		{[]byte{5, 0xff}, NoAcceptable, 2, nil},
		{[]byte{5}, 0, 2, ErrShort},
		{[]byte{4, 0}, 0, 0, ErrVersion},
	} {
		if m, n, err := ParseMethodReply(tc.in); m != tc.m || n != tc.n || err != tc.err {
			t.Errorf("method reply % x: %v %d %v", tc.in, m, n, err)
		}
	}
	for _, tc := range []struct {
		in     []byte
		status byte
		n      int
		err    error
	}{
		{[]byte{1, 0}, 0, 2, nil},
		{[]byte{1, 1, 'x'}, 1, 2, nil},
		{[]byte{1}, 0, 2, ErrShort},
		{[]byte{5, 0}, 0, 0, ErrVersion},
	} {
		if st, n, err := ParseAuthReply(tc.in); st != tc.status || n != tc.n || err != tc.err {
			t.Errorf("auth reply % x: %v %d %v", tc.in, st, n, err)
		}
	}
}

// FuzzClientReplies checks every reply parser a client reads with: none
// consumes more than it was given; a short input names a length it lacks,
// and at that length the parser finishes or asks for more still.
func FuzzClientReplies(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90})
	f.Add([]byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 1})
	f.Add([]byte{5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1})
	f.Add([]byte{5, 5, 0, 1})
	f.Add([]byte{5, 0, 0, 3})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		prototest.CheckNeed(t, b, ErrShort, func(b []byte) (int, error) {
			r, a, n, err := ParseReply(b)
			if err == nil {
				if out := AppendReply(nil, r, a); !bytes.Equal(out[3:], b[3:n]) {
					t.Fatalf("re-encoded % x, parsed % x", out, b[:n])
				}
			}
			return n, err
		})
		prototest.CheckNeed(t, b, ErrShort, func(b []byte) (int, error) { _, n, err := ParseMethodReply(b); return n, err })
		prototest.CheckNeed(t, b, ErrShort, func(b []byte) (int, error) { _, n, err := ParseAuthReply(b); return n, err })
	})
}

func TestConnectReply(t *testing.T) {
	for errno, want := range map[syscall.Errno]Reply{
		syscall.ENETUNREACH:  NetworkUnreachable,
		syscall.EHOSTUNREACH: HostUnreachable,
		syscall.ECONNREFUSED: ConnectionRefused,
		syscall.ETIMEDOUT:    GeneralFailure,
		syscall.EACCES:       GeneralFailure,
	} {
		if got := ConnectReply(errno); got != want {
			t.Errorf("ConnectReply(%v) = %v, want %v", errno, got, want)
		}
	}
}
