package classify

import "bytes"

// IsMbox reports whether data starts with an mbox "From " separator line.
func IsMbox(data []byte) bool {
	return bytes.HasPrefix(data, []byte("From "))
}

// SplitMbox splits an mbox into its messages, without their "From "
// separator lines. A "From " line separates messages only at the start of
// the data or after a blank line, so a "From " inside a body that was not
// escaped does not split a message. Line ends may be LF, CRLF or CR.
func SplitMbox(data []byte) [][]byte {
	var msgs [][]byte
	start := -1 // start of the current message's content
	prevBlank := true
	for pos := 0; pos < len(data); {
		end := pos
		for end < len(data) && data[end] != '\n' && data[end] != '\r' {
			end++
		}
		next := end
		if next < len(data) && data[next] == '\r' {
			next++
		}
		if next < len(data) && data[next] == '\n' && (next == end || data[end] == '\r') {
			next++
		}
		if next == end { // no line end at all: last line
			next = len(data)
		}
		line := data[pos:end]
		if prevBlank && bytes.HasPrefix(line, []byte("From ")) {
			if start >= 0 {
				msgs = append(msgs, trimTrailingBlank(data[start:pos]))
			}
			start = next
		}
		prevBlank = len(line) == 0
		pos = next
	}
	if start >= 0 && start <= len(data) {
		msgs = append(msgs, trimTrailingBlank(data[start:]))
	}
	return msgs
}

// trimTrailingBlank drops the one blank line that separates messages in an
// mbox.
func trimTrailingBlank(m []byte) []byte {
	for _, sep := range []string{"\r\n\r\n", "\n\n", "\r\r"} {
		if bytes.HasSuffix(m, []byte(sep)) {
			return m[:len(m)-len(sep)/2]
		}
	}
	return m
}
