package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Format reprints a source file in canonical layout: one declaration or
// rule per line, blocks indented by four spaces, single spaces around
// operators, comments kept (own-line comments before the node that
// follows them, end-of-line comments after their node), runs of blank
// lines folded into one. Formatting the output again changes nothing.
func Format(filename string, src []byte) ([]byte, error) {
	f, err := parser.get().ParseBytes(filename, src)
	if err != nil {
		d := &Diagnostics{src: map[string][]byte{filename: src}}
		x := parseDiag(err, src)
		if x.Pos.Filename == "" {
			x.Pos.Filename = filename
		}
		d.List = append(d.List, x)
		return nil, d
	}
	fp := &formatter{src: src}
	fp.collect(filename)
	for _, d := range f.Decls {
		fp.decl(d)
	}
	fp.flushComments(1 << 30)
	out := strings.TrimRight(fp.b.String(), "\n") + "\n"
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	return []byte(out), nil
}

type comment struct {
	line int
	text string
	own  bool // alone on its line
}

type formatter struct {
	src      []byte
	b        strings.Builder
	comments []comment
	blank    map[int]bool
	lastLine int // last source line printed
	ind      int
	started  bool
}

func (f *formatter) collect(name string) {
	f.blank = map[int]bool{}
	lines := strings.Split(string(f.src), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			f.blank[i+1] = true
		}
	}
	lx, err := nrtLexer.get().LexString(name, string(f.src))
	if err != nil {
		return
	}
	tt := tokenTypes.get()
	prevLine := 0
	for {
		t, err := lx.Next()
		if err != nil || t.EOF() {
			return
		}
		switch t.Type {
		case tt.comment:
			f.comments = append(f.comments, comment{line: t.Pos.Line, text: strings.TrimRight(t.Value, " \t\r"), own: prevLine != t.Pos.Line})
		case tt.space:
		default:
			prevLine = t.Pos.Line + strings.Count(t.Value, "\n")
		}
	}
}

func lastLine(toks []lexer.Token) int {
	if len(toks) == 0 {
		return 0
	}
	t := toks[len(toks)-1]
	return t.Pos.Line + strings.Count(t.Value, "\n")
}

// gap writes one blank line when the source had one before line.
func (f *formatter) gap(line int) {
	if !f.started {
		return
	}
	for l := f.lastLine + 1; l < line; l++ {
		if f.blank[l] {
			f.b.WriteString("\n")
			return
		}
	}
}

func (f *formatter) writeLine(s string) {
	f.b.WriteString(strings.Repeat("    ", f.ind))
	f.b.WriteString(s)
	f.b.WriteString("\n")
	f.started = true
}

// flushComments prints the comments that start before line.
func (f *formatter) flushComments(line int) {
	for len(f.comments) > 0 && f.comments[0].line < line {
		c := f.comments[0]
		f.comments = f.comments[1:]
		f.gap(c.line)
		f.writeLine(c.text)
		f.lastLine = c.line
	}
}

// node prints one single-line node spanning source lines [from, to].
func (f *formatter) node(from, to int, text string) {
	f.flushComments(from)
	f.gap(from)
	var trailing []string
	for len(f.comments) > 0 && f.comments[0].line <= to {
		trailing = append(trailing, f.comments[0].text)
		f.comments = f.comments[1:]
	}
	if len(trailing) > 0 {
		text += "  " + trailing[0]
	}
	f.writeLine(text)
	for i := 1; i < len(trailing); i++ {
		f.writeLine(trailing[i])
	}
	f.lastLine = to
}

func (f *formatter) block(from int, header string, end int, body func()) {
	f.flushComments(from)
	f.gap(from)
	var trailing []string
	for len(f.comments) > 0 && f.comments[0].line == from {
		trailing = append(trailing, f.comments[0].text)
		f.comments = f.comments[1:]
	}
	h := header + " {"
	if len(trailing) > 0 {
		h += "  " + trailing[0]
	}
	f.writeLine(h)
	f.lastLine = from
	f.ind++
	for i := 1; i < len(trailing); i++ {
		f.writeLine(trailing[i])
	}
	body()
	f.flushComments(end)
	f.ind--
	f.node(end, end, "}")
}

func (f *formatter) decl(d *decl) {
	from, to := d.Pos.Line, lastLine(d.Tokens)
	switch {
	case d.Include != nil:
		f.node(from, to, "include "+fStr(d.Include))
	case d.Upstream != nil:
		u := d.Upstream
		s := "upstream " + u.Name.Name + " = " + fStr(u.URI)
		if u.User != nil {
			s += " user " + fStr(u.User) + " password " + fStr(u.Password)
		}
		f.node(from, to, s)
	case d.Set != nil:
		s := d.Set
		h := "set " + s.Name.Name + " " + string(s.Kind)
		switch {
		case s.External:
			h += " external"
		case s.From != nil:
			h += " from " + fStr(s.From)
			if s.Optional {
				h += " optional"
			}
		default:
			h += " { " + fValues(s.Values) + " }"
			if len(s.Values) == 0 {
				h = "set " + s.Name.Name + " " + string(s.Kind) + " {}"
			}
		}
		f.node(from, to, h)
	case d.Action != nil:
		f.node(from, to, "action "+d.Action.Name.Name+" = "+fAction(d.Action.Action))
	case d.Chain != nil:
		f.rules(from, to, "chain "+d.Chain.Name.Name, d.Chain.Rules)
	case d.Table != nil:
		f.rules(from, to, d.Table.Name, d.Table.Rules)
	case d.Hosts != nil:
		if d.Hosts.From != nil {
			f.node(from, to, "hosts from "+fStr(d.Hosts.From))
			return
		}
		f.block(from, "hosts", to, func() {
			for _, e := range d.Hosts.Entries {
				f.node(e.Pos.Line, lastLine(e.Tokens), fValue(e.Key)+" = "+fValue(e.Val))
			}
		})
	case d.Users != nil:
		f.block(from, "users", to, func() {
			for _, e := range d.Users.Entries {
				v := "any"
				if !e.Any {
					v = fStr(e.Pass)
				}
				f.node(e.Pos.Line, lastLine(e.Tokens), fValue(e.Name)+" = "+v)
			}
		})
	case d.Default != nil:
		s := "default => " + fAction(d.Default.Action)
		if d.Default.Tag != nil {
			s += " tag " + fValue(d.Default.Tag)
		}
		f.node(from, to, s)
	case d.Test != nil:
		t := d.Test
		h := "test"
		if t.Name != nil {
			h += " " + fStr(t.Name)
		}
		if t.Auth {
			h += " auth"
		}
		f.block(from, h, to, func() {
			for _, it := range t.Items {
				f.node(it.Pos.Line, lastLine(it.Tokens), fItem(it))
			}
		})
	}
}

func (f *formatter) rules(from, to int, header string, rs []*rule) {
	f.block(from, header, to, func() {
		for _, r := range rs {
			f.node(r.Pos.Line, lastLine(r.Tokens), fRule(r))
		}
	})
}

func fStr(s *str) string {
	switch {
	case s.String != nil:
		return *s.String
	case s.Raw != nil:
		return *s.Raw
	case s.Env != nil:
		return "env(" + *s.Env + ")"
	}
	return ""
}

func fValue(v *value) string {
	if v.Word != nil {
		return *v.Word
	}
	return fStr(v.Str)
}

func fValues(vs []*value) string {
	xs := make([]string, len(vs))
	for i, v := range vs {
		xs[i] = fValue(v)
	}
	return strings.Join(xs, ", ")
}

func fHops(hs []*hop) string {
	xs := make([]string, len(hs))
	for i, h := range hs {
		if h.Name != nil {
			xs[i] = *h.Name
		} else {
			xs[i] = fStr(h.Str)
		}
	}
	return strings.Join(xs, ", ")
}

func fVia(hs []*hop) string {
	if len(hs) == 0 {
		return ""
	}
	return " via " + fHops(hs)
}

func fRule(r *rule) string {
	if r.Call != nil {
		return "call " + r.Call.Name
	}
	s := fExpr(r.Expr) + " => " + fAction(r.Action)
	if r.Tag != nil {
		s += " tag " + fValue(r.Tag)
	}
	return s
}

func fExpr(e *expr) string {
	xs := make([]string, len(e.Or))
	for i, c := range e.Or {
		ys := make([]string, len(c.And))
		for j, u := range c.And {
			ys[j] = fUnary(u)
		}
		xs[i] = strings.Join(ys, " and ")
	}
	return strings.Join(xs, " or ")
}

func fUnary(u *unary) string {
	switch {
	case u.Not != nil:
		return "not " + fUnary(u.Not)
	case u.Paren != nil:
		return "(" + fExpr(u.Paren) + ")"
	case u.Any:
		return "any"
	case u.In != nil:
		return "in " + u.In.Name
	}
	return string(u.Kind) + " " + fValues(u.Values)
}

func fAction(a *action) string {
	switch {
	case a.Simple != "":
		return a.Simple
	case a.Redirect != nil:
		r := a.Redirect
		var s string
		switch {
		case r.Host != nil:
			s = "redirect host " + fValue(r.Host)
		case r.Port != nil:
			s = "redirect port " + fValue(r.Port)
		default:
			s = "redirect " + fValue(r.Dst)
		}
		return s + fVia(r.Via)
	case a.Proxy != nil:
		return "proxy " + fHops(a.Proxy)
	case a.Rewrite != nil:
		return "rewrite " + fStr(a.Rewrite.Pattern) + " to " + fStr(a.Rewrite.Repl) + fVia(a.Rewrite.Via)
	case a.Loopback != nil:
		return "loopback " + fStr(a.Loopback.Pattern) + " to " + fStr(a.Loopback.Repl)
	case a.RoundRobin != nil:
		xs := make([]string, len(a.RoundRobin))
		for i, x := range a.RoundRobin {
			xs[i] = fAction(x)
		}
		return "roundrobin { " + strings.Join(xs, "; ") + " }"
	case a.Weighted != nil:
		w := a.Weighted
		s := "weighted"
		if w.Cycle != nil {
			s += " cycle " + fValue(w.Cycle)
		}
		xs := make([]string, len(w.Items))
		for i, it := range w.Items {
			xs[i] = fValue(it.Weight) + " " + fAction(it.Action)
		}
		return s + " { " + strings.Join(xs, "; ") + " }"
	case a.Name != nil:
		return a.Name.Name
	}
	return ""
}

func fItem(it *testItem) string {
	if it.DNS != nil {
		v := "fail"
		if !it.DNS.Fail {
			v = fValue(it.DNS.Addr)
		}
		return "dns " + fValue(it.DNS.Name) + " = " + v
	}
	c := it.Case
	s := ""
	if c.Callback != "" {
		s = c.Callback + " "
	}
	s += fStr(c.Addr)
	if c.User != nil {
		s += " user " + fStr(c.User)
		if c.Password != nil {
			s += " password " + fStr(c.Password)
		}
	}
	s += " => "
	switch {
	case c.Reject:
		s += "reject"
	case c.Error:
		s += "error"
	default:
		s += "to " + fStr(c.To) + fVia(c.Via)
	}
	if len(c.Tags) > 0 {
		s += " tags " + fValues(c.Tags)
	}
	return s
}
