package chat

import (
	"strings"
	"testing"
)

// TestCheckVisitor: a name or email that is refused is refused naming
// which one and why.
func TestCheckVisitor(t *testing.T) {
	for _, tt := range []struct{ name, email, want string }{
		{"Ada", "", ""},
		{" Ada ", "Ada@Example.com", ""},
		{"", "nope", "email is not an email address"},
		{strings.Repeat("n", 5000), "", "name is 5000 bytes, at most 100"},
		{"Ada", strings.Repeat("e", 250) + "@x.io", "email is 255 bytes, at most 254"},
		{"bad \xff", "", "name is not UTF-8"},
		{"Ada", "a\xff@x.io", "email is not UTF-8"},
	} {
		_, _, err := CheckVisitor(tt.name, tt.email)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%.20q %q: %v", tt.name, tt.email, err)
		case tt.want != "" && (ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%.20q %q: %v, want invalid_request saying %q", tt.name, tt.email, err, tt.want)
		}
	}
}
