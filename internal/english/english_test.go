package english

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		one  string
		want string
	}{
		{0, "host", "0 hosts"}, {1, "host", "1 host"}, {2, "host", "2 hosts"},
		{1, "pool", "1 pool"}, {3, "policy", "3 policies"}, {1, "policy", "1 policy"},
		{2, "key", "2 keys"}, {2, "match", "2 matches"}, {2, "box", "2 boxes"},
		{2, "test file", "2 test files"}, {1, "expired waiver", "1 expired waiver"},
		{2, "pool offer", "2 pool offers"},
	} {
		if got := Count(c.n, c.one); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.one, got, c.want)
		}
	}
}
