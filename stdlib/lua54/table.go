package lua54

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// Table constructors and gopher-lua's flush bug.
//
// gopher-lua v1.1.2 checks "positional count is a multiple of
// FieldsPerFlush" after every field of a constructor, keyed ones too, so a
// keyed field compiled right after the 50th (100th, ...) positional item
// stores that batch a second time: the registers it stores from may by then
// hold the key and value of the keyed field, and a keyed field whose key is
// one of the batch's indices is overwritten by the positional value.
//
// tableCons therefore rewrites only constructors with such a keyed field.
// The fields before the first one stay an ordinary constructor (its last
// field is the 50k-th positional item, so it is flushed exactly once); the
// rest are passed, in source order, to the tablector helper as
// (kinds, values...) segments of at most ctorSegment fields:
//
//	tablector(prefix, n, "kpp", k1, v1, p2, p3)("kpm.", k4, v4, p5, f())
//
// Each call returns the continuation for the next segment; the segment
// whose kinds end in '.' returns the table. Kinds are 'p' (one positional
// value), 'k' (a key and its value) and 'm' (the last, multi-valued
// positional item: every remaining argument). The helper stores like Lua
// 5.4: a keyed field at once, positional items in batches of FieldsPerFlush
// flushed before the field that follows a full batch, the rest at the end.
// Field expressions are still evaluated left to right; the one difference
// is that a nil or NaN key raises after the other expressions of its
// segment have been evaluated.

// ctorSegment bounds the fields per helper call (two registers each at most).
const ctorSegment = 50

// needsCtorFix returns the index of the first keyed field compiled while
// the count of positional items before it is a positive multiple of
// FieldsPerFlush, or -1.
func needsCtorFix(fields []*ast.Field) int {
	n := 0
	for i, f := range fields {
		if f.Key == nil {
			n++
			continue
		}
		if n > 0 && n%lua.FieldsPerFlush == 0 {
			return i
		}
	}
	return -1
}

// isMulti reports an expression that yields all its values when it is the
// last one of a list.
func isMulti(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		return !x.AdjustRet
	case *ast.Comma3Expr:
		return !x.AdjustRet
	}
	return false
}

// single returns e truncated to one value (a copy, the parser's node is
// left alone).
func single(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		if !x.AdjustRet {
			c := *x
			c.AdjustRet = true
			return &c
		}
	case *ast.Comma3Expr:
		if !x.AdjustRet {
			c := *x
			c.AdjustRet = true
			return &c
		}
	}
	return e
}

// fixTable rewrites t when gopher-lua would miscompile it (see above).
func (p *parser) fixTable(t *ast.TableExpr) ast.Expr {
	cut := needsCtorFix(t.Fields)
	if cut < 0 {
		return t
	}
	line := t.Line()
	npos := 0
	for _, f := range t.Fields[:cut] {
		if f.Key == nil {
			npos++
		}
	}
	prefixFields := append([]*ast.Field(nil), t.Fields[:cut]...)
	last := prefixFields[len(prefixFields)-1]
	prefixFields[len(prefixFields)-1] = &ast.Field{Value: single(last.Value)}
	prefix := &ast.TableExpr{Fields: prefixFields}
	prefix.SetLine(line)
	prefix.SetLastLine(t.LastLine())

	rest := t.Fields[cut:]
	var call ast.Expr
	for start := 0; start < len(rest); start += ctorSegment {
		end := min(start+ctorSegment, len(rest))
		final := end == len(rest)
		kinds := make([]byte, 0, end-start+1)
		var args []ast.Expr
		lastKind := byte(0)
		for i, f := range rest[start:end] {
			lastField := final && start+i == len(rest)-1
			switch {
			case f.Key != nil:
				kinds = append(kinds, 'k')
				args = append(args, f.Key, f.Value)
			case lastField && isMulti(f.Value):
				kinds = append(kinds, 'm')
				args = append(args, f.Value)
			default:
				kinds = append(kinds, 'p')
				args = append(args, f.Value)
			}
			lastKind = kinds[len(kinds)-1]
		}
		if final {
			kinds = append(kinds, '.')
		}
		if lastKind != 'm' {
			args[len(args)-1] = single(args[len(args)-1])
		}
		ks := &ast.StringExpr{Value: string(kinds)}
		ks.SetLine(line)
		if call == nil {
			n := &ast.NumberExpr{Value: strconv.Itoa(npos)}
			n.SetLine(line)
			call = p.helperCall("tablector", line, append([]ast.Expr{prefix, n, ks}, args...)...)
			continue
		}
		c := &ast.FuncCallExpr{Func: call, Args: append([]ast.Expr{ks}, args...)}
		c.SetLine(line)
		c.SetLastLine(line)
		call = c
	}
	// the value of a constructor is one value, never a list
	return single(call)
}

// ctorState is one constructor being completed by the tablector helper.
type ctorState struct {
	t       *lua.LTable
	na      int // positional items stored so far
	pending []lua.LValue
}

// flush stores the pending positional items after the na stored ones.
func (s *ctorState) flush() {
	for i, v := range s.pending {
		s.t.RawSetInt(s.na+i+1, v)
	}
	s.na += len(s.pending)
	s.pending = s.pending[:0]
}

// feed applies one segment whose kinds string is argument at index base.
// It returns whether the segment was the final one.
func (s *ctorState) feed(L *lua.LState, base int) bool {
	kinds := L.CheckString(base)
	top := L.GetTop()
	i := base + 1
	for j := 0; j < len(kinds); j++ {
		if len(s.pending) >= lua.FieldsPerFlush {
			s.flush()
		}
		switch kinds[j] {
		case 'p':
			s.pending = append(s.pending, L.Get(i))
			i++
		case 'm':
			for ; i <= top; i++ {
				s.pending = append(s.pending, L.Get(i))
			}
		case 'k':
			k, v := L.Get(i), L.Get(i+1)
			i += 2
			switch kv := k.(type) {
			case *lua.LNilType:
				L.RaiseError("table index is nil")
			case lua.LNumber:
				if math.IsNaN(float64(kv)) {
					L.RaiseError("table index is NaN")
				}
			}
			s.t.RawSet(k, v)
		case '.':
			s.flush()
			return true
		}
	}
	return false
}

// newTableCtor returns the tablector helper (see fixTable).
func newTableCtor(L *lua.LState) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		s := &ctorState{t: L.CheckTable(1), na: L.CheckInt(2)}
		if s.feed(L, 3) {
			L.Push(s.t)
			return 1
		}
		var next *lua.LFunction
		next = L.NewFunction(func(L *lua.LState) int {
			if s.feed(L, 1) {
				L.Push(s.t)
				return 1
			}
			L.Push(next)
			return 1
		})
		L.Push(next)
		return 1
	})
}
