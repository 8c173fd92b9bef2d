package poller

import (
	"slices"
	"strconv"
	"strings"
)

// uidList writes uids (in any order) as IMAP writes a UID set, runs as
// ranges: "3:5,9,12:14". It is for the --verbose log, where a batch of 500
// consecutive mails is one range, not 500 numbers.
func uidList(uids []uint32) string {
	if len(uids) == 0 {
		return ""
	}
	s := append([]uint32(nil), uids...)
	slices.Sort(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && (s[j+1] == s[j] || s[j+1] == s[j]+1) {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(s[i]), 10))
		if s[j] != s[i] {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(s[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}
