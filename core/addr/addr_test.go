package addr

import (
	"errors"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in, host, port string
		err            error
	}{
		{"example.com:80", "example.com", "80", nil},
		{"[::1]:443", "::1", "443", nil},
		{":80", "", "80", nil},
		{"host:", "host", "", nil},
		{":", "", "", nil},
		{"[]:80", "", "80", nil},
		{"[::1]:", "::1", "", nil},
		{"1.2.3.4:0", "1.2.3.4", "0", nil},
		{"a:b:c", "", "", ErrInvalid},
		{"::1:80", "", "", ErrInvalid},
		{"host", "", "", ErrInvalid},
		{"[::1]", "", "", ErrInvalid},
		{"[x]y:1", "", "", nil}, // host "[x]y" has no colon: kept verbatim
		{strings.Repeat("a", 259) + ":80", "", "", ErrTooLong},
		{strings.Repeat("a", 255) + ":8080", strings.Repeat("a", 255), "8080", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			h, p, err := Split(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Split(%q) err = %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Split(%q): %v", tc.in, err)
			}
			if tc.in == "[x]y:1" {
				if h != "[x]y" || p != "1" {
					t.Fatalf("got %q %q", h, p)
				}
				return
			}
			if h != tc.host || p != tc.port {
				t.Fatalf("Split(%q) = %q, %q; want %q, %q", tc.in, h, p, tc.host, tc.port)
			}
		})
	}
}

func TestSplitErrorText(t *testing.T) {
	_, _, err := Split("nocolon")
	if err.Error() != "invalid address: `nocolon'" {
		t.Fatalf("got %q", err)
	}
	long := strings.Repeat("x", 300)
	_, _, err = Split(long)
	if err.Error() != "address too long: 300 bytes" {
		t.Fatalf("got %q", err)
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct{ h, p, want string }{
		{"example.com", "80", "example.com:80"},
		{"2001:db8::1", "80", "[2001:db8::1]:80"},
		{"", "80", ":80"},
	} {
		if got := Join(tc.h, tc.p); got != tc.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.h, tc.p, got, tc.want)
		}
		h, p, err := Split(Join(tc.h, tc.p))
		if err != nil || h != tc.h || p != tc.p {
			t.Errorf("round trip of %q %q: %q %q %v", tc.h, tc.p, h, p, err)
		}
	}
}

func TestParsePort(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint16
		ok   bool
	}{
		{"80", 80, true}, {"", 0, true}, {"0", 0, true}, {"65535", 65535, true},
		{"65536", 0, false}, {"080", 80, true}, {"+80", 0, false}, {" 80", 0, false},
		{"0x50", 0, false}, {"80.0", 0, false}, {"-1", 0, false}, {"123456", 0, false},
	} {
		got, ok := ParsePort(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParsePort(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLowerUpper(t *testing.T) {
	if got := Lower("WWW.Example.COM:80"); got != "www.example.com:80" {
		t.Fatal(got)
	}
	// Kelvin sign and non-ASCII letters are not folded, as in C Lua.
	if got := Lower("\u212AÄb"); got != "\u212AÄb" {
		t.Fatalf("%q", got)
	}
	if got := Upper("abc-Ä"); got != "ABC-Ä" {
		t.Fatalf("%q", got)
	}
	s := "already.lower"
	if allocs := testing.AllocsPerRun(100, func() { _ = Lower(s) }); allocs != 0 {
		t.Fatalf("Lower allocated %v times on lower-case input", allocs)
	}
}

func TestParseIPv4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"203.0.113.1", 0xCB007101, true}, {"0.0.0.0", 0, true}, {"255.255.255.255", 0xffffffff, true},
		{"01.2.3.4", 0, false}, {"1.2.3", 0, false}, {"1.2.3.4.", 0, false}, {"256.1.1.1", 0, false},
		{"0x7f.0.0.1", 0, false}, {" 1.2.3.4", 0, false}, {"1..2.3", 0, false}, {"", 0, false},
		{"1.2.3.4.5", 0, false}, {"999.1.1.1", 0, false}, {"10.0.0.00", 0, false},
	} {
		got, ok := ParseIPv4(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseIPv4(%q) = %#x, %v; want %#x, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if FormatIPv4(0xCB007101) != "203.0.113.1" {
		t.Fatal(FormatIPv4(0xCB007101))
	}
}

func TestParseIPv6(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ok    bool
		words [4]uint32
	}{
		{"::1", true, [4]uint32{0, 0, 0, 1}},
		{"fe80::", true, [4]uint32{0xfe800000, 0, 0, 0}},
		{"::ffff:1.2.3.4", true, [4]uint32{0, 0, 0xffff, 0x01020304}},
		{"2001:DB8::1", true, [4]uint32{0x20010db8, 0, 0, 1}},
		{"::", true, [4]uint32{}},
		{"fe80::1%eth0", false, [4]uint32{}},
		{"[::1]", false, [4]uint32{}},
		{"1.2.3.4", false, [4]uint32{}},
		{"1:2:3:4:5:6:7:8:9", false, [4]uint32{}},
		{":::", false, [4]uint32{}},
	} {
		a, ok := ParseIPv6(tc.in)
		if ok != tc.ok {
			t.Errorf("ParseIPv6(%q) ok = %v", tc.in, ok)
			continue
		}
		if ok && IPv6Words(a) != tc.words {
			t.Errorf("ParseIPv6(%q) words = %#x, want %#x", tc.in, IPv6Words(a), tc.words)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, str string
		kind    Kind
		ok      bool
	}{
		{"1.2.3.4:80", "1.2.3.4:80", IPv4, true},
		{"[2001:db8::1]:443", "[2001:db8::1]:443", IPv6, true},
		{"[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80", IPv6, true},
		{"Example.COM:8080", "Example.COM:8080", Domain, true},
		{":", ":0", Domain, true},
		{"host:65536", "", 0, false},
		{"::1:80", "", 0, false},
		{"01.2.3.4:80", "01.2.3.4:80", Domain, true}, // not an IPv4 literal: a name
	} {
		a, err := ParseTarget(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseTarget(%q) err = %v", tc.in, err)
			continue
		}
		if tc.ok && (a.String() != tc.str || a.Kind() != tc.kind) {
			t.Errorf("ParseTarget(%q) = %q (%v), want %q (%v)", tc.in, a, a.Kind(), tc.str, tc.kind)
		}
	}
}

func TestParseProxy(t *testing.T) {
	for _, tc := range []struct {
		in     string
		scheme Scheme
		target string
		user   string
		pass   string
		hasU   bool
		ok     bool
	}{
		{"socks5://127.0.0.1:1080", SOCKS5, "127.0.0.1:1080", "", "", false, true},
		{"SOCKS5://h", SOCKS5, "h:1080", "", "", false, true},
		{"http://u:p%40ss@proxy.lan/ignored", HTTP, "proxy.lan:80", "u", "p@ss", true, true},
		{"socks4a://[2001:db8::1]:1081", SOCKS4A, "[2001:db8::1]:1081", "", "", false, true},
		{"socks4a://[2001:db8::1]", SOCKS4A, "[2001:db8::1]:1080", "", "", false, true},
		{"http://user@h:3128", HTTP, "h:3128", "user", "", true, true},
		{"socks4://h:1", 0, "", "", "", false, false},
		{"socks6://h:1", 0, "", "", "", false, false},
		{"h:1080", 0, "", "", "", false, false},
		{"socks5://", 0, "", "", "", false, false},
		{"socks5://u%0a@h:1", 0, "", "", "", false, false},
		{"socks5://u%zz@h:1", 0, "", "", "", false, false},
		{"socks5://u v@h:1", 0, "", "", "", false, false},
	} {
		p, err := ParseProxy(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseProxy(%q) err = %v", tc.in, err)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrProxyURI) {
				t.Errorf("ParseProxy(%q) error %v is not ErrProxyURI", tc.in, err)
			}
			continue
		}
		if p.Scheme != tc.scheme || p.Addr.String() != tc.target || p.User != tc.user || p.Password != tc.pass || p.HasUser != tc.hasU {
			t.Errorf("ParseProxy(%q) = %+v", tc.in, p)
		}
	}
	chain, err := ParseProxyList("socks5://a:1,,http://b:2,")
	if err != nil || len(chain) != 2 || chain[0].Addr.String() != "a:1" || chain[1].Scheme != HTTP {
		t.Fatalf("ParseProxyList = %+v, %v", chain, err)
	}
}

func FuzzSplitJoin(f *testing.F) {
	for _, s := range []string{"a:1", "[::1]:80", ":", "::1:80", "[]:", "[a]b:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, p, err := Split(s)
		if err != nil || len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
			// A host that still looks bracketed after Split ("[[]]:1") does
			// not survive another Split; the original splits the same way.
			return
		}
		h2, p2, err := Split(Join(h, p))
		if err != nil || h2 != h || p2 != p {
			if len(Join(h, p)) <= MaxAddrLen {
				t.Fatalf("Split(Join(%q, %q)) = %q, %q, %v", h, p, h2, p2, err)
			}
		}
	})
}

func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"socks5://u:p@h:1", "http://[::1]", "socks4a://x/y", "http://%41@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProxy(s)
		if err == nil && !p.Addr.IsValid() {
			t.Fatalf("ParseProxy(%q) gave an invalid address without error", s)
		}
	})
}
