//go:build linux

package ere

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// oracleProc is a running glibc oracle answering one case per line.
type oracleProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startOracle(t testing.TB, bin string) *oracleProc {
	t.Helper()
	cmd := exec.Command(bin)
	// The oracle must not outlive a fuzz worker that the engine kills.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &oracleProc{cmd: cmd, in: in, lines: make(chan string, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			o.lines <- sc.Text()
		}
		close(o.lines)
	}()
	return o
}

func (o *oracleProc) stop() {
	_ = o.in.Close()
	_ = o.cmd.Process.Kill()
	_ = o.cmd.Wait()
	for range o.lines {
	}
}

// ask returns glibc's answer, or "" when glibc takes too long (some
// patterns make it exponential); the caller then restarts the oracle.
func (o *oracleProc) ask(c diffCase) string {
	fmt.Fprintf(o.in, "%d %s %s\n", c.flags, hexField(c.pattern), hexField(c.subject))
	select {
	case l := <-o.lines:
		return l // "" when the oracle died (see its alarm)
	case <-time.After(5 * time.Second):
		return ""
	}
}

// FuzzGlibc compares this package with glibc on arbitrary patterns and
// subjects. Differences must fall into a documented quirk category.
func FuzzGlibc(f *testing.F) {
	for _, c := range handCases() {
		if len(c.pattern) <= 24 && len(c.subject) <= 16 {
			f.Add(c.pattern, c.subject, uint8(c.flags))
		}
	}
	bin := buildOracle(f)
	var o *oracleProc
	f.Cleanup(func() {
		if o != nil {
			o.stop()
		}
	})
	f.Fuzz(func(t *testing.T, pattern, subject string, flags uint8) {
		if len(pattern) > 24 || len(subject) > 16 ||
			strings.ContainsRune(pattern, 0) || strings.ContainsRune(subject, 0) {
			return
		}
		c := diffCase{Flags(flags & 7), pattern, subject}
		if o == nil {
			o = startOracle(t, bin)
		}
		want := o.ask(c)
		if want == "" {
			o.stop()
			o = nil
			return
		}
		got := ours(c)
		if got == want || strings.HasPrefix(got, "TIMEOUT") {
			return
		}
		var check [2]string
		if wc, ok := wrapGroup(c); ok {
			check[0] = o.ask(wc)
		}
		if mc, ok := matchedText(c, got); ok {
			check[1] = o.ask(mc)
		}
		if cat := quirkCategory(c, want, got, check); cat == "" {
			t.Fatalf("case %s:\n glibc: %s\n   ere: %s", c.key(), want, got)
		}
	})
}
