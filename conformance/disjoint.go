package conformance

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"github.com/neosocksd-go/neosocksd/core/ere"
	"github.com/neosocksd-go/neosocksd/dsl"
)

// Disjointness of two rules of a string table: no address is matched by
// both, and none is matched by one while the other fails with an error
// (splitting matchers fail on addresses that do not split). Two adjacent
// rules with that property can be swapped without changing any decision.
// Each matcher's language is over-approximated by a regular expression
// over bytes (runes 0-255, as core/ere runs POSIX patterns), and the
// intersection of the expressions is decided exactly by exploring their
// product automaton, so "disjoint" is a proof; "not disjoint" may be a
// false alarm.

// splitError over-approximates the addresses a splitting matcher fails on
// (core/addr.Split): no ':', or a host that keeps a ':' (two colons and
// no leading bracket, or a bracket not closed right before the last
// ':'). splitTooLong adds those longer than 261 bytes.
const (
	splitError   = `(?s:\A[^:]*\z|\A[^\[].*:.*:|\A:.*:|\A\[.*:.*:)`
	splitTooLong = `(?s:\A.{262,}\z)`
)

// ruleLang is what a rule of a string table may match: the conjunction
// of its regexps, and whether it may fail with an error.
type ruleLang struct {
	conj     []string
	mayError bool
}

// rulesDisjoint reports whether two rules of a string table are proven
// disjoint in the sense above.
func rulesDisjoint(a, b dsl.MatchIR) bool { return matchersDisjoint(a, b, false) }

// matchersDisjoint is rulesDisjoint; shielded says that no address a
// splitting matcher fails on reaches the two rules (an earlier rule of
// their chain fails on all of them first), so only matches can meet.
func matchersDisjoint(a, b dsl.MatchIR, shielded bool) bool {
	la, lb := langOf(a), langOf(b)
	if nonEmpty(append(slices.Clone(la.conj), lb.conj...)) {
		return false
	}
	return shielded || !errorMeetsMatch(la, lb, b) && !errorMeetsMatch(lb, la, a)
}

// ruleMatchers lists what a rule may match with: its matcher, or for
// `call C` the matchers of C's rules.
func ruleMatchers(r *dsl.RuleIR) []dsl.MatchIR {
	if r.Call == nil {
		return []dsl.MatchIR{r.M}
	}
	var out []dsl.MatchIR
	for _, x := range r.Call.Rules {
		out = append(out, ruleMatchers(x)...)
	}
	return out
}

// adjacentDisjoint reports whether rules i and i+1 of a string table or
// chain are proven disjoint, `call` rules by every rule of their chain.
func adjacentDisjoint(ch *dsl.ChainIR, i int) bool {
	shielded := shieldedAt(ch, i)
	for _, a := range ruleMatchers(ch.Rules[i]) {
		for _, b := range ruleMatchers(ch.Rules[i+1]) {
			if a == nil || b == nil || !matchersDisjoint(a, b, shielded) {
				return false
			}
		}
	}
	return true
}

// shieldedAt reports whether an earlier rule of ch than i fails on every
// address that does not split, before anything else can match it.
func shieldedAt(ch *dsl.ChainIR, i int) bool {
	for _, r := range ch.Rules[:i] {
		if failsFirst(r) {
			return true
		}
	}
	return false
}

// failsFirst reports whether the first matcher a rule evaluates splits
// the address (so fails on one that does not split).
func failsFirst(r *dsl.RuleIR) bool {
	if r.Call != nil {
		return len(r.Call.Rules) > 0 && failsFirst(r.Call.Rules[0])
	}
	var first func(m dsl.MatchIR) bool
	first = func(m dsl.MatchIR) bool {
		switch m := m.(type) {
		case dsl.Leaf:
			return m.Splits()
		case *dsl.MNot:
			return first(m.X)
		case *dsl.MAll:
			return len(m.Xs) > 0 && first(m.Xs[0])
		case *dsl.MAnyOf:
			return len(m.Xs) > 0 && first(m.Xs[0])
		}
		return false
	}
	return first(r.M)
}

// overlapWitness returns an address that both rules take (one matches it
// and the other matches or fails on it), or false when they are disjoint
// or no witness was found.
func overlapWitness(a, b dsl.MatchIR) (string, bool) {
	la, lb := langOf(a), langOf(b)
	if w, ok := commonString(append(slices.Clone(la.conj), lb.conj...)); ok && w != "" {
		return w, true
	}
	return errorWitness(la, lb)
}

// errorWitness returns an address one rule may fail on and the other
// matches.
func errorWitness(la, lb ruleLang) (string, bool) {
	if la.mayError {
		if w, ok := commonString(append([]string{splitError}, lb.conj...)); ok && w != "" {
			return w, true
		}
	}
	if lb.mayError {
		if w, ok := commonString(append([]string{splitError}, la.conj...)); ok && w != "" {
			return w, true
		}
	}
	return "", false
}

// errorMeetsMatch reports whether rule e may fail on an address that rule
// m (with matcher mm) matches. An over-long address fails every splitting
// matcher, so it only matters when m has a matcher that does not split.
func errorMeetsMatch(e, m ruleLang, mm dsl.MatchIR) bool {
	if !e.mayError {
		return false
	}
	errs := splitError
	if !splitOnly(mm) {
		errs = "(?:" + splitError + "|" + splitTooLong + ")"
	}
	return nonEmpty(append([]string{errs}, m.conj...))
}

// splitOnly reports whether every address m matches splits: m is built
// from splitting matchers (host, domain, port) with and/or only.
func splitOnly(m dsl.MatchIR) bool {
	switch m := m.(type) {
	case dsl.Leaf:
		return m.Splits()
	case *dsl.MAll:
		return slices.ContainsFunc(m.Xs, splitOnly)
	case *dsl.MAnyOf:
		return !slices.ContainsFunc(m.Xs, func(x dsl.MatchIR) bool { return !splitOnly(x) })
	}
	return false
}

func langOf(m dsl.MatchIR) ruleLang {
	var l ruleLang
	l.mayError = mayError(m)
	if all, ok := m.(*dsl.MAll); ok {
		for _, x := range all.Xs {
			l.conj = append(l.conj, exprOf(x))
		}
	} else {
		l.conj = []string{exprOf(m)}
	}
	return l
}

func mayError(m dsl.MatchIR) bool {
	switch m := m.(type) {
	case dsl.Leaf:
		return m.Splits()
	case *dsl.MSet:
		if m.Set.Dynamic() {
			return true // its contents are unknown here
		}
		for _, l := range m.Set.Leaves() {
			if l.Splits() {
				return true
			}
		}
	case *dsl.MNot:
		return mayError(m.X)
	case *dsl.MAll:
		return slices.ContainsFunc(m.Xs, mayError)
	case *dsl.MAnyOf:
		return slices.ContainsFunc(m.Xs, mayError)
	}
	return false
}

const anything = `(?s:.*)`

// exprOf over-approximates the addresses m matches.
func exprOf(m dsl.MatchIR) string {
	switch m := m.(type) {
	case dsl.Leaf:
		if e, ok := leafExpr(m); ok {
			return e
		}
	case *dsl.MSet:
		if m.Set.Dynamic() {
			return anything
		}
		var alts []string
		for _, l := range m.Set.Leaves() {
			if e, ok := leafExpr(l); ok && len(l.Literals()) > 0 {
				alts = append(alts, e)
			}
		}
		if len(alts) == 0 {
			return `[^\x00-\x{ff}]` // the empty set: no rune of the alphabet
		}
		return "(?:" + strings.Join(alts, "|") + ")"
	case *dsl.MAnyOf:
		alts := make([]string, len(m.Xs))
		for i, x := range m.Xs {
			alts[i] = exprOf(x)
		}
		return "(?:" + strings.Join(alts, "|") + ")"
	}
	return anything // any, port, cidr, not, and inside or: not narrowed
}

// byteLit writes s as a regexp literal, case-insensitive for ASCII
// letters when fold is set.
func byteLit(s string, fold bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case fold && c >= 'a' && c <= 'z':
			fmt.Fprintf(&b, "[%c%c]", c, c-32)
		case fold && c >= 'A' && c <= 'Z':
			fmt.Fprintf(&b, "[%c%c]", c+32, c)
		case c < 0x80 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x{%x}`, c)
		}
	}
	return b.String()
}

// leafExpr over-approximates the addresses a leaf matches, or returns
// false when its literals do not narrow them (ports, prefixes).
func leafExpr(m dsl.Leaf) (string, bool) {
	var alts []string
	for _, x := range m.Literals() {
		v := x.Value
		switch x.Kind {
		case dsl.LitAddr:
			alts = append(alts, `\A`+byteLit(v, true)+`\z`)
		case dsl.LitHost:
			h := byteLit(v, true)
			alts = append(alts, `\A`+h+`:[^:]*\z`, `\A\[`+h+`\]:[^:]*\z`)
		case dsl.LitDomain:
			labels := strings.Split(v, ".")
			for i, l := range labels {
				labels[i] = byteLit(l, true)
			}
			// Empty labels are ignored: any run of dots separates labels.
			// The host keeps no ':' (else the split fails), brackets aside.
			alts = append(alts, `\A\[?(?:[^:]*\.)?`+strings.Join(labels, `\.+`)+`\.*\]?:[^:]*\z`)
		case dsl.LitRegex:
			s, ok := ere.Syntax(ere.Compat(v), ere.Extended|ere.Newline)
			if !ok {
				return anything, true
			}
			alts = append(alts, `(?s:.*)(?:`+s+`)(?s:.*)`)
		case dsl.LitPattern:
			s, ok := patternSyntax(v)
			if !ok {
				return anything, true
			}
			alts = append(alts, s)
		default:
			return "", false
		}
	}
	if len(alts) == 0 {
		return `[^\x00-\x{ff}]`, true
	}
	return "(?:" + strings.Join(alts, "|") + ")", true
}

// patternSyntax translates a Lua pattern into a Go regexp over bytes with
// the same search language, or false for items it does not translate
// (%b, %f, back-references).
func patternSyntax(p string) (string, bool) {
	items, start, end, err := parseLuaPattern(p)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if start {
		b.WriteString(`\A`)
	} else {
		b.WriteString(`(?s:.*)`)
	}
	for _, it := range items {
		switch it.kind {
		case '(', ')':
			continue
		case 'c':
		default:
			return "", false
		}
		b.WriteByte('[')
		for c := 0; c < 256; c++ {
			if it.class(byte(c)) {
				fmt.Fprintf(&b, `\x{%x}`, c)
			}
		}
		b.WriteByte(']')
		switch it.quant {
		case '*', '-':
			b.WriteByte('*')
		case '+', '?':
			b.WriteByte(it.quant)
		}
	}
	if end {
		b.WriteString(`\z`)
	} else {
		b.WriteString(`(?s:.*)`)
	}
	return b.String(), true
}

// nonEmpty reports whether some string of runes 0-255 matches every one of
// the (anchored as written) expressions; an expression that does not
// compile counts as matching everything.
func nonEmpty(exprs []string) bool {
	_, ok := commonString(exprs)
	return ok
}

// commonMemo remembers commonString's answers: the mutants of one table
// ask about the same rule pairs again and again.
var commonMemo = struct {
	sync.Mutex
	m map[string]memoAnswer
}{m: map[string]memoAnswer{}}

type memoAnswer struct {
	s  string
	ok bool
}

// commonString returns a shortest string of runes 0-255, as bytes, that
// every expression matches, or false when there is none. Past 200 000
// product states it gives up and answers "" and true (not proven empty).
func commonString(exprs []string) (string, bool) {
	key := strings.Join(exprs, "\x00")
	commonMemo.Lock()
	a, ok := commonMemo.m[key]
	commonMemo.Unlock()
	if ok {
		return a.s, a.ok
	}
	s, found := searchCommon(exprs)
	commonMemo.Lock()
	if len(commonMemo.m) > 1<<16 {
		clear(commonMemo.m)
	}
	commonMemo.m[key] = memoAnswer{s, found}
	commonMemo.Unlock()
	return s, found
}

func searchCommon(exprs []string) (string, bool) {
	var progs []*syntax.Prog
	for _, e := range exprs {
		re, err := syntax.Parse(e, syntax.Perl)
		if err != nil {
			continue
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			continue
		}
		progs = append(progs, prog)
	}
	if len(progs) == 0 {
		return "", true
	}
	alphabet := classes256(progs)
	type state struct {
		prev rune
		sets string // the kernels of all programs, encoded
	}
	encode := func(prev rune, ks [][]uint32) state {
		var b strings.Builder
		for _, k := range ks {
			for _, pc := range k {
				fmt.Fprintf(&b, "%d,", pc)
			}
			b.WriteByte('|')
		}
		return state{prev: prevClass(prev), sets: b.String()}
	}
	start := make([][]uint32, len(progs))
	for i, p := range progs {
		start[i] = []uint32{uint32(p.Start)}
	}
	type item struct {
		prev   rune
		ks     [][]uint32
		parent int // index in visited, -1 for the start
	}
	seen := map[state]bool{encode(-1, start): true}
	visited := []item{{-1, start, -1}}
	const maxStates = 200000
	for head := 0; head < len(visited); head++ {
		it := visited[head]
		if accepts(progs, it.ks, it.prev) {
			var b []byte
			for i := head; visited[i].parent >= 0; i = visited[i].parent {
				b = append(b, byte(visited[i].prev))
			}
			slices.Reverse(b)
			return string(b), true
		}
		for _, c := range alphabet {
			next := make([][]uint32, len(progs))
			dead := false
			for i, p := range progs {
				next[i] = stepProg(p, it.ks[i], it.prev, c)
				if len(next[i]) == 0 {
					dead = true
					break
				}
			}
			if dead {
				continue
			}
			st := encode(c, next)
			if !seen[st] {
				if len(seen) > maxStates {
					return "", true // too large to decide: assume they meet
				}
				seen[st] = true
				visited = append(visited, item{c, next, head})
			}
		}
	}
	return "", false
}

// prevClass keeps of the previous rune only what empty-width assertions
// look at.
func prevClass(r rune) rune {
	switch {
	case r < 0, r == '\n':
		return r
	case syntax.IsWordChar(r):
		return 'a'
	}
	return '.'
}

// classes256 returns one representative rune of each class of runes 0-255
// that every program treats alike.
func classes256(progs []*syntax.Prog) []rune {
	cut := map[rune]bool{0: true, '\n': true, '\n' + 1: true}
	for _, p := range progs {
		for _, in := range p.Inst {
			switch in.Op {
			case syntax.InstRune, syntax.InstRune1:
				for i, r := range in.Rune {
					if i%2 == 1 || in.Op == syntax.InstRune1 {
						cut[r+1] = true
					}
					cut[r] = true
					if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
						for f := fold(r); f != r; f = fold(f) {
							cut[f], cut[f+1] = true, true
						}
					}
				}
			}
		}
	}
	// Word characters change what \b sees.
	for _, r := range []rune{'0', '9' + 1, 'A', 'Z' + 1, '_', '_' + 1, 'a', 'z' + 1} {
		cut[r] = true
	}
	var out []rune
	for r := rune(0); r < 256; r++ {
		if cut[r] {
			out = append(out, r)
		}
	}
	return out
}

func fold(r rune) rune {
	switch {
	case r >= 'a' && r <= 'z':
		return r - 32
	case r >= 'A' && r <= 'Z':
		return r + 32
	}
	return r
}

// closure follows the empty moves of p from kernel in the context between
// prev and next (-1: the ends of the text) and returns the instructions
// that consume a rune or match.
func closure(p *syntax.Prog, kernel []uint32, prev, next rune) []uint32 {
	ctx := syntax.EmptyOpContext(prev, next)
	seen := map[uint32]bool{}
	var out []uint32
	stack := slices.Clone(kernel)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &p.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^ctx == 0 {
				stack = append(stack, in.Out)
			}
		case syntax.InstMatch, syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			out = append(out, pc)
		}
	}
	return out
}

func stepProg(p *syntax.Prog, kernel []uint32, prev, c rune) []uint32 {
	var next []uint32
	for _, pc := range closure(p, kernel, prev, c) {
		in := &p.Inst[pc]
		if in.Op != syntax.InstMatch && in.MatchRune(c) {
			next = append(next, in.Out)
		}
	}
	slices.Sort(next)
	return slices.Compact(next)
}

func accepts(progs []*syntax.Prog, ks [][]uint32, prev rune) bool {
	for i, p := range progs {
		ok := false
		for _, pc := range closure(p, ks[i], prev, -1) {
			if p.Inst[pc].Op == syntax.InstMatch {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
