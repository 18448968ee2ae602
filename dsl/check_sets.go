package dsl

import (
	"errors"
	"io/fs"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/dsl/lists"
)

// Named sets: inline values, list files and external sets.

func (c *checker) set(d *decl, s *setDecl) {
	if !c.declare(s.Name, "set") {
		return
	}
	kind, _ := setKindOf(string(s.Kind)) // the grammar admits only set kind names
	set := &SetIR{Name: s.Name.Name, Kind: kind, Pos: s.Name.Pos, External: s.External, Slot: -1}
	c.sets[set.Name] = set
	c.p.Sets = append(c.p.Sets, set)
	if set.Dynamic() && luaGlobals.get()[set.Name] {
		c.d.errorf(s.Name.Pos, "external set %q would replace the Lua global of that name; rename it", set.Name)
	}
	c.initSet(set)
	switch {
	case s.External:
	case s.From != nil:
		name, ok := c.str(s.From)
		if !ok {
			return
		}
		path := c.rel(c.fileOfAt[d], name)
		b, err := c.o.ReadFile(path)
		if err != nil {
			if s.Optional && errors.Is(err, fs.ErrNotExist) {
				c.d.warnf(s.From.Pos, "list file %q not found: set %s matches nothing until it is provided", path, set.Name)
				set.Missing = true
				if luaGlobals.get()[set.Name] {
					c.d.errorf(s.Name.Pos, "optional set %q would replace the Lua global of that name; rename it", set.Name)
				}
				return
			}
			c.d.errorf(s.From.Pos, "list file %q: %s", path, ioReason(err))
			return
		}
		c.d.src[path] = b
		c.fillSet(set, path, lists.Lines(string(b)), nil)
	default:
		ls := make([]lists.Line, 0, len(s.Values))
		var poss []lexer.Position
		for _, v := range s.Values {
			str, ok := c.value(v)
			if !ok {
				continue
			}
			ls = append(ls, lists.Line{Value: str, Line: int32(v.Pos.Line), Col: int32(v.Pos.Column)})
			poss = append(poss, v.Pos)
		}
		c.fillSet(set, c.fileOfAt[d], ls, poss)
	}
}

func (c *checker) initSet(set *SetIR) {
	switch set.Kind {
	case SetCIDR:
		set.V4 = &MCIDR{Org: &Origin{}}
		set.V6 = &MCIDR{V6: true, Org: &Origin{}}
	case SetList:
		for i, k := range [4]StrKind{KDomain, KHost, KRegex, KPattern} {
			set.List[i] = &MStr{Kind: k, Org: &Origin{}}
		}
	default:
		k, _ := set.Kind.strKind()
		set.Str = &MStr{Kind: k, Org: &Origin{}}
	}
}

// fillSet validates and adds the lines of a set. poss carries full
// positions for inline values (nil for files).
func (c *checker) fillSet(set *SetIR, file string, ls []lists.Line, poss []lexer.Position) {
	pos := func(i int, l lists.Line) lexer.Position {
		if poss != nil {
			return poss[i]
		}
		return lexer.Position{Filename: file, Line: int(l.Line), Column: int(l.Col)}
	}
	setOrg := func(o *Origin) {
		o.File = file
	}
	switch set.Kind {
	case SetCIDR:
		setOrg(set.V4.Org)
		setOrg(set.V6.Org)
		for i, l := range ls {
			p, ok := c.prefix(l.Value, pos(i, l))
			if !ok {
				continue
			}
			m := set.V4
			if p.Addr().Is6() {
				m = set.V6
			}
			m.Prefixes = append(m.Prefixes, p)
			m.Org.Line = append(m.Org.Line, l.Line)
			m.Org.Col = append(m.Org.Col, l.Col)
		}
	case SetList:
		for _, m := range set.List {
			setOrg(m.Org)
		}
		for i, l := range ls {
			k, v := lists.Classify(l.Value)
			p := pos(i, l)
			p.Column += len(l.Value) - len(v)
			var m *MStr
			switch k {
			case lists.Domain:
				m = set.List[0]
			case lists.Full:
				m = set.List[1]
			case lists.Regexp:
				m = set.List[2]
			case lists.Keyword:
				m = set.List[3]
				v = lists.EscapePattern(v)
			}
			if cv, ok := c.strValue(m.Kind, v, p); ok {
				m.Vals = append(m.Vals, cv)
				m.Org.Line = append(m.Org.Line, int32(p.Line))
				m.Org.Col = append(m.Org.Col, int32(p.Column))
			}
		}
	default:
		m := set.Str
		setOrg(m.Org)
		m.Vals = make([]string, 0, len(ls))
		m.Org.Line = make([]int32, 0, len(ls))
		if poss != nil {
			m.Org.Col = make([]int32, 0, len(ls))
		} else {
			m.Org.Col = nil
		}
		for i, l := range ls {
			p := pos(i, l)
			if cv, ok := c.strValue(m.Kind, l.Value, p); ok {
				m.Vals = append(m.Vals, cv)
				m.Org.Line = append(m.Org.Line, l.Line)
				if poss != nil {
					m.Org.Col = append(m.Org.Col, l.Col)
				}
			}
		}
	}
}
