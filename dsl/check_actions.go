package dsl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Actions: named and inline, proxy hops, rewrite patterns.

func (c *checker) namedAction(st *actState) *ActIR {
	switch st.state {
	case 1:
		c.d.errorf(st.decl.Name.Pos, "action %s refers to itself", st.decl.Name.Name)
		return nil
	case 2:
		return st.ir
	}
	st.state = 1
	a := c.action(st.decl.Action)
	st.state = 2
	if a == nil {
		return nil
	}
	if a.Name != "" {
		// `action b = a`: the same instance under another name.
		st.ir = a
		return a
	}
	a.Name = st.decl.Name.Name
	st.ir = a
	c.p.Actions = append(c.p.Actions, a)
	return a
}

// hops resolves the hops of a proxy chain; route marks the upstreams named
// as used (a test case's expected chain does not).
func (c *checker) hops(hs []*hop, route bool) ([]string, bool) {
	out := make([]string, 0, len(hs))
	ok := true
	for _, h := range hs {
		if h.Name != nil {
			uri, found := c.ups[*h.Name]
			if !found {
				if _, declared := c.names[*h.Name]; declared {
					c.d.errorf(h.Pos, "%q is not an upstream", *h.Name)
				} else {
					msg := fmt.Sprintf("unknown upstream %q", *h.Name)
					if s := suggest(*h.Name, keysOf(c.ups)); s != "" {
						msg += fmt.Sprintf("; did you mean %q?", s)
					}
					c.d.errorf(h.Pos, "%s", msg)
				}
				ok = false
				continue
			}
			if route {
				c.upUsed[*h.Name] = true
			}
			out = append(out, uri)
			continue
		}
		uri, good := c.str(h.Str)
		if !good || !c.checkURI(uri, h.Str.Pos) {
			ok = false
			continue
		}
		out = append(out, uri)
	}
	return out, ok
}

func (c *checker) action(a *action) *ActIR {
	ir := &ActIR{Pos: a.Pos}
	switch {
	case a.Simple != "":
		ir.Kind = map[string]ActKind{"direct": ADirect, "reject": AReject, "default": ADefault, "resolve": AResolve}[a.Simple]
	case a.Redirect != nil:
		r := a.Redirect
		ir.Kind = ARedirect
		switch {
		case r.Host != nil:
			h, ok := c.value(r.Host)
			if !ok {
				return nil
			}
			if h == "" || strings.ContainsAny(h, "[]") || (strings.Contains(h, ":") && !isIPv6(h)) {
				c.d.errorf(r.Host.Pos, "redirect host %q: write a name or an address without port or brackets", h)
				return nil
			}
			ir.Dst = addr.Join(h, "")
		case r.Port != nil:
			p, ok := c.value(r.Port)
			if !ok {
				return nil
			}
			if _, good := addr.ParsePort(p); !good || p == "" {
				c.d.errorf(r.Port.Pos, "redirect port %q: write a port 0..65535", p)
				return nil
			}
			ir.Dst = ":" + p
		default:
			d, ok := c.value(r.Dst)
			if !ok {
				return nil
			}
			if c.nonASCII("address", d, r.Dst.Pos) {
				return nil
			}
			if _, _, err := addr.Split(d); err != nil {
				c.d.errorf(r.Dst.Pos, "redirect %q: missing \":port\" (write host:port, `redirect host H` or `redirect port P`)", d)
				return nil
			}
			ir.Dst = d
		}
		var ok bool
		if ir.Chain, ok = c.hops(r.Via, true); !ok {
			return nil
		}
	case a.Proxy != nil:
		ir.Kind = AProxy
		var ok bool
		if ir.Chain, ok = c.hops(a.Proxy, true); !ok {
			return nil
		}
	case a.Rewrite != nil:
		ir.Kind = ARewrite
		if !c.patRepl(ir, a.Rewrite.Pattern, a.Rewrite.Repl) {
			return nil
		}
		var ok bool
		if ir.Chain, ok = c.hops(a.Rewrite.Via, true); !ok {
			return nil
		}
	case a.Loopback != nil:
		ir.Kind = ALoopback
		if !c.patRepl(ir, a.Loopback.Pattern, a.Loopback.Repl) {
			return nil
		}
	case a.RoundRobin != nil:
		ir.Kind = ARoundRobin
		for _, x := range a.RoundRobin {
			it := c.action(x)
			if it == nil {
				return nil
			}
			ir.Items = append(ir.Items, it)
		}
	case a.Weighted != nil:
		ir.Kind = AIWRR
		w := a.Weighted
		if w.Cycle != nil {
			s, ok := c.value(w.Cycle)
			if !ok {
				return nil
			}
			n, err := strconv.ParseFloat(s, 64)
			// A cycle below 1 makes a step above 1: upstream's IWRR then
			// never finds a weight above its position and loops forever.
			if err != nil || !(n >= 1) || n > 1e9 {
				c.d.errorf(w.Cycle.Pos, "cycle %q: must be a number >= 1", s)
				return nil
			}
			ir.Cycle = n
		}
		pos := 0
		for _, it := range w.Items {
			s, ok := c.value(it.Weight)
			if !ok {
				return nil
			}
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || n != n || n > 1e15 || n < -1e15 {
				c.d.errorf(it.Weight.Pos, "weight %q: must be a number", s)
				return nil
			}
			if n > 0 {
				pos++
			}
			x := c.action(it.Action)
			if x == nil {
				return nil
			}
			ir.Weights = append(ir.Weights, n)
			ir.Items = append(ir.Items, x)
		}
		if pos == 0 {
			c.d.warnf(w.Pos, "all weights are 0: this action rejects every request")
		}
	case a.Name != nil:
		st := c.actions[a.Name.Name]
		if st == nil {
			if _, ok := c.ups[a.Name.Name]; ok {
				c.d.errorf(a.Name.Pos, "%q is an upstream, not an action; write `proxy %s`", a.Name.Name, a.Name.Name)
				return nil
			}
			msg := fmt.Sprintf("unknown action %q", a.Name.Name)
			if s := suggest(a.Name.Name, append(keysOf(c.actions), "direct", "reject", "default", "resolve")); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			c.d.errorf(a.Name.Pos, "%s", msg)
			return nil
		}
		return c.namedAction(st)
	}
	return ir
}

func isIPv6(s string) bool { _, ok := addr.ParseIPv6(s); return ok }

func (c *checker) patRepl(ir *ActIR, p, r *str) bool {
	pat, ok1 := c.str(p)
	repl, ok2 := c.str(r)
	if !ok1 || !ok2 {
		return false
	}
	if err := checkPattern(pat); err != nil {
		c.d.errorf(p.Pos, "invalid Lua pattern %q: %s", pat, patternReason(pat, err))
		return false
	}
	ir.Pat, ir.Repl = pat, repl
	return true
}
