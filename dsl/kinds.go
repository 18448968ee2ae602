package dsl

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// A matcher kind is a word a rule writes before its values: `host a, b`,
// `port 443`, `cidr 10.0.0.0/8`. Each kind lives in its own kind_*.go file
// holding every step of its life: checking the values, its L-IR node,
// the compiled Go matcher and its trace text, the Lua it prints, and the
// mutants the conformance suite's mutation test tries. The kinds are
// registered in matcherKinds below.

// matcherKind checks and mutates the rules of one kind.
type matcherKind interface {
	// check validates `kind v1, v2, ...` in a chain whose rules see fam
	// (ctx names the chain in messages) and returns its L-IR node, or nil
	// after reporting every problem.
	check(c *checker, u *unary, fam family, ctx string) MatchIR
	// mutateValue adds the mutants of one value, written as old.
	mutateValue(m *mutator, v *value, old string)
	// swaps lists the kinds a rule of this kind is mutated into, each with
	// how a value is rewritten for it.
	swaps() []kindSwap
}

// kindSwap is one kind mutation: the rule's kind becomes to and each of
// its values is rewritten by value.
type kindSwap struct {
	to    string
	value func(string) string
}

// noSwaps and noValueMutants are the defaults of a kind without kind
// mutations or value mutations.
type noSwaps struct{}

func (noSwaps) swaps() []kindSwap { return nil }

type noValueMutants struct{}

func (noValueMutants) mutateValue(*mutator, *value, string) {}

// leafIR is the L-IR node of a matcher kind.
type leafIR interface {
	Leaf
	// build compiles the node for the Go engine.
	build(b *builder) (matcher, error)
	// lua prints the node as a libruleset matcher expression.
	lua(e *emitter) string
	// decidesHost reports whether the node surely matches every request
	// whose host is h, whatever the port (for the lint).
	decidesHost(h string) bool
	// covers reports whether every request b matches is also matched by
	// the node, as far as the literals show it (the shadowing lint).
	covers(b MatchIR) bool
}

// matcherKinds is the registry of matcher kinds, each with the word that
// names it, in the order the "expected a matcher" message lists them. The
// grammar and the checker know the kinds only through it.
var matcherKinds = []struct {
	word string
	kind matcherKind
}{
	{"exact", exactKind{}},
	{"host", hostKind{}},
	{"port", portKind{}},
	{"domain", domainKind{}},
	{"pattern", patternKind{}},
	{"regex", regexKind{}},
	{"cidr", cidrKind{}},
}

// kindByWord returns the registered kind named word. The registry is
// short enough to search; a map by word would be built by the package's
// initializer in every process that links the package.
func kindByWord(word string) (matcherKind, bool) {
	for _, k := range matcherKinds {
		if k.word == word {
			return k.kind, true
		}
	}
	return nil, false
}

// kindWords returns the words of the registered kinds, in registry order.
func kindWords() []string {
	ws := make([]string, len(matcherKinds))
	for i, k := range matcherKinds {
		ws[i] = k.word
	}
	return ws
}

// kindWord is the word a matcher rule starts with. It parses as exactly
// one token whose text is a registered kind word, as a quoted literal of
// the grammar would, so that adding a kind does not touch the grammar.
type kindWord string

// Parse implements participle.Parseable.
func (w *kindWord) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if _, ok := kindByWord(t.Value); !ok {
		return participle.NextMatch
	}
	*w = kindWord(lex.Next().Value)
	return nil
}

// kind returns the registered kind w names.
func (w kindWord) kind() matcherKind {
	k, _ := kindByWord(string(w))
	return k
}

// eachValue calls one with each value of u that reads (an env value may
// be unset) and reports whether every value read and one accepted it; one
// reports its own errors.
func (c *checker) eachValue(u *unary, one func(s string, v *value) bool) bool {
	ok := true
	for _, v := range u.Values {
		s, good := c.value(v)
		if !good || !one(s, v) {
			ok = false
		}
	}
	return ok
}

// onlyStrings reports, for a kind whose rules see "host:port" strings,
// whether the chain does; if not it reports the error.
func (c *checker) onlyStrings(u *unary, fam family, ctx string) bool {
	if fam != famStr {
		c.d.errorf(u.Pos, "%q is not allowed in %s: its rules see %s; use redirect/redirect6/redirect_name", u.Kind, ctx, famName(fam))
		return false
	}
	return true
}
