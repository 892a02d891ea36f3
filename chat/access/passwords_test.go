package access

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestUnknownEmailCostsAPasswordCheck: a login for an email nobody has is
// checked against a hash of the same cost as a real account's, so it takes
// as long as a wrong password and does not tell who is staff; and it never
// succeeds, whatever the password.
func TestUnknownEmailCostsAPasswordCheck(t *testing.T) {
	real, err := HashPassword("right-password")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := bcrypt.Cost([]byte(real))
	if got, err := bcrypt.Cost(dummyHash()); err != nil || got != want {
		t.Fatalf("the unknown account's hash has cost %d (%v), a real one %d", got, err, want)
	}
	p := newPasswords()
	for _, pw := range []string{"not a password of anyone", "right-password", ""} {
		if ok, err := p.check(context.Background(), "", pw); ok || err != nil {
			t.Errorf("an unknown account with %q: %v %v", pw, ok, err)
		}
	}
	if ok, _ := p.check(context.Background(), real, "right-password"); !ok {
		t.Error("the right password is refused")
	}
}
