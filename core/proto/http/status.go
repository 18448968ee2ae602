package http

import "time"

// Reason returns the canonical reason phrase neosocksd uses for code, or ""
// for codes outside its table (101 included).
func Reason(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 415:
		return "Unsupported Media Type"
	case 417:
		return "Expectation Failed"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return ""
}

// description is the sentence of the generated error page.
func description(code int) string {
	switch code {
	case 400:
		return "The request could not be understood by the server."
	case 403:
		return "The request was refused by the server's policy."
	case 404:
		return "The requested resource was not found on this server."
	case 405:
		return "The method is not allowed for the requested resource."
	case 411:
		return "The request needs a Content-Length."
	case 413:
		return "The request is larger than the server is willing to process."
	case 415:
		return "The request content encoding is not supported."
	case 417:
		return "The expectation given in the Expect header cannot be met."
	case 500:
		return "The server encountered an internal error."
	case 501:
		return "The server does not support the functionality required."
	case 502:
		return "The server received an invalid response from the upstream."
	case 503:
		return "The server is currently unable to handle the request."
	case 504:
		return "The upstream did not respond in time."
	}
	return "The server cannot handle the request."
}

// IMFFixdate is the layout of HTTP dates, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
const IMFFixdate = "Mon, 02 Jan 2006 15:04:05 GMT"

// AppendDate appends t in IMF-fixdate form (always GMT).
func AppendDate(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, IMFFixdate)
}

// AppendErrorPage appends the generated error response of protocols §5.6:
// status line, Date, "Connection: close", "Content-type: text/html", no
// Content-Length, and the small HTML body. The sender closes the
// connection afterwards.
func AppendErrorPage(dst []byte, code int, now time.Time) []byte {
	dst = AppendStatusLine(dst, code)
	dst = append(dst, "Date: "...)
	dst = AppendDate(dst, now)
	dst = append(dst, "\r\nConnection: close\r\nContent-type: text/html\r\n\r\n"...)
	title := func(dst []byte) []byte {
		dst = appendCode(dst, code)
		dst = append(dst, ' ')
		return append(dst, Reason(code)...)
	}
	dst = append(dst, "<HTML><HEAD><TITLE>"...)
	dst = title(dst)
	dst = append(dst, "</TITLE></HEAD>\n<BODY><H1>"...)
	dst = title(dst)
	dst = append(dst, "</H1>\n"...)
	dst = append(dst, description(code)...)
	return append(dst, "\n</BODY></HTML>\n"...)
}

// AppendAuthRequired appends the 407 response of protocols §5.2: no body,
// no Content-Length, a Basic challenge with realm "proxy".
func AppendAuthRequired(dst []byte, now time.Time) []byte {
	dst = AppendStatusLine(dst, 407)
	dst = append(dst, "Date: "...)
	dst = AppendDate(dst, now)
	return append(dst, "\r\nConnection: close\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\n\r\n"...)
}

// ConnectEstablished is the exact reply to a successful CONNECT.
const ConnectEstablished = "HTTP/1.1 200 Connection established\r\n\r\n"
