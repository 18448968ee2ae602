package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The members of inline sets are most of a large route table: 10 000
// names make 33 000 tokens (name, comma, line break). Participle lexes a
// whole file into one array of 64-byte tokens before it parses, grows
// that array by a quarter at a time (five times its final size allocated
// in all), and parses each member through reflection and trial branches;
// for such a table that was two thirds of a load's 48 MB of garbage and
// most of the heap the load peaked at, which the daemon's VmHWM kept
// (cmd/nsbench/EXPERIMENTS.md, section 21).
//
// parseFile therefore reads the members of each well-formed inline set
// itself, in one pass of the lexer that keeps no tokens, and gives
// participle the file with those members blanked out: spaces in place of
// every byte but line breaks, so that every position after them stays
// what it was. The members are put back into the parsed sets. Anything
// unusual falls back to parsing the file as it is, so that the AST and
// every diagnostic are those of the grammar alone.

// setBody is the members of one inline set read by scanSetBodies.
type setBody struct {
	at     int // byte offset of the declaration's "set"
	values []*value
}

// parseFile parses one source file as the checker needs it.
func parseFile(name string, src []byte) (*file, error) {
	lean, bodies := scanSetBodies(name, src)
	if len(bodies) > 0 {
		f, err := parser.get().ParseBytes(name, lean)
		if err == nil && refill(f, bodies) {
			return f, nil
		}
		// An error, or a blanked body that was not a set's after all:
		// the grammar alone says what the file is.
	}
	return parser.get().ParseBytes(name, src)
}

// refill puts the members read by scanSetBodies back into the sets
// declared at their offsets, and reports whether every body found its
// set.
func refill(f *file, bodies []setBody) bool {
	i := 0
	for _, d := range f.Decls {
		if i == len(bodies) {
			break
		}
		if d.Pos.Offset != bodies[i].at {
			continue
		}
		s := d.Set
		if s == nil || s.Values != nil || s.From != nil || s.External {
			return false
		}
		s.Values = bodies[i].values
		i++
	}
	return i == len(bodies)
}

// scanSetBodies finds the inline sets `set NAME KIND { MEMBER, ... }` at
// the top level of src whose members are all strings, raw strings or
// words separated by commas (an optional comma last), and returns src
// with the members of each blanked out, and the members. It returns no
// copy when it finds none. A lexer error ends the scan: the parse of the
// whole file reports it.
func scanSetBodies(name string, src []byte) ([]byte, []setBody) {
	lx, err := nrtLexer.get().LexString(name, string(src))
	if err != nil {
		return src, nil
	}
	tt := tokenTypes.get()
	var (
		bodies []setBody
		lean   []byte
		recent [3]lexer.Token // the last tokens at the top level
		depth  int
	)
	for {
		t, err := lx.Next()
		if err != nil || t.EOF() {
			break
		}
		if t.Type == tt.space || t.Type == tt.comment {
			continue
		}
		if t.Type == tt.punct && t.Value == "{" {
			opensSet := depth == 0 && isWord(recent[0], tt, "set") && isWord(recent[1], tt, "") && isWord(recent[2], tt, "")
			depth++
			if opensSet {
				values, end, ok := scanMembers(lx, tt)
				if !ok {
					// The grammar parses (or rejects) this body; the
					// scan goes on after it at its depth.
					depth += end
					continue
				}
				depth--
				body := src[t.Pos.Offset+1 : end]
				if len(values) > 0 && lastLineASCII(body) {
					if lean == nil {
						lean = append([]byte(nil), src...)
					}
					blank(lean[t.Pos.Offset+1 : end])
					bodies = append(bodies, setBody{at: recent[0].Pos.Offset, values: values})
				}
				recent = [3]lexer.Token{}
				continue
			}
		} else if t.Type == tt.punct && t.Value == "}" && depth > 0 {
			depth--
		}
		if depth == 0 {
			recent = [3]lexer.Token{recent[1], recent[2], t}
		}
	}
	if lean == nil {
		return src, nil
	}
	return lean, bodies
}

// scanMembers reads the members of an inline set after its "{" up to its
// "}", returning the members and the offset of the "}". When it meets
// anything else it stops and reports false, with the braces it read
// opened and not closed (its "{" not counted) in place of the offset.
func scanMembers(lx lexer.Lexer, tt tokenTypeSet) ([]*value, int, bool) {
	var values []*value
	wantValue := true // a member, or "}"; else a comma or "}"
	for {
		t, err := lx.Next()
		if err != nil || t.EOF() {
			return nil, 0, false
		}
		switch {
		case t.Type == tt.space || t.Type == tt.comment:
			continue
		case t.Type == tt.punct && t.Value == "}":
			return values, t.Pos.Offset, true
		case t.Type == tt.punct && t.Value == "," && !wantValue:
			wantValue = true
			continue
		case wantValue && (t.Type == tt.str || t.Type == tt.raw || t.Type == tt.word):
			values = append(values, memberValue(t, tt))
			wantValue = false
			continue
		}
		if t.Type == tt.punct && t.Value == "{" {
			return nil, 1, false
		}
		return nil, 0, false
	}
}

// memberValue is the value the grammar makes of one member token. Its
// text is copied: the lexer's tokens share one copy of the whole source,
// which the table's strings must not keep alive.
func memberValue(t lexer.Token, tt tokenTypeSet) *value {
	s := strings.Clone(t.Value)
	v := &value{Pos: t.Pos}
	switch t.Type {
	case tt.str:
		v.Str = &str{Pos: t.Pos, String: &s}
	case tt.raw:
		v.Str = &str{Pos: t.Pos, Raw: &s}
	default:
		v.Word = &s
	}
	return v
}

func isWord(t lexer.Token, tt tokenTypeSet, text string) bool {
	return t.Type == tt.word && (text == "" || t.Value == text)
}

// lastLineASCII reports whether the part of body after its last line
// break is ASCII: a column counts runes, so blanking a multi-byte rune
// there would move the columns of what follows on that line.
func lastLineASCII(body []byte) bool {
	for i := len(body) - 1; i >= 0 && body[i] != '\n'; i-- {
		if body[i] >= 0x80 {
			return false
		}
	}
	return true
}

// blank overwrites b with spaces, keeping its line breaks.
func blank(b []byte) {
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
}
