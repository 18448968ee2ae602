package dsl

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// Every kind's L-IR node is a Leaf: its literals, in the order written,
// say how a request is compared with each, and Splits says whether it
// fails on an address that does not split.
func TestLeafLiterals(t *testing.T) {
	pfx := netip.MustParsePrefix
	rows := map[string]bool{}
	for _, tc := range []struct {
		name, table, matcher string
		want                 []Literal
		splits               bool
	}{
		{"exact", "redirect_name", "exact A.example:80, b:1", []Literal{{Kind: LitAddr, Value: "a.example:80"}, {Kind: LitAddr, Value: "b:1"}}, false},
		{"host", "redirect_name", "host B.example, a", []Literal{{Kind: LitHost, Value: "b.example"}, {Kind: LitHost, Value: "a"}}, true},
		{"domain", "redirect", "domain .Example.com", []Literal{{Kind: LitDomain, Value: "example.com"}}, true},
		{"pattern", "redirect", `pattern "^a%.b"`, []Literal{{Kind: LitPattern, Value: "^a%.b"}}, false},
		{"regex", "redirect", "regex `^a\\.b:`", []Literal{{Kind: LitRegex, Value: `^a\.b:`}}, false},
		{"port", "redirect6", "port 443, 1000-2000", []Literal{{Kind: LitPorts, Ports: PortRange{443, 443}}, {Kind: LitPorts, Ports: PortRange{1000, 2000}}}, true},
		{"cidr", "route", "cidr 10.0.0.0/8, 192.168.1.1", []Literal{{Kind: LitPrefix, Prefix: pfx("10.0.0.0/8")}, {Kind: LitPrefix, Prefix: pfx("192.168.1.1/32")}}, false},
		{"cidr6", "route6", "cidr 2001:db8::/32", []Literal{{Kind: LitPrefix, Prefix: pfx("2001:db8::/32")}}, false},
	} {
		rows[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf("%s { %s => direct }\n", tc.table, tc.matcher)
			p, d := Check("leaf.nrt", []byte(src), CheckOptions{})
			if p == nil {
				t.Fatal(d.Format())
			}
			l, ok := p.Rules[0].M.(Leaf)
			if !ok {
				t.Fatalf("%T is not a Leaf", p.Rules[0].M)
			}
			if got := l.Literals(); !slices.Equal(got, tc.want) {
				t.Errorf("literals %v, want %v", got, tc.want)
			}
			if l.Splits() != tc.splits {
				t.Errorf("Splits() = %v", l.Splits())
			}
		})
	}
	for _, w := range kindWords() {
		if !rows[w] {
			t.Errorf("kind %s has no row here", w)
		}
	}
}

// A set's leaves are its members in order; composite nodes are no leaves.
func TestSetLeaves(t *testing.T) {
	src := "set l list { a.example, full:b.example, \"regexp:^c\", keyword:d }\nset c cidr { 10.0.0.0/8, ::/0 }\n" +
		"redirect_name { in l => direct }\nroute { in c => direct }\nroute6 { in c => direct }\n"
	p, d := Check("set.nrt", []byte(src), CheckOptions{})
	if p == nil {
		t.Fatal(d.Format())
	}
	var got [][]Literal
	for _, s := range p.Sets {
		for _, l := range s.Leaves() {
			got = append(got, l.Literals())
		}
	}
	want := fmt.Sprint([][]Literal{
		{{Kind: LitDomain, Value: "a.example"}}, {{Kind: LitHost, Value: "b.example"}}, {{Kind: LitRegex, Value: "^c"}}, {{Kind: LitPattern, Value: "d"}},
		{{Kind: LitPrefix, Prefix: netip.MustParsePrefix("10.0.0.0/8")}}, {{Kind: LitPrefix, Prefix: netip.MustParsePrefix("::/0")}},
	})
	if fmt.Sprint(got) != want {
		t.Errorf("leaves %v\nwant   %v", got, want)
	}
	for _, m := range []MatchIR{MAny{}, &MSet{}, &MNot{}, &MAll{}, &MAnyOf{}} {
		if _, ok := m.(Leaf); ok {
			t.Errorf("%T is a Leaf", m)
		}
	}
}
