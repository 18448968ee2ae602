// Package ere compiles and runs POSIX regular expressions the way glibc's
// regcomp/regexec do in the C locale: extended (ERE) or basic (BRE) syntax,
// leftmost-longest matching, bracket expressions with classes, equivalence
// classes and collating symbols, REG_ICASE and REG_NEWLINE, glibc's GNU
// escapes (\w \W \s \S \b \B \< \> \` \') and its regerror messages. It is
// the one translator shared by the Lua regex library (stdlib) and the route
// table DSL, so the two engines cannot diverge.
//
// It is for matching untrusted patterns against host names and addresses
// without letting a pattern hang the server; it must not grow global state
// (there is no cache) and must not depend on the process locale.
//
// # How it works
//
// A recursive-descent parser mirrors glibc's regcomp (same tokens, the same
// context rules for ^ $ * { in ERE and BRE, the same first error), builds a
// tree over bytes, and the tree is translated to Go's regexp syntax, which
// then runs in leftmost-longest mode (regexp.Regexp.Longest). Bytes are
// bytes: a subject with non-ASCII bytes is re-encoded so that each byte is
// one rune (Latin-1 to UTF-8) and offsets are mapped back, so '.' matches
// exactly one byte as in the C locale. ICASE is applied the glibc way (the
// pattern and subject compared upper-cased, ASCII only) by expanding sets,
// not with (?i), which would fold non-ASCII letters. Go decides where the
// match is; when groups sit inside repetitions or alternations, the
// offsets they report come from a replay of glibc's register rules
// (posix.go, see "submatch" below).
//
// What RE2 cannot express goes to github.com/dlclark/regexp2, a backtracking
// engine, with MatchTimeout per search (ErrTimeout when it runs out):
// back-references (\1-\9), \< and \> (except right before or after a
// word character, where they are rewritten to \b), and repetition counts
// RE2 refuses (above 1000, or nested repetitions that expand too far; glibc
// accepts up to RE_DUP_MAX = 32767). Regexp.Backtracking reports which
// engine a pattern uses.
//
// # Known differences from glibc
//
// The differential test (glibc_test.go) compares this package with glibc
// 2.36 on hand-written edge cases and seeded random patterns; every
// remaining difference is listed in testdata/glibc_quirks.txt under one of
// the categories below. The random generator puts anchors, empty groups
// and nested repetitions everywhere on purpose, and about 0.5% of its
// cases differ; on realistic ruleset patterns over host:port subjects
// (TestGlibcDifferentialHostPatterns) nothing differs.
//
//   - submatch: the overall match is the same but a group gets other
//     offsets. Group offsets are not Go's: when a group sits inside a
//     repetition or an alternation, the path is chosen again by replaying
//     glibc's rules on glibc's own tree (posix.go): expansion of x{n,m}
//     into copies, branch preference by node number, its loop breaking,
//     stale captures of earlier iterations, the register restore after an
//     empty iteration of an optional group. What remains are cases where
//     anchors inside repetitions change glibc's internal node order.
//     Subjects too long for the replay budget (positions times states
//     above 2^18) get Go's submatches.
//
//   - anchor: glibc mishandles ^ and $ inside repetitions ("(^a*){1,2}"
//     finds nothing in "aa", "(^a*){2}" neither) and, without NEWLINE,
//     accepts ^ right after and $ right before a '\n' that the match itself
//     consumes (e.g. "a$." matches "a\nb"). This package treats anchors
//     strictly: without NEWLINE, ^ and $ are string start and end.
//
//   - miss: glibc misses or shortens a match it otherwise admits to: the
//     same pattern wrapped in one more group, or the matched text searched
//     alone, gives this package's answer. Seen with nested repetitions and
//     with \B after a repetition ("a*\B" in "0a" finds (2,2), "(a*)\B"
//     finds (1,1)).
//
//   - backtrack: back-references and the other backtracking constructs
//     match leftmost-first (the first alternative that succeeds), not
//     leftmost-longest; the match start is still the leftmost one. E.g.
//     "(a|ab)\1*" finds "a" in "abab" where glibc finds "abab". glibc's
//     back-reference matcher has its own quirks (it reports the group of
//     "0**()\1" as unset, and "(0**)\1" finds nothing in "0"); those are
//     listed here too.
//
// Further differences, by design:
//
//   - ICASE back-references fold case with Unicode rules on the byte values.
//   - The Go API accepts NUL bytes in subjects (regexec cannot see them;
//     the Lua binding rejects them); '.' never matches NUL (RE_DOT_NOT_NULL)
//     but bracket expressions can. Patterns with NUL are rejected.
//   - NoSub is accepted and ignored: submatches are always computed.
package ere
