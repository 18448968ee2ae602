// Package http is the HTTP/1.x wire codec shared by the HTTP proxy listener
// and the REST API server: request and response head parsing with
// neosocksd's strict rules (CRLF only, token header names, no obs-fold, no
// control bytes, 8191-byte request heads), the proxy's header
// classification and request/response rebuilding, chunked transfer coding,
// Basic credentials, IMF-fixdate, the canonical reason phrases and the
// generated error page.
//
// The package is pure: it works on byte slices and strings only. It must not
// touch a net.Conn, log, or keep state beyond what a caller holds. Parsers
// take the bytes received so far and report ErrShort when more are needed,
// so a head split across many reads is handled by calling them again with
// the longer buffer.
//
// Choices where the specification is silent: a request line with an empty
// method or target is malformed (400); a line that is still incomplete but
// already holds a byte that can never be valid (a bare LF or another
// control byte) is reported at once instead of waiting for the rest, so a
// client using LF-only line endings gets 400 rather than a stalled
// connection.
package http
