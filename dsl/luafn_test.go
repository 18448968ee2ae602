package dsl

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestToNumberLua54 checks toNumber (the port conversion of match.port)
// against lua5.4's tonumber.
func TestToNumberLua54(t *testing.T) {
	bin, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Skip("lua5.4 not installed")
	}
	inputs := []string{
		"80", " 80 ", "\t443\n", "\f80\v", "+80", "-80", "080", "0x50", "0X50", "-0x50",
		"1e2", "80.", ".5e2", "80.0", "0x1p4", "0x.8p8", "0xA.8", "0xffffffffffffffff",
		"99999999999999999999", "1e400", "inf", "nan", "-inf", "0x", "", " ", "8 0",
		"80a", "1_000", "0b101", "..", ".", "-", "+-1", "0x1P+2", "1E2", "١٢",
	}
	var prog strings.Builder
	for _, s := range inputs {
		fmt.Fprintf(&prog, "do local n = tonumber(%q) print(n and string.format('%%.17g', n) or 'nil') end\n", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-")
	cmd.Stdin = strings.NewReader(prog.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lua5.4: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("lua5.4 printed %d lines for %d inputs", len(lines), len(inputs))
	}
	for i, s := range inputs {
		got, ok := toNumber(s)
		if lines[i] == "nil" {
			if ok {
				t.Errorf("toNumber(%q) = %v, lua5.4 says nil", s, got)
			}
			continue
		}
		want, err := strconv.ParseFloat(lines[i], 64)
		if err != nil {
			want = math.Inf(1)
			if strings.HasPrefix(lines[i], "-") {
				want = math.Inf(-1)
			}
		}
		if !ok || got != want {
			t.Errorf("toNumber(%q) = %v, %v; lua5.4 says %s", s, got, ok, lines[i])
		}
	}
}
