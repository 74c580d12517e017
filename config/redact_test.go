package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "http://prometheus:9090/prom", want: "http://prometheus:9090/prom"},
		{name: "user and password", in: "https://alice:s3cret@prom.example:9090/", want: "https://xxxxx:xxxxx@prom.example:9090/"},
		{name: "user only", in: "https://alice@prom.example", want: "https://xxxxx@prom.example"},
		{name: "token", in: "http://h/hook?token=abc", want: "http://h/hook?token=xxxxx"},
		{name: "kept order and others", in: "http://h/p?b=1&API_Key=k&a=2&X-Amz-Signature=s#frag", want: "http://h/p?b=1&API_Key=xxxxx&a=2&X-Amz-Signature=xxxxx#frag"},
		{name: "every name", in: "http://h?secret=1&password=2&passwd=3&auth=4&sig=5&credential=6&apikey=7&access_token=8&Authorization=9",
			want: "http://h?secret=xxxxx&password=xxxxx&passwd=xxxxx&auth=xxxxx&sig=xxxxx&credential=xxxxx&apikey=xxxxx&access_token=xxxxx&Authorization=xxxxx"},
		{name: "escaped name", in: "http://h?%74oken=abc", want: "http://h?%74oken=xxxxx"},
		{name: "no value", in: "http://h?token&x=1", want: "http://h?token&x=1"},
		{name: "both", in: "http://u:p@h:1/a?token=t", want: "http://xxxxx:xxxxx@h:1/a?token=xxxxx"},
		{name: "does not parse", in: "http://u:p@h:port/%zz?token=t", want: "http://xxxxx:xxxxx@h:port/%zz?token=xxxxx"},
		{name: "not a URL", in: "no secret here", want: "no secret here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactText(t *testing.T) {
	in := `Post "http://u:pw@h/hook?token=T1": dial tcp: refused; see https://h2/x?key=K2 and http://ok/`
	want := `Post "http://xxxxx:xxxxx@h/hook?token=xxxxx": dial tcp: refused; see https://h2/x?key=xxxxx and http://ok/`
	if got := RedactText(in); got != want {
		t.Errorf("RedactText:\n got %s\nwant %s", got, want)
	}
}

func TestRedactError(t *testing.T) {
	if RedactError(nil) != nil {
		t.Error("RedactError(nil) != nil")
	}
	plain := errors.New("no URL")
	if RedactError(plain) != plain {
		t.Error("an error with nothing to redact is not returned as is")
	}
	ue := &url.Error{Op: "Post", URL: "http://h/?token=T1", Err: errors.New("refused")}
	err := RedactError(fmt.Errorf("webhook: %w; from http://u:pw@h", ue))
	if strings.Contains(err.Error(), "T1") || strings.Contains(err.Error(), "pw") {
		t.Errorf("RedactError left a secret: %v", err)
	}
	var got *url.Error
	if !errors.As(err, &got) || got.URL != "http://h/?token=xxxxx" {
		t.Errorf("the *url.Error in the chain: %+v, want its URL redacted", got)
	}
}
