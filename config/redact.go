package config

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a secret in a redacted URL.
const Redacted = "xxxxx"

// secretParams are the substrings that make a query parameter's name look
// like a secret, compared in lower case.
var secretParams = []string{
	"token", "key", "secret", "password", "passwd", "auth", "sig", "signature",
	"credential", "apikey", "access_token",
}

// Redact returns the URL s with its secrets replaced by "xxxxx": the
// userinfo (user and password), and the value of every query parameter
// whose name contains, in any case, token, key, secret, password, passwd,
// auth, sig, signature, credential, apikey or access_token. Every other byte
// is kept as it was; s need not parse as a URL. It is the one redaction of
// presage: every URL that reaches a log, an error, /readyz, a metric or a
// report goes through it (or through RedactText or RedactError).
func Redact(s string) string {
	rest, frag, hasFrag := strings.Cut(s, "#")
	head, query, hasQuery := strings.Cut(rest, "?")
	if scheme, after, ok := strings.Cut(head, "://"); ok {
		authority, path := after, ""
		if i := strings.IndexByte(after, '/'); i >= 0 {
			authority, path = after[:i], after[i:]
		}
		if i := strings.LastIndexByte(authority, '@'); i >= 0 {
			user := Redacted
			if strings.Contains(authority[:i], ":") {
				user += ":" + Redacted
			}
			authority = user + authority[i:]
		}
		head = scheme + "://" + authority + path
	}
	var b strings.Builder
	b.WriteString(head)
	if hasQuery {
		b.WriteByte('?')
		for i, p := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			name, _, hasValue := strings.Cut(p, "=")
			if hasValue && secretName(name) {
				p = name + "=" + Redacted
			}
			b.WriteString(p)
		}
	}
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

// secretName reports whether a query parameter's name looks like a secret.
func secretName(name string) bool {
	if u, err := url.QueryUnescape(name); err == nil {
		name = u
	}
	name = strings.ToLower(name)
	for _, s := range secretParams {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// urlRE matches a URL in free text: a scheme, "://", and everything up to a
// space, a quote or an angle bracket.
var urlRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>` + "`" + `]+`)

// RedactText returns s with every URL in it redacted (see Redact).
func RedactText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlRE.ReplaceAllStringFunc(s, Redact)
}

// RedactError returns err with every URL in its message redacted. A
// *url.Error in its chain (net/http's, which holds the request's URL) has
// its URL field redacted in place. The result wraps err, so errors.Is and
// errors.As see the same chain; err itself is returned when its message
// holds nothing to redact.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(ue.URL)
	}
	msg := err.Error()
	if r := RedactText(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
