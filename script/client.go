package script

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// Limits of the responses the RPC client reads.
const (
	maxResponseHead    = 8192
	maxResponseContent = 4 << 20
)

// callResult is the outcome of one API client request. err is the text
// await.invoke returns as its error ("" on success).
type callResult struct {
	err        string
	status     int
	statusLine string
	body       []byte // decoded content
}

// appendRPCRequest renders the request neosocksd's API client sends:
// POST with Accept-Encoding, Connection, Content-Length, Content-Type and
// (for payloads of 256 bytes or more) Content-Encoding: deflate, no Host.
// A token (Options.APIToken, beyond the original) adds
// "Authorization: Bearer <token>".
func appendRPCRequest(dst []byte, path string, payload []byte, token string) []byte {
	body := payload
	deflated := false
	if len(payload) >= rpc.MinDeflate {
		body = rpc.Deflate(payload)
		deflated = true
	}
	dst = append(dst, "POST "...)
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nAccept-Encoding: deflate\r\nConnection: close\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\nContent-Type: "+rpc.ContentType+"\r\n"...)
	if deflated {
		dst = append(dst, "Content-Encoding: deflate\r\n"...)
	}
	if token != "" {
		dst = append(dst, "Authorization: Bearer "...)
		dst = append(dst, token...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// call performs one API request to target (through hops) and maps every
// failure to the error texts of api.md §9.4. A connection reset while
// sending is retried once on a fresh connection.
func (e *Engine) call(ctx context.Context, path string, code []byte, target string, hops []string) callResult {
	req := appendRPCRequest(nil, path, code, e.o.APIToken)
	for attempt := 0; ; attempt++ {
		conn, err := e.dialAPI(ctx, target, hops)
		if err != nil {
			if ctx.Err() != nil {
				return callResult{err: "timeout"}
			}
			return callResult{err: "connection failed"}
		}
		e.o.Stats.APIClientRequest.Add(1)
		res, retry := e.exchange(ctx, conn, req, path == "/ruleset/invoke")
		_ = conn.Close()
		if retry && attempt == 0 {
			continue
		}
		return res
	}
}

func (e *Engine) dialAPI(ctx context.Context, target string, hops []string) (net.Conn, error) {
	if e.o.Dial != nil {
		return e.o.Dial(ctx, target, route.MakeChain(hops...))
	}
	if len(hops) > 0 {
		return nil, errors.New("no dialer for proxies")
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target)
}

// exchange writes req and reads the response. retry reports a reset
// while sending.
func (e *Engine) exchange(ctx context.Context, conn net.Conn, req []byte, invoke bool) (callResult, bool) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	timedOut := func() bool { return ctx.Err() != nil }
	if _, err := conn.Write(req); err != nil {
		if timedOut() {
			return callResult{err: "timeout"}, false
		}
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return callResult{err: "connection failed"}, true
		}
		return callResult{err: "connection failed"}, false
	}
	e.o.Stats.APIClientTx.Add(uint64(len(req)))
	cr := &countReader{r: conn}
	defer func() { e.o.Stats.APIClientRx.Add(cr.n) }()
	res := readResponse(bufio.NewReaderSize(cr, 4096), invoke)
	if res.err == "error receiving response" && timedOut() {
		res.err = "timeout"
	}
	return res, false
}

type countReader struct {
	r io.Reader
	n uint64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += uint64(n)
	return n, err
}

// readResponse reads an HTTP/1.x response to an API client request and
// maps it to await.invoke's result (api.md §9.4). The head is parsed by
// core/proto/http, the one HTTP response parser.
func readResponse(br *bufio.Reader, invoke bool) callResult {
	r, statusLine, fail := readHead(br)
	if fail != "" {
		return callResult{err: fail}
	}
	if r.Chunked {
		return callResult{err: "chunked response not supported"}
	}
	code, clen := r.Code, r.ContentLength
	var ctype, cenc string
	for _, f := range r.Header {
		switch {
		case http.EqualFold(f.Name, "Content-Type"):
			ctype = f.Value
		case http.EqualFold(f.Name, "Content-Encoding"):
			cenc = f.Value
		}
	}
	var err error
	if clen > maxResponseContent {
		return callResult{err: "error parsing response"}
	}
	var raw []byte
	if clen >= 0 {
		raw = make([]byte, int(clen))
		if _, err := io.ReadFull(br, raw); err != nil {
			return callResult{err: "error receiving response"}
		}
	} else {
		raw, err = io.ReadAll(io.LimitReader(br, maxResponseContent+1))
		if err != nil {
			return callResult{err: "error receiving response"}
		}
		if len(raw) > maxResponseContent {
			return callResult{err: "error parsing response"}
		}
	}
	res := callResult{status: code, statusLine: statusLine}
	if code >= 200 && code <= 299 {
		if invoke && len(raw) == 0 {
			return res
		}
		if !rpc.IsContentType(ctype) {
			return callResult{err: "unsupported content-type", status: code, statusLine: res.statusLine}
		}
	} else if len(raw) > 0 && rpc.IsContentType(ctype) {
		body, err := rpc.Decode(raw, cenc, maxResponseContent)
		if err != nil {
			return callResult{err: "error parsing response"}
		}
		return callResult{err: string(body), status: code, statusLine: res.statusLine}
	} else {
		return callResult{err: res.statusLine, status: code, statusLine: res.statusLine}
	}
	body, err := rpc.Decode(raw, cenc, maxResponseContent)
	if err != nil {
		return callResult{err: "error parsing response"}
	}
	res.body = body
	return res
}

// readHead reads a response head up to and including its empty line, at
// most maxResponseHead bytes, and parses it. statusLine is the status
// line as received; fail is await.invoke's error text. A line that does
// not end in CRLF fails at once, without waiting for more.
func readHead(br *bufio.Reader) (r http.ResponseHead, statusLine, fail string) {
	var head []byte
	start := 0 // where the current line starts in head
	for {
		chunk, err := br.ReadSlice('\n')
		head = append(head, chunk...)
		if len(head) > maxResponseHead {
			return r, "", "error parsing response"
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return r, "", "error receiving response"
		}
		line := head[start:]
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return r, "", "error parsing response"
		}
		if len(line) == 2 {
			break
		}
		start = len(head)
	}
	r, _, err := http.ParseResponse(head)
	if err != nil {
		return r, "", "error parsing response"
	}
	// "HTTP/1.x ddd" and the reason, as the status line had them.
	return r, string(head[:12]) + " " + r.Reason, ""
}
