package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/dsl/lists"
)

// The hosts, users and default declarations.

func (c *checker) hosts(d *decl) {
	if !c.onlyOnce("hosts", d.Pos) {
		return
	}
	seen := map[string]lexer.Position{}
	add := func(k, v string, kp, vp lexer.Position) {
		if c.nonASCII("host", k, kp) {
			return
		}
		if k == "" || strings.ContainsAny(k, "[]") || (strings.Contains(k, ":") && !isIPv6(k)) {
			c.d.errorf(kp, "invalid hosts name %q", k)
			return
		}
		if strings.ContainsAny(v, "[]") || v == "" || (strings.Contains(v, ":") && !isIPv6(v)) {
			c.d.errorf(vp, "invalid hosts value %q: write an IPv4 address, an IPv6 address without brackets, or a name", v)
			return
		}
		if c.nonASCII("host", v, vp) {
			return
		}
		k = addr.Lower(k)
		if prev, dup := seen[k]; dup {
			x := c.d.errorf(kp, "duplicate hosts entry %s", k)
			x.Notes = append(x.Notes, posString(prev)+": first entry here")
			return
		}
		seen[k] = kp
		c.p.Hosts = append(c.p.Hosts, HostIR{Key: k, Val: v, Pos: kp})
	}
	h := d.Hosts
	if h.From != nil {
		name, ok := c.str(h.From)
		if !ok {
			return
		}
		path := c.rel(c.fileOfAt[d], name)
		b, err := c.o.ReadFile(path)
		if err != nil {
			c.d.errorf(h.From.Pos, "hosts file %q: %s", path, ioReason(err))
			return
		}
		c.d.src[path] = b
		for _, e := range lists.Hosts(string(b)) {
			p := lexer.Position{Filename: path, Line: int(e.IP.Line), Column: int(e.IP.Col)}
			if e.Name == "" {
				c.d.errorf(p, "hosts line needs an address and a name")
				continue
			}
			add(e.Name, e.IP.Value, p, p)
		}
		return
	}
	for _, e := range h.Entries {
		k, ok1 := c.value(e.Key)
		v, ok2 := c.value(e.Val)
		if ok1 && ok2 {
			add(k, v, e.Key.Pos, e.Val.Pos)
		}
	}
}

func (c *checker) users(d *decl) {
	if !c.onlyOnce("users", d.Pos) {
		return
	}
	c.p.HasUsers = true
	seen := map[string]bool{}
	for _, e := range d.Users.Entries {
		name, ok := c.value(e.Name)
		if !ok {
			continue
		}
		if seen[name] {
			c.d.errorf(e.Name.Pos, "duplicate user %q", name)
			continue
		}
		seen[name] = true
		u := UserIR{Name: name, Any: e.Any, Pos: e.Name.Pos}
		if !e.Any {
			if u.Pass, ok = c.str(e.Pass); !ok {
				continue
			}
		}
		c.p.Users = append(c.p.Users, u)
	}
}

func (c *checker) deflt(d *decl) {
	if !c.onlyOnce("default", d.Pos) {
		return
	}
	a := c.action(d.Default.Action)
	tag, ok := c.tag(d.Default.Tag)
	if a == nil || !ok {
		return
	}
	c.p.Default = c.newRule(&RuleIR{Pos: d.Pos, Text: "default", A: a, Tag: tag})
}
