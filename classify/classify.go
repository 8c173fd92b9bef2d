// Package classify reads one mail and says what happened: RFC 3464/6533
// delivery status notifications, RFC 5965 ARF feedback reports, RFC 3834
// auto-replies and the free-text bounces of real MTAs.
//
// It does no I/O, no logging and reads no clock: bytes in, Verdict out.
package classify

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
)

// Message classifies one raw mail.
//
// PLACEHOLDER: this first version reads the header only and answers
// notbounce; the real classifier replaces it.
func Message(raw []byte) (Verdict, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Verdict{}, ErrNotMessage
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return Verdict{}, ErrNotMessage
	}
	return Verdict{
		Kind:      KindNotBounce,
		MessageID: strings.Trim(h.Get("Message-Id"), "<> "),
		From:      h.Get("From"),
		Subject:   h.Get("Subject"),
		To:        h.Get("To"),
		Decoder:   "none",
		Rule:      "placeholder",
	}, nil
}
