package conformance

import (
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// RunLuaTests runs the test blocks of p on the translated Lua (engine L):
// a fresh Lua state per block, the block's fake resolver and auth
// setting. The results read like dsl.RunTests'.
func RunLuaTests(p *dsl.Program) ([]dsl.CaseResult, error) {
	src := []byte(dsl.Translate(p))
	var out []dsl.CaseResult
	for _, ti := range p.Tests {
		l, err := NewLuaEngine("L", src, "@"+luaName(p.Main), LuaOptions{AuthRequired: ti.Auth, Resolve: dsl.FakeResolver(ti.DNS)})
		if err != nil {
			return nil, err
		}
		for _, cs := range ti.Cases {
			o, err := l.Decide(Request{Callback: cs.Callback, Addr: cs.Addr, Cred: cs.Cred})
			if err != nil {
				l.Close()
				return nil, err
			}
			d := o.Decision()
			ev := make([]dsl.Event, len(o.Events))
			for i, e := range o.Events {
				ev[i] = dsl.Event{Tag: e.Tag, Addr: e.Addr}
			}
			out = append(out, dsl.CaseResult{Test: ti, Case: cs, Got: d, Events: ev, Failure: dsl.CheckCase(cs, d, ev)})
		}
		l.Close()
	}
	return out, nil
}

// Decision converts an outcome back to a route decision.
func (o Outcome) Decision() route.Decision {
	return route.Decision{Verdict: o.Verdict, Target: o.Target, Chain: o.Chain, Reason: o.Reason}
}
