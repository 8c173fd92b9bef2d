package classify

import (
	"fmt"
	"strings"
	"testing"
)

// dsnMail builds a small multipart/report bounce: text is the human part,
// fields the message/delivery-status part (both with LF line ends).
func dsnMail(from, subject, text, fields string) []byte {
	return []byte("From: " + from + "\n" +
		"To: news@shop.example\n" +
		"Subject: " + subject + "\n" +
		"Date: Thu, 5 Mar 2026 10:00:00 +0000\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n" +
		"\n" +
		"--b1\n" +
		"Content-Type: text/plain; charset=us-ascii\n" +
		"\n" +
		text + "\n" +
		"--b1\n" +
		"Content-Type: message/delivery-status\n" +
		"\n" +
		"Reporting-MTA: dns; mail.shop.example\n" +
		"\n" +
		fields + "\n" +
		"--b1--\n")
}

// TestMessageRecipientDetails checks what finish makes of each recipient
// from the evidence the decoders pass on.
func TestMessageRecipientDetails(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		addr    string
		reason  Reason
		command string
		rule    string
		status  string // checked when set
		reply   string // checked when set
	}{
		{
			name: "postfix: each recipient's command from its lines of the report",
			raw: dsnMail("MAILER-DAEMON@mail.shop.example (Mail Delivery System)", "Undelivered Mail Returned to Sender",
				"This is the mail system at host mail.shop.example.\n\n"+
					"<ann@isp.example>: host mx.isp.example[192.0.2.25] said: 550 5.1.1\n"+
					"    <ann@isp.example>: Recipient address rejected: User unknown (in reply to RCPT TO\n    command)\n\n"+
					"<bob@isp.example>: host mx.isp.example[192.0.2.25] said: 452 4.2.2\n"+
					"    <bob@isp.example>: Mailbox full (in reply to RCPT TO command)\n",
				"Final-Recipient: rfc822; ann@isp.example\nAction: failed\nStatus: 5.1.1\n"+
					"Diagnostic-Code: smtp; 550 5.1.1 <ann@isp.example>: Recipient address rejected: User unknown\n\n"+
					"Final-Recipient: rfc822; bob@isp.example\nAction: failed\nStatus: 5.2.2\n"+
					"Diagnostic-Code: smtp; 452 4.2.2 <bob@isp.example>: Mailbox full\n"),
			addr: "bob@isp.example", reason: ReasonMailboxFull, command: "RCPT", rule: "text:mailboxfull",
		},
		{
			name: "postfix: no command from prose that merely says mail from you",
			raw: dsnMail("postmaster@shop.example", "Considered UNSOLICITED BULK EMAIL",
				"A message from <news@shop.example> to:\n-> ann@isp.example\n\nwas considered spam.\n"+
					"The message carried your return address, so it was either a genuine mail\nfrom you, or a fake.\n",
				"Final-Recipient: rfc822; ann@isp.example\nAction: failed\nStatus: 5.7.0\n"+
					"Diagnostic-Code: smtp; 554 5.7.0 Reject, id=20025-09 - SPAM\n\n"+
					"Final-Recipient: rfc822; cat@isp.example\nAction: failed\nStatus: 5.7.0\n"+
					"Diagnostic-Code: smtp; 554 5.7.0 Reject, id=20025-09 - SPAM\n"),
			addr: "ann@isp.example", reason: ReasonSpamDetected, command: "", rule: "text:spamdetected",
		},
		{
			name: "google groups: a specific status beats the family's default",
			raw: dsnMail("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)",
				"The message you sent to the Google Groups list could not be delivered.\n",
				"Final-Recipient: rfc822; list@googlegroups.com\nAction: failed\nStatus: 5.1.1\n"+
					"Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.\n"),
			addr: "list@googlegroups.com", reason: ReasonUserUnknown, rule: "text:userunknown",
		},
		{
			name: "google groups: a refusal that names nothing is the family's",
			raw: dsnMail("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)",
				"The message you sent to the Google Groups list could not be delivered.\n",
				"Final-Recipient: rfc822; list@googlegroups.com\nAction: failed\nStatus: 5.0.0\n"+
					"Diagnostic-Code: smtp; 550 5.0.0 Please contact the owner of the group\n"),
			addr: "list@googlegroups.com", reason: ReasonRejected, rule: "family:googlegroups",
		},
		{
			name: "a local program's vague failure is a mailer error",
			raw: dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender",
				"This is the mail system at host mail.shop.example.\n",
				"Final-Recipient: rfc822; ann@shop.example\nAction: delayed\nStatus: 4.3.0\n"+
					"Diagnostic-Code: x-unix; temporary failure\n"),
			addr: "ann@shop.example", reason: ReasonMailerError, rule: "diagtype:x-unix",
		},
		{
			name: "a bare number of type smtp is no exit status",
			raw: dsnMail("MAILER-DAEMON@mail.shop.example", "Returned mail",
				"The original message was received.\n",
				"Final-Recipient: rfc822; ann@shop.example\nAction: failed\nStatus: 5.0.0\n"+
					"Diagnostic-Code: smtp; 75\n"),
			addr: "ann@shop.example", reason: ReasonOnHold, rule: "dsn:onhold",
		},
		{
			name: "an unknown diagnostic of the recipient's own is on hold",
			raw: dsnMail("MAILER-DAEMON@mail.shop.example", "Returned mail",
				"The original message was received.\n",
				"Final-Recipient: rfc822; ann@shop.example\nAction: failed\nStatus: 5.0.0\n"+
					"Diagnostic-Code: smtp; 550 Something odd happened here\n"),
			addr: "ann@shop.example", reason: ReasonOnHold, rule: "dsn:onhold",
		},
		{
			name: "no diagnostic at all is undefined",
			raw: dsnMail("MAILER-DAEMON@mail.shop.example", "Returned mail",
				"The original message was received.\n",
				"Final-Recipient: rfc822; ann@shop.example\nAction: failed\nStatus: 5.0.0\n"),
			addr: "ann@shop.example", reason: ReasonUndefined, rule: "dsn:undefined",
		},
		{
			name: "notes: the failure reasons section is the diagnostic",
			raw: []byte("From: Postmaster <postmaster@notes.example>\nTo: news@shop.example\n" +
				"Subject: Undeliverable Message\nDate: Thu, 5 Mar 2026 10:00:00 +0000\n\n" +
				"------- Failure Reasons  --------\n\nThe mail could not be filed here\nann@notes.example\n\n" +
				"------- Returned Message --------\nFrom: news@shop.example\nTo: ann@notes.example\nSubject: hi\n\nhello\n"),
			addr: "ann@notes.example", reason: ReasonOnHold, rule: "text:onhold",
		},
		{
			name: "a delivery program's exit status: reply and status from the transcript",
			raw: dsnMail("MAILER-DAEMON@mx.shop.example (Mail Delivery Subsystem)", "Returned mail: see transcript for details",
				"   ----- The following addresses had permanent fatal errors -----\n\"|/home/ann/bin/filter\"\n"+
					"    (reason: 255)\n    (expanded from: <ann@shop.example>)\n\n"+
					"   ----- Transcript of session follows -----\nfilter: cannot open database\n554 5.3.0 unknown mailer error 255\n",
				"Final-Recipient: RFC822; ann@shop.example\nX-Actual-Recipient: X-Unix; |/home/ann/bin/filter\n"+
					"Action: failed\nStatus: 5.0.0\nDiagnostic-Code: X-Unix; 255\n"),
			addr: "ann@shop.example", reason: ReasonMailerError, rule: "diagtype:x-unix", status: "5.3.0", reply: "554",
		},
		{
			name: "a transient Status on a permanent refusal",
			raw: dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender",
				"This is the mail system at host mail.shop.example.\n",
				"Final-Recipient: rfc822; ann@isp.example\nAction: failed\nStatus: 4.5.0\n"+
					"Diagnostic-Code: smtp; 550 5.5.0 Service refused, please try later\n"),
			addr: "ann@isp.example", reason: ReasonBlocked, rule: "text:blocked", status: "5.5.0", reply: "550",
		},
		{
			name: "the last reply of a giving-up notice",
			raw: dsnMail("MAILER-DAEMON@amazonses.com", "Delivery Status Notification (Failure)",
				"An error occurred while trying to deliver the mail to the following recipients:\nann@isp.example\n",
				"Final-Recipient: rfc822; ann@isp.example\nAction: failed\nStatus: 4.4.7\n"+
					"Diagnostic-Code: smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>\n"),
			addr: "ann@isp.example", reason: ReasonExpired, rule: "text:expired", status: "4.4.2", reply: "421",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Message(tt.raw)
			if err != nil {
				t.Fatalf("Message: %v", err)
			}
			var r *Recipient
			for i := range v.Recipients {
				if strings.EqualFold(v.Recipients[i].Address, tt.addr) {
					r = &v.Recipients[i]
				}
			}
			if r == nil {
				t.Fatalf("Message(%s): no recipient %s in %+v", tt.name, tt.addr, v.Recipients)
			}
			if r.Reason != tt.reason || r.Rule != tt.rule {
				t.Errorf("Message(%s): reason = %q (%s), want %q (%s)", tt.name, r.Reason, r.Rule, tt.reason, tt.rule)
			}
			if tt.status != "" && r.Status != tt.status || tt.reply != "" && r.ReplyCode != tt.reply {
				t.Errorf("Message(%s): status, reply = %s, %s; want %s, %s", tt.name, r.Status, r.ReplyCode, tt.status, tt.reply)
			}
			if r.Command != tt.command {
				t.Errorf("Message(%s): command = %q, want %q", tt.name, r.Command, tt.command)
			}
		})
	}
}

func TestProseCommand(t *testing.T) {
	tests := []struct{ in, want string }{
		{"host mx.b.example said: 550 no such user (in reply to RCPT TO command)", "RCPT"},
		{"(in reply to end of DATA command)", "DATA"},
		{"SMTP error from remote mail server after MAIL FROM:<a@b.example> SIZE=100:", "MAIL"},
		{">>> RCPT To:<a@b.example>\n<<< 550 unknown", "RCPT"},
		{"it was either a genuine mail from you, or a fake", ""},
		{"550 5.1.1 <a@b.example>... User Unknown  in RCPT TO", "RCPT"},
		{"Reason: Server rejected MAIL FROM address", "MAIL"},
		{"trying to connect to a service that is inactive", ""},
		{"stored in data centers", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := proseCommand(tt.in); got != tt.want {
			t.Errorf("proseCommand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuotedReply(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5.1.0 - Unknown address error 550-'5.7.1 <a@b.example>... Access denied' (delivery attempts: 0)", "550 5.7.1 <a@b.example>... Access denied"},
		{"5.3.0 - Other mail system problem 550-'Unknown user a@b.example' (delivery attempts: 0)", "550 Unknown user a@b.example"},
		{"550 5.1.1 <a@b.example>: user unknown", "550 5.1.1 <a@b.example>: user unknown"},
		{"5.1.0 - it's gone", "5.1.0 - it's gone"},
		{"5.1.0 - x'", "5.1.0 - x'"},
		{"554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>", "421 4.4.2 Connection timed out"},
		{"550 5.1.1 <a@b.example>: user unknown", "550 5.1.1 <a@b.example>: user unknown"},
		{"550 5.1.1 <550 5.1.1 but unclosed", "550 5.1.1 but unclosed"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := quotedReply(tt.in); got != tt.want {
			t.Errorf("quotedReply(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTranscriptRecipients(t *testing.T) {
	report := "   ----- Transcript of session follows -----\n" +
		"While talking to mx.b.example:\n>>> DATA\n<<< 550 You cannot send mail to yourself\n" +
		"421 b.example (smtp)... Deferred: Connection reset by peer\n" +
		"554 <ann@b.example>... Remote protocol error\n" +
		"550 c.example (smtp)... 550 Host unknown\n" +
		"554 <bob@c.example>... 550 Host unknown (Authoritative answer from name server)\n" +
		"554 <news@shop.example>... excluded sender\n" +
		"While talking to mx.d.example:\n>>> RCPT To:<cat@d.example>\n<<< 550 No such user here\n" +
		"550 <cat@d.example>... User unknown\n"
	got := transcriptRecipients(report, map[string]bool{"news@shop.example": true})
	want := []textRecipient{
		{Addr: "ann@b.example", Diagnostic: "While talking to mx.b.example: >>> DATA <<< 550 You cannot send mail to yourself 421 b.example (smtp)... Deferred: Connection reset by peer 554 <ann@b.example>... Remote protocol error"},
		{Addr: "bob@c.example", Diagnostic: "550 c.example (smtp)... 550 Host unknown 554 <bob@c.example>... 550 Host unknown (Authoritative answer from name server)"},
		{Addr: "cat@d.example", Diagnostic: "While talking to mx.d.example: >>> RCPT To:<cat@d.example> <<< 550 No such user here 550 <cat@d.example>... User unknown"},
	}
	if len(got) != len(want) {
		t.Fatalf("transcriptRecipients: %d recipients %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("transcriptRecipients[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := transcriptRecipients("550 <ann@b.example>... User unknown\n", nil); got != nil {
		t.Errorf("transcriptRecipients without a transcript = %+v, want nil", got)
	}
}

// TestTranscriptKeepsOtherRecipients checks that a recipient the V5
// transcript does not name is still reported from its prose.
func TestTranscriptKeepsOtherRecipients(t *testing.T) {
	raw := []byte("From: Mail Delivery Subsystem <MAILER-DAEMON@old.shop.example>\n" +
		"To: news@shop.example\nSubject: Returned mail: User unknown\nDate: Tue, 10 Mar 2026 09:00:00 +0900\n\n" +
		"   ----- Transcript of session follows -----\n" +
		"550 nowhere.example (smtp)... 550 Host unknown\n" +
		"554 <paul@nowhere.example>... 550 Host unknown (Authoritative answer from name server)\n\n" +
		"qux@corp.example: 550 5.1.1 mailbox unavailable\n\n" +
		"   ----- Unsent message follows -----\nFrom: news@shop.example\nTo: paul@nowhere.example\nSubject: x\n\nbody\n")
	v, err := Message(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Reason{}
	for _, r := range v.Recipients {
		got[r.Address] = r.Reason
	}
	if got["paul@nowhere.example"] != ReasonHostUnknown || got["qux@corp.example"] != ReasonUserUnknown || len(got) != 2 {
		t.Errorf("Message(transcript and prose): recipients %v, want paul hostunknown and qux userunknown", got)
	}
}

// TestMessageRecipientLimit checks that recipients past maxRecipients are
// dropped with a note that says how many there were.
func TestMessageRecipientLimit(t *testing.T) {
	blocks := func(from, n int) string {
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "Final-Recipient: rfc822; u%d@isp.example\nAction: failed\nStatus: 5.1.1\n\n", i)
		}
		return b.String()
	}
	lines := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "<u%d@isp.example>: 550 5.1.1 User unknown\n", i)
		}
		return b.String()
	}
	textMail := func(extra, text string) []byte {
		return []byte("From: MAILER-DAEMON@mail.shop.example\nTo: news@shop.example\n" + extra +
			"Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\n" +
			"This is the mail system at host mail.shop.example.\nI'm sorry to have to inform you that your message could not\n" +
			"be delivered to one or more recipients.\n\n" + text)
	}
	var failed strings.Builder
	for i := 0; i < 1200; i++ {
		if i > 0 {
			failed.WriteString(",\n ")
		}
		fmt.Fprintf(&failed, "u%d@isp.example", i)
	}
	twoParts := strings.Replace(string(dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender", "", blocks(0, 600))),
		"--b1--\n", "--b1\nContent-Type: message/delivery-status\n\n"+blocks(600, 600)+"--b1--\n", 1)
	tests := []struct {
		name string
		raw  []byte
		kept int
		note string // "" for none
	}{
		{"dsn of 10000", dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender", "", blocks(0, 10000)),
			1000, "recipients: kept 1000 of 10000"},
		{"dsn of 1000", dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender", "", blocks(0, 1000)),
			1000, ""},
		{"two dsn parts of 600", []byte(twoParts), 1000, "recipients: kept 1000 of 1200"},
		{"prose of 1500", textMail("", lines(1500)), 1000, "recipients: kept 1000 of 1500"},
		{"prose of 1500, named twice", textMail("", lines(1500)+lines(1500)), 1000, "recipients: kept 1000 of 1500"},
		{"X-Failed-Recipients of 1200", textMail("X-Failed-Recipients: "+failed.String()+"\n", "550 5.1.1 User unknown\n"),
			1000, "recipients: kept 1000 of 1200"},
	}
	for _, tt := range tests {
		v, err := Message(tt.raw)
		if err != nil {
			t.Fatalf("Message(%s): %v", tt.name, err)
		}
		if len(v.Recipients) != tt.kept {
			t.Errorf("Message(%s): %d recipients, want %d", tt.name, len(v.Recipients), tt.kept)
		}
		var notes []string
		for _, n := range v.Notes {
			if strings.HasPrefix(n, "recipients:") {
				notes = append(notes, n)
			}
		}
		if g := strings.Join(notes, "; "); g != tt.note {
			t.Errorf("Message(%s): notes = %q, want %q", tt.name, g, tt.note)
		}
	}
}

// TestMessageDSNCuts checks that every DSN block the verdict drops is
// accounted for in a note: a repeated address (kept once) and a block
// without a mail address.
func TestMessageDSNCuts(t *testing.T) {
	block := func(rcpt string) string {
		return "Final-Recipient: " + rcpt + "\nAction: failed\nStatus: 5.1.1\n\n"
	}
	tests := []struct {
		name   string
		fields string
		kept   int
		notes  string
	}{
		{"clean", block("rfc822; a@isp.example") + block("rfc822; b@isp.example"), 2, ""},
		{"repeated", block("rfc822; a@isp.example") + block("rfc822; A@isp.example") + block("rfc822; a@isp.example"), 1,
			"recipients: 2 DSN blocks repeat an address already reported, kept once (first: A@isp.example)"},
		{"no mail address", block("x400; c=de;a=dbp;s=mueller") + block("rfc822; b@isp.example"), 1,
			`recipients: 1 DSN block names no mail address, dropped (first: "x400; c=de;a=dbp;s=mueller")`},
	}
	for _, tt := range tests {
		v, err := Message(dsnMail("MAILER-DAEMON@mail.shop.example", "Undelivered Mail Returned to Sender", "", tt.fields))
		if err != nil {
			t.Fatalf("Message(%s): %v", tt.name, err)
		}
		if len(v.Recipients) != tt.kept {
			t.Errorf("Message(%s): %d recipients, want %d", tt.name, len(v.Recipients), tt.kept)
		}
		var notes []string
		for _, n := range v.Notes {
			if strings.HasPrefix(n, "recipients:") {
				notes = append(notes, n)
			}
		}
		if g := strings.Join(notes, "; "); g != tt.notes {
			t.Errorf("Message(%s): notes = %q, want %q", tt.name, g, tt.notes)
		}
	}
}

// TestChallengeRule checks that a challenge-response request is told
// apart from a refusal that borrows its words.
func TestChallengeRule(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Before I accept your mail, please confirm you are a person.", "autoreply:challenge-response"},
		{"Your message will be delivered once you click the link below.", "autoreply:challenge-response"},
		{"550 5.7.1 Your IP is listed. Prove you are human at https://dnsbl.example/delist", ""},
		{"Delivery to the following recipient failed permanently: user unknown", ""},
	}
	for _, tt := range tests {
		if got := challengeRule(strings.ToLower(tt.text), tt.text); got != tt.want {
			t.Errorf("challengeRule(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestTemporaryWords(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"mailbox full, temporary failure, please try again later.", true},
		{"Service temporarily unavailable", true},
		{"no such user here (permanent failure); try again later will not help", false},
		{"User unknown", false},
	}
	for _, tt := range tests {
		if got := temporaryWords(tt.in); got != tt.want {
			t.Errorf("temporaryWords(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestReasonDNSAndRelay(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Host or domain name not found. Name service error for name=corp.example type=MX: Malformed or unexpected name server reply", "hostunknown"},
		{"Name service error for name=corp.example type=MX: Malformed or unexpected name server reply", "networkerror"},
		{"550 jane@corp.example... we are not a relay for corp.example", "norelaying"},
		{"mx.corp.example is not a relay for corp.example", "norelaying"},
	}
	for _, tt := range tests {
		got, _ := reasonFor(reasonInput{Diagnostic: tt.in, Action: "failed"})
		if string(got) != tt.want {
			t.Errorf("reasonFor(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
