package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// StatusText describes a registry's error answer by what is safe to show:
// the HTTP status and the registry's error codes (e.g. MANIFEST_UNKNOWN),
// never the messages, details or raw body of the answer, which a registry
// may fill with anything, e.g. the request's headers.
func StatusText(terr *transport.Error) string {
	s := fmt.Sprintf("HTTP %d", terr.StatusCode)
	if t := http.StatusText(terr.StatusCode); t != "" {
		s += " " + t
	}
	var codes []string
	for _, d := range terr.Errors {
		if c := string(d.Code); errorCode.MatchString(c) && !contains(codes, c) {
			codes = append(codes, c)
		}
		if len(codes) == 3 {
			break
		}
	}
	if len(codes) > 0 {
		s += " (" + strings.Join(codes, ", ") + ")"
	}
	return s
}

// ErrorCode is the registry's first error code in terr (e.g.
// MANIFEST_UNKNOWN, DENIED) when it looks like one (upper-case letters,
// digits and underscores), else the upper-case status text: a registry may
// put anything in the code field.
func ErrorCode(terr *transport.Error) string {
	for _, d := range terr.Errors {
		if c := string(d.Code); errorCode.MatchString(c) {
			return c
		}
	}
	return strings.ToUpper(http.StatusText(terr.StatusCode))
}

// errorCode is what an error code of the distribution spec looks like.
var errorCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,39}$`)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Sanitize returns err with a message fit to print: every registry answer
// in it (*transport.Error, whose message quotes the answer's body) is
// replaced by its StatusText, every URL loses its query and user info, and
// whatever still looks like a credential is redacted (see Scrub). The
// result wraps err, so errors.Is and errors.As still see the original.
// Sanitize(nil) is nil.
func Sanitize(err error) error {
	if err == nil {
		return nil
	}
	var s *sanitizedError
	if errors.As(err, &s) && s == err {
		return err
	}
	msg := err.Error()
	walkErrors(err, func(e error) {
		switch e := e.(type) {
		case *transport.Error:
			msg = strings.ReplaceAll(msg, e.Error(), StatusText(e))
		case *url.Error:
			if safe := safeURL(e.URL); safe != e.URL {
				msg = strings.ReplaceAll(msg, e.URL, safe)
				msg = strings.ReplaceAll(msg, fmt.Sprintf("%q", e.URL), fmt.Sprintf("%q", safe))
			}
		}
	})
	return &sanitizedError{msg: Scrub(msg), err: err}
}

type sanitizedError struct {
	msg string
	err error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.err }

// walkErrors calls fn for err and every error it wraps.
func walkErrors(err error, fn func(error)) {
	for depth := 0; err != nil && depth < 100; depth++ {
		fn(err)
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walkErrors(e, fn)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
}

// safeURL is u without user info, query and fragment.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<url>"
	}
	p.User = nil
	if p.RawQuery != "" {
		p.RawQuery = "REDACTED"
	}
	p.Fragment = ""
	return p.String()
}

var (
	// authHeader is an Authorization (or similar) header and its value.
	authHeader = regexp.MustCompile(`(?i)((?:proxy-)?authorization|x-registry-auth|cookie|x-amz-security-token)(["']?\s*[:=]\s*["']?(?:\[\s*["']?)?)[^"'\],;\r\n]*`)
	// authScheme is a credential after its scheme.
	authScheme = regexp.MustCompile(`(?i)\b(basic|bearer)(\s+)[A-Za-z0-9+/_.~=-]{6,}`)
	// secretParam is a query or form parameter or a JSON field that holds a
	// credential.
	secretParam = regexp.MustCompile(`(?i)\b((?:[a-z_-]*password|passwd|pwd|[a-z_-]*token|secret|client_secret|auth|signature|x-amz-signature|x-amz-credential|sig|key|api[_-]?key)["']?\s*[=:]\s*["']?)[^\s&"',;}]+`)
	// userInfo is user:password@ in a URL.
	userInfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@`)
	// jwt is a JSON web token.
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	// b64 is a run of base64 that may encode user:password.
	b64 = regexp.MustCompile(`[A-Za-z0-9+/_-]{8,}={0,2}`)
)

// Scrub redacts what looks like a credential in s: Authorization header
// values, Basic and Bearer credentials, JSON web tokens, password, token,
// secret and signature parameters, user info in URLs, and base64 that
// decodes to "user:password".
func Scrub(s string) string {
	s = authHeader.ReplaceAllString(s, "${1}${2}REDACTED")
	s = authScheme.ReplaceAllString(s, "${1}${2}REDACTED")
	s = jwt.ReplaceAllString(s, "REDACTED")
	s = secretParam.ReplaceAllString(s, "${1}REDACTED")
	s = userInfo.ReplaceAllString(s, "${1}REDACTED@")
	s = b64.ReplaceAllStringFunc(s, func(m string) string {
		if looksLikeUserPassword(m) {
			return "REDACTED"
		}
		return m
	})
	return s
}

// looksLikeUserPassword reports whether m is base64 of printable text with
// a colon, as in Basic authentication.
func looksLikeUserPassword(m string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		data, err := enc.DecodeString(m)
		if err != nil || len(data) < 3 {
			continue
		}
		printable := true
		for _, r := range string(data) {
			if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
				printable = false
				break
			}
		}
		if printable && strings.Contains(string(data), ":") {
			return true
		}
	}
	return false
}
