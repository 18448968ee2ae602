package route

import (
	"context"
	"slices"
	"testing"
)

func TestChainRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		hops []string
	}{
		{"empty", nil},
		{"one", []string{"socks5://a:1"}},
		{"commas and newlines stay inside a hop", []string{"http://u,v@h:1", "a\nb", ""}},
		{"long hop", []string{string(make([]byte, 300)), "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := MakeChain(tc.hops...)
			if got := c.Hops(); !slices.Equal(got, tc.hops) {
				t.Fatalf("Hops() = %q, want %q", got, tc.hops)
			}
			if c.Len() != len(tc.hops) {
				t.Fatalf("Len() = %d, want %d", c.Len(), len(tc.hops))
			}
			if c != MakeChain(tc.hops...) {
				t.Fatal("equal chains compare unequal")
			}
		})
	}
	if MakeChain("a", "b") == MakeChain("ab") {
		t.Fatal("different chains compare equal")
	}
}

// TestStaticComparable: a Router can be compared with Static, whatever it
// holds, and only Static equals it; Static forwards where asked.
func TestStaticComparable(t *testing.T) {
	fn := RouterFunc(func(context.Context, *Request) (Decision, error) { return Decision{}, nil })
	tests := []struct {
		name string
		r    Router
		want bool
	}{
		{name: "static", r: Static, want: true},
		{name: "router func", r: fn, want: false},
		{name: "nil", r: nil, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r == Static; got != tc.want {
				t.Fatalf("r == Static: %v", got)
			}
		})
	}
	d, err := Static.Route(context.Background(), &Request{Addr: "example.org:443"})
	if err != nil || d != Direct("example.org:443") {
		t.Fatalf("%v %v", d, err)
	}
}

func TestParseCallback(t *testing.T) {
	for _, c := range []Callback{Resolve, Route, Route6} {
		if got, ok := ParseCallback(c.String()); !ok || got != c {
			t.Errorf("ParseCallback(%q) = %v, %v", c.String(), got, ok)
		}
	}
	for _, name := range []string{"", "invalid", "Resolve", "route4"} {
		if _, ok := ParseCallback(name); ok {
			t.Errorf("ParseCallback(%q) named a callback", name)
		}
	}
}
