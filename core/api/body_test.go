package api

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// bomb compresses size zero bytes in the given encoding, without holding
// them in memory.
func bomb(t *testing.T, encoding string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw io.WriteCloser
	if encoding == "gzip" {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	} else {
		zw, _ = zlib.NewWriterLevel(&buf, zlib.BestCompression)
	}
	zeros := make([]byte, 1<<20)
	for size > 0 {
		n := min(size, int64(len(zeros)))
		zw.Write(zeros[:n])
		size -= n
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflateBomb returns a zlib stream of 1 GiB of zero bytes, about 1 MiB
// long, in milliseconds: once deflate has seen two MiB of zeros, each
// further flushed MiB compresses to the same bytes, so the stream is the
// first blocks, that repeated block, an empty final block and the Adler-32
// of the zeros. The result is checked by inflating it.
func deflateBomb(t *testing.T) []byte {
	t.Helper()
	const chunk, chunks = 1 << 20, 1024
	var block bytes.Buffer
	fw, _ := flate.NewWriter(&block, flate.BestCompression)
	zeros := make([]byte, chunk)
	out := []byte{0x78, 0xda} // zlib header: deflate, 32 KiB window, best compression
	var last []byte
	for i := range 3 {
		fw.Write(zeros)
		fw.Flush()
		last = append([]byte(nil), block.Bytes()...)
		if i < 2 {
			out = append(out, last...)
		}
		block.Reset()
	}
	for range chunks - 2 {
		out = append(out, last...)
	}
	fw.Close() // the final, empty block
	out = append(out, block.Bytes()...)
	// Adler-32 of n zero bytes: A stays 1, B adds A once per byte.
	out = binary.BigEndian.AppendUint32(out, uint32(chunk*chunks%65521)<<16|1)

	zr, err := zlib.NewReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n != chunk*chunks {
		t.Fatalf("the bomb inflates to %d bytes: %v", n, err)
	}
	return out
}

// procStatusKB reads a "Name: N kB" line of /proc/self/status.
func procStatusKB(t *testing.T, name string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", name, line)
			}
			return n
		}
	}
	t.Skipf("no %s in /proc/self/status", name)
	return 0
}

// postEncoded sends body to /ruleset/invoke with a Content-Encoding and
// returns the status of the answer.
func postEncoded(ts *testServer, encoding string, body []byte) (int, error) {
	c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// The server may answer before it has read the whole body, so the body
	// is sent while the answer is read.
	go func() {
		fmt.Fprintf(c, "POST /ruleset/invoke HTTP/1.1\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n", encoding, len(body))
		c.Write(body)
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestEncodedBodyLimit(t *testing.T) {
	rs := &fakeRuleset{}
	ts := start(t, rs, nil)
	tests := []struct {
		name     string
		encoding string
		size     int64
		want     int
	}{
		{"deflate at the limit", "deflate", MaxBody, 200},
		{"deflate one byte over", "deflate", MaxBody + 1, 413},
		{"gzip at the limit", "gzip", MaxBody, 200},
		{"gzip one byte over", "gzip", MaxBody + 1, 413},
		{"deflate 16 MiB", "deflate", 16 << 20, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, err := postEncoded(ts, tc.encoding, bomb(t, tc.encoding, tc.size))
			if err != nil || code != tc.want {
				t.Fatalf("status %d, %v; want %d", code, err, tc.want)
			}
			if tc.want == 200 {
				if got := rs.last(&rs.invoked); int64(len(got)) != tc.size || strings.Trim(got, "\x00") != "" {
					t.Fatalf("invoked with %d bytes", len(got))
				}
			}
		})
	}

	// A zlib stream followed by bytes that belong to no stream: the bytes
	// are ignored and the connection goes on with the next request.
	body := append(compress(t, "deflate", []byte("x = 1")), "trailing"...)
	c := ts.dial(t)
	fmt.Fprintf(c, "POST /ruleset/invoke HTTP/1.1\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%sGET /healthy HTTP/1.1\r\n\r\n", len(body), body)
	br := bufio.NewReader(c)
	for _, want := range []int{200, 200} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != want {
			t.Fatal(resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	if got := rs.last(&rs.invoked); got != "x = 1" {
		t.Fatalf("invoked %q", got)
	}
}

// TestEncodedBombsMemory sends eight 1 MiB deflate bodies that inflate to
// 1 GiB each, all at once, and checks that each is refused with 413 while
// the process's peak resident size grows by at most a few MiB.
func TestEncodedBombsMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads VmHWM from /proc/self/status")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory makes the resident size meaningless")
	}
	ts := start(t, &fakeRuleset{}, nil)
	body := deflateBomb(t)
	t.Logf("bomb: %d bytes inflating to 1 GiB", len(body))

	// Start from a process that holds only what it uses, and reset the
	// peak to it (clear_refs "5"), so the peak after the bombs is their cost.
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skip("cannot reset VmHWM:", err)
	}
	base := procStatusKB(t, "VmRSS")

	const bombs = 8
	var wg sync.WaitGroup
	codes := make([]int, bombs)
	errs := make([]error, bombs)
	for i := range bombs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = postEncoded(ts, "deflate", body)
		}()
	}
	wg.Wait()
	peak := procStatusKB(t, "VmHWM")
	for i := range bombs {
		if errs[i] != nil || codes[i] != 413 {
			t.Errorf("bomb %d: status %d, %v", i, codes[i], errs[i])
		}
	}
	growth := peak - base
	t.Logf("VmRSS before %d KiB, VmHWM after %d KiB: +%d KiB for %d bombs", base, peak, growth, bombs)
	const limitKB = 8 << 10
	if growth > limitKB {
		t.Fatalf("peak RSS grew by %d KiB, over %d KiB", growth, limitKB)
	}
}
