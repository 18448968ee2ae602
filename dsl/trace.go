package dsl

import (
	"context"
	"fmt"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// Trace collects the steps of one decision (nrt explain,
// /ruleset/explain). A nil *Trace records nothing.
type Trace struct {
	Steps []Step `json:"steps"`
}

// Step is one line of a trace.
type Step struct {
	Kind   string `json:"kind"` // phase, rule, action, info
	Phase  string `json:"phase,omitempty"`
	Addr   string `json:"addr,omitempty"`
	Rule   string `json:"rule,omitempty"` // file:line:col
	Text   string `json:"text,omitempty"` // matcher or action as written
	Result string `json:"result,omitempty"`
	Why    string `json:"why,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Depth  int    `json:"depth,omitempty"`
}

func (s *state) tracePhase(name, a string) {
	if s.tr != nil {
		s.tr.Steps = append(s.tr.Steps, Step{Kind: "phase", Phase: name, Addr: a})
	}
}

func (s *state) trace(phase, format string, args ...any) {
	if s.tr != nil {
		s.tr.Steps = append(s.tr.Steps, Step{Kind: "info", Phase: phase, Text: fmt.Sprintf(format, args...)})
	}
}

func (s *state) traceRule(r *ruleRT, v *view, t tri, depth int, note string) {
	if s.tr == nil {
		return
	}
	st := Step{Kind: "rule", Rule: r.pos, Text: r.ir.Text, Depth: depth}
	switch {
	case note != "":
		st.Result = note
	case t == isMatch:
		st.Result = "MATCH"
		st.Why = explainMatch(r.m, v)
	case t == errMatch:
		st.Result = "ERROR"
		st.Why = matchErr(v)
	default:
		st.Result = "no"
		if a, ok := r.m.(*allM); ok {
			for i, x := range a.xs {
				if x.match(v) != isMatch {
					st.Why = fmt.Sprintf("condition %d of %d fails", i+1, len(a.xs))
					break
				}
			}
		}
	}
	s.tr.Steps = append(s.tr.Steps, st)
}

func explainMatch(m matcher, v *view) string {
	switch m := m.(type) {
	case explainer:
		return m.why(v)
	case *anyOfM:
		for _, x := range m.xs {
			if x.match(v) == isMatch {
				return explainMatch(x, v)
			}
		}
	case *allM:
		var parts []string
		for _, x := range m.xs {
			if w := explainMatch(x, v); w != "" {
				parts = append(parts, w)
			}
		}
		return strings.Join(parts, ", ")
	case *slotM:
		if sv := m.slot.Load(); sv != nil {
			if x := sv.get(m.fam); x != nil {
				return explainMatch(x, v)
			}
		}
	}
	return ""
}

func (s *state) traceAction(r *ruleRT) {
	if s.tr == nil {
		return
	}
	st := Step{Kind: "action", Rule: r.pos, Tag: r.tag}
	if r.ir.A != nil {
		st.Text = describeAction(r.ir.A)
	}
	s.tr.Steps = append(s.tr.Steps, st)
}

func describeAction(a *ActIR) string {
	if a.Name != "" {
		return a.Name
	}
	via := ""
	if len(a.Chain) > 0 {
		via = " via " + strings.Join(a.Chain, ", ")
	}
	switch a.Kind {
	case ARedirect:
		return "redirect " + a.Dst + via
	case AProxy:
		return "proxy " + strings.Join(a.Chain, ", ")
	case ARewrite:
		return fmt.Sprintf("rewrite %q to %q%s", a.Pat, a.Repl, via)
	case ALoopback:
		return fmt.Sprintf("loopback %q to %q", a.Pat, a.Repl)
	case ARoundRobin:
		return "roundrobin"
	case AIWRR:
		return "weighted"
	}
	return actText(a)
}

// FormatDecision renders a decision as in traces and test reports:
// ROUTE "addr" chain [..], REJECT or ERROR (reason).
func FormatDecision(d route.Decision) string {
	switch d.Verdict {
	case route.Forward:
		return fmt.Sprintf("ROUTE %q chain %s", d.Target, d.Chain)
	case route.Reject:
		return "REJECT"
	case route.Error:
		return "ERROR (" + d.Reason + ")"
	}
	return d.Verdict.String()
}

// Explain runs one request in trace mode and renders the trace as text.
func (t *Table) Explain(cb route.Callback, a string, cred route.Credentials, env Env) (string, *Trace, route.Decision, []Event) {
	tr := &Trace{}
	env.Trace = tr
	d, ev := t.Decide(context.Background(), cb, a, cred, &env)
	var b strings.Builder
	auth := "off"
	if env.AuthRequired {
		auth = "on"
	}
	cbName := map[route.Callback]string{route.Resolve: "name", route.Route: "ipv4", route.Route6: "ipv6"}[cb]
	fmt.Fprintf(&b, "request  %s %q (auth %s)\n", cbName, a, auth)
	for _, st := range tr.Steps {
		switch st.Kind {
		case "phase":
			fmt.Fprintf(&b, "%s\n", st.Phase)
		case "rule":
			ind := strings.Repeat("  ", st.Depth)
			line := fmt.Sprintf("%s%-13s %-34s %s", ind, st.Rule, st.Text, st.Result)
			if st.Why != "" {
				line += " " + st.Why
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		case "action":
			line := "  -> " + st.Text
			if st.Tag != "" {
				line += "  tag " + st.Tag
			}
			b.WriteString(line + "\n")
		case "info":
			fmt.Fprintf(&b, "  %s %s\n", st.Phase, st.Text)
		}
	}
	fmt.Fprintf(&b, "decision %s\n", FormatDecision(d))
	if len(ev) > 0 {
		var parts []string
		for _, e := range ev {
			parts = append(parts, fmt.Sprintf("[%s] %q", e.Tag, e.Addr))
		}
		fmt.Fprintf(&b, "events   %s\n", strings.Join(parts, " "))
	}
	// Note hosts entries that the request's host would have used.
	if cb == route.Resolve {
		if h, _, err := splitLower(a); err == nil {
			for _, he := range t.prog.Hosts {
				if he.Key == h && d.Verdict != route.Error && !hostsUsed(tr) {
					fmt.Fprintf(&b, "note     hosts entry %s (%s) not consulted\n", he.Key, posString(he.Pos))
				}
			}
		}
	}
	return b.String(), tr, d, ev
}

func hostsUsed(tr *Trace) bool {
	for _, st := range tr.Steps {
		if st.Kind == "info" && st.Phase == "hosts" {
			return true
		}
	}
	return false
}
