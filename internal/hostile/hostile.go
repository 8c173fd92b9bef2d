// Package hostile builds, in memory, the hostile mail set of the fault
// tests (issue 8): mail far beyond what the classifier reads (50 MB,
// 10,000 MIME parts, 1,000-deep nesting, a 1 MB header line, 10,000
// headers, 10,000 recipients, a message/rfc822 loop), NULs, and broken
// encodings and charsets. Each mail has a unique Subject and Message-ID so
// that a test can find it on a server.
//
// It is imported by tests only; nothing is stored as a file.
package hostile

import (
	"bytes"
	"fmt"
	"strings"
)

// Mail is one hostile mail.
type Mail struct {
	Name    string // short, unique: also the mail's Subject
	Raw     []byte
	Comment string // what is hostile about it
	// NotMessage: no RFC 5322 message at all (classify.ErrNotMessage);
	// it has no Subject either.
	NotMessage bool
}

// Size is the size of the largest mail (Huge): above the poller's default
// limit of 10 MiB and the classifier's 10 MiB read limit.
const Size = 50 << 20

// Mails returns the whole set. Every mail is generated afresh; the set is
// about 70 MB.
func Mails() []Mail {
	return []Mail{
		Huge(),
		{Name: "hostile-parts", Raw: manyParts(10000), Comment: "10,000 MIME parts, the delivery status last"},
		{Name: "hostile-deep", Raw: deep(1000), Comment: "multiparts nested 1,000 deep, the delivery status innermost"},
		{Name: "hostile-longheader", Raw: longHeader(1 << 20), Comment: "a header line of 1 MiB, unfolded"},
		{Name: "hostile-headers", Raw: manyHeaders(10000), Comment: "10,000 Received headers"},
		{Name: "hostile-nul", Raw: nuls(), Comment: "NUL bytes in headers, in the delivery status and in the body"},
		{Name: "hostile-encodings", Raw: badEncodings(), Comment: "broken base64 and quoted-printable, unknown and lying charsets, broken encoded-words, invalid UTF-8"},
		{Name: "hostile-rcpts", Raw: manyRecipients(10000), Comment: "a DSN with 10,000 failed recipients"},
		{Name: "hostile-loop", Raw: rfc822Loop(1000), Comment: "message/rfc822 inside message/rfc822, 1,000 deep, each the same mail, with reused boundaries"},
		{Name: "hostile-rcptparts", Raw: manyRecipientParts(150, 1000), Comment: "150 delivery-status parts of 1,000 failed recipients each"},
		Binary(),
	}
}

// Binary is 64 KiB of bytes that are no mail: NULs first.
func Binary() Mail {
	raw := make([]byte, 64<<10)
	for i := range raw {
		raw[i] = byte(i * 7 % 251)
	}
	return Mail{Name: "hostile-binary", Raw: raw, Comment: "64 KiB of binary, NULs on the first line", NotMessage: true}
}

func manyRecipientParts(parts, n int) []byte {
	var b bytes.Buffer
	head(&b, "hostile-rcptparts", `multipart/report; report-type=delivery-status; boundary="q"`)
	for p := range parts {
		b.WriteString("--q\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
		for i := range n {
			b.WriteString(status(fmt.Sprintf("p%dr%d@hostile.example", p, i)))
		}
	}
	b.WriteString("--q--\r\n")
	return b.Bytes()
}

// Huge is a hard bounce whose report is followed by a 50 MB attachment.
func Huge() Mail {
	var b bytes.Buffer
	b.Grow(Size + 4096)
	head(&b, "hostile-huge", `multipart/report; report-type=delivery-status; boundary="h"`)
	b.WriteString("--h\r\nContent-Type: text/plain\r\n\r\nDelivery to huge@hostile.example failed.\r\n")
	b.WriteString("--h\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
	b.WriteString(status("huge@hostile.example"))
	b.WriteString("--h\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", 2) + "\r\n"
	for b.Len() < Size {
		b.WriteString(line)
	}
	b.WriteString("--h--\r\n")
	return Mail{Name: "hostile-huge", Raw: b.Bytes(), Comment: "50 MB: a hard bounce, then a 50 MB attachment"}
}

func head(b *bytes.Buffer, subject, contentType string) {
	fmt.Fprintf(b, "From: Mail Delivery System <MAILER-DAEMON@mx.hostile.example>\r\nTo: bounces@shop.example\r\n"+
		"Subject: %s\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\nMessage-ID: <%s@mx.hostile.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: %s\r\n\r\n", subject, subject, contentType)
}

func status(rcpt string) string {
	return fmt.Sprintf("Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"+
		"Diagnostic-Code: smtp; 550 5.1.1 <%s>: user unknown\r\n\r\n", rcpt, rcpt)
}

func manyParts(n int) []byte {
	var b bytes.Buffer
	head(&b, "hostile-parts", `multipart/report; report-type=delivery-status; boundary="p"`)
	for i := range n {
		fmt.Fprintf(&b, "--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--p\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
	b.WriteString(status("parts@hostile.example"))
	b.WriteString("--p--\r\n")
	return b.Bytes()
}

func deep(n int) []byte {
	var b bytes.Buffer
	head(&b, "hostile-deep", `multipart/mixed; boundary="d0"`)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--d%d\r\nContent-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--d%d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n%s", n-1, status("deep@hostile.example"))
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--d%d--\r\n", i)
	}
	return b.Bytes()
}

func longHeader(n int) []byte {
	var b bytes.Buffer
	b.WriteString("X-Long: ")
	for b.Len() < n {
		b.WriteString("very-long-header-value-without-any-fold ")
	}
	b.WriteString("\r\n")
	long := b.String()
	b.Reset()
	b.WriteString(long)
	head(&b, "hostile-longheader", `multipart/report; report-type=delivery-status; boundary="l"`)
	b.WriteString("--l\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
	b.WriteString(status("long@hostile.example"))
	b.WriteString("--l--\r\n")
	return b.Bytes()
}

func manyHeaders(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "Received: from relay%d.hostile.example by relay%d.hostile.example; Mon, 2 Mar 2026 09:00:00 +0000\r\n", i, i+1)
	}
	head(&b, "hostile-headers", `multipart/report; report-type=delivery-status; boundary="r"`)
	b.WriteString("--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
	b.WriteString(status("headers@hostile.example"))
	b.WriteString("--r--\r\n")
	return b.Bytes()
}

func nuls() []byte {
	var b bytes.Buffer
	head(&b, "hostile-nul", `multipart/report; report-type=delivery-status; boundary="n"`)
	// A NUL on the first line makes a mail binary (see Binary): here the
	// second header holds them.
	first := bytes.IndexByte(b.Bytes(), '\n') + 1
	rest := bytes.Clone(b.Bytes()[first:])
	b.Truncate(first)
	b.WriteString("X-Nul: a\x00b\x00\x00c\r\n")
	b.Write(rest)
	b.WriteString("--n\r\nContent-Type: text/plain\r\n\r\nDelivery \x00failed.\x00\x00\r\n")
	b.WriteString("--n\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile\x00.example\r\n\r\n")
	b.WriteString("Final-Recipient: rfc822; nul@hostile.example\r\nAction: fai\x00led\r\nStatus: 5.1.1\x00\r\n\r\n")
	b.WriteString("Final-Recipient: rfc822; nul\x00two@hostile.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n")
	b.WriteString(status("nul3@hostile.example"))
	b.Write(bytes.Repeat([]byte{0}, 4096))
	b.WriteString("\r\n--n--\r\n")
	return b.Bytes()
}

func badEncodings() []byte {
	var b bytes.Buffer
	b.WriteString("X-Broken-Word: =?x-no-such-charset?Q?caf=E9?= =?utf-8?B?!!!not-base64!!!?= =?utf-8?Q?=ZZ?= =?utf-7?B?K2AAx-?=\r\n")
	b.WriteString("X-Raw-Bytes: \xff\xfe\xc3\x28 \xe2\x82\r\n")
	head(&b, "hostile-encodings", `multipart/report; report-type=delivery-status; boundary="e"`)
	b.WriteString("--e\r\nContent-Type: text/plain; charset=\"x-no-such-charset\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"This is not base64 at all: ***!!!\r\nQUJD===\r\n====\r\n")
	b.WriteString("--e\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"broken =ZZ escape =\r\n=4 and a soft break at the end=")
	b.WriteString("\r\n--e\r\nContent-Type: text/html; charset=utf-16\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\xff\xfe<\x00b\x00>\r\n")
	b.WriteString("--e\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$B\x1b(B\x1b$\xff unterminated escape\r\n")
	b.WriteString("--e\r\nContent-Type: message/delivery-status; charset=\"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"UmVwb3J0aW5nLU1UQTogZG5zOyBteC5ob3N0aWxlLmV4YW1wbGUNCg0KRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGVuY0Bob3N0aWxlLmV4YW1wbGUNCkFjdGlvbjogZmFpbGVkDQpTdGF0dXM6IDUuMS4xDQo=\r\n" +
		"!!garbage after the padding!!\r\n")
	b.WriteString("--e\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDiagnostic: 550 5.1.1 <enc2@hostile.example> \xff\xfe unknown \xc0\xaf user\r\n")
	b.WriteString("--e--\r\n")
	return b.Bytes()
}

func manyRecipients(n int) []byte {
	var b bytes.Buffer
	head(&b, "hostile-rcpts", `multipart/report; report-type=delivery-status; boundary="m"`)
	b.WriteString("--m\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
	for i := range n {
		b.WriteString(status(fmt.Sprintf("r%d@hostile.example", i)))
	}
	b.WriteString("--m--\r\n")
	return b.Bytes()
}

// rfc822Loop is a bounce whose returned message is itself a bounce whose
// returned message is ..., n deep, every level with the same boundary.
func rfc822Loop(n int) []byte {
	var b bytes.Buffer
	head(&b, "hostile-loop", `multipart/report; report-type=delivery-status; boundary="x"`)
	for range n {
		b.WriteString("--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hostile.example\r\n\r\n")
		b.WriteString(status("loop@hostile.example"))
		b.WriteString("--x\r\nContent-Type: message/rfc822\r\n\r\n")
		head(&b, "hostile-loop", `multipart/report; report-type=delivery-status; boundary="x"`)
	}
	for range n + 1 {
		b.WriteString("--x--\r\n")
	}
	return b.Bytes()
}
