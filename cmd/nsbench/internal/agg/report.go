package agg

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes rows as the harness's result lines:
//
//	metric=value unit          one system: its median over the rounds
//	NAME.metric=value unit     several systems: each one's median
//	ratio.metric=value x       two systems: the median paired ratio B/A
func WriteText(w io.Writer, systems []string, rows []Row) error {
	var b strings.Builder
	for _, r := range rows {
		for i, s := range r.Systems {
			if s.N == 0 {
				continue
			}
			name := r.Metric
			if len(systems) > 1 {
				name = systems[i] + "." + r.Metric
			}
			fmt.Fprintf(&b, "%s=%s %s\n", name, FormatValue(s.Median), r.Unit)
		}
		if r.HasRatio {
			fmt.Fprintf(&b, "ratio.%s=%s x\n", r.Metric, FormatRatio(r.Ratio.Median))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes rows as a Markdown table: the median and the
// range over the rounds of each system, and for two systems the paired
// ratio with the range of the per-round ratios.
func WriteMarkdown(w io.Writer, systems []string, rows []Row) error {
	var b strings.Builder
	if len(systems) == 1 {
		b.WriteString("| metric | unit | median | min | max | n |\n|---|---|---:|---:|---:|---:|\n")
		for _, r := range rows {
			s := r.Systems[0]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", r.Metric, r.Unit,
				FormatValue(s.Median), FormatValue(s.Min), FormatValue(s.Max), s.N)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| metric | unit |")
	for _, s := range systems {
		fmt.Fprintf(&b, " %s median [min–max] |", s)
	}
	if len(systems) == 2 {
		fmt.Fprintf(&b, " %s/%s paired median [min–max] |", systems[1], systems[0])
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---:|", len(systems)))
	if len(systems) == 2 {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |", r.Metric, r.Unit)
		for _, s := range r.Systems {
			if s.N == 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %s [%s–%s] |", FormatValue(s.Median), FormatValue(s.Min), FormatValue(s.Max))
		}
		switch {
		case len(systems) != 2:
		case !r.HasRatio:
			b.WriteString(" – |")
		default:
			fmt.Fprintf(&b, " %s [%s–%s] |", FormatRatio(r.Ratio.Median), FormatRatio(r.Ratio.Min), FormatRatio(r.Ratio.Max))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
