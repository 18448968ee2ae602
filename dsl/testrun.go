package dsl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// CaseResult is the outcome of one test case.
type CaseResult struct {
	Test    *TestIR
	Case    *CaseIR
	Got     route.Decision
	Events  []Event
	Failure string // "" when the case passed
}

// ErrNoSuchName is the fake resolver's answer for names it does not know.
var ErrNoSuchName = errors.New("no such host")

// FakeResolver returns the resolver of a test block: IP literals resolve
// to themselves, names listed by `dns` (case-insensitively) to their
// address, everything else fails.
func FakeResolver(dns map[string]string) func(context.Context, string) (netip.Addr, error) {
	return func(_ context.Context, host string) (netip.Addr, error) {
		if v, ok := addr.ParseIPv4(host); ok {
			return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
		}
		if a, ok := addr.ParseIPv6(host); ok {
			return a, nil
		}
		s, ok := dns[addr.Lower(host)]
		if !ok || s == "" {
			return netip.Addr{}, fmt.Errorf("%w: %s", ErrNoSuchName, host)
		}
		return netip.ParseAddr(s)
	}
}

// RunTests runs every test block of p on a fresh table per block.
func RunTests(p *Program) ([]CaseResult, error) {
	var out []CaseResult
	for _, ti := range p.Tests {
		t, err := Compile(p)
		if err != nil {
			return nil, err
		}
		env := &Env{AuthRequired: ti.Auth, Resolve: FakeResolver(ti.DNS)}
		for _, cs := range ti.Cases {
			d, ev := t.Decide(context.Background(), cs.Callback, cs.Addr, cs.Cred, env)
			out = append(out, CaseResult{Test: ti, Case: cs, Got: d, Events: ev, Failure: CheckCase(cs, d, ev)})
		}
	}
	return out, nil
}

// CheckCase compares a decision and its events with a case's
// expectation; it returns "" on success or what differs.
func CheckCase(cs *CaseIR, d route.Decision, ev []Event) string {
	want := expectString(cs)
	got := FormatDecision(d)
	if d.Verdict == route.Error {
		got = "ERROR"
	}
	if got != want {
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	if cs.CheckTags {
		var tags []string
		for _, e := range ev {
			tags = append(tags, e.Tag)
		}
		if !slices.Equal(tags, cs.Tags) {
			return fmt.Sprintf("got tags [%s], want [%s]", strings.Join(tags, ", "), strings.Join(cs.Tags, ", "))
		}
	}
	return ""
}

// expectString renders a case's expectation like FormatDecision.
func expectString(cs *CaseIR) string {
	switch cs.Want {
	case route.Reject:
		return "REJECT"
	case route.Error:
		return "ERROR"
	}
	return FormatDecision(route.Decision{Verdict: route.Forward, Target: cs.To, Chain: route.MakeChain(cs.Via...)})
}
