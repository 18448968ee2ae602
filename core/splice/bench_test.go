//go:build linux

package splice

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// benchChunk is what the sending side writes per call and what one
// benchmark op stands for (b.SetBytes).
const benchChunk = 128 << 10

type copyFunc func(dst, src *net.TCPConn) (int64, error)

func ioCopy(dst, src *net.TCPConn) (int64, error) { return io.Copy(dst, src) }

var benchModes = []struct {
	name string
	copy copyFunc
}{
	{"splice", Copy},
	{"iocopy", ioCopy},
}

// BenchmarkRelay moves b.N chunks of 128 KiB through `streams` relays
// (sender → relay → receiver over loopback TCP), comparing this
// package's Copy with io.Copy (the runtime's own splice path) on the
// same kind of sockets; "up" sends from the dialing client to the sink,
// "down" the reverse. cpu-ms/GB is the whole process's CPU time (sender
// and receiver included, the same for both modes) per GB relayed.
func BenchmarkRelay(b *testing.B) {
	for _, m := range benchModes {
		for _, streams := range []int{1, 8} {
			for _, down := range []bool{false, true} {
				dir := "up"
				if down {
					dir = "down"
				}
				b.Run(fmt.Sprintf("%s/streams=%d/%s", m.name, streams, dir), func(b *testing.B) {
					benchRelay(b, m.copy, streams, down)
				})
			}
		}
	}
}

// BenchmarkPipeSize runs Copy with different pipe sizes (0 = the kernel
// default of 64 KiB).
func BenchmarkPipeSize(b *testing.B) {
	defer SetPipeSize(DefaultPipeSize)
	for _, size := range []int{0, 256 << 10, 1 << 20} {
		for _, streams := range []int{1, 8} {
			b.Run(fmt.Sprintf("size=%dK/streams=%d", max(size, 64<<10)>>10, streams), func(b *testing.B) {
				SetPipeSize(size)
				benchRelay(b, Copy, streams, false)
			})
		}
	}
}

func benchRelay(b *testing.B, copy copyFunc, streams int, down bool) {
	chains := make([]*chain, streams)
	for i := range chains {
		chains[i] = newChain(b)
	}
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	errs := make(chan error, 3*streams)
	var wg sync.WaitGroup
	cpu0 := testkit.CPUTime()
	b.ResetTimer()
	for i, c := range chains {
		send, recv, in, out := c.client, c.sink, c.relayIn, c.relayOut
		if down {
			send, recv, in, out = c.sink, c.client, c.relayOut, c.relayIn
		}
		chunks := b.N / streams
		if i < b.N%streams {
			chunks++
		}
		want := int64(chunks) * benchChunk
		wg.Add(3)
		go func() {
			defer wg.Done()
			buf := make([]byte, benchChunk)
			for range chunks {
				if _, err := send.Write(buf); err != nil {
					errs <- fmt.Errorf("send: %w", err)
					return
				}
			}
			if err := send.CloseWrite(); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			n, err := copy(out, in)
			if err != nil || n != want {
				errs <- fmt.Errorf("relay moved %d of %d bytes: %v", n, want, err)
			}
			if err := out.CloseWrite(); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, benchChunk)
			var n int64
			for {
				k, err := recv.Read(buf)
				n += int64(k)
				if err == io.EOF {
					break
				}
				if err != nil {
					errs <- fmt.Errorf("receive: %w", err)
					return
				}
			}
			if n != want {
				errs <- fmt.Errorf("received %d of %d bytes", n, want)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	cpu := testkit.CPUTime() - cpu0
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if gb := float64(b.N) * benchChunk / 1e9; gb > 0 {
		b.ReportMetric(float64(cpu.Milliseconds())/gb, "cpu-ms/GB")
	}
}
