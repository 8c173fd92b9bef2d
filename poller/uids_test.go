package poller

import "testing"

func TestUIDList(t *testing.T) {
	for _, c := range []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{7}, "7"},
		{[]uint32{1, 2, 3}, "1:3"},
		{[]uint32{5, 3, 4, 9, 12, 14, 13}, "3:5,9,12:14"},
		{[]uint32{2, 2, 3}, "2:3"},
		{[]uint32{4294967294, 4294967295, 1}, "1,4294967294:4294967295"},
	} {
		if got := uidList(c.in); got != c.want {
			t.Errorf("uidList(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
