package ere

import (
	"bufio"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential test: every case is compiled and executed by glibc's
// regcomp/regexec (through testdata/glibc_oracle.c, built with gcc) and by
// this package, and the results must agree exactly: compile errors (code and
// text), match or no match, and every submatch offset. Differences are only
// allowed for the cases listed in knownQuirks, each with its reason; a quirk
// that stops differing fails the test too, so the list stays honest.

type diffCase struct {
	flags   Flags
	pattern string
	subject string
}

func (c diffCase) key() string {
	return fmt.Sprintf("%d %q %q", c.flags, c.pattern, c.subject)
}

var updateQuirks = flag.Bool("update", false, "rewrite testdata/glibc_quirks.txt from the current differences")

const quirksFile = "testdata/glibc_quirks.txt"

// Quirk categories (see the package documentation):
//
//	submatch: same overall match, different offsets for a group inside a
//	          repetition or optional part (node order details of glibc's
//	          anchor handling that posix.go does not replay).
//	anchor:   glibc mishandles ^ and $ inside repetitions ("(^a*){1,2}"
//	          finds nothing in "aa") and, without NEWLINE, accepts ^ after
//	          and $ before a '\n' that the match itself consumes; ere
//	          treats anchors strictly.
//	miss:     glibc contradicts itself: the same pattern wrapped in one more
//	          group, "(p)", makes glibc report the overall match ere reports,
//	          or glibc matches exactly the text ere matched when given only
//	          that text with the same line context (glibc skips or shortens
//	          matches with some nested repetitions and with \B/\b after a
//	          repetition).
//	backtrack: a pattern on the backtracking engine (back-references, \< \>)
//	          takes the first alternative that succeeds, not the longest;
//	          and glibc's own back-reference matcher is quirky ("0**()\1"
//	          reports group 1 unset, "(0**)\1" finds nothing in "0").
//
// check holds glibc's answers to the self-consistency questions (see
// askChecks), "" where not asked.
func quirkCategory(c diffCase, want, got string, check [2]string) string {
	w, g := strings.Fields(want), strings.Fields(got)
	if re, err := Compile(c.pattern, c.flags); err == nil && re.Backtracking() {
		return "backtrack"
	}
	if len(w) >= 3 && len(g) >= 3 && w[0] == "MATCH" && g[0] == "MATCH" && w[1] == g[1] && w[2] == g[2] {
		p := newParser(c.pattern, c.flags)
		if tree := p.parse(); tree != nil && hasGroupInRepeat(tree, false) {
			return "submatch"
		}
		return ""
	}
	if w[0] == "ERR" || g[0] == "ERR" {
		return ""
	}
	p := newParser(c.pattern, c.flags)
	tree := p.parse()
	if tree == nil {
		return ""
	}
	if v := strings.Fields(check[0]); len(v) >= 3 && len(g) >= 3 && v[0] == "MATCH" && g[0] == "MATCH" && v[1] == g[1] && v[2] == g[2] {
		return "miss"
	}
	if v := strings.Fields(check[1]); len(v) >= 3 && len(g) >= 3 && v[0] == "MATCH" && v[1] == "0" {
		so, _ := strconv.Atoi(g[1])
		eo, _ := strconv.Atoi(g[2])
		if v[2] == strconv.Itoa(eo-so) {
			return "miss"
		}
	}
	if c.flags&Newline == 0 && hasLineAnchor(tree) || hasAnchorInRepeat(tree, false) {
		return "anchor"
	}
	return ""
}

func hasAnchorInRepeat(n *node, inRepeat bool) bool {
	if n.kind == nAnchor && (n.anchor == aLineStart || n.anchor == aLineEnd) && inRepeat {
		return true
	}
	inRepeat = inRepeat || n.kind == nRepeat
	for _, s := range n.subs {
		if hasAnchorInRepeat(s, inRepeat) {
			return true
		}
	}
	return false
}

// wrapGroup returns c with its pattern inside one more group, which must
// not change the overall match; false when that would renumber
// back-references.
func wrapGroup(c diffCase) (diffCase, bool) {
	p := newParser(c.pattern, c.flags)
	if p.parse(); p.err != 0 || p.backrefs {
		return c, false
	}
	if c.flags&Extended != 0 {
		c.pattern = "(" + c.pattern + ")"
	} else {
		c.pattern = `\(` + c.pattern + `\)`
	}
	return c, true
}

// matchedText returns the case "the pattern against only the text ere
// matched", when that text has the same line context as in the subject (it
// starts the subject or a line if the pattern has ^, ends the subject or a
// line if it has $, and the pattern has no word or buffer anchors); false
// otherwise.
func matchedText(c diffCase, got string) (diffCase, bool) {
	g := strings.Fields(got)
	if len(g) < 3 || g[0] != "MATCH" {
		return c, false
	}
	so, _ := strconv.Atoi(g[1])
	eo, _ := strconv.Atoi(g[2])
	p := newParser(c.pattern, c.flags)
	tree := p.parse()
	if p.err != 0 || tree == nil || hasOtherAnchor(tree) {
		return c, false
	}
	nl := c.flags&Newline != 0
	if hasAnchor(tree, aLineStart) && !(so == 0 || nl && c.subject[so-1] == '\n') ||
		hasAnchor(tree, aLineEnd) && !(eo == len(c.subject) || nl && c.subject[eo] == '\n') {
		return c, false
	}
	c.subject = c.subject[so:eo]
	return c, true
}

func hasAnchor(n *node, a anchorKind) bool {
	if n.kind == nAnchor && n.anchor == a {
		return true
	}
	for _, s := range n.subs {
		if hasAnchor(s, a) {
			return true
		}
	}
	return false
}

func hasOtherAnchor(n *node) bool {
	if n.kind == nAnchor && n.anchor != aLineStart && n.anchor != aLineEnd {
		return true
	}
	for _, s := range n.subs {
		if hasOtherAnchor(s) {
			return true
		}
	}
	return false
}

// askChecks asks glibc, for every case where ere and glibc disagree on the
// overall match, about the pattern wrapped in a group and about the text
// ere matched alone.
func askChecks(t testing.TB, bin string, cases []diffCase, want, got []string) [][2]string {
	t.Helper()
	checks := make([][2]string, len(cases))
	var ask []diffCase
	var at [][2]int
	for i, c := range cases {
		w, g := strings.Fields(want[i]), strings.Fields(got[i])
		if want[i] == got[i] || w[0] == "ERR" || g[0] != "MATCH" || len(w) >= 3 && w[1] == g[1] && w[2] == g[2] {
			continue
		}
		if wc, ok := wrapGroup(c); ok {
			ask = append(ask, wc)
			at = append(at, [2]int{i, 0})
		}
		if mc, ok := matchedText(c, got[i]); ok {
			ask = append(ask, mc)
			at = append(at, [2]int{i, 1})
		}
	}
	if len(ask) > 0 {
		for k, r := range runOracle(t, bin, ask) {
			checks[at[k][0]][at[k][1]] = r
		}
	}
	return checks
}

func hasLineAnchor(n *node) bool {
	if n.kind == nAnchor && (n.anchor == aLineStart || n.anchor == aLineEnd) {
		return true
	}
	for _, s := range n.subs {
		if hasLineAnchor(s) {
			return true
		}
	}
	return false
}

// loadQuirks reads the listed quirks: key -> category.
func loadQuirks(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(quirksFile)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("%s:%d: want 4 tab-separated fields", quirksFile, i+1)
		}
		flags, err1 := strconv.Atoi(f[1])
		pat, err2 := strconv.Unquote(f[2])
		subj, err3 := strconv.Unquote(f[3])
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%s:%d: %v", quirksFile, i+1, err)
		}
		m[diffCase{Flags(flags), pat, subj}.key()] = f[0]
	}
	return m
}

// buildOracle compiles the C oracle, or skips the test when gcc is missing.
func buildOracle(t testing.TB) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not in PATH: cannot build the glibc oracle")
	}
	bin := filepath.Join(t.TempDir(), "oracle")
	out, err := exec.Command(gcc, "-O1", "-o", bin, filepath.Join("testdata", "glibc_oracle.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("building the oracle: %v\n%s", err, out)
	}
	return bin
}

// hexField encodes s for the oracle, "-" for the empty string.
func hexField(s string) string {
	if s == "" {
		return "-"
	}
	return hex.EncodeToString([]byte(s))
}

// runOracle feeds all cases to the oracle and returns one result per case.
func runOracle(t testing.TB, bin string, cases []diffCase) []string {
	t.Helper()
	var in strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&in, "%d %s %s\n", c.flags, hexField(c.pattern), hexField(c.subject))
	}
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(in.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	timer := time.AfterFunc(60*time.Second, func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	var res []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		res = append(res, sc.Text())
	}
	close(done)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("oracle: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("oracle answered %d of %d cases", len(res), len(cases))
	}
	return res
}

// ours renders this package's result in the oracle's format.
func ours(c diffCase) string {
	re, err := Compile(c.pattern, c.flags)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return fmt.Sprintf("ERR %d %s", e.Code, e.Error())
		}
		return "ERR ? " + err.Error()
	}
	idx, err := re.FindSubmatchIndex(c.subject)
	if err != nil {
		return "TIMEOUT " + err.Error()
	}
	if idx == nil {
		return "NOMATCH"
	}
	var b strings.Builder
	b.WriteString("MATCH")
	for _, o := range idx {
		b.WriteString(" " + strconv.Itoa(o))
	}
	return b.String()
}

const (
	ere  = Extended
	eren = Extended | Newline
	erei = Extended | ICase
	bre  = Flags(0)
	bren = Newline
	brei = ICase
)

// handCases are the edge cases: syntax, brackets, anchors with and without
// NEWLINE, leftmost-longest alternations, submatch rules, ICASE, BRE.
func handCases() []diffCase {
	var cs []diffCase
	add := func(f Flags, p string, subjects ...string) {
		for _, s := range subjects {
			cs = append(cs, diffCase{f, p, s})
		}
	}
	// leftmost-longest versus leftmost-first
	add(ere, `a|ab`, "ab", "xab", "a")
	add(ere, `ab|a`, "ab")
	add(ere, `(a|ab)(c|bcd)(d*)`, "abcd", "abcdd")
	add(ere, `(a|ab)(bc|c)`, "abc")
	add(ere, `(a*)(ab)*(b*)`, "aabb", "ab")
	add(ere, `(a*)*`, "b", "aa", "")
	add(ere, `(a*)+`, "b", "aa")
	add(ere, `(a|b)*`, "abab", "")
	add(ere, `(a|b)*c`, "abc")
	add(ere, `((a)|b)+`, "ab", "ba")
	add(ere, `(a?)((ab)?)(b?)`, "ab")
	add(ere, `(.*)(.*)`, "abc")
	add(ere, `(.?)(.?)(.?)`, "ab")
	add(ere, `(wee|week)(knights|night)`, "weeknights")
	add(ere, `(foo|foobar)(bar)?`, "foobar")
	add(ere, `x(a|ab|abc)*y`, "xabcaby")
	add(ere, `(a|aa)*`, "aaa")
	add(ere, `(aa|a)*`, "aaa")
	add(ere, `(a|aa){2}`, "aaa")
	add(ere, `(ab|a)(bc|c)?`, "abc")
	add(ere, `()`, "", "x")
	add(ere, `()*`, "x")
	add(ere, `(()|a)+`, "aa")
	add(ere, `(a)|(b)`, "b", "a", "c")
	add(ere, `a(a)(a)`, "aaaaa")
	add(ere, `(a){0}b`, "ab")
	add(ere, `((a)|(b)){2}`, "ab")
	// empty alternatives and groups
	add(ere, `a|`, "x", "a")
	add(ere, `|a`, "a")
	add(ere, `(|a)b`, "ab")
	add(ere, `a(|b)(b*)`, "ab")
	add(ere, `a(|b|bb)(b*)`, "abb")
	add(ere, `(a||b)(b*)`, "bb")
	add(Extended|ICase|Newline, `A(|B)(B*)`, "AB") // found by FuzzGlibc
	add(ere, `(a|)+`, "aa")
	add(ere, `a||b`, "b")
	add(ere, ``, "", "abc")
	// anchors, with and without NEWLINE
	for _, f := range []Flags{ere, eren} {
		add(f, `^b`, "a\nb", "b")
		add(f, `a$`, "a\nb", "ba")
		add(f, `^$`, "", "a\n\nb", "\n")
		add(f, `a.b`, "a\nb", "axb")
		add(f, `a[^x]b`, "a\nb")
		add(f, `a\Wb`, "a\nb")
		add(f, `a\sb`, "a\nb")
		add(f, `(^|x)a`, "xa", "ba", "b\na")
		add(f, `a(b$|c)`, "ab\nc", "ab")
		add(f, `^*`, "a")
		add(f, `a^b`, "a^b")
		add(f, `a$b`, "a$b")
		add(f, `x*$`, "ax\nb")
		add(f, `\`+"`"+`a`, "a", "\na")
		add(f, `a\'`, "a", "a\n")
	}
	// word assertions
	add(ere, `\bfoo\b`, "a foo b", "afoo", "foo")
	add(ere, `\Boo\B`, "foot", "oo")
	add(ere, `\<foo`, "a foo", "afoo")
	add(ere, `foo\>`, "foo bar", "foobar")
	add(ere, `\<(a|ab)\>`, "ab")
	add(ere, `\w+`, "ab_1 ", " x")
	add(ere, `\W+`, "ab  c")
	add(ere, `\s+\S`, "a \t b")
	add(ere, `\b*`, "a")
	add(bre, `a*\B`, "0a") // found by FuzzGlibc: glibc skips the empty match at 1
	add(ere, `(a*)\B`, "0a")
	add(eren, `(^a*){1,2}`, "aa")
	add(eren, `(^a*){2}`, "aa")
	add(ere, `$*`, "a")
	// GNU escapes and ordinary escapes
	add(ere, `\d`, "d", "1")
	add(ere, `\.`, ".", "a")
	add(ere, `\a\%`, "a%")
	add(ere, `a\|b`, "a|b", "b")
	add(ere, `\{`, "{")
	add(ere, `\`, "a")
	add(ere, `a\`, "a")
	// brackets
	add(ere, `[]a]`, "]", "a", "b")
	add(ere, `[^]a]`, "]", "b")
	add(ere, `[a-]`, "-", "b")
	add(ere, `[-a]`, "-")
	add(ere, `[^-a]`, "-", "b")
	add(ere, `[a-z-0]`, "a")
	add(ere, `[a--]`, "a")
	add(ere, `[!--]`, ",", ".")
	add(ere, `[--/]`, ".")
	add(ere, `[z-a]`, "a")
	add(ere, `[a-a]`, "a")
	add(ere, `[[:alpha:]]+`, "ab1")
	add(ere, `[[:digit:][:upper:]]+`, "1A2b")
	add(ere, `[[:space:]]`, "\v")
	add(ere, `[[:punct:]]`, "!", "a")
	add(ere, `[[:xdigit:]]+`, "fFg")
	add(ere, `[[:cntrl:]]`, "\x7f", "a")
	add(ere, `[[:blank:]]`, "\t", "\n")
	add(ere, `[[:print:]]`, " ", "\t")
	add(ere, `[[:graph:]]`, " ", "~")
	add(ere, `[[:lower:]]`, "A", "a")
	add(ere, `[[:foo:]]`, "a")
	add(ere, `[[::]]`, "a")
	add(ere, `[[:alpha:]`, "a")
	add(ere, `[[:alpha:]-z]`, "a")
	add(ere, `[a-[:alpha:]]`, "a")
	add(ere, `[[=a=]]`, "a", "b")
	add(ere, `[[=ab=]]`, "a")
	add(ere, `[[.-.]]`, "-")
	add(ere, `[[.-.]-a]`, "-", "0")
	add(ere, `[[.space.]]`, " ")
	add(ere, `[[..]]`, "a")
	add(ere, `[[.a.]`, "a")
	add(ere, `[[.`, "a")
	add(ere, `[[`, "a")
	add(ere, `[\d]`, "\\", "d", "1")
	add(ere, `[a`, "a")
	add(ere, `[]`, "a")
	add(ere, `[^]`, "a")
	add(ere, `[]-a]`, "^", "b")
	add(ere, `[[:alpha:][.a.]x]`, "x")
	add(ere, `[a^]`, "^")
	add(eren, `[^a]`, "\n")
	add(ere, `[^a]`, "\n")
	add(ere, `[\x80-\xff]`, "\xe9")
	add(ere, "\xe9", "\xe9")
	add(ere, `a.b`, "a\xc3\xa9b", "a\xe9b")
	add(ere, `.+`, "\xc3\xa9x")
	add(ere, `(\xc3)(.)`, "x\xc3\xa9")
	// intervals
	add(ere, `a{2}`, "aaa")
	add(ere, `a{2,}`, "aaaa")
	add(ere, `a{,2}`, "aaa")
	add(ere, `a{1,2}`, "aaa")
	add(ere, `a{0}`, "a")
	add(ere, `a{0,0}b`, "ab")
	add(ere, `a{,}`, "aa")
	add(ere, `a{`, "a{")
	add(ere, `a{1`, "a")
	add(ere, `a{1,`, "a")
	add(ere, `a{x}`, "a")
	add(ere, `a{1x}`, "a")
	add(ere, `a{1,2,3}`, "a")
	add(ere, `a{2,1}`, "a")
	add(ere, `a{}`, "a")
	add(ere, `{1}`, "a")
	add(ere, `a|{1}`, "a")
	add(ere, `({1})`, "a")
	add(ere, `a}`, "a}")
	add(ere, `}`, "}")
	add(ere, `a{32767}`, "a")
	add(ere, `a{32768}`, "a")
	add(ere, `a{1,32768}`, "a")
	add(ere, `a{99999999999}`, "a")
	add(ere, `a{1001}`, "a")
	add(ere, `(ab){2}{2}`, "abababab")
	// repetition operators
	add(ere, `a**`, "aa")
	add(ere, `a+?`, "aaa")
	add(ere, `a*?`, "aaa")
	add(ere, `a?*`, "aa")
	add(ere, `(a*)+$`, "aab")
	add(ere, `*a`, "a")
	add(ere, `+a`, "a")
	add(ere, `?a`, "a")
	add(ere, `(*a)`, "a")
	add(ere, `a|*b`, "b")
	add(ere, `^+`, "a")
	// parentheses
	add(ere, `a)`, "a)")
	add(ere, `)`, ")")
	add(ere, `(a))`, "a)")
	add(ere, `(a`, "a")
	add(ere, `((a)`, "a")
	add(ere, `(a|b`, "a")
	add(ere, `\(a\)`, "(a)")
	// back-references
	add(ere, `(a)\1`, "aa", "ab")
	add(ere, `(a*)b\1`, "aabaa", "aaba")
	add(ere, `(a)|\1`, "a")
	add(ere, `(a\1)`, "a")
	add(ere, `\1(a)`, "a")
	add(ere, `(.)\1`, "abcdde")
	add(erei, `(a)\1`, "aA")
	add(ere, `(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\9`, "abcdefghiji")
	add(ere, `(a|ab)\1*`, "abab") // leftmost-first in the backtracking engine
	add(ere, `\<(a|ab)`, "ab")
	add(ere, `(a|ab)(b*)\1`, "abba")
	add(Extended|ICase|Newline, `0**()\1`, "1") // found by FuzzGlibc
	add(Extended|ICase, `(0**)\1`, "0")         // found by FuzzGlibc
	// ICASE
	add(erei, `abc`, "xAbC")
	add(erei, `[a-c]+`, "ABCabc")
	add(erei, `[^a]`, "A", "b")
	add(erei, `[Z-a]`, "a")
	add(ere, `[Z-a]`, "a", "_")
	add(erei, `[[:lower:]]+`, "aB")
	add(erei, `[[:upper:]]+`, "aB")
	add(erei, `\a`, "a", "A")
	add(erei, `\A`, "a", "A")
	add(erei, `[[.a.]]`, "a", "A")
	add(erei, `[[=b=]]`, "B")
	add(erei, "\xe9", "\xc9")
	add(erei, `\w`, "A")
	add(Extended|ICase|Newline, `^B$`, "a\nb\nc")
	// BRE
	add(bre, `a\(b\)*c`, "abbc")
	add(bre, `\(a\)\1`, "aa")
	add(bre, `a\{2\}`, "aaa")
	add(bre, `a\{2`, "aaa")
	add(bre, `a{2}`, "a{2}")
	add(bre, `a|b`, "a|b")
	add(bre, `a\|b`, "b")
	add(bre, `a+`, "a+")
	add(bre, `a\+`, "aa")
	add(bre, `a\?b`, "b")
	add(bre, `(a)`, "(a)")
	add(bre, `*a`, "*a")
	add(bre, `\(*a\)`, "*a")
	add(bre, `^*`, "*")
	add(bre, `a**`, "aa")
	add(bre, `a*\{2\}`, "aa")
	add(bre, `a\{2\}*`, "aa")
	add(bre, `a*\+`, "aa")
	add(bre, `a\+*`, "aa")
	add(bre, `\{1\}`, "a")
	add(bre, `\(^a\)`, "a")
	add(bre, `a^b`, "a^b")
	add(bre, `a$b`, "a$b")
	add(bre, `\(a$\)`, "a")
	add(bre, `a$\|b`, "a")
	add(bre, `a\|^b`, "b")
	add(bre, `x^`, "x^")
	add(bre, `$a`, "$a")
	add(bre, `^$`, "")
	add(bre, `a\)`, "a")
	add(bre, `\(a`, "a")
	add(bre, `\(\)`, "")
	add(bre, `a\{,2\}`, "aaa")
	add(bre, `a\{1,2\}\{2\}`, "aaa")
	add(bren, `^b`, "a\nb")
	add(bren, `a$`, "a\nb")
	add(bren, `.`, "\n")
	add(brei, `ab`, "AB")
	add(bre, `\{`, "{")
	add(bre, `[[:alpha:]]\{2,3\}`, "abcd")
	return cs
}

// patternGen produces random patterns over a small alphabet.
type patternGen struct {
	r   *rand.Rand
	ere bool
}

func (g *patternGen) atom(depth int) string {
	switch n := g.r.IntN(12); {
	case n < 4:
		return string("ab"[g.r.IntN(2)])
	case n < 5:
		return "."
	case n < 6:
		return []string{"[ab]", "[^a]", "[[:alpha:]]", "[a-b]", "[^b\n]"}[g.r.IntN(5)]
	case n < 7 && depth > 0:
		return "^"
	case n < 8 && depth > 0:
		return "$"
	case depth > 0:
		if g.ere {
			return "(" + g.alt(depth-1) + ")"
		}
		return `\(` + g.alt(depth-1) + `\)`
	}
	return "a"
}

func (g *patternGen) piece(depth int) string {
	a := g.atom(depth)
	if a == "^" || a == "$" {
		return a
	}
	ops := []string{"", "", "", "*", "+", "?", "{0,1}", "{1,2}", "{2}", "{0}"}
	op := ops[g.r.IntN(len(ops))]
	if !g.ere {
		switch op {
		case "+", "?":
			op = `\` + op
		case "{0,1}", "{1,2}", "{2}", "{0}":
			op = `\{` + op[1:len(op)-1] + `\}`
		}
	}
	return a + op
}

func (g *patternGen) branch(depth int) string {
	n := 1 + g.r.IntN(3)
	var b strings.Builder
	for range n {
		b.WriteString(g.piece(depth))
	}
	return b.String()
}

func (g *patternGen) alt(depth int) string {
	s := g.branch(depth)
	for g.r.IntN(3) == 0 {
		if g.ere {
			s += "|" + g.branch(depth)
		} else {
			s += `\|` + g.branch(depth)
		}
	}
	return s
}

func randomSubject(r *rand.Rand) string {
	n := r.IntN(7)
	b := make([]byte, n)
	for i := range b {
		b[i] = "aabbA\n"[r.IntN(6)]
	}
	return string(b)
}

// soup is random syntax: mostly invalid patterns, to compare errors.
func soup(r *rand.Rand) string {
	const alphabet = `ab()|*+?{}[]^$.\,1-:=`
	n := 1 + r.IntN(8)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randomCases(seed uint64, n int) []diffCase {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	flagSets := []Flags{ere, eren, erei, Extended | ICase | Newline, bre, bren}
	var cs []diffCase
	for len(cs) < n {
		f := flagSets[r.IntN(len(flagSets))]
		var p string
		if r.IntN(5) == 0 {
			p = soup(r)
		} else {
			g := &patternGen{r: r, ere: f&Extended != 0}
			p = g.alt(2)
		}
		for range 3 {
			cs = append(cs, diffCase{f, p, randomSubject(r)})
		}
	}
	return cs
}

func TestGlibcDifferential(t *testing.T) {
	bin := buildOracle(t)
	cases := handCases()
	nHand := len(cases)
	cases = append(cases, randomCases(1, 3000)...)
	want := runOracle(t, bin, cases)
	var known map[string]string
	if !*updateQuirks {
		known = loadQuirks(t)
	}
	var update strings.Builder
	update.WriteString("# Cases where package ere knowingly differs from glibc 2.36 (see glibc_test.go).\n")
	update.WriteString("# category\tcflags\tpattern\tsubject; regenerate with go test -run Differential -update\n")
	mismatches, quirks := 0, 0
	seen := map[string]bool{}
	gots := make([]string, len(cases))
	for i, c := range cases {
		gots[i] = ours(c)
	}
	checks := askChecks(t, bin, cases, want, gots)
	for i, c := range cases {
		got := gots[i]
		if got == want[i] {
			if _, ok := known[c.key()]; ok {
				t.Errorf("listed quirk no longer differs, drop it: %s", c.key())
			}
			continue
		}
		cat := quirkCategory(c, want[i], got, checks[i])
		listed, isListed := known[c.key()]
		switch {
		case *updateQuirks && cat != "":
			if !seen[c.key()] {
				fmt.Fprintf(&update, "%s\t%d\t%q\t%q\n", cat, c.flags, c.pattern, c.subject)
			}
			seen[c.key()] = true
			quirks++
		case isListed && listed == cat:
			quirks++
		default:
			mismatches++
			if mismatches <= 60 {
				src := "random"
				if i < nHand {
					src = "hand"
				}
				t.Errorf("%s case %s (category %q, listed %q):\n glibc: %s\n   ere: %s", src, c.key(), cat, listed, want[i], got)
			}
		}
	}
	if *updateQuirks && mismatches == 0 {
		if err := os.WriteFile(quirksFile, []byte(update.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d cases (%d hand-written), %d mismatches, %d known quirks", len(cases), nHand, mismatches, quirks)
}

// hostPattern builds a pattern of the kind rulesets use on "host:port".
func hostPattern(r *rand.Rand) string {
	parts := []string{`[a-z0-9-]+`, `([a-z0-9-]+\.)*`, `(www|api|cdn)\.`, `example\.`, `(com|org|net)`,
		`[0-9]{1,3}`, `(:[0-9]+)?`, `.*`, `\.`, `:443`, `([0-9]+\.){3}[0-9]+`, `[[:alpha:]]+`, `(a|ab|abc)`, `\[[0-9a-f:]+\]`}
	var b strings.Builder
	if r.IntN(3) == 0 {
		b.WriteByte('^')
	}
	for range 1 + r.IntN(3) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	if r.IntN(3) == 0 {
		b.WriteByte('$')
	}
	return b.String()
}

func hostSubject(r *rand.Rand) string {
	hosts := []string{"www.example.com", "a.b.example.org", "EXAMPLE.com", "10.0.0.1", "[::1]", "api.example.net",
		"example.com", "x-y.example.org", "abc.abcab", "cdn.static.example.net", "localhost"}
	ports := []string{"", ":443", ":80", ":8080", ":1"}
	s := hosts[r.IntN(len(hosts))] + ports[r.IntN(len(ports))]
	if r.IntN(8) == 0 {
		s += "\n" + hosts[r.IntN(len(hosts))]
	}
	return s
}

// TestGlibcDifferentialHostPatterns compares realistic ruleset patterns on
// host:port subjects; no quirk is allowed here.
func TestGlibcDifferentialHostPatterns(t *testing.T) {
	bin := buildOracle(t)
	r := rand.New(rand.NewPCG(2, 7))
	flagSets := []Flags{eren, eren, eren, ere, Extended | ICase | Newline}
	var cases []diffCase
	for len(cases) < 1200 {
		f := flagSets[r.IntN(len(flagSets))]
		p := hostPattern(r)
		for range 4 {
			cases = append(cases, diffCase{f, p, hostSubject(r)})
		}
	}
	want := runOracle(t, bin, cases)
	mismatches, matched := 0, 0
	for i, c := range cases {
		if strings.HasPrefix(want[i], "MATCH") {
			matched++
		}
		if got := ours(c); got != want[i] {
			mismatches++
			if mismatches <= 30 {
				t.Errorf("case %s:\n glibc: %s\n   ere: %s", c.key(), want[i], got)
			}
		}
	}
	if matched < len(cases)/5 || matched > len(cases)*4/5 {
		t.Errorf("only %d of %d cases match: the generator needs tuning", matched, len(cases))
	}
	t.Logf("%d host-pattern cases (%d matching), %d mismatches", len(cases), matched, mismatches)
}

func hasGroupInRepeat(n *node, inRepeat bool) bool {
	if n.kind == nGroup && inRepeat {
		return true
	}
	inRepeat = inRepeat || n.kind == nRepeat
	for _, s := range n.subs {
		if hasGroupInRepeat(s, inRepeat) {
			return true
		}
	}
	return false
}
