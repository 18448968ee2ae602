package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// Test blocks: the cases a route table carries about itself.

func (c *checker) test(t *testDecl, pos lexer.Position) {
	ti := &TestIR{Pos: pos, Auth: t.Auth, DNS: map[string]string{}}
	if t.Name != nil {
		ti.Name, _ = c.str(t.Name)
	}
	for _, it := range t.Items {
		if it.DNS != nil {
			name, ok := c.value(it.DNS.Name)
			if !ok {
				continue
			}
			val := ""
			if !it.DNS.Fail {
				if val, ok = c.value(it.DNS.Addr); !ok {
					continue
				}
				if _, ok4 := addr.ParseIPv4(val); !ok4 && !isIPv6(val) {
					c.d.errorf(it.DNS.Addr.Pos, "dns %s: %q is not an IP address", name, val)
					continue
				}
			}
			ti.DNS[addr.Lower(name)] = val
			continue
		}
		k := it.Case
		cs := &CaseIR{Pos: it.Pos}
		var ok bool
		if cs.Addr, ok = c.str(k.Addr); !ok {
			continue
		}
		if cb, named := route.ParseCallback(k.Callback); named {
			cs.Callback = cb
		} else {
			cs.Callback = route.Resolve
			if h, _, err := addr.Split(cs.Addr); err == nil {
				if _, is4 := addr.ParseIPv4(h); is4 {
					cs.Callback = route.Route
				} else if strings.HasPrefix(cs.Addr, "[") && isIPv6(h) {
					cs.Callback = route.Route6
				}
			}
		}
		if k.User != nil {
			if cs.Cred.Username, ok = c.str(k.User); !ok {
				continue
			}
			cs.Cred.HasUsername = true
			if k.Password != nil {
				if cs.Cred.Password, ok = c.str(k.Password); !ok {
					continue
				}
				cs.Cred.HasPassword = true
			}
		}
		switch {
		case k.Reject:
			cs.Want = route.Reject
		case k.Error:
			cs.Want = route.Error
		default:
			cs.Want = route.Forward
			if cs.To, ok = c.str(k.To); !ok {
				continue
			}
			if cs.Via, ok = c.hops(k.Via, false); !ok {
				continue
			}
		}
		if k.Tags != nil {
			cs.CheckTags = true
			for _, v := range k.Tags {
				s, good := c.value(v)
				if good {
					cs.Tags = append(cs.Tags, s)
				}
			}
		}
		ti.Cases = append(ti.Cases, cs)
	}
	c.p.Tests = append(c.p.Tests, ti)
}
