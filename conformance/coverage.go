package conformance

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/neosocksd-go/neosocksd/dsl"
)

// Coverage says how well a stream exercises the rules of a route table:
// which rules at least one request selected, and which rules some request
// reached without selecting (a miss right at the rule, which is where a
// one-literal difference shows). A rule never hit, or never missed, is a
// rule whose literals the stream may not tell apart from a neighbour's.
type Coverage struct {
	Rules       int      // rules with a matcher (`call` rules and the default not counted)
	Hit         int      // rules selected by at least one request
	NeverHit    []string // "file:line:col matcher", in source order
	NeverMissed []string // reached, but never reached without matching
}

// Percent is the share of rules hit, 100 for a table without rules.
func (c Coverage) Percent() float64 {
	if c.Rules == 0 {
		return 100
	}
	return 100 * float64(c.Hit) / float64(c.Rules)
}

// maxTraced bounds the requests CoverageOf traces to find misses.
const maxTraced = 1000

// CoverageOf runs the stream on the compiled table (fresh load balancers,
// world w) and records, per rule, whether a request selected it (the
// table's hit counters) and whether one of the first 1000 requests, run
// again in trace mode, reached it and did not match.
func CoverageOf(p *dsl.Program, w World, stream []Request) (Coverage, error) {
	t, err := dsl.Compile(p)
	if err != nil {
		return Coverage{}, fmt.Errorf("coverage: %w", err)
	}
	env := dsl.Env{AuthRequired: w.AuthRequired, Resolve: w.resolver()}
	hit, missed := map[string]bool{}, map[string]bool{}
	for _, r := range stream {
		t.Decide(context.Background(), r.Callback, r.Addr, r.Cred, &env)
	}
	for _, h := range t.Hits() {
		if h.Hits > 0 {
			hit[h.Rule] = true
		}
	}
	traced, err := dsl.Compile(p)
	if err != nil {
		return Coverage{}, fmt.Errorf("coverage: %w", err)
	}
	for _, r := range stream[:min(len(stream), maxTraced)] {
		_, tr, _, _ := traced.Explain(r.Callback, r.Addr, r.Cred, env)
		if tr == nil {
			continue
		}
		for _, st := range tr.Steps {
			if st.Kind != "rule" {
				continue
			}
			if st.Result == "no" {
				missed[st.Rule] = true
			}
		}
	}
	var c Coverage
	for _, r := range p.Rules {
		if r == nil || r.M == nil || r == p.Default {
			continue
		}
		c.Rules++
		pos := fmt.Sprintf("%s:%d:%d", r.Pos.Filename, r.Pos.Line, r.Pos.Column)
		label := pos + " " + r.Text
		if hit[pos] {
			c.Hit++
		} else {
			c.NeverHit = append(c.NeverHit, label)
		}
		if !missed[pos] {
			c.NeverMissed = append(c.NeverMissed, label)
		}
	}
	return c, nil
}

// Write prints the coverage: a summary line, then each rule never hit and
// each rule never missed, one a line. The text depends only on the table
// and the stream, so it is stable for a seed.
func (c Coverage) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "coverage %d of %d rules hit (%.1f%%), %d never missed\n", c.Hit, c.Rules, c.Percent(), len(c.NeverMissed))
	for _, r := range c.NeverHit {
		fmt.Fprintf(&b, "  never hit    %s\n", r)
	}
	for _, r := range c.NeverMissed {
		fmt.Fprintf(&b, "  never missed %s\n", r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
