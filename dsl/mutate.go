package dsl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Mutant is a route table that differs from its original in one literal,
// keyword or rule order: what a reviewer could easily miss. The
// conformance suite runs the original's translation against each mutant
// to measure whether its request streams tell such tables apart.
type Mutant struct {
	Pos  lexer.Position // where the change is
	Op   string         // the kind of change: port, drop, kind, regex, pattern, cidr, target, hop, tag, action, swap, operator, default
	Desc string         // what changed, e.g. `port 1000-2000 -> 1000-2001`
	Src  []byte         // the whole mutated main file
}

// Mutants returns every one-literal mutant of the main file src (included
// files and list files stay as they are): each port bound ±1, each item of
// a value list, proxy chain, hosts or users block, roundrobin or weighted
// action dropped, host↔domain↔exact, a regex or Lua pattern anchor dropped
// or a quantifier changed, a CIDR prefix length ±1, a redirect target or
// proxy hop replaced by another of the file, a tag dropped or renamed, an
// action changed, `and`↔`or`, a `not` dropped, two adjacent rules
// swapped, the default changed. Test blocks are not mutated. A mutant
// can be invalid (a port range turned inside out, a wider prefix that is
// not a network): callers check each one and skip those the checker
// rejects. The order is the order of the source, so it is stable.
func Mutants(filename string, src []byte) ([]Mutant, error) {
	f, err := parser.get().ParseBytes(filename, src)
	if err != nil {
		return nil, fmt.Errorf("mutate %s: %w", filename, grammarError{err})
	}
	m := &mutator{src: src}
	m.collectTargets(f)
	hasDefault := false
	for _, d := range f.Decls {
		m.decl(d)
		hasDefault = hasDefault || d.Default != nil
	}
	if !hasDefault {
		end := len(src)
		m.add(lexer.Position{Filename: filename, Offset: end, Line: strings.Count(string(src), "\n") + 1, Column: 1},
			"default", "default direct -> reject", edit{end, end, "\ndefault => reject\n"})
	}
	return m.out, nil
}

// edit replaces src[from:to] with text.
type edit struct {
	from, to int
	text     string
}

type mutator struct {
	src     []byte
	out     []Mutant
	dsts    []string // redirect targets of the file, in order
	hosts   []string // redirect host values
	hops    []string // upstream names and proxy URIs as written
	actions []string // named actions
}

func (m *mutator) add(pos lexer.Position, op, desc string, edits ...edit) {
	slices.SortFunc(edits, func(a, b edit) int { return b.from - a.from })
	out := slices.Clone(m.src)
	for _, e := range edits {
		out = slices.Concat(out[:e.from], []byte(e.text), out[e.to:])
	}
	m.out = append(m.out, Mutant{Pos: pos, Op: op, Desc: desc, Src: out})
}

// collectTargets gathers the replacement candidates for target and hop
// swaps: every redirect target, redirect host and hop of the file.
func (m *mutator) collectTargets(f *file) {
	var act func(a *action)
	act = func(a *action) {
		if a == nil {
			return
		}
		if r := a.Redirect; r != nil {
			switch {
			case r.Dst != nil:
				m.dsts = appendNew(m.dsts, m.text(r.Dst.Pos, valueLen(m.src, r.Dst)))
			case r.Host != nil:
				m.hosts = appendNew(m.hosts, m.text(r.Host.Pos, valueLen(m.src, r.Host)))
			}
			for _, h := range r.Via {
				m.hops = appendNew(m.hops, m.hopText(h))
			}
		}
		for _, h := range a.Proxy {
			m.hops = appendNew(m.hops, m.hopText(h))
		}
		for _, it := range a.RoundRobin {
			act(it)
		}
		if a.Weighted != nil {
			for _, it := range a.Weighted.Items {
				act(it.Action)
			}
		}
	}
	rules := func(rs []*rule) {
		for _, r := range rs {
			act(r.Action)
		}
	}
	for _, d := range f.Decls {
		switch {
		case d.Upstream != nil:
			m.hops = appendNew(m.hops, d.Upstream.Name.Name)
		case d.Action != nil:
			m.actions = append(m.actions, d.Action.Name.Name)
			act(d.Action.Action)
		case d.Chain != nil:
			rules(d.Chain.Rules)
		case d.Table != nil:
			rules(d.Table.Rules)
		case d.Default != nil:
			act(d.Default.Action)
		}
	}
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func (m *mutator) text(p lexer.Position, n int) string { return string(m.src[p.Offset : p.Offset+n]) }

func (m *mutator) hopText(h *hop) string {
	if h.Name != nil {
		return *h.Name
	}
	return m.text(h.Pos, strLen(m.src, h.Str))
}

// other returns the first candidate that differs from cur.
func other(cands []string, cur string) (string, bool) {
	for _, c := range cands {
		if c != cur {
			return c, true
		}
	}
	return "", false
}

// valueLen is the length of v's text in src.
func valueLen(src []byte, v *value) int {
	if v.Word != nil {
		return len(*v.Word)
	}
	return strLen(src, v.Str)
}

func strLen(src []byte, s *str) int {
	switch {
	case s.String != nil:
		return len(*s.String)
	case s.Raw != nil:
		return len(*s.Raw)
	}
	// env("NAME"): up to the closing parenthesis.
	end := strings.IndexByte(string(src[s.Pos.Offset:]), ')')
	return end + 1
}

// span is the byte range of a node's tokens, blanks and comments around
// them left out.
func span(toks []lexer.Token) (int, int) {
	toks = solid(toks)
	last := toks[len(toks)-1]
	return toks[0].Pos.Offset, last.Pos.Offset + len(last.Value)
}

// solid drops the blank and comment tokens participle records with a node.
func solid(toks []lexer.Token) []lexer.Token {
	out := make([]lexer.Token, 0, len(toks))
	for _, t := range toks {
		if v := strings.TrimSpace(t.Value); v != "" && v[0] != '#' {
			out = append(out, t)
		}
	}
	return out
}

// keywordBefore finds the word kw that ends right before offset off
// (separated by blanks only) and returns its start, or -1.
func (m *mutator) keywordBefore(off int, kw string) int {
	i := off
	for i > 0 && strings.ContainsRune(" \t\r\n", rune(m.src[i-1])) {
		i--
	}
	if i >= len(kw) && string(m.src[i-len(kw):i]) == kw {
		return i - len(kw)
	}
	return -1
}

func (m *mutator) decl(d *decl) {
	switch {
	case d.Set != nil:
		m.set(d.Set)
	case d.Action != nil:
		m.action(d.Action.Action, actionEnd(d.Tokens, nil), true)
	case d.Chain != nil:
		m.rules(d.Chain.Rules)
	case d.Table != nil:
		m.rules(d.Table.Rules)
	case d.Hosts != nil:
		for _, e := range d.Hosts.Entries {
			from, to := span(e.Tokens)
			m.add(e.Pos, "drop", "hosts entry "+m.text(e.Pos, to-from)+" dropped", edit{from, to, ""})
		}
	case d.Users != nil:
		for _, e := range d.Users.Entries {
			from, to := span(e.Tokens)
			m.add(e.Pos, "drop", "users entry "+m.text(e.Pos, to-from)+" dropped", edit{from, to, ""})
			if e.Pass != nil && e.Pass.Env == nil {
				m.strEdit(e.Pass, "password", func(s string) []string { return []string{s + "x"} })
			}
		}
	case d.Default != nil:
		end := actionEnd(d.Tokens, d.Default.Tag)
		m.replaceAction(d.Default.Action, end, "default")
		m.action(d.Default.Action, end, false)
		m.tag(d.Default.Tag)
	}
}

// actionEnd is where the action of a rule or declaration ends: before
// its tag, or at its last token.
func actionEnd(toks []lexer.Token, tag *value) int {
	_, end := span(toks)
	if tag == nil {
		return end
	}
	toks = solid(toks)
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].Value == "tag" {
			p := toks[i-1]
			return p.Pos.Offset + len(p.Value)
		}
	}
	return end
}

func (m *mutator) set(s *setDecl) {
	if len(s.Values) == 0 {
		return
	}
	kindOff := s.Name.Pos.Offset + len(s.Name.Name)
	for kindOff < len(m.src) && strings.ContainsRune(" \t", rune(m.src[kindOff])) {
		kindOff++
	}
	kind, _ := setKindOf(string(s.Kind))
	if to, ok := map[SetKind]SetKind{SetHost: SetDomain, SetDomain: SetHost}[kind]; ok {
		m.add(s.Name.Pos, "kind", fmt.Sprintf("set %s %s -> %s", s.Name.Name, s.Kind, to), edit{kindOff, kindOff + len(s.Kind), to.String()})
	}
	m.values(string(s.Kind), s.Values)
}

func (m *mutator) rules(rs []*rule) {
	for i, r := range rs {
		if i+1 < len(rs) {
			a0, a1 := span(r.Tokens)
			b0, b1 := span(rs[i+1].Tokens)
			ta, tb := string(m.src[a0:a1]), string(m.src[b0:b1])
			if ta != tb {
				m.add(r.Pos, "swap", fmt.Sprintf("rules at lines %d and %d swapped", r.Pos.Line, rs[i+1].Pos.Line),
					edit{a0, a1, tb}, edit{b0, b1, ta})
			}
		}
		if r.Call != nil {
			continue
		}
		m.expr(r.Expr)
		end := actionEnd(r.Tokens, r.Tag)
		m.replaceAction(r.Action, end, "rule")
		m.action(r.Action, end, false)
		m.tag(r.Tag)
	}
}

func (m *mutator) expr(e *expr) {
	for i, c := range e.Or {
		if i > 0 {
			if k := m.keywordBefore(c.Pos.Offset, "or"); k >= 0 {
				m.add(c.Pos, "operator", "or -> and", edit{k, k + 2, "and"})
			}
		}
		for j, u := range c.And {
			if j > 0 {
				if k := m.keywordBefore(u.Pos.Offset, "and"); k >= 0 {
					m.add(u.Pos, "operator", "and -> or", edit{k, k + 3, "or"})
				}
			}
			m.unary(u)
		}
	}
}

func (m *mutator) unary(u *unary) {
	switch {
	case u.Not != nil:
		m.add(u.Pos, "operator", "not dropped", edit{u.Pos.Offset, u.Not.Pos.Offset, ""})
		m.unary(u.Not)
	case u.Paren != nil:
		m.expr(u.Paren)
	case u.Kind != "":
		m.kindSwap(u)
		m.values(string(u.Kind), u.Values)
	}
}

// kindSwap turns host into domain and exact, domain into host, and exact
// into host (the ports dropped).
func (m *mutator) kindSwap(u *unary) {
	from := u.Pos.Offset
	last := u.Values[len(u.Values)-1]
	to := last.Pos.Offset + valueLen(m.src, last)
	words := make([]string, len(u.Values))
	for i, v := range u.Values {
		if v.Word == nil {
			return // quoted names are rare; leave them
		}
		words[i] = *v.Word
	}
	rewrite := func(kind string, f func(string) string) {
		vs := make([]string, len(words))
		for i, w := range words {
			vs[i] = f(w)
		}
		text := kind + " " + strings.Join(vs, ", ")
		m.add(u.Pos, "kind", fmt.Sprintf("%s -> %s", m.src[from:to], text), edit{from, to, text})
	}
	for _, sw := range u.Kind.kind().swaps() {
		rewrite(sw.to, sw.value)
	}
}

// values mutates each value of a matcher or set of the given kind and
// drops each item of a list of more than one.
func (m *mutator) values(kind string, vs []*value) {
	for i, v := range vs {
		n := valueLen(m.src, v)
		old := m.text(v.Pos, n)
		if k, ok := kindByWord(kind); ok { // a list set has no value mutants
			k.mutateValue(m, v, old)
		}
		if len(vs) > 1 {
			from, to := v.Pos.Offset, v.Pos.Offset+n
			if i+1 < len(vs) {
				to = vs[i+1].Pos.Offset
			} else {
				prev := vs[i-1]
				from = prev.Pos.Offset + valueLen(m.src, prev)
			}
			m.add(v.Pos, "drop", fmt.Sprintf("%s value %s dropped", kind, old), edit{from, to, ""})
		}
	}
}

// strEdit adds one mutant per alternative text f gives for the string s,
// quoted as s was.
func (m *mutator) strEdit(s *str, op string, f func(string) []string) {
	n := strLen(m.src, s)
	raw := m.text(s.Pos, n)
	var val string
	if s.Raw != nil {
		val = raw[1 : len(raw)-1]
	} else if v, err := strconv.Unquote(raw); err == nil {
		val = v
	} else {
		return
	}
	for _, alt := range f(val) {
		text := strconv.Quote(alt)
		if s.Raw != nil && !strings.Contains(alt, "`") {
			text = "`" + alt + "`"
		}
		m.add(s.Pos, op, fmt.Sprintf("%s %s -> %s", op, raw, text), edit{s.Pos.Offset, s.Pos.Offset + n, text})
	}
}

func quantifierMutations(s string, esc byte, quants string) []string {
	var out []string
	if strings.HasPrefix(s, "^") {
		out = append(out, s[1:])
	}
	if strings.HasSuffix(s, "$") && (len(s) < 2 || s[len(s)-2] != esc) {
		out = append(out, s[:len(s)-1])
	}
	inBracket := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == esc:
			i++
		case inBracket:
			if c == ']' {
				inBracket = false
			}
		case c == '[':
			inBracket = true
			if i+1 < len(s) && s[i+1] == '^' {
				i++
			}
			if i+1 < len(s) && s[i+1] == ']' {
				i++ // a leading ] is a member
			}
		case i > 0 && strings.IndexByte(quants, c) >= 0:
			switch c {
			case '+':
				out = append(out, s[:i]+"*"+s[i+1:], s[:i]+s[i+1:])
			case '*', '-':
				out = append(out, s[:i]+"+"+s[i+1:])
			case '?':
				out = append(out, s[:i]+s[i+1:])
			}
		}
	}
	return out
}

// replaceAction changes a whole action: reject becomes direct, anything
// else reject.
func (m *mutator) replaceAction(a *action, end int, where string) {
	alt := "reject"
	if a.Simple == "reject" {
		alt = "direct"
	}
	old := string(m.src[a.Pos.Offset:end])
	m.add(a.Pos, map[string]string{"rule": "action", "default": "default"}[where],
		fmt.Sprintf("%s action %s -> %s", where, old, alt), edit{a.Pos.Offset, end, alt})
}

// action mutates the literals inside an action: redirect targets, hops,
// items of load balancers.
func (m *mutator) action(a *action, end int, named bool) {
	switch {
	case a.Redirect != nil:
		r := a.Redirect
		switch {
		case r.Dst != nil:
			n := valueLen(m.src, r.Dst)
			old := m.text(r.Dst.Pos, n)
			alt, ok := other(m.dsts, old)
			if !ok {
				if h, p, found := strings.Cut(old, ":"); found {
					if x, err := strconv.Atoi(p); err == nil {
						alt, ok = h+":"+strconv.Itoa((x+1)%65536), true
					}
				}
			}
			if ok {
				m.add(r.Dst.Pos, "target", fmt.Sprintf("redirect %s -> %s", old, alt), edit{r.Dst.Pos.Offset, r.Dst.Pos.Offset + n, alt})
			}
		case r.Host != nil:
			n := valueLen(m.src, r.Host)
			old := m.text(r.Host.Pos, n)
			if alt, ok := other(append(slices.Clone(m.hosts), "127.0.0.2"), old); ok {
				m.add(r.Host.Pos, "target", fmt.Sprintf("redirect host %s -> %s", old, alt), edit{r.Host.Pos.Offset, r.Host.Pos.Offset + n, alt})
			}
		case r.Port != nil:
			n := valueLen(m.src, r.Port)
			old := m.text(r.Port.Pos, n)
			if x, err := strconv.Atoi(old); err == nil {
				alt := strconv.Itoa((x + 1) % 65536)
				m.add(r.Port.Pos, "target", fmt.Sprintf("redirect port %s -> %s", old, alt), edit{r.Port.Pos.Offset, r.Port.Pos.Offset + n, alt})
			}
		}
		m.hopList(r.Via)
	case a.Proxy != nil:
		m.hopList(a.Proxy)
	case a.Rewrite != nil:
		m.hopList(a.Rewrite.Via)
	case a.RoundRobin != nil:
		m.items(len(a.RoundRobin), func(i int) lexer.Position { return a.RoundRobin[i].Pos }, end)
		for _, it := range a.RoundRobin {
			m.action(it, -1, false)
		}
	case a.Weighted != nil:
		m.items(len(a.Weighted.Items), func(i int) lexer.Position { return a.Weighted.Items[i].Pos }, end)
		for _, it := range a.Weighted.Items {
			m.action(it.Action, -1, false)
		}
	case a.Name != nil:
		if alt, ok := other(m.actions, a.Name.Name); ok {
			m.add(a.Pos, "action", fmt.Sprintf("action %s -> %s", a.Name.Name, alt),
				edit{a.Name.Pos.Offset, a.Name.Pos.Offset + len(a.Name.Name), alt})
		}
	}
}

// items drops each item of a roundrobin or weighted block of n > 1 items
// (separated by ';'); end is where the action ends (its closing brace).
func (m *mutator) items(n int, pos func(int) lexer.Position, end int) {
	if n < 2 || end < 0 {
		return
	}
	for i := 0; i < n; i++ {
		p := pos(i)
		var from, to int
		if i+1 < n {
			from, to = p.Offset, pos(i+1).Offset
		} else {
			// The last item: from the ';' before it to its end before the brace.
			prev := pos(i - 1).Offset
			semi := strings.LastIndexByte(string(m.src[prev:p.Offset]), ';')
			closing := strings.LastIndexByte(string(m.src[p.Offset:end]), '}')
			if semi < 0 || closing < 0 {
				continue
			}
			from = prev + semi
			to = p.Offset + len(strings.TrimRight(string(m.src[p.Offset:p.Offset+closing]), " \t\r\n;"))
		}
		m.add(p, "drop", fmt.Sprintf("load-balancer item at %d:%d dropped", p.Line, p.Column), edit{from, to, ""})
	}
}

// hopList replaces each hop by another hop of the file and drops each hop
// of a chain of more than one.
func (m *mutator) hopList(hs []*hop) {
	for i, h := range hs {
		old := m.hopText(h)
		if alt, ok := other(m.hops, old); ok {
			m.add(h.Pos, "hop", fmt.Sprintf("hop %s -> %s", old, alt), edit{h.Pos.Offset, h.Pos.Offset + len(old), alt})
		}
		if len(hs) > 1 {
			from, to := h.Pos.Offset, h.Pos.Offset+len(old)
			if i+1 < len(hs) {
				to = hs[i+1].Pos.Offset
			} else {
				prev := hs[i-1]
				from = prev.Pos.Offset + len(m.hopText(prev))
			}
			m.add(h.Pos, "drop", fmt.Sprintf("hop %s dropped", old), edit{from, to, ""})
		}
	}
}

// tag drops or renames a rule's tag.
func (m *mutator) tag(t *value) {
	if t == nil {
		return
	}
	n := valueLen(m.src, t)
	old := m.text(t.Pos, n)
	if k := m.keywordBefore(t.Pos.Offset, "tag"); k >= 0 {
		from := k
		for from > 0 && strings.ContainsRune(" \t", rune(m.src[from-1])) {
			from--
		}
		m.add(t.Pos, "tag", fmt.Sprintf("tag %s dropped", old), edit{from, t.Pos.Offset + n, ""})
	}
	m.add(t.Pos, "tag", fmt.Sprintf("tag %s -> %s", old, "renamed_"+strings.Trim(old, "\"`")),
		edit{t.Pos.Offset, t.Pos.Offset + n, "renamed_" + strings.Trim(old, "\"`")})
}
