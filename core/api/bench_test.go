package api

import (
	"context"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/stats"
)

func benchServer() *Server {
	s := &Server{Stats: new(stats.Counters), Version: "bench"}
	s.init()
	for i := range 256 {
		s.stats.ConnectLatency.Add(time.Duration(i) * time.Millisecond)
	}
	return s
}

func BenchmarkStatsPage(b *testing.B) {
	s := benchServer()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = s.appendStats(context.Background(), buf[:0], statsOptions{banner: true, server: true})
	}
}

func BenchmarkMetricsPage(b *testing.B) {
	s := benchServer()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = s.appendMetrics(context.Background(), buf[:0])
	}
}
